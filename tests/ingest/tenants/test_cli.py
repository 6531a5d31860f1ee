"""``intellishop tenants ...`` end to end on a fresh data directory."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from intellishop.cli import app
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry, key_id_of

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["tenants", *args])
    return result.exit_code, result.output


def test_create_update_show_disable_enable(settings: Settings) -> None:
    code, output = run(
        "create",
        "Acme Outdoor",
        "--plan",
        "growth",
        "--origin",
        "https://acme.example",
        "--timezone",
        "America/New_York",
    )
    assert code == 0, output
    key = output.strip().splitlines()[-1]
    assert re.fullmatch(r"isk_[A-Za-z0-9_-]{43}", key)
    registry = TenantRegistry(settings.tenants_db_path)
    tenant = registry.authenticate(key)
    assert tenant is not None and tenant.plan == "growth"
    assert tenant.allowed_origins == ("https://acme.example",)

    code, output = run(
        "update",
        "acme-outdoor",
        "--plan",
        "pro",
        "--origin",
        "https://a.example",
        "--origin",
        "https://b.example",
        "--store-ip",
    )
    assert code == 0, output
    updated = registry.require("acme-outdoor")
    assert (updated.plan, updated.store_ip) == ("pro", True)
    assert updated.allowed_origins == ("https://a.example", "https://b.example")
    code, output = run("update", "acme-outdoor", "--no-origins")
    assert code == 0 and registry.require("acme-outdoor").allowed_origins == ()

    code, output = run("show", "acme-outdoor")
    assert code == 0 and "plan pro" in output and key[:8] in output and key not in output

    code, output = run("list")
    assert code == 0 and "acme-outdoor" in output and "pro" in output

    assert run("disable", "acme-outdoor")[0] == 0
    assert registry.authenticate(key) is None
    assert run("enable", "acme-outdoor")[0] == 0
    assert registry.authenticate(key) == registry.require("acme-outdoor")


def test_keys_create_rotate_revoke(settings: Settings) -> None:
    first = run("create", "Shop")[1].strip().splitlines()[-1]
    registry = TenantRegistry(settings.tenants_db_path)

    code, output = run("keys", "create", "shop")
    second = output.strip().splitlines()[-1]
    assert code == 0 and registry.authenticate(second) is not None

    code, output = run("keys", "list", "shop")
    assert code == 0 and key_id_of(first) in output and key_id_of(second) in output
    assert first not in output and second not in output

    code, output = run("keys", "rotate", "shop", key_id_of(first), "--grace", "3600")
    third = output.strip().splitlines()[-1]
    assert code == 0, output
    assert registry.authenticate(first) is not None  # grace period
    assert registry.authenticate(third) is not None

    code, output = run("keys", "revoke", "shop", key_id_of(first))
    assert code == 0, output
    assert registry.authenticate(first) is None
    assert registry.authenticate(second) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "x" * 300), "limit is 200"),
        (("create", "Shop", "--id", "x'; drop table tenants;--"), "lowercase letters"),
        (("create", "Shop", "--plan", "platinum"), "unknown plan 'platinum'"),
        (("create", "Shop", "--origin", "*"), "no wildcard"),
        (("update", "nope", "--plan", "pro"), "no tenant 'nope'"),
        (("update", "shop' or 1=1", "--plan", "pro"), "lowercase letters"),
        (("show", "nope"), "no tenant 'nope'"),
        (("keys", "revoke", "nope", "0123456789abcdef"), "no tenant 'nope'"),
        (("keys", "rotate", "nope", "zz"), "16 hex digits"),
        (("disable", "; drop table tenants"), "lowercase letters"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    settings: Settings, args: tuple[str, ...], message: str
) -> None:
    code, output = run(*args)
    assert code == 2, output
    assert message in output
    assert TenantRegistry(settings.tenants_db_path).list() == []


def test_origin_and_no_origins_together_are_refused(settings: Settings) -> None:
    run("create", "Shop")
    code, output = run("update", "shop", "--origin", "https://a.example", "--no-origins")
    assert code == 2 and "not both" in output
