"""Emailed reports, through a real SMTP server (aiosmtpd on 127.0.0.1): the Dagster report job
sends each report a shop opted in to, with the PDF and the workbook attached, to that shop's
addresses only; a refused or unreachable mail server fails no other shop and is recorded."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from dagster_project.defs.reports.jobs import merchant_reports
from intellishop.artifacts import LocalArtifactStore
from intellishop.ports import free_port
from intellishop.reports import MerchantStore, MerchantStoreError, ReportSchedule
from intellishop.reports.email import email_delivery
from intellishop.reports.generate import GeneratedReport, generate_scheduled
from intellishop.reports.store import parse_recipients
from intellishop.settings import Settings, get_settings
from intellishop.tenants import TenantRegistry
from tests.dashboards.demo_data import demo_tables, publish_two_shops

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Recipients at this domain are refused with a 550, as a real server refuses unknown mailboxes.
REFUSED_DOMAIN = "@bounce.test"


@dataclass
class Mail:
    recipients: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps what it accepts, refuses mailboxes at REFUSED_DOMAIN."""

    mails: list[Mail] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith(REFUSED_DOMAIN):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(sorted(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A local SMTP server, set as the automation's mail server (what reports send through)."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("INTELLISHOP_AUTOMATION_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("INTELLISHOP_AUTOMATION_SMTP_PORT", str(port))
    monkeypatch.setenv("INTELLISHOP_AUTOMATION_EMAIL_FROM", "Reports <reports@intellishop.test>")
    yield box
    controller.stop()


@pytest.fixture
def shops(settings: Settings) -> Settings:
    """Two published shops (each report costs a second or two of charts: few shops, few runs)."""
    publish_two_shops(settings.tenants_db_path, settings.artifacts_dir)
    return settings


def run_job(cadence: str, end: str) -> int:
    result = merchant_reports.execute_in_process(
        run_config={
            "ops": {"generate_merchant_reports": {"config": {"cadence": cadence, "end": end}}}
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    return int(result.output_for_node("generate_merchant_reports"))


def attachments(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    found: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes) and part.get_filename()
        found[str(part.get_filename())] = (part.get_content_type(), payload)
    return found


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_the_job_emails_each_opted_in_report_to_its_own_shop_only(
    shops: Settings, mailbox: Mailbox
) -> None:
    TenantRegistry(shops.tenants_db_path).create("Corner Cafe", tenant_id="cafe")
    LocalArtifactStore(shops.artifacts_dir).publish("cafe", demo_tables("c", seed=3))
    store = MerchantStore.for_settings(shops)  # cafe never opts in
    store.set_report_recipients("acme", "weekly", ("Owner@Acme.test", "cfo@acme.test"))
    store.set_report_recipients("acme", "monthly", ("owner@acme.test",))  # not this run
    store.set_report_recipients("books", "weekly", ("chef@books.test",))
    store.save_schedule("books", ReportSchedule("Board pack", "weekly", ("kpis",)))  # no email
    store.save_schedule(
        "cafe", ReportSchedule("Ops", "daily", ("kpis",), ("ops@cafe.test",))
    )  # another cadence

    assert run_job("weekly", "2026-03-01") == 4  # 3 standard + books' Board pack

    mails = mailbox.mails
    assert sorted(m.recipients for m in mails) == [
        ["cfo@acme.test", "owner@acme.test"],
        ["chef@books.test"],
    ]
    stem = "weekly_2026-02-23_2026-03-01"
    for mail, tenant, shop in (
        (next(m for m in mails if "cfo@acme.test" in m.recipients), "acme", "Acme Outdoor"),
        (next(m for m in mails if "chef@books.test" in m.recipients), "books", "Berlin Books"),
    ):
        message = mail.message
        assert message["Subject"] == f"{shop}: weekly report, 2026-02-23 to 2026-03-01"
        assert message["From"] == "Reports <reports@intellishop.test>"
        assert sorted(a.strip() for a in str(message["To"]).split(",")) == mail.recipients
        on_disk = files(shops.data_dir / "reports" / tenant)
        assert attachments(message) == {
            f"{stem}.pdf": ("application/pdf", on_disk[f"{stem}.pdf"]),
            f"{stem}.xlsx": (XLSX, on_disk[f"{stem}.xlsx"]),
        }
    acme_pdf = (shops.data_dir / "reports" / "acme" / f"{stem}.pdf").read_bytes()
    books_mail = next(m for m in mails if "chef@books.test" in m.recipients)
    assert all(data != acme_pdf for _, data in attachments(books_mail.message).values())
    assert [d.ok for d in store.deliveries("acme")] == [True]
    assert store.deliveries("cafe") == []


def test_a_refused_send_is_recorded_and_other_shops_still_get_theirs(
    shops: Settings, mailbox: Mailbox
) -> None:
    store = MerchantStore.for_settings(shops)
    store.set_report_recipients("acme", "daily", ("gone" + REFUSED_DOMAIN,))
    store.set_report_recipients("books", "daily", ("chef@books.test",))
    assert run_job("daily", "2026-03-01") == 2  # every shop's files, whatever the mail did
    assert [m.recipients for m in mailbox.mails] == [["chef@books.test"]]
    (failed,) = store.deliveries("acme")
    assert not failed.ok and "refused" in failed.error
    assert failed.report == "daily_2026-03-01_2026-03-01"
    assert [d.ok for d in store.deliveries("books")] == [True]


def test_no_mail_server_and_a_failing_hook_fail_no_shop(
    shops: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTELLISHOP_AUTOMATION_SMTP_PORT", str(free_port()))  # nothing listens
    store = MerchantStore.for_settings(shops)
    store.set_report_recipients("acme", "daily", ("owner@acme.test",))
    store.set_report_recipients("books", "daily", ("chef@books.test",))
    email = email_delivery(get_settings())
    called: list[str] = []

    def deliver(report: GeneratedReport, recipients: tuple[str, ...]) -> None:
        called.append(report.tenant_id)
        if report.tenant_id == "acme":
            raise RuntimeError("a bug in one delivery")
        email(report, recipients)

    done = generate_scheduled(shops, "daily", end=date(2026, 3, 1), deliver=deliver)
    assert sorted(r.tenant_id for r in done) == ["acme", "books"] and called == ["acme", "books"]
    (failed,) = store.deliveries("books")
    assert not failed.ok and "Connection" in failed.error
    assert store.deliveries("acme") == []


def test_recipients_are_checked_and_kept_per_shop_and_cadence(tmp_path: Path) -> None:
    store = MerchantStore(tmp_path / "m.sqlite3")
    assert parse_recipients("a@shop.test; B@shop.test\nA@shop.test") == (
        "a@shop.test",
        "b@shop.test",
    )
    for bad in ("not an address", "a@shop.test\r\nBcc: x@evil.test", "Eve <e@evil.test>"):
        with pytest.raises(MerchantStoreError):
            store.set_report_recipients("acme", "weekly", (bad,))
    with pytest.raises(MerchantStoreError):
        ReportSchedule("Pack", "weekly", email_to=("a@b.test,c@d.test",))
    with pytest.raises(MerchantStoreError):
        store.set_report_recipients("acme", "weekly", tuple(f"u{i}@shop.test" for i in range(21)))
    store.set_report_recipients("acme", "weekly", ("a@shop.test",))
    store.set_report_recipients("books", "daily", ("b@books.test",))
    assert store.report_recipients("acme") == {"weekly": ("a@shop.test",)}
    assert store.report_recipients("books") == {"daily": ("b@books.test",)}
    store.set_report_recipients("acme", "weekly", ())  # opting out
    assert store.report_recipients("acme") == {}
    legacy = {
        "name": "Old",
        "cadence": "daily",
        "sections": ["kpis"],
        "email_to": ["x", "a@b.test"],
    }
    with sqlite3.connect(tmp_path / "m.sqlite3") as con:  # saved before addresses were checked
        con.execute(
            "insert into report_schedules values ('acme', 'Old', ?, '2026-01-01')",
            (json.dumps(legacy),),
        )
    assert [s.email_to for s in store.schedules("acme")] == [("a@b.test",)]
