"""``intellishop tenants ...``: shops, their plans and origins, and their API keys.

The same operations as the collector's admin API (``/admin/v1/tenants``), straight on the
registry. Keys are printed once, when created or rotated; afterwards only their prefix and id
(16 hex digits of the hash) are known. Errors exit with status 2 and a message saying what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from intellishop.plans import DEFAULT_PLAN, PLANS
from intellishop.settings import get_settings
from intellishop.tenants import ApiKeyInfo, Tenant, TenantError, TenantRegistry

tenants_app = typer.Typer(
    no_args_is_help=True, help="Tenants (shops): create, show, update, disable; API keys."
)
keys_app = typer.Typer(
    no_args_is_help=True, help="A tenant's API keys: list, create, rotate, revoke."
)
tenants_app.add_typer(keys_app, name="keys")
console = Console()
T = TypeVar("T")

_PLAN_HELP = f"Billing plan: {', '.join(PLANS)}."
_ORIGIN_HELP = "Origin (https://shop.example.com) whose browsers may send events; repeatable."


def _registry() -> TenantRegistry:
    return TenantRegistry(get_settings().tenants_db_path)


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except TenantError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _print_tenant(tenant: Tenant) -> None:
    console.print(
        f"[bold]{tenant.tenant_id}[/bold]  {tenant.name}\n"
        f"  plan {tenant.plan}, {tenant.timezone}, {tenant.currency}"
        f"{', DISABLED' if tenant.disabled else ''}\n"
        f"  allowed origins: {' '.join(tenant.allowed_origins) or '(none: no browser events)'}\n"
        f"  store raw IP: {'yes' if tenant.store_ip else 'no'}; created {tenant.created_at[:19]}"
    )


def _keys_table(keys: list[ApiKeyInfo]) -> Table:
    table = Table("key id", "prefix", "scope", "created", "revoked", "active")
    for key in keys:
        table.add_row(
            key.key_id,
            key.prefix + "…",
            key.scope,
            key.created_at[:19],
            (key.revoked_at or "")[:19],
            "yes" if key.active() else "",
        )
    return table


@tenants_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The shop's name, e.g. 'Acme Outdoor'.")],
    tenant_id: Annotated[
        str | None, typer.Option("--id", help="Tenant id (default: from the name).")
    ] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone that days are counted in.")] = "UTC",
    currency: Annotated[str, typer.Option(help="ISO 4217 currency of the shop.")] = "USD",
    plan: Annotated[str, typer.Option(help=_PLAN_HELP)] = DEFAULT_PLAN,
    origin: Annotated[list[str] | None, typer.Option("--origin", help=_ORIGIN_HELP)] = None,
    store_ip: Annotated[bool, typer.Option(help="Keep visitors' raw IP addresses.")] = False,
) -> None:
    """Create a tenant and print its API key (shown once; only its hash is stored)."""
    tenant, api_key = _run(
        lambda: _registry().create(
            name,
            tenant_id=tenant_id,
            timezone=timezone,
            currency=currency,
            plan=plan,
            allowed_origins=origin or (),
            store_ip=store_ip,
        )
    )
    console.print(
        f"created tenant [bold]{tenant.tenant_id}[/bold] ({tenant.timezone}, {tenant.currency}, "
        f"plan {tenant.plan})"
    )
    console.print("API key (store it now, it is not shown again):")
    typer.echo(api_key)


@tenants_app.command("list")
def list_tenants() -> None:
    """List tenants."""
    table = Table("tenant", "name", "plan", "timezone", "currency", "created", "disabled")
    for tenant in _registry().list():
        table.add_row(
            tenant.tenant_id,
            tenant.name,
            tenant.plan,
            tenant.timezone,
            tenant.currency,
            tenant.created_at[:19],
            "yes" if tenant.disabled else "",
        )
    console.print(table)


@tenants_app.command("show")
def show(tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")]) -> None:
    """One tenant: plan, time zone, origins, and its keys (prefixes, never the keys)."""
    registry = _registry()
    tenant = _run(lambda: registry.require(tenant_id))
    _print_tenant(tenant)
    console.print(_keys_table(registry.list_keys(tenant_id)))


@tenants_app.command("update")
def update(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    plan: Annotated[str | None, typer.Option(help=_PLAN_HELP)] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 currency.")] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option("--origin", help=_ORIGIN_HELP + " Replaces the list."),
    ] = None,
    no_origins: Annotated[
        bool, typer.Option("--no-origins", help="Clear the allowed origins.")
    ] = False,
    store_ip: Annotated[
        bool | None, typer.Option("--store-ip/--no-store-ip", help="Keep raw IP addresses.")
    ] = None,
) -> None:
    """Change a tenant's plan, time zone, currency, allowed origins or IP setting."""
    if origin and no_origins:
        console.print("[red]error:[/red] give --origin or --no-origins, not both")
        raise typer.Exit(2)
    origins: list[str] | None = [] if no_origins else origin
    tenant = _run(
        lambda: _registry().update(
            tenant_id,
            name=name,
            plan=plan,
            timezone=timezone,
            currency=currency,
            allowed_origins=origins,
            store_ip=store_ip,
        )
    )
    _print_tenant(tenant)


@tenants_app.command("disable")
def disable(tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")]) -> None:
    """Disable a tenant: its keys stop working within the services' key cache time (5 s)."""
    tenant = _run(lambda: _registry().set_disabled(tenant_id, True))
    console.print(f"disabled [bold]{tenant.tenant_id}[/bold]")


@tenants_app.command("enable")
def enable(tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")]) -> None:
    """Enable a disabled tenant again."""
    tenant = _run(lambda: _registry().set_disabled(tenant_id, False))
    console.print(f"enabled [bold]{tenant.tenant_id}[/bold]")


@keys_app.command("list")
def keys_list(tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")]) -> None:
    """The tenant's keys: id, prefix, created and revoked times (never the key)."""
    console.print(_keys_table(_run(lambda: _registry().list_keys(tenant_id))))


@keys_app.command("create")
def keys_create(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    scope: Annotated[
        str,
        typer.Option(
            help="'full' (events and the whole API: a secret key), 'write' (events only) or "
            "'public' (events, recommendations, trending and similar products: for web pages)."
        ),
    ] = "full",
) -> None:
    """Issue another key for the tenant and print it (shown once)."""
    api_key = _run(lambda: _registry().create_key(tenant_id, scope=scope))
    console.print("API key (store it now, it is not shown again):")
    typer.echo(api_key)


@keys_app.command("rotate")
def keys_rotate(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    key_id: Annotated[str, typer.Argument(help="The key to replace (id from `keys list`).")],
    grace: Annotated[float, typer.Option(min=0, help="Seconds the old key keeps working.")] = 0.0,
) -> None:
    """A new key for the tenant; the old one stops working after --grace seconds."""
    api_key, old = _run(lambda: _registry().rotate_key(tenant_id, key_id, grace_seconds=grace))
    console.print(f"old key {old.key_id} stops working at {old.revoked_at}")
    console.print("new API key (store it now, it is not shown again):")
    typer.echo(api_key)


@keys_app.command("revoke")
def keys_revoke(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id.")],
    key_id: Annotated[str, typer.Argument(help="The key to revoke (id from `keys list`).")],
) -> None:
    """Revoke a key now (services stop accepting it within their key cache time)."""
    key = _run(lambda: _registry().revoke_key(tenant_id, key_id))
    console.print(f"revoked key {key.key_id} ({key.prefix}…) at {key.revoked_at}")
