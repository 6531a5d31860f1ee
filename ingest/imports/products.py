"""The product catalog from CSV, written as one raw-zone file per tenant.

A catalog is not an event: nobody viewed or bought anything, and Segment's e-commerce spec has
no catalog event. Sending ``Product Viewed``-style events would invent interest that the
recommenders would learn from. So the catalog goes to the raw zone beside the events, as
``raw/catalog/tenant_id=<id>/products.parquet`` (columns: product_id, name, category, brand,
price, currency, sku, imported_at), replaced whole by each import (the file is the catalog as of
the last import; importing the same file again changes nothing). It is written to a temporary
name, fsynced and renamed, so dbt never reads half a file.

The warehouse reads it once a ``catalog`` source and a ``stg_catalog__products`` model exist
(the ``products`` mart can then prefer catalog names, categories, brands and prices over what
events mentioned). In the prod profile the same rows also go to PostgreSQL, table
``raw.catalog`` (the same columns plus ``tenant_id``; primary key (tenant_id, product_id)), the
tenant's rows replaced in one transaction (``ingest.raw_zone.postgres``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from intellishop.settings import Profile, Settings

from .mapping import PRODUCT_REQUIRED, ColumnMapping
from .rows import Progress, RowError, parse_decimal

PROGRESS_EVERY = 2000
CATALOG_SCHEMA = pa.schema(
    [
        pa.field("product_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("category", pa.string()),
        pa.field("brand", pa.string()),
        pa.field("price", pa.float64()),
        pa.field("currency", pa.string()),
        pa.field("sku", pa.string()),
        pa.field("imported_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


class CatalogPlan:
    """A checked catalog file: its table, or the errors that stop it."""

    def __init__(self) -> None:
        self.rows = 0
        self.errors: list[RowError] = []
        self.columns: dict[str, list[object]] = {name: [] for name in CATALOG_SCHEMA.names}

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        return len(self.errors)

    def table(self) -> pa.Table:
        return pa.table(
            {
                name: pa.array(values, type=CATALOG_SCHEMA.field(name).type)
                for name, values in self.columns.items()
            },
            schema=CATALOG_SCHEMA,
        )


def catalog_path(settings: Settings, tenant_id: str) -> Path:
    return settings.raw_zone_dir / "catalog" / f"tenant_id={tenant_id}" / "products.parquet"


def plan_products(
    header: list[str],
    rows: Iterable[list[str]],
    mapping: ColumnMapping,
    *,
    tenant_currency: str,
    progress: Progress | None = None,
) -> CatalogPlan:
    """Check a catalog file and build its table (or its error report)."""
    plan = CatalogPlan()
    index = {name: position for position, name in enumerate(header)}
    for required in PRODUCT_REQUIRED:
        if mapping.column(required) not in index:
            plan.errors.append(
                RowError(1, mapping.column(required), f"missing column (the {required} field)")
            )
    if not plan.ok:
        return plan
    at = {
        name: index.get(mapping.column(name))
        for name in ("product_id", "name", "category", "brand", "price", "currency", "sku")
    }
    imported_at = datetime.now(UTC)
    width = len(header)
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        plan.rows += 1
        if progress is not None and plan.rows % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if not any(cell.strip() for cell in row):
            plan.rows -= 1
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))

        def cell(name: str, row: list[str] = row) -> str:
            position = at[name]
            return row[position].strip() if position is not None else ""

        product_id, name = cell("product_id"), cell("name")
        problems: list[RowError] = []
        if not product_id:
            problems.append(RowError(number, mapping.column("product_id"), "empty"))
        elif product_id in seen:
            problems.append(
                RowError(
                    number, mapping.column("product_id"), f"duplicate of row {seen[product_id]}"
                )
            )
        if not name:
            problems.append(RowError(number, mapping.column("name"), "empty"))
        price = parse_decimal(cell("price")) if cell("price") else None
        if cell("price") and (price is None or price < 0):
            problems.append(
                RowError(number, mapping.column("price"), f"{cell('price')!r} is not a price")
            )
        currency = (cell("currency") or mapping.currency or tenant_currency).upper()
        if len(currency) != 3 or not currency.isalpha():
            problems.append(
                RowError(number, mapping.column("currency"), f"{currency!r} is not ISO 4217")
            )
        if problems:
            plan.errors.extend(problems)
            continue
        seen[product_id] = number
        for column, value in (
            ("product_id", product_id),
            ("name", name),
            ("category", cell("category") or None),
            ("brand", cell("brand") or None),
            ("price", float(round(price, 2)) if price is not None else None),
            ("currency", currency),
            ("sku", cell("sku") or None),
            ("imported_at", imported_at),
        ):
            plan.columns[column].append(value)
    if progress is not None:
        progress(plan.rows % PROGRESS_EVERY)
    return plan


def write_catalog(settings: Settings, tenant_id: str, table: pa.Table) -> Path:
    """Replace the tenant's catalog: the Parquet file atomically (write, fsync, rename), and in
    the prod profile also the tenant's rows of ``raw.catalog`` in PostgreSQL (one transaction,
    written first, so a failure there leaves both as they were)."""
    if settings.profile is Profile.PROD:
        from ..raw_zone import PostgresRawZone

        zone = PostgresRawZone(settings.postgres_dsn)
        try:
            zone.write_catalog(tenant_id, table)
        finally:
            zone.close()
    path = catalog_path(settings, tenant_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".parquet.tmp")
    pq.write_table(table, temporary)
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path
