"""Order CSV imports: generic lines with returns and statuses, Shopify's export, all-or-nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ingest.imports.csv_import import ImportRefusedError, import_csv
from ingest.imports.mapping import MappingError
from ingest.loader import drain_event_log
from ingest.platforms import shopify
from intellishop.events import from_micros
from intellishop.settings import Settings

from .conftest import FIXTURES, logged_events, props, write_csv

HEADER = [
    "order_id",
    "date",
    "customer_id",
    "email",
    "product_id",
    "name",
    "category",
    "quantity",
    "unit_price",
    "status",
]


def generic_file(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "orders.csv",
        HEADER,
        [
            ["A-1", "2024-05-01T10:00:00", "c1", "", "p1", "Shoe", "Footwear", 2, "50.00", ""],
            ["A-1", "2024-05-01T10:00:00", "c1", "", "p2", "Sock", "Footwear", 1, "5.50", "paid"],
            ["A-1", "2024-05-09T12:00:00", "c1", "", "p1", "Shoe", "Footwear", -1, "50.00", ""],
            ["A-2", "2024-05-02", "", "Jo@Example.COM", "p3", "Cap", "Hats", 1, "20", "refunded"],
            ["A-2", "2024-05-02", "", "jo@example.com", "p4", "Scarf", "", 1, "30", ""],
            ["A-3", "2024-05-03 08:30:00+00:00", "", "", "p1", "Shoe", "", 1, "50", "cancelled"],
            [],
        ],
    )


def test_generic_orders_with_returns_refund_and_cancellation(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    result = import_csv(settings, "orders", generic_file(tmp_path), tenant_id=tenant)
    assert result.ok, result.errors
    assert result.rows == 6
    events = logged_events(settings)
    by_name = {(props(e)["order_id"], e.event): e for e in events}
    assert sorted(by_name) == [
        ("A-1", "Order Completed"),
        ("A-1", "Order Refunded"),
        ("A-2", "Order Completed"),
        ("A-2", "Order Refunded"),
        ("A-3", "Order Cancelled"),
        ("A-3", "Order Completed"),
    ]
    a1 = by_name[("A-1", "Order Completed")]
    assert a1.user_id == "c1"
    assert props(a1)["revenue"] == props(a1)["total"] == 105.5
    assert props(a1)["currency"] == "EUR"  # the tenant's
    assert [(p["product_id"], p["quantity"], p["price"]) for p in props(a1)["products"]] == [
        ("p1", 2, 50.0),
        ("p2", 1, 5.5),
    ]
    # Naive times are in the tenant's zone (Berlin, UTC+2 in May).
    assert from_micros(a1.timestamp_us) == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    a1_refund = by_name[("A-1", "Order Refunded")]
    assert props(a1_refund)["total"] == 50.0
    assert props(a1_refund)["products"][0]["quantity"] == 1
    assert from_micros(a1_refund.timestamp_us) == datetime(2024, 5, 9, 10, 0, tzinfo=UTC)
    a2 = by_name[("A-2", "Order Completed")]
    assert a2.user_id == "jo@example.com"
    assert props(a2)["total"] == 50.0  # the refunded line was bought too
    assert props(by_name[("A-2", "Order Refunded")])["total"] == 20.0
    a3 = by_name[("A-3", "Order Cancelled")]
    assert a3.user_id is None and a3.anonymous_id == "import:order:A-3"
    assert props(a3)["total"] == 50.0
    assert result.counts == {"Order Completed": 3, "Order Refunded": 2, "Order Cancelled": 1}


def test_mapping_file_renames_columns_and_reads_its_date_format(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        ["Bestellung", "Datum", "Kunde", "Artikel", "Menge", "Preis", "Status", "Waehrung"],
        [
            ["B-7", "03.06.2024 14:05", "k9", "SKU-1", "3", "9,99", "erstattet", "chf"],
            ["B-7", "03.06.2024 14:05", "k9", "SKU-2", "1", "1.000,00", "", "chf"],
        ],
        delimiter=";",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "columns:\n  order_id: Bestellung\n  date: Datum\n  customer_id: Kunde\n"
        "  sku: Artikel\n  quantity: Menge\n  unit_price: Preis\n  status: Status\n"
        "  currency: Waehrung\n"
        "date_format: '%d.%m.%Y %H:%M'\ntimezone: UTC\ndelimiter: ';'\n"
        "status_values: {erstattet: refunded}\n"
    )
    result = import_csv(settings, "orders", path, tenant_id=tenant, mapping_path=mapping)
    # "9,99" and "1.000,00" are European decimals: this file is refused, not misread.
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(2, "Preis"), (3, "Preis")]
    assert logged_events(settings) == []

    fixed = write_csv(
        tmp_path / "export.csv",
        ["Bestellung", "Datum", "Kunde", "Artikel", "Menge", "Preis", "Status", "Waehrung"],
        [
            ["B-7", "03.06.2024 14:05", "k9", "SKU-1", "3", "9.99", "erstattet", "chf"],
            ["B-7", "03.06.2024 14:05", "k9", "SKU-2", "1", "1000.00", "", "chf"],
        ],
        delimiter=";",
    )
    result = import_csv(settings, "orders", fixed, tenant_id=tenant, mapping_path=mapping)
    assert result.ok, result.errors
    completed, refunded = logged_events(settings)
    assert completed.event == "Order Completed" and refunded.event == "Order Refunded"
    assert props(completed)["currency"] == "CHF"
    assert props(completed)["total"] == 1029.97
    assert props(completed)["products"][0]["product_id"] == "SKU-1"
    assert from_micros(completed.timestamp_us) == datetime(2024, 6, 3, 14, 5, tzinfo=UTC)
    assert props(refunded)["total"] == 29.97


def test_one_bad_row_writes_nothing_and_names_every_problem(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    rows = [
        ["A-1", "2024-05-01T10:00:00", "c1", "", "p1", "Shoe", "", 2, "50", ""],
    ] * 500
    bad: list[list[Any]] = [
        ["A-9", "05/01/2024", "c1", "", "p1", "Shoe", "", "two", "-1", "lost"],
        ["", "2024-05-01", "c1", "", "", "Shoe", "", 0, "5", ""],
    ]
    path = write_csv(tmp_path / "orders.csv", HEADER, rows[:300] + bad + rows[300:])
    result = import_csv(settings, "orders", path, tenant_id=tenant)
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [
        (302, "date"),
        (302, "quantity"),
        (302, "unit_price"),
        (302, "status"),
        (303, "order_id"),
        (303, "quantity"),
        (303, "product_id"),
    ]
    assert "05/01/2024" in result.errors[0].problem
    assert result.events == 0
    assert logged_events(settings) == []


def test_missing_columns_and_bad_mapping_are_reported(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "orders.csv", ["order", "when"], [["1", "2024-01-01"]])
    result = import_csv(settings, "orders", path, tenant_id=tenant)
    assert {e.column for e in result.errors} == {
        "order_id",
        "date",
        "quantity",
        "unit_price",
        "product_id",
    }
    assert all(e.row == 1 for e in result.errors)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": {"order_number": "order"}}))
    with pytest.raises(MappingError, match="order_number"):
        import_csv(settings, "orders", path, tenant_id=tenant, mapping_path=mapping)
    with pytest.raises(ImportRefusedError, match="no tenant"):
        import_csv(settings, "orders", path, tenant_id="someone-else")


def test_reimporting_a_file_is_idempotent_downstream(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    path = generic_file(tmp_path)
    first = import_csv(settings, "orders", path, tenant_id=tenant)
    first_ids = [e.message_id for e in logged_events(settings)]
    second = import_csv(settings, "orders", path, tenant_id=tenant)
    all_ids = [e.message_id for e in logged_events(settings)]
    assert first.events == second.events == 6
    assert all_ids == first_ids + first_ids
    drain_event_log(settings)
    table = pq.ParquetDataset(settings.raw_zone_dir / "events").read()
    assert set(table.column("message_id").to_pylist()) == set(first_ids)
    assert set(table.column("tenant_id").to_pylist()) == {tenant}


def test_shopify_export_with_multi_line_orders(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    result = import_csv(
        settings,
        "orders",
        FIXTURES / "shopify" / "orders_export.csv",
        tenant_id=tenant,
        file_format="shopify",
    )
    assert result.ok, result.errors
    assert result.rows == 5
    events = logged_events(settings)
    assert [
        (props(e)["order_number"] if e.event == "Order Completed" else "", e.event) for e in events
    ] == [
        ("#1001", "Order Completed"),
        ("#1002", "Order Completed"),
        ("", "Order Refunded"),
        ("#1003", "Order Completed"),
        ("", "Order Refunded"),
        ("", "Order Cancelled"),
    ]
    first = props(events[0])
    assert first["order_id"] == "820982911946154508"
    assert first["total"] == 409.94 and first["revenue"] == 388.0
    assert first["tax"] == 11.94 and first["shipping"] == 10.0 and first["discount"] == 10.0
    assert first["currency"] == "USD"
    assert [(p["sku"], p["quantity"], p["price"], p["brand"]) for p in first["products"]] == [
        ("IPOD2008PINK", 1, 199.0, "Apple"),
        ("IPOD2008BLACK", 1, 199.0, "Apple"),
    ]
    assert events[0].user_id == "jon@example.com"
    assert from_micros(events[0].timestamp_us) == datetime(2024, 3, 12, 14, 15, 42, tzinfo=UTC)
    # The same order received by the orders/create webhook has the same message id.
    assert events[0].message_id == shopify.order_completed_message_id(820982911946154508)
    assert events[1].user_id == "ana.lima@example.com"
    assert props(events[2])["total"] == 15.0
    third = props(events[3])
    # Order-level columns come from the order's first row; lines from every row.
    assert third["total"] == 129.6
    assert [(p["product_id"], p["quantity"]) for p in third["products"]] == [
        ("JACKET-M", 2),
        ("Gift wrap", 1),
    ]
    assert events[3].anonymous_id == "import:order:820982911946154510"
    assert props(events[4])["total"] == 129.6
    assert from_micros(events[5].timestamp_us) == datetime(2024, 3, 15, 16, 30, tzinfo=UTC)


def test_shopify_export_with_a_bad_row_writes_nothing(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    text = (FIXTURES / "shopify" / "orders_export.csv").read_text()
    broken = tmp_path / "orders_export.csv"
    broken.write_text(text.replace("2024-03-14 16:01:30 -0400", "yesterday"))
    result = import_csv(settings, "orders", broken, tenant_id=tenant, file_format="shopify")
    assert [(e.row, e.column) for e in result.errors] == [(4, "Created at")]
    assert logged_events(settings) == []
