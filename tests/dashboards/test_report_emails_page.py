"""The Reports page's email settings (Streamlit AppTest): an owner opts in per report cadence,
bad addresses are refused with a message, viewers only read, and another shop sees none of it."""

from __future__ import annotations

import pytest

from intellishop.artifacts import LocalArtifactStore
from intellishop.reports import MerchantStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from .conftest import open_app
from .demo_data import demo_tables

PAGE = "app_pages/reports.py"


@pytest.fixture
def shops(settings: Settings) -> Settings:
    registry = TenantRegistry(settings.tenants_db_path)
    registry.create("Acme Outdoor", tenant_id="acme")
    registry.create("Berlin Books", tenant_id="books", currency="EUR")
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("acme", demo_tables("a", seed=1))
    store.publish("books", demo_tables("b", seed=2))
    return settings


def test_owner_opts_in_per_cadence_and_only_for_their_shop(shops: Settings) -> None:
    app = open_app(PAGE)
    app.text_input(key="report_emails_weekly").input("Owner@Acme.test, cfo@acme.test")
    app.text_input(key="report_emails_monthly").input("board@acme.test")
    app.button(key="FormSubmitter:report_emails-Save email settings").click().run()
    assert not app.exception and not app.error
    assert "Saved" in app.success[0].value
    store = MerchantStore.for_settings(shops)
    assert store.report_recipients("acme") == {
        "weekly": ("owner@acme.test", "cfo@acme.test"),
        "monthly": ("board@acme.test",),
    }
    assert store.report_recipients("books") == {}

    again = open_app(PAGE)  # a new session shows what is saved
    assert again.text_input(key="report_emails_weekly").value == "owner@acme.test, cfo@acme.test"
    assert again.text_input(key="report_emails_daily").value == ""

    again.text_input(key="report_emails_weekly").input("cfo@acme.test\nBcc: all@evil.test")
    again.button(key="FormSubmitter:report_emails-Save email settings").click().run()
    assert "not an email address" in again.error[0].value
    assert store.report_recipients("acme")["weekly"] == ("owner@acme.test", "cfo@acme.test")

    viewer = open_app(PAGE, role="viewer")
    assert not viewer.get("form")
    assert any("owner@acme.test, cfo@acme.test" in c.value for c in viewer.caption)

    books = open_app(PAGE, tenant_id="books")
    cadences = ("daily", "weekly", "monthly")
    assert all(books.text_input(key=f"report_emails_{c}").value == "" for c in cadences)
    assert not any("acme.test" in c.value for c in books.caption)
