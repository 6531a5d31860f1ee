"""Column mappings: which CSV column holds which field, and how its dates are written.

A mapping file is JSON (or YAML, by its ``.yaml``/``.yml`` suffix)::

    {
      "columns": {"order_id": "Order No", "date": "Order Date", "customer_id": "Customer",
                  "product_id": "SKU", "quantity": "Qty", "unit_price": "Unit Price"},
      "date_format": "%d/%m/%Y %H:%M",
      "timezone": "Europe/Berlin",
      "currency": "EUR",
      "delimiter": ";",
      "status_values": {"storniert": "cancelled", "erstattet": "refunded"}
    }

Fields left out of ``columns`` are looked up under their own name (a file whose header already
says ``order_id``, ``date``... needs no mapping at all). ``date_format`` is ``"iso"`` (default)
or a ``strptime`` format; dates without an offset are in ``timezone`` (default: the tenant's).
``currency`` is used where a row has none (default: the tenant's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Fields each import understands; the first group of each is required.
ORDER_FIELDS = (
    "order_id",
    "date",
    "quantity",
    "unit_price",
    "product_id",
    "sku",
    "name",
    "category",
    "brand",
    "customer_id",
    "email",
    "currency",
    "status",
)
ORDER_REQUIRED = ("order_id", "date", "quantity", "unit_price")
PRODUCT_FIELDS = ("product_id", "name", "category", "brand", "price", "currency", "sku")
PRODUCT_REQUIRED = ("product_id", "name")
CUSTOMER_FIELDS = (
    "customer_id",
    "email",
    "first_name",
    "last_name",
    "name",
    "phone",
    "created_at",
)
CUSTOMER_REQUIRED: tuple[str, ...] = ()

#: The order statuses understood, and what each means for the order line.
STATUS_MEANINGS = {
    "": "completed",
    "completed": "completed",
    "complete": "completed",
    "paid": "completed",
    "processing": "completed",
    "fulfilled": "completed",
    "shipped": "completed",
    "delivered": "completed",
    "refunded": "refunded",
    "returned": "refunded",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "voided": "cancelled",
}


class MappingError(ValueError):
    """A mapping file that cannot be used (unreadable, unknown field, bad time zone)."""


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str = "iso"
    timezone: str | None = None
    currency: str | None = None
    delimiter: str = ","
    status_values: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> str:
        """The CSV header of a field."""
        return self.columns.get(name, name)

    def zone(self, default: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or default)

    def status_meaning(self, value: str) -> str | None:
        """completed, refunded or cancelled for a status cell; None if not understood."""
        key = value.strip().lower()
        key = self.status_values.get(key, key)
        return STATUS_MEANINGS.get(key)


def load_mapping(path: Path | None, fields: tuple[str, ...]) -> ColumnMapping:
    """Read and check a mapping file; no file means the default mapping."""
    if path is None:
        return ColumnMapping()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read the mapping {path}: {exc}") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml  # type: ignore[import-untyped]

            raw: Any = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except Exception as exc:
        raise MappingError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}"
        ) from exc
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: the mapping must be an object with a 'columns' object")
    known = {"columns", "date_format", "timezone", "currency", "delimiter", "status_values"}
    unknown = set(raw) - known
    if unknown:
        raise MappingError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    columns = raw.get("columns") or {}
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise MappingError(f"{path}: 'columns' must map field names to column names")
    bad_fields = set(columns) - set(fields)
    if bad_fields:
        raise MappingError(f"{path}: unknown fields {sorted(bad_fields)}; known: {list(fields)}")
    timezone = raw.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise MappingError(f"{path}: unknown timezone {timezone!r}") from exc
    currency = raw.get("currency")
    if currency is not None and not (
        isinstance(currency, str) and len(currency) == 3 and currency.isalpha()
    ):
        raise MappingError(f"{path}: currency must be an ISO 4217 code such as EUR")
    delimiter = str(raw.get("delimiter", ","))
    if len(delimiter) != 1:
        raise MappingError(f"{path}: delimiter must be one character")
    statuses = raw.get("status_values") or {}
    if not isinstance(statuses, dict) or any(
        str(v).lower() not in STATUS_MEANINGS for v in statuses.values()
    ):
        raise MappingError(
            f"{path}: status_values must map your statuses to one of completed, refunded, cancelled"
        )
    return ColumnMapping(
        columns={str(k): str(v) for k, v in columns.items()},
        date_format=str(raw.get("date_format", "iso")),
        timezone=str(timezone) if timezone is not None else None,
        currency=currency.upper() if isinstance(currency, str) else None,
        delimiter=delimiter,
        status_values={str(k).lower(): str(v).lower() for k, v in statuses.items()},
    )
