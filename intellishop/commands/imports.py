"""``intellishop import orders|products|customers FILE --tenant T``: history from CSV files.

Every row is checked before anything is written; a file with a bad row writes nothing and
prints each problem (row, column, what is wrong). Events go through the event log like the
collector's, with derived message ids: importing the same file twice adds nothing.
See ``docs/imports.md`` for the formats and mappings.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.imports.csv_import import (
    FileFormat,
    ImportKind,
    ImportRefusedError,
    ImportResult,
    import_csv,
)
from ingest.imports.mapping import MappingError
from ingest.imports.rows import CsvFormatError
from intellishop.settings import get_settings

imports_app = typer.Typer(
    no_args_is_help=True, help="Import orders, products or customers from CSV files."
)
console = Console(stderr=True)

FileArgument = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file.")
]
TenantOption = Annotated[str, typer.Option("--tenant", help="The shop's tenant id.")]
MappingOption = Annotated[
    Path | None,
    typer.Option("--mapping", exists=True, dir_okay=False, help="Column mapping, JSON or YAML."),
]


class CsvFlavour(StrEnum):
    """The layouts an import understands (typer refuses anything else with a clear message)."""

    GENERIC = "generic"
    SHOPIFY = "shopify"


FormatOption = Annotated[
    CsvFlavour,
    typer.Option(
        "--format", help="generic (with a column mapping) or shopify (its export's columns)."
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Check the file and report; write nothing.")
]
#: Errors printed; the rest are counted.
SHOWN_ERRORS = 50


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return max(
            sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1, 0
        )


def _run(
    kind: ImportKind,
    path: Path,
    tenant: str,
    mapping: Path | None,
    file_format: FileFormat,
    dry_run: bool,
) -> None:
    settings = get_settings()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        checking = progress.add_task("checking rows", total=_count_lines(path))
        writing = progress.add_task("writing events", total=None, visible=False)

        def on_rows(n: int) -> None:
            progress.advance(checking, n)

        def on_events(n: int) -> None:
            progress.advance(writing, n)

        def on_write_start(total: int) -> None:
            progress.update(checking, completed=progress.tasks[checking].total)
            progress.update(writing, total=total, visible=True)

        try:
            result = import_csv(
                settings,
                kind,
                path,
                tenant_id=tenant,
                mapping_path=mapping,
                file_format=file_format,
                dry_run=dry_run,
                on_rows=on_rows,
                on_events=on_events,
                on_write_start=on_write_start,
            )
        except (MappingError, CsvFormatError, ImportRefusedError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        progress.update(checking, total=result.rows, completed=result.rows)
    _report(result, dry_run)


def _report(result: ImportResult, dry_run: bool) -> None:
    if not result.ok:
        table = Table("row", "column", "problem", title="rows that stop the import")
        for error in result.errors[:SHOWN_ERRORS]:
            table.add_row(str(error.row), error.column, error.problem)
        console.print(table)
        more = result.error_count - min(len(result.errors), SHOWN_ERRORS)
        if more > 0:
            console.print(f"... and {more} more")
        console.print(
            f"[red]{result.error_count} problem(s) in {result.rows} rows: nothing was imported."
            "[/red] Fix them and run the import again."
        )
        raise typer.Exit(1)
    counts = ", ".join(f"{n} {name}" for name, n in sorted(result.counts.items()))
    if dry_run:
        console.print(f"{result.rows} rows are fine ({counts}); nothing written (--dry-run)")
        return
    total = result.check_seconds + result.write_seconds
    rate = result.rows / total if total > 0 else float("inf")
    if result.catalog_file is not None:
        console.print(f"imported {result.rows} products into {result.catalog_file}")
    else:
        console.print(
            f"imported {result.rows} rows as {result.events} events ({counts}) "
            f"in {result.entries} event-log entries"
        )
    console.print(
        f"checked in {result.check_seconds:.2f} s, wrote in {result.write_seconds:.2f} s "
        f"({rate:,.0f} rows/s); run `intellishop load` or the pipeline to load them"
    )


@imports_app.command("orders")
def import_orders(
    file: FileArgument,
    tenant: TenantOption,
    mapping: MappingOption = None,
    file_format: FormatOption = CsvFlavour.GENERIC,
    dry_run: DryRunOption = False,
) -> None:
    """Import order history: one row per order line, or Shopify's orders export."""
    _run("orders", file, tenant, mapping, file_format.value, dry_run)


@imports_app.command("products")
def import_products(
    file: FileArgument,
    tenant: TenantOption,
    mapping: MappingOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import the product catalog (replaces the tenant's catalog file in the raw zone)."""
    _run("products", file, tenant, mapping, "generic", dry_run)


@imports_app.command("customers")
def import_customers(
    file: FileArgument,
    tenant: TenantOption,
    mapping: MappingOption = None,
    file_format: FormatOption = CsvFlavour.GENERIC,
    dry_run: DryRunOption = False,
) -> None:
    """Import customers as identify calls (user id and traits: e-mail, names, phone)."""
    _run("customers", file, tenant, mapping, file_format.value, dry_run)
