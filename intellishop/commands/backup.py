"""``intellishop backup ...``: back up and restore the sources of truth (see intellishop.backup)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from intellishop.backup import BackupError, create_backup, restore_backup, verify_backup
from intellishop.settings import get_settings

backup_app = typer.Typer(
    no_args_is_help=True,
    help="Back up the raw zone, the SQLite state and (prod) PostgreSQL; verify; restore.",
)
console = Console(stderr=True)


@backup_app.command("create")
def create(
    to: Annotated[Path, typer.Option("--to", help="Directory that receives the backup.")],
    postgres: Annotated[
        bool | None,
        typer.Option(help="Dump PostgreSQL too (default: in the prod profile only)."),
    ] = None,
) -> None:
    """Write a new, checksummed backup directory under --to."""
    try:
        directory = create_backup(get_settings(), to, postgres=postgres)
    except BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    size = sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
    console.print(f"backup written to {directory} ({size / 1e6:.1f} MB)")
    typer.echo(directory)


@backup_app.command("verify")
def verify(backup: Annotated[Path, typer.Argument(help="A backup directory.")]) -> None:
    """Check every file of a backup against its manifest."""
    try:
        manifest = verify_backup(backup)
    except BackupError as exc:
        console.print(f"[red]damaged:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"ok: {len(manifest['files'])} files, created {manifest['created_at']}")


@backup_app.command("restore")
def restore(
    backup: Annotated[Path, typer.Argument(help="A backup directory.")],
    force: Annotated[
        bool, typer.Option(help="Replace a non-empty raw zone and existing state.")
    ] = False,
) -> None:
    """Restore a backup into this installation. Stop the services first."""
    try:
        manifest = restore_backup(get_settings(), backup, force=force)
    except BackupError as exc:
        console.print(f"[red]error:[/red] {exc} (nothing was changed)")
        raise typer.Exit(1) from exc
    console.print(
        f"restored the backup of {manifest['created_at']}; "
        "run the pipeline to rebuild the warehouse and the serving artifacts"
    )
