"""``intellishop privacy ...``: GDPR erasure and right of access for one person of one shop.

The person is named by exactly one of ``--user-id``, ``--anonymous-id`` or ``--email``; every id
linked to it in the shop's data is found and handled (see ``docs/privacy.md``). Each request is
recorded in the audit log under ``<data_dir>/audit/`` (ids as keyed hashes only).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from intellishop.privacy import (
    LoaderBusyError,
    SubjectKind,
    SubjectRequest,
    apply_pending_erasures,
    default_requester,
    erase_subject,
    export_subject,
)
from intellishop.settings import get_settings
from intellishop.tenants import TenantRegistry

privacy_app = typer.Typer(
    no_args_is_help=True, help="GDPR: erase a person from every store, or export their data."
)
console = Console(stderr=True)

TenantOption = Annotated[str, typer.Option("--tenant", help="The shop's tenant id.")]
UserIdOption = Annotated[str | None, typer.Option("--user-id", help="The person's user id.")]
AnonymousIdOption = Annotated[
    str | None, typer.Option("--anonymous-id", help="An anonymous (device) id of the person.")
]
EmailOption = Annotated[
    str | None, typer.Option("--email", help="The email in the person's identify traits.")
]


def _subject(
    tenant: str, user_id: str | None, anonymous_id: str | None, email: str | None
) -> SubjectRequest:
    given = [
        (kind, value)
        for kind, value in (
            (SubjectKind.USER_ID, user_id),
            (SubjectKind.ANONYMOUS_ID, anonymous_id),
            (SubjectKind.EMAIL, email),
        )
        if value is not None
    ]
    if len(given) != 1:
        console.print("[red]error:[/red] give exactly one of --user-id, --anonymous-id, --email")
        raise typer.Exit(2)
    try:
        subject = SubjectRequest(tenant, *given[0])
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if TenantRegistry(get_settings().tenants_db_path).get(tenant) is None:
        console.print(f"[red]error:[/red] no tenant {tenant!r} (intellishop tenants list)")
        raise typer.Exit(2)
    return subject


@privacy_app.command("erase")
def erase(
    tenant: TenantOption,
    user_id: UserIdOption = None,
    anonymous_id: AnonymousIdOption = None,
    email: EmailOption = None,
) -> None:
    """Erase the person from the event log, raw zone, warehouse and serving store."""
    settings = get_settings()
    subject = _subject(tenant, user_id, anonymous_id, email)
    try:
        report = erase_subject(settings, subject, requested_by=default_requester())
    except LoaderBusyError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(report.to_dict(), indent=2))
    if not report.found:
        console.print("nobody matched: nothing erased (the request is recorded in the audit)")
    elif report.warehouse_status == "pending":
        console.print(
            "[yellow]the warehouse is in use by a pipeline run:[/yellow] its rows are erased by "
            "the next run, or run `intellishop privacy apply-pending` once the run is over"
        )


@privacy_app.command("export")
def export(
    tenant: TenantOption,
    user_id: UserIdOption = None,
    anonymous_id: AnonymousIdOption = None,
    email: EmailOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: subject-<tenant>-<time>)."),
    ] = None,
) -> None:
    """Write everything held about the person to a JSON file (right of access)."""
    settings = get_settings()
    subject = _subject(tenant, user_id, anonymous_id, email)
    try:
        document = export_subject(settings, subject, requested_by=default_requester())
    except LoaderBusyError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = output or Path(f"subject-{tenant}-{stamp}.json")
    path.write_text(json.dumps(document, indent=2, default=str, ensure_ascii=False))
    path.chmod(0o600)
    console.print(
        f"wrote {path}: {len(document['events'])} events, "
        f"ids {len(document['user_ids'])} user / {len(document['anonymous_ids'])} anonymous"
    )


@privacy_app.command("apply-pending")
def apply_pending() -> None:
    """Finish warehouse erasures that found the warehouse busy (safe to run any time)."""
    finished = apply_pending_erasures(get_settings())
    console.print(f"finished {len(finished)} pending erasure(s)")
