"""Product catalog imports (raw-zone file) and customer imports (identify calls)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from ingest.imports.csv_import import import_csv
from ingest.imports.products import catalog_path
from intellishop.settings import Settings

from .conftest import logged_events, write_csv

PRODUCT_HEADER = ["product_id", "name", "category", "brand", "price", "stock"]


def test_catalog_is_written_whole_and_replaced_by_a_reimport(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "products.csv",
        PRODUCT_HEADER,
        [
            ["p1", "Trail Shoe", "Footwear", "Acme", "89.90", "4"],
            ["p2", "Sock", "Footwear", "", "", "0"],
        ],
    )
    result = import_csv(settings, "products", path, tenant_id=tenant)
    assert result.ok and result.catalog_file == catalog_path(settings, tenant)
    table = pq.read_table(result.catalog_file)
    assert table.column("product_id").to_pylist() == ["p1", "p2"]
    assert table.column("price").to_pylist() == [89.9, None]
    assert table.column("brand").to_pylist() == ["Acme", None]
    assert table.column("currency").to_pylist() == ["EUR", "EUR"]
    assert "stock" not in table.column_names
    assert logged_events(settings) == []  # a catalog is not an event

    write_csv(path, PRODUCT_HEADER, [["p3", "Cap", "Hats", "Acme", "19", "1"]])
    import_csv(settings, "products", path, tenant_id=tenant)
    assert pq.read_table(catalog_path(settings, tenant)).column("product_id").to_pylist() == ["p3"]


def test_bad_catalog_row_keeps_the_previous_catalog(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    good = write_csv(tmp_path / "good.csv", PRODUCT_HEADER, [["p1", "Shoe", "", "", "10", ""]])
    import_csv(settings, "products", good, tenant_id=tenant)
    bad = write_csv(
        tmp_path / "bad.csv",
        PRODUCT_HEADER,
        [
            ["p1", "Shoe", "", "", "10", ""],
            ["p1", "Shoe 2", "", "", "abc", ""],
            ["", "", "", "", "", ""],
        ],
    )
    result = import_csv(settings, "products", bad, tenant_id=tenant)
    assert [(e.row, e.column) for e in result.errors] == [(3, "product_id"), (3, "price")]
    assert "duplicate of row 2" in result.errors[0].problem
    assert pq.read_table(catalog_path(settings, tenant)).column("name").to_pylist() == ["Shoe"]


def test_customers_become_identify_calls(settings: Settings, tenant: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        ["customer_id", "email", "first_name", "last_name", "phone", "notes"],
        [
            ["c1", "Jo@Example.com", "Jo", "Lee", "", "secret note"],
            ["", "ana@example.com", "Ana", "", "+49 30 1234", ""],
        ],
    )
    result = import_csv(settings, "customers", path, tenant_id=tenant)
    assert result.ok, result.errors
    first, second = logged_events(settings)
    assert first.type == "identify" and first.user_id == "c1"
    traits = json.loads(first.traits)
    assert traits == {
        "email": "jo@example.com",
        "first_name": "Jo",
        "last_name": "Lee",
        "name": "Jo Lee",
    }
    assert second.user_id == "ana@example.com"
    import_csv(settings, "customers", path, tenant_id=tenant)
    again = logged_events(settings)[2:]
    assert [e.message_id for e in again] == [first.message_id, second.message_id]


def test_customer_rows_are_checked(settings: Settings, tenant: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        ["customer_id", "email", "created_at"],
        [
            ["c1", "not-an-email", ""],
            ["", "", "2024-01-01"],
            ["c2", "b@example.com", "31/12/2023"],
            ["c3", "c@example.com", ""],
            ["c3", "d@example.com", ""],
        ],
    )
    result = import_csv(settings, "customers", path, tenant_id=tenant)
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "email"),
        (3, "customer_id"),
        (4, "created_at"),
        (6, "customer_id"),
    ]
    assert "same customer as row 5" in result.errors[-1].problem
    assert logged_events(settings) == []


def test_shopify_customers_export_uses_the_webhook_user_ids(
    settings: Settings, tenant: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "customers_export.csv",
        [
            "Customer ID",
            "First Name",
            "Last Name",
            "Email",
            "Accepts Email Marketing",
            "Default Address Company",
            "Phone",
            "Total Spent",
            "Total Orders",
            "Note",
            "Tax Exempt",
            "Tags",
        ],
        [
            [
                "'706405506930370084",
                "Bob",
                "Biller",
                "bob@biller.com",
                "yes",
                "",
                "",
                "0.00",
                "0",
                "",
                "no",
                "",
            ]
        ],
    )
    result = import_csv(settings, "customers", path, tenant_id=tenant, file_format="shopify")
    assert result.ok, result.errors
    [event] = logged_events(settings)
    assert event.user_id == "shopify:706405506930370084"
    assert json.loads(event.traits)["name"] == "Bob Biller"
