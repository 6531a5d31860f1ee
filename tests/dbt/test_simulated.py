"""The marts against an independent polars computation (tests/dbt/reference.py) on simulated
shops: funnel_daily, daily_metrics, customers (RFM scores and segments) and cohort_retention.

Two shops either side of UTC (New York, Tokyo), a month of deterministic simulated traffic
each (intellishop.simulation, fixed seeds and end date), written to a Parquet raw zone in the
loader's layout; then ``dbt run`` of those marts and what they need.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from ingest.raw_zone import ParquetRawZone
from intellishop.settings import Profile, Settings
from intellishop.simulation import SimulationConfig, generate_events
from tests.dbt import reference
from tests.dbt.conftest import run_dbt
from tests.dbt.scenario import RAW_SCHEMA

TIMEZONES = {"sim-ny": "America/New_York", "sim-tokyo": "Asia/Tokyo"}
CONFIGS = {
    "sim-ny": SimulationConfig(
        seed=21, days=35, customers=60, products=40, anonymous_visitors_per_customer=6,
        refund_rate=0.25, end=date(2025, 3, 14),
    ),
    "sim-tokyo": SimulationConfig(
        seed=22, days=35, customers=60, products=40, anonymous_visitors_per_customer=6,
        refund_rate=0.25, end=date(2025, 3, 14),
    ),
}  # fmt: skip


def raw_rows(tenant_id: str, messages: list[dict[str, Any]]) -> pa.Table:
    """The simulated messages as the loader writes them (received when they happened)."""
    rows = []
    for offset, message in enumerate(messages):
        moment = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00")).astimezone(UTC)
        rows.append(
            {
                "message_id": message["messageId"],
                "type": message["type"],
                "event": message.get("event"),
                "user_id": message.get("userId"),
                "anonymous_id": message.get("anonymousId"),
                "previous_id": message.get("previousId"),
                "timestamp": moment,
                "sent_at": moment,
                "received_at": moment,
                "properties": reference.raw_json(message.get("properties")),
                "traits": reference.raw_json(message.get("traits")),
                "context": reference.raw_json(message.get("context")),
                "log_offset": offset,
                "tenant_id": tenant_id,
                "event_date": moment.date(),
            }
        )
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


@pytest.fixture(scope="module")
def simulated(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[tuple[str, dict[str, Any]]]]]:
    root: Path = tmp_path_factory.mktemp("dbt-simulated")
    settings = Settings(data_dir=root / "data", profile=Profile.LOCAL)
    settings.ensure_dirs()
    zone = ParquetRawZone(settings.raw_zone_dir)
    messages: list[tuple[str, dict[str, Any]]] = []
    for number, (tenant_id, config) in enumerate(CONFIGS.items()):
        generated = list(generate_events(config))
        messages += [(tenant_id, message) for message in generated]
        zone.write_events(raw_rows(tenant_id, generated), chunk_id=f"{number:012d}")
    zone.write_tenants(
        pa.table(
            {
                "tenant_id": list(TIMEZONES),
                "name": list(TIMEZONES),
                "timezone": list(TIMEZONES.values()),
                "currency": ["USD", "JPY"],
                "created_at": ["2025-01-01T00:00:00+00:00"] * 2,
                "disabled": [False, False],
            }
        )
    )
    run_dbt(
        ["run", "--select", "+funnel_daily", "+daily_metrics", "+customers", "+cohort_retention"],
        settings,
        root,
    )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    con.sql("set TimeZone = 'UTC'")
    try:
        yield con, messages
    finally:
        con.close()


@pytest.fixture(scope="module")
def expected(
    simulated: tuple[duckdb.DuckDBPyConnection, list[tuple[str, dict[str, Any]]]],
) -> dict[str, pl.DataFrame]:
    _, messages = simulated
    events = reference.stitched(reference.events_frame(messages))
    visits = reference.sessions(events)
    placed = reference.orders(events)
    return {
        "daily_metrics": reference.daily_metrics(visits, placed, TIMEZONES),
        "funnel_daily": reference.funnel_daily(visits, TIMEZONES),
        "customers": reference.customers(placed),
        "cohort_retention": reference.cohort_retention(placed, TIMEZONES),
    }


def compare(
    con: duckdb.DuckDBPyConnection, model: str, want: pl.DataFrame, keys: list[str]
) -> None:
    """Same rows (by key) and, column by column, the same values (money to the cent)."""
    columns = want.columns
    got = con.sql(f"select {', '.join(columns)} from {model}").pl()
    assert got.height == want.height > 0
    got = got.sort(keys)
    want = want.sort(keys)
    for column in columns:
        left, right = got[column], want[column]
        if left.dtype.is_numeric() or right.dtype.is_numeric():
            difference = (left.cast(pl.Float64) - right.cast(pl.Float64)).abs()
            nulls_agree = (left.is_null() == right.is_null()).all()
            assert nulls_agree and (difference.fill_null(0) < 0.006).all(), (model, column)
        else:
            assert left.cast(pl.String).to_list() == right.cast(pl.String).to_list(), (
                model,
                column,
            )


def test_simulation_has_what_the_marts_measure(expected: dict[str, pl.DataFrame]) -> None:
    # Without orders, refunds, repeat buyers and several segments the comparisons prove little.
    customers = expected["customers"]
    assert customers.height > 20
    assert customers["rfm_segment"].n_unique() >= 4
    assert (customers["orders"] >= 2).any()
    assert (expected["cohort_retention"]["period_number"] > 0).any()


def test_daily_metrics_match(
    simulated: tuple[duckdb.DuckDBPyConnection, Any], expected: dict[str, pl.DataFrame]
) -> None:
    compare(simulated[0], "daily_metrics", expected["daily_metrics"], ["tenant_id", "metric_date"])


def test_funnel_matches(
    simulated: tuple[duckdb.DuckDBPyConnection, Any], expected: dict[str, pl.DataFrame]
) -> None:
    compare(simulated[0], "funnel_daily", expected["funnel_daily"], reference.FUNNEL_KEYS)


def test_customers_rfm_match(
    simulated: tuple[duckdb.DuckDBPyConnection, Any], expected: dict[str, pl.DataFrame]
) -> None:
    compare(simulated[0], "customers", expected["customers"], ["tenant_id", "customer_id"])


def test_cohort_retention_matches(
    simulated: tuple[duckdb.DuckDBPyConnection, Any], expected: dict[str, pl.DataFrame]
) -> None:
    compare(
        simulated[0],
        "cohort_retention",
        expected["cohort_retention"],
        ["tenant_id", "cohort_grain", "cohort_start", "period_number"],
    )
