"""One CSV import from file to event log: read, check every row, then write everything or nothing.

This is what ``intellishop import orders|products|customers`` runs. The file is checked whole
before anything is written; a file with any bad row writes nothing and returns its report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from ..event_log import open_event_log
from .customers import plan_customers
from .mapping import CUSTOMER_FIELDS, ORDER_FIELDS, PRODUCT_FIELDS, load_mapping
from .orders import plan_generic_orders, plan_shopify_orders
from .products import plan_products, write_catalog
from .rows import ImportPlan, Progress, RowError, append_events, read_rows

ImportKind = Literal["orders", "products", "customers"]
FileFormat = Literal["generic", "shopify"]


class ImportRefusedError(ValueError):
    """The import cannot start (unknown tenant, unsupported format)."""


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    events: int = 0
    entries: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    check_seconds: float = 0.0
    write_seconds: float = 0.0
    catalog_file: Path | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0


def import_csv(
    settings: Settings,
    kind: ImportKind,
    path: Path,
    *,
    tenant_id: str,
    mapping_path: Path | None = None,
    file_format: FileFormat = "generic",
    dry_run: bool = False,
    on_rows: Progress | None = None,
    on_events: Progress | None = None,
    on_write_start: Progress | None = None,
) -> ImportResult:
    """Import one file for one tenant; raises MappingError, CsvFormatError, ImportRefusedError.

    ``on_rows`` and ``on_events`` are told how many rows were checked and events written since
    their last call; ``on_write_start`` how many events are about to be written.
    """
    tenant = TenantRegistry(settings.tenants_db_path).get(tenant_id)
    if tenant is None:
        raise ImportRefusedError(f"no tenant {tenant_id!r} (see `intellishop tenants list`)")
    if file_format == "shopify" and kind == "products":
        raise ImportRefusedError("products take the generic format (with a mapping)")
    fields = {"orders": ORDER_FIELDS, "products": PRODUCT_FIELDS, "customers": CUSTOMER_FIELDS}
    mapping = load_mapping(mapping_path, fields[kind])
    header, rows = read_rows(path, mapping.delimiter)
    result = ImportResult(kind=kind)
    received_at_us = time.time_ns() // 1000
    started = time.perf_counter()

    if kind == "products":
        catalog = plan_products(
            header, rows, mapping, tenant_currency=tenant.currency, progress=on_rows
        )
        result.rows, result.errors = catalog.rows, catalog.errors
        result.error_count = catalog.error_count
        result.check_seconds = time.perf_counter() - started
        if catalog.ok and not dry_run:
            started = time.perf_counter()
            result.catalog_file = write_catalog(settings, tenant_id, catalog.table())
            result.counts = {"products": catalog.rows}
            result.write_seconds = time.perf_counter() - started
        return result

    plan: ImportPlan
    if kind == "customers":
        plan = plan_customers(
            header,
            rows,
            mapping,
            tenant_timezone=tenant.timezone,
            received_at_us=received_at_us,
            shopify_format=file_format == "shopify",
            progress=on_rows,
        )
    elif file_format == "shopify":
        plan = plan_shopify_orders(
            header,
            rows,
            tenant_timezone=mapping.timezone or tenant.timezone,
            tenant_currency=mapping.currency or tenant.currency,
            received_at_us=received_at_us,
            progress=on_rows,
        )
    else:
        plan = plan_generic_orders(
            header,
            rows,
            mapping,
            tenant_timezone=tenant.timezone,
            tenant_currency=tenant.currency,
            received_at_us=received_at_us,
            progress=on_rows,
        )
    result.rows, result.errors, result.error_count = plan.rows, plan.errors, plan.error_count
    result.counts = dict(plan.counts)
    result.check_seconds = time.perf_counter() - started
    if not plan.ok or dry_run:
        return result
    if on_write_start is not None:
        on_write_start(len(plan.events))
    started = time.perf_counter()
    log = open_event_log(settings)
    try:
        result.entries = append_events(log, tenant_id, plan.events, progress=on_events)
    finally:
        log.close()
    result.events = len(plan.events)
    result.write_seconds = time.perf_counter() - started
    return result
