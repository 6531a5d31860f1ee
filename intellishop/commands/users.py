"""``intellishop users ...``: the people who sign in to a tenant's dashboards, and their roles.

Passwords are read from a prompt (hidden, asked twice) or from standard input with
``--password-stdin`` (for scripts), never from the command line, where ``ps`` and the shell's
history would show them. Errors exit with status 2 and a message saying what to fix.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from intellishop.settings import get_settings
from intellishop.tenants import TenantError, TenantRegistry
from intellishop.users import ROLES, DashboardUser, UserRegistry

users_app = typer.Typer(
    no_args_is_help=True,
    help="Dashboard users of a tenant (roles: owner, analyst, viewer): create, list, update.",
)
console = Console()
T = TypeVar("T")
_ROLE_HELP = f"Role: {', '.join(ROLES)}."
_STDIN_HELP = "Read the password from standard input (one line) instead of a prompt."


def _registry() -> UserRegistry:
    return UserRegistry(TenantRegistry(get_settings().tenants_db_path))


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except TenantError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _print_user(user: DashboardUser) -> None:
    state = ", DISABLED" if user.disabled else ""
    console.print(f"{user.email} ({user.role}{state}) in tenant {user.tenant_id}")


@users_app.command("create")
def create(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    email: Annotated[str, typer.Argument(help="The user's email (their sign-in name).")],
    role: Annotated[str, typer.Option(help=_ROLE_HELP)] = "viewer",
    password_stdin: Annotated[bool, typer.Option(help=_STDIN_HELP)] = False,
) -> None:
    """Add a dashboard user to a tenant."""
    password = _password(password_stdin)
    _print_user(_run(lambda: _registry().create(tenant_id, email, password, role)))


@users_app.command("list")
def list_users(tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")]) -> None:
    """The tenant's users: email, role, created, disabled (never a password)."""
    table = Table("email", "role", "created", "disabled")
    for user in _run(lambda: _registry().list(tenant_id)):
        table.add_row(user.email, user.role, user.created_at[:19], "yes" if user.disabled else "")
    console.print(table)


@users_app.command("update")
def update(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    email: Annotated[str, typer.Argument(help="The user's email.")],
    role: Annotated[str | None, typer.Option(help=_ROLE_HELP)] = None,
    new_password: Annotated[bool, typer.Option(help="Set a new password (prompted).")] = False,
    password_stdin: Annotated[bool, typer.Option(help=_STDIN_HELP)] = False,
    disable: Annotated[
        bool | None, typer.Option("--disable/--enable", help="Stop (or allow) sign-ins.")
    ] = None,
) -> None:
    """Change a user's role or password, or disable them (tokens already issued expire)."""
    password = _password(password_stdin) if new_password or password_stdin else None
    _print_user(
        _run(
            lambda: _registry().update(
                tenant_id, email, role=role, password=password, disabled=disable
            )
        )
    )


@users_app.command("remove")
def remove(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    email: Annotated[str, typer.Argument(help="The user's email.")],
) -> None:
    """Delete a user (tokens already issued stop working when they expire)."""
    _run(lambda: _registry().remove(tenant_id, email))
    console.print(f"removed {email} from {tenant_id}")
