"""The evaluation datasets, each reaching the recommenders the way a shop's data would.

- ``simulator``: ``intellishop.simulation`` traffic (deterministic by seed), converted with the
  warehouse's rules (``events``); the products frame is the simulated catalog, including
  products nobody touched.
- ``movielens``: MovieLens 100k (``intellishop.datasets``) written as an orders CSV (one order
  line per rating: order ``ml-<user>-<item>``, the rating's time, customer = the user, product
  = the film, quantity 1, price 0) and run through the product's own CSV import planning
  (``ingest.imports.orders.plan_generic_orders``, the code behind ``intellishop import
  orders``), then converted to interactions. An orders file has no rating column, so the
  rating's strength is applied after the import by order id: 4 and 5 stay ``Order Completed``
  (purchase strength, and the evaluation's targets), 1 to 3 become ``Product Viewed`` (seen,
  weak interest).
- ``orders_csv``: a real shop's order-lines CSV (generic format with an optional mapping, or
  Shopify's export), planned by the same import code, without writing anything.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import polars as pl

from ingest.imports.mapping import ORDER_FIELDS, load_mapping
from ingest.imports.orders import plan_generic_orders, plan_shopify_orders
from ingest.imports.rows import ImportPlan, read_rows
from intellishop.datasets import movielens_100k_path
from intellishop.simulation import SimulationConfig, build_catalog, generate_events

from .events import PRODUCT_SCHEMA, events_to_interactions, logged_to_message

#: What counts as a hit in the test window (see ``split.TimeSplit``).
Target = Literal["touch", "purchase"]


@dataclass(frozen=True)
class Dataset:
    """Interactions of one or more tenants, their products, and what the evaluation predicts."""

    name: str
    interactions: pl.DataFrame
    products: pl.DataFrame
    #: "purchase": test-window purchases are the targets; "touch": any positive touch.
    target: Target
    description: str


class ImportFailedError(ValueError):
    """The CSV did not pass the import's checks; the message lists the first problems."""


def simulator_dataset(
    *,
    seed: int = 42,
    days: int = 90,
    customers: int = 500,
    products: int = 300,
    end: date = date(2025, 6, 30),
    tenant_id: str = "sim",
) -> Dataset:
    """Simulated shop traffic. Targets are touches: a simulated person buys one or two
    products in a fortnight, far too few to rank on, while what they look at is a fair signal
    of what they want next."""
    config = SimulationConfig(seed=seed, days=days, customers=customers, products=products, end=end)
    interactions, _ = events_to_interactions(generate_events(config), tenant_id=tenant_id)
    catalog = pl.DataFrame(
        [
            (tenant_id, p.product_id, p.name, p.category, p.brand, p.price)
            for p in build_catalog(config)
        ],
        schema=PRODUCT_SCHEMA,
        orient="row",
    )
    return Dataset(
        name="simulator",
        interactions=interactions,
        products=catalog,
        target="touch",
        description=(
            f"simulator seed {seed}, {days} days, {customers} customers, {products} products"
        ),
    )


def movielens_dataset(path: Path | None = None, *, tenant_id: str = "movielens") -> Dataset:
    """MovieLens 100k through the CSV import path (see the module docstring)."""
    source = path or movielens_100k_path()
    ratings = pl.read_csv(
        source,
        separator="\t",
        new_columns=["user", "item", "rating", "timestamp"],
        schema_overrides={"user": pl.String, "item": pl.String},
    ).with_columns(pl.col("rating").cast(pl.Int32), pl.col("timestamp").cast(pl.Int64))
    with tempfile.TemporaryDirectory(prefix="intellishop-movielens-") as directory:
        orders_csv = Path(directory) / "orders.csv"
        with orders_csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["order_id", "date", "customer_id", "product_id", "quantity", "unit_price"]
            )
            for user, item, _, timestamp in ratings.iter_rows():
                moment = datetime.fromtimestamp(timestamp, UTC).isoformat()
                writer.writerow([f"ml-{user}-{item}", moment, f"ml{user}", item, 1, 0])
        interactions, products = import_orders(orders_csv, tenant_id=tenant_id)
    strength = ratings.select(
        ("ml-" + pl.col("user") + "-" + pl.col("item")).alias("order_id"), "rating"
    )
    interactions = (
        interactions.join(strength, on="order_id", how="left")
        .with_columns(
            pl.when(pl.col("rating") < 4)
            .then(pl.lit("Product Viewed"))
            .otherwise(pl.col("event"))
            .alias("event")
        )
        .drop("rating")
    )
    return Dataset(
        name="movielens",
        interactions=interactions,
        products=products,
        target="purchase",
        description="MovieLens 100k via the orders CSV import; rating >= 4 = purchase, else view",
    )


def orders_dataset(
    path: Path,
    *,
    mapping_path: Path | None = None,
    file_format: Literal["generic", "shopify"] = "generic",
    tenant_id: str = "shop",
    timezone: str = "UTC",
    currency: str = "USD",
) -> Dataset:
    """A shop's orders CSV, checked and planned exactly as ``intellishop import orders`` does."""
    interactions, products = import_orders(
        path,
        tenant_id=tenant_id,
        mapping_path=mapping_path,
        file_format=file_format,
        timezone=timezone,
        currency=currency,
    )
    return Dataset(
        name=path.name,
        interactions=interactions,
        products=products,
        target="purchase",
        description=f"orders from {path.name}",
    )


def import_orders(
    path: Path,
    *,
    tenant_id: str,
    mapping_path: Path | None = None,
    file_format: Literal["generic", "shopify"] = "generic",
    timezone: str = "UTC",
    currency: str = "USD",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Plan the import of an orders CSV (nothing is written) and convert its events.

    Raises ``ImportFailedError`` with the import's own row/column report when a row is bad,
    and whatever ``load_mapping``/``read_rows`` raise for an unreadable mapping or file.
    """
    mapping = load_mapping(mapping_path, ORDER_FIELDS)
    header, rows = read_rows(path, mapping.delimiter)
    received_at_us = 0
    plan: ImportPlan
    if file_format == "shopify":
        plan = plan_shopify_orders(
            header,
            rows,
            tenant_timezone=mapping.timezone or timezone,
            tenant_currency=mapping.currency or currency,
            received_at_us=received_at_us,
        )
    else:
        plan = plan_generic_orders(
            header,
            rows,
            mapping,
            tenant_timezone=timezone,
            tenant_currency=currency,
            received_at_us=received_at_us,
        )
    if not plan.ok:
        shown = "; ".join(str(error) for error in plan.errors[:10])
        raise ImportFailedError(f"{plan.error_count} problem(s) in {path.name}: {shown}")
    return events_to_interactions(
        (logged_to_message(event) for event in plan.events), tenant_id=tenant_id
    )
