"""``intellishop platforms ...``: connect a tenant's Shopify or WooCommerce store for webhooks.

The webhook secret is read from an environment variable (``--secret-env``) or from standard
input (``--secret-stdin``), never from the command line: arguments end up in shell history and
in ``ps`` output. It is stored as given (HMAC verification needs it) in the tenants database,
whose file is made readable by its owner only.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingest.platforms.connections import PLATFORMS, PlatformConnectionError, PlatformConnections
from intellishop.settings import get_settings

platforms_app = typer.Typer(
    no_args_is_help=True, help="Connect Shopify or WooCommerce stores (webhook secrets)."
)
console = Console(stderr=True)

PlatformArgument = Annotated[str, typer.Argument(help=f"One of: {', '.join(PLATFORMS)}.")]
TenantOption = Annotated[str, typer.Option("--tenant", help="The shop's tenant id.")]


def _read_secret(secret_env: str | None, secret_stdin: bool) -> str:
    if (secret_env is None) == (not secret_stdin):
        console.print("[red]error:[/red] give exactly one of --secret-env VAR or --secret-stdin")
        raise typer.Exit(2)
    if secret_env is not None:
        secret = os.environ.get(secret_env, "")
        if not secret:
            console.print(f"[red]error:[/red] environment variable {secret_env} is empty or unset")
            raise typer.Exit(2)
        return secret
    return sys.stdin.readline().strip()


@platforms_app.command("connect")
def connect(
    platform: PlatformArgument,
    tenant: TenantOption,
    secret_env: Annotated[
        str | None,
        typer.Option("--secret-env", help="Environment variable holding the webhook secret."),
    ] = None,
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the webhook secret from standard input.")
    ] = False,
) -> None:
    """Store (or rotate) the webhook secret of a tenant's store; prints the webhook URL."""
    settings = get_settings()
    secret = _read_secret(secret_env, secret_stdin)
    try:
        PlatformConnections(settings.tenants_db_path).connect(tenant, platform, secret)
    except PlatformConnectionError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    url = f"http://{settings.host}:{settings.collector_port}/webhooks/{platform}/{tenant}"
    console.print(f"connected [bold]{platform}[/bold] for tenant [bold]{tenant}[/bold]")
    console.print(f"webhook URL (behind your public HTTPS address): {url}")
    console.print(
        f"the secret is stored in {settings.tenants_db_path} (mode 600): protect that file "
        "and its backups"
    )


@platforms_app.command("disconnect")
def disconnect(platform: PlatformArgument, tenant: TenantOption) -> None:
    """Forget a store's webhook secret: its webhooks are refused (401) from now on."""
    removed = PlatformConnections(get_settings().tenants_db_path).disconnect(tenant, platform)
    if not removed:
        console.print(f"[yellow]{tenant} had no {platform} connection[/yellow]")
        raise typer.Exit(1)
    console.print(f"disconnected {platform} for {tenant}")


@platforms_app.command("list")
def list_connections(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
) -> None:
    """List connected stores (secrets are never shown)."""
    table = Table("tenant", "platform", "connected", "secret updated")
    for connection in PlatformConnections(get_settings().tenants_db_path).list(tenant):
        table.add_row(
            connection.tenant_id,
            connection.platform,
            connection.created_at[:19],
            connection.updated_at[:19],
        )
    Console().print(table)
