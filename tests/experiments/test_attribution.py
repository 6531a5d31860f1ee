"""Which orders count per surface: the email window, the priced product's lines, lines summed
to orders for everything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from intellishop.experiments import Surface, attributable_outcomes
from intellishop.experiments.attribution import ALL_ORDERS, PRICE_WITHOUT_LINES, PRODUCT_LINES

from .conftest import make_experiment

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def exposures(**extra: list[object]) -> pl.DataFrame:
    return pl.DataFrame(
        {"unit_id": ["a", "b"], "variant_id": ["control", "treatment"], "exposed_at": [T0, T0]}
        | extra
    )


def lines() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "unit_id": ["a", "a", "b", "b", "b"],
            "order_id": ["o1", "o1", "o2", "o3", "o3"],
            "ordered_at": [T0 + timedelta(days=d) for d in (1, 1, 2, 9, 9)],
            "product_id": ["p1", "p2", "p1", "p1", "p9"],
            "revenue": [10.0, 5.0, 20.0, 30.0, 1.0],
        }
    )


def rows(frame: pl.DataFrame) -> list[tuple[str, float]]:
    return sorted(zip(frame["unit_id"], frame["revenue"], strict=True))


def test_email_orders_count_only_within_the_window() -> None:
    experiment = make_experiment(surface=Surface.EMAIL)
    counted, how = attributable_outcomes(experiment, exposures(window_days=[7.0, 7.0]), lines())
    assert rows(counted) == [("a", 15.0), ("b", 20.0)]  # b's day-9 order is past the window
    assert "window_days" in how
    counted, _ = attributable_outcomes(experiment, exposures(window_days=[7.0, 10.0]), lines())
    assert rows(counted) == [("a", 15.0), ("b", 20.0), ("b", 31.0)]


def test_price_counts_only_the_priced_products_lines_after_the_sight() -> None:
    experiment = make_experiment(surface=Surface.PRICE)
    seen = pl.concat(
        [
            exposures(product_id=["p1", "p1"]),
            pl.DataFrame(
                {
                    "unit_id": ["b"],
                    "variant_id": ["treatment"],
                    "exposed_at": [T0 + timedelta(days=10)],  # p9 seen after it was bought
                    "product_id": ["p9"],
                }
            ),
        ]
    )
    counted, how = attributable_outcomes(experiment, seen, lines())
    assert rows(counted) == [("a", 10.0), ("b", 20.0), ("b", 30.0)]
    assert how == PRODUCT_LINES
    orders = (
        lines()
        .group_by("unit_id", "order_id")
        .agg(pl.col("ordered_at").first(), pl.col("revenue").sum())
    )
    counted, how = attributable_outcomes(experiment, seen, orders.drop("order_id"))
    assert how == PRICE_WITHOUT_LINES and counted.height == 3


def test_lines_are_summed_to_orders_for_other_surfaces() -> None:
    counted, how = attributable_outcomes(make_experiment(), exposures(), lines())
    assert rows(counted) == [("a", 15.0), ("b", 20.0), ("b", 31.0)]
    assert how == ALL_ORDERS
