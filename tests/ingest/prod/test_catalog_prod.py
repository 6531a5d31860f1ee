"""Prod profile: a catalog import also replaces the tenant's rows of ``raw.catalog``."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyarrow.parquet as pq

from ingest.imports.csv_import import import_csv
from ingest.imports.products import catalog_path
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from ..imports.conftest import write_csv

HEADER = ["product_id", "name", "category", "brand", "price"]


def catalog_rows(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as con:
        return con.execute(
            "select tenant_id, product_id, name, category, brand, price, currency, sku"
            " from raw.catalog order by 1, 2"
        ).fetchall()


def test_prod_catalog_import_replaces_only_that_tenants_rows(
    prod_settings: Settings, tmp_path: Path
) -> None:
    registry = TenantRegistry(prod_settings.tenants_db_path)
    registry.create("Shop A", tenant_id="shop-a", currency="USD")
    registry.create("Shop B", tenant_id="shop-b", currency="EUR")
    dsn = prod_settings.postgres_dsn
    first = write_csv(tmp_path / "a.csv", HEADER, [["p1", "Shoe", "Footwear", "Acme", "89.90"],
                                                   ["p2", "Sock", "Footwear", "", ""]])  # fmt: skip
    assert import_csv(prod_settings, "products", first, tenant_id="shop-a").ok
    other = write_csv(tmp_path / "b.csv", HEADER, [["p1", "Schuh", "Schuhe", "Acme", "79"]])
    assert import_csv(prod_settings, "products", other, tenant_id="shop-b").ok
    assert catalog_rows(dsn) == [
        ("shop-a", "p1", "Shoe", "Footwear", "Acme", 89.9, "USD", None),
        ("shop-a", "p2", "Sock", "Footwear", None, None, "USD", None),
        ("shop-b", "p1", "Schuh", "Schuhe", "Acme", 79.0, "EUR", None),
    ]
    # The Parquet file is written too, with the same rows.
    local = pq.read_table(catalog_path(prod_settings, "shop-a"))
    assert local.column("product_id").to_pylist() == ["p1", "p2"]

    write_csv(first, HEADER, [["p3", "Cap", "Hats", "Acme", "19"]])
    assert import_csv(prod_settings, "products", first, tenant_id="shop-a").ok
    assert [(t, p) for t, p, *_ in catalog_rows(dsn)] == [("shop-a", "p3"), ("shop-b", "p1")]

    write_csv(first, HEADER, [["p4", "Hat", "Hats", "Acme", "abc"]])  # a bad price
    assert not import_csv(prod_settings, "products", first, tenant_id="shop-a").ok
    assert [(t, p) for t, p, *_ in catalog_rows(dsn)] == [("shop-a", "p3"), ("shop-b", "p1")]
