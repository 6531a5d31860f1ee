"""``intellishop users``: create, list, update and remove dashboard users from the shell."""

from __future__ import annotations

from typer.testing import CliRunner

from intellishop.commands.users import users_app
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from intellishop.users import UserRegistry

PASSWORD = "a long enough password"


def test_users_are_managed_from_the_command_line(settings: Settings) -> None:
    tenants = TenantRegistry(settings.tenants_db_path)
    tenants.create("Shop", tenant_id="shop")
    runner = CliRunner()
    created = runner.invoke(
        users_app,
        ["create", "shop", "jo@example.com", "--role", "analyst", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert created.exit_code == 0, created.output
    assert "jo@example.com (analyst)" in created.output
    users = UserRegistry(tenants)
    assert users.authenticate("shop", "jo@example.com", PASSWORD) is not None

    listed = runner.invoke(users_app, ["list", "shop"])
    assert (
        listed.exit_code == 0
        and "jo@example.com" in listed.output
        and PASSWORD not in listed.output
    )

    updated = runner.invoke(
        users_app, ["update", "shop", "jo@example.com", "--role", "owner", "--disable"]
    )
    assert updated.exit_code == 0, updated.output
    assert users.require("shop", "jo@example.com").role == "owner"
    assert users.authenticate("shop", "jo@example.com", PASSWORD) is None  # disabled

    bad = runner.invoke(
        users_app,
        ["create", "shop", "x@example.com", "--role", "boss", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert bad.exit_code == 2 and "must be one of" in bad.output
    missing = runner.invoke(users_app, ["list", "no-such-shop"])
    assert missing.exit_code == 2

    removed = runner.invoke(users_app, ["remove", "shop", "jo@example.com"])
    assert removed.exit_code == 0 and users.get("shop", "jo@example.com") is None
