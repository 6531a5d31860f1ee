"""``tenant_tables``: what one tenant's serving artifacts hold, on small hand-made frames."""

from __future__ import annotations

from datetime import date

import polars as pl
import pyarrow as pa
import pytest

from dagster_project.defs.publish.assets import PUBLISHED_COLUMNS, publish_metadata, tenant_tables

#: docs/contracts.md, "Publish -> serving store": the columns each serving table must have.
CONTRACT_COLUMNS = {
    "products": ["product_id", "name", "category", "brand", "price"],
    "trending": ["product_id", "category", "score", "rank", "category_rank"],
    "popular": ["product_id", "category", "score", "rank"],
    "recommendations": ["user_id", "product_id", "score", "rank", "algorithm"],
    "daily_metrics": [
        "metric_date",
        "revenue",
        "orders",
        "aov",
        "sessions",
        "visitors",
        "conversion_rate",
    ],
}


def two_tenants() -> dict[str, pl.DataFrame]:
    """Every table with rows of shop-a, shop-b and (in products) an extra warehouse column.

    Both shops use the product id p1 and the user id u1, as independent shops do.
    """
    return {
        "products": pl.DataFrame(
            {
                "tenant_id": ["shop-a", "shop-b", "shop-a"],
                "product_id": ["p1", "p1", "p2"],
                "name": ["Mug", "Anvil", "Teapot"],
                "category": ["Kitchen", "Tools", "Kitchen"],
                "brand": ["Acme", "Wile", "Acme"],
                "price": [9.5, 120.0, 30.0],
                "currency": ["USD", "EUR", "USD"],
                "first_seen_at": [None, None, None],
            }
        ),
        "trending": pl.DataFrame(
            {
                "tenant_id": ["shop-b", "shop-a", "shop-a"],
                "product_id": ["p1", "p2", "p1"],
                "category": ["Tools", "Kitchen", "Kitchen"],
                "score": [50.0, 7.0, 3.0],
                "rank": [1, 1, 2],
                "category_rank": [1, 1, 2],
            }
        ),
        "popular": pl.DataFrame(
            {
                "tenant_id": ["shop-a", "shop-b"],
                "product_id": ["p2", "p1"],
                "category": ["Kitchen", "Tools"],
                "score": [12.0, 80.0],
                "rank": [1, 1],
            }
        ),
        "recommendations": pl.DataFrame(
            {
                "tenant_id": ["shop-a", "shop-a", "shop-b"],
                "user_id": ["u1", "u1", "u1"],
                "product_id": ["p2", "p1", "p1"],
                "score": [0.9, 0.4, 0.8],
                "rank": [1, 2, 1],
                "algorithm": ["personal", "personal", "trending"],
            }
        ),
        "daily_metrics": pl.DataFrame(
            {
                "tenant_id": ["shop-a", "shop-b", "shop-a"],
                "metric_date": [date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 2)],
                "currency": ["USD", "EUR", "USD"],
                "revenue": [100.0, 999.0, 0.0],
                "gross_revenue": [120.0, 999.0, 0.0],
                "orders": [2, 9, 0],
                "aov": [50.0, 111.0, None],
                "sessions": [10, 90, 4],
                "visitors": [8, 70, 4],
                "conversion_rate": [0.2, 0.1, 0.0],
                "refunded_revenue": [20.0, 0.0, 0.0],
                "refunded_orders": [1, 0, 0],
                "new_visitors": [5, 40, 1],
                "returning_visitors": [3, 30, 3],
                "customers": [2, 9, 0],
                "new_customers": [1, 5, 0],
                "returning_customers": [1, 4, 0],
                "built_at": ["t", "t", "t"],  # a warehouse-only column
            }
        ),
    }


def test_every_serving_table_is_published_with_the_contract_columns() -> None:
    published = tenant_tables(two_tenants(), "shop-a")
    assert set(published) == set(CONTRACT_COLUMNS)
    for name, table in published.items():
        assert isinstance(table, pa.Table)
        assert table.column_names == PUBLISHED_COLUMNS[name], name
        assert set(CONTRACT_COLUMNS[name]) <= set(table.column_names), name
        assert "tenant_id" not in table.column_names, name


def test_only_the_tenants_own_rows_are_published() -> None:
    published = tenant_tables(two_tenants(), "shop-a")
    products = published["products"].to_pydict()
    assert sorted(zip(products["product_id"], products["name"], strict=True)) == [
        ("p1", "Mug"),
        ("p2", "Teapot"),
    ]
    assert published["trending"].to_pydict()["score"] == [7.0, 3.0]
    assert published["popular"].to_pydict()["product_id"] == ["p2"]
    recommendations = published["recommendations"].to_pydict()
    assert recommendations["product_id"] == ["p2", "p1"]
    assert recommendations["algorithm"] == ["personal", "personal"]
    metrics = published["daily_metrics"].to_pydict()
    assert metrics["metric_date"] == [date(2025, 3, 1), date(2025, 3, 2)]
    assert metrics["revenue"] == [100.0, 0.0]
    assert metrics["currency"] == ["USD", "USD"]

    other = tenant_tables(two_tenants(), "shop-b")
    assert other["products"].to_pydict()["name"] == ["Anvil"]
    assert other["daily_metrics"].to_pydict()["orders"] == [9]
    assert other["recommendations"].to_pydict()["algorithm"] == ["trending"]


def test_a_tenant_without_rows_gets_empty_tables_not_another_tenants() -> None:
    published = tenant_tables(two_tenants(), "shop-c")
    for name, table in published.items():
        assert table.num_rows == 0, name
        assert table.column_names == PUBLISHED_COLUMNS[name], name


def test_a_table_missing_a_contract_column_is_refused() -> None:
    tables = two_tenants()
    tables["popular"] = tables["popular"].drop("score")
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        tenant_tables(tables, "shop-a")


def test_publish_metadata_counts_rows_per_tenant_and_previews_the_newest_days() -> None:
    tables = two_tenants()
    rows = {
        tenant_id: {
            name: table.num_rows for name, table in tenant_tables(tables, tenant_id).items()
        }
        for tenant_id in ("shop-a", "shop-b")
    }
    metadata = publish_metadata({"shop-a": "v1", "shop-b": "v7"}, rows, tables)
    # shop-a: 2 products, 2 trending, 1 popular, 2 recommendations, 2 days; shop-b: 1 of each.
    assert metadata["dagster/row_count"] == 9 + 5
    assert metadata["tenants"] == 2
    by_table = metadata["rows_by_tenant_and_table"].value
    assert "| shop-a | 2 | 2 | 1 | 2 | 2 |" in by_table
    preview = metadata["latest_daily_metrics"].value.splitlines()
    # Newest day first; the warehouse-only column stays out.
    assert preview[2].startswith("| shop-a | 2025-03-02 |")
    assert "built_at" not in preview[0]
