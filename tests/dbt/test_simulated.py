"""The marts against an independent polars computation (tests/dbt/reference.py) on simulated
shops: funnel_daily, daily_metrics, customers (RFM scores and segments) and cohort_retention.

Two shops either side of UTC (New York, Tokyo), a month of deterministic simulated traffic
each (intellishop.simulation, fixed seeds and end date), written to a Parquet raw zone in the
loader's layout, the way a warehouse gets it: ``dbt run`` of those marts and what they need over
all but the last two days, then again, incrementally, once those days land together with every
LATE_EVERY-th earlier event (arriving late). The incremental models then keep what they stored
and add to it (returning visitors' earlier visits, people's earlier orders), so the comparisons
check the full build and the incremental one together.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
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
#: Events from this instant on land after the first build (the simulations' last two days).
SECOND_RUN_FROM = datetime(2025, 3, 13, tzinfo=UTC)
#: Every this many earlier events, one arrives late: with the last two days.
LATE_EVERY = 40


def occurred(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00")).astimezone(UTC)


def raw_rows(
    tenant_id: str,
    messages: list[dict[str, Any]],
    received_at: datetime | None = None,
    first_offset: int = 0,
) -> pa.Table:
    """The simulated messages as the loader writes them (received when they happened, unless
    ``received_at`` says when)."""
    rows = []
    for offset, message in enumerate(messages, start=first_offset):
        moment = occurred(message)
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
                "received_at": received_at or moment,
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
    later: list[tuple[str, list[dict[str, Any]], int]] = []
    for number, (tenant_id, config) in enumerate(CONFIGS.items()):
        generated = list(generate_events(config))
        messages += [(tenant_id, message) for message in generated]
        first: list[dict[str, Any]] = []
        rest: list[dict[str, Any]] = []
        for index, message in enumerate(generated, start=1):
            on_time = occurred(message) < SECOND_RUN_FROM and index % LATE_EVERY
            (first if on_time else rest).append(message)
        zone.write_events(raw_rows(tenant_id, first), chunk_id=f"{number:012d}")
        later.append((tenant_id, rest, len(first)))
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
    select = ["--select", "+funnel_daily", "+daily_metrics", "+customers", "+cohort_retention"]
    run_dbt(["run", *select], settings, root)
    delivered = SECOND_RUN_FROM + timedelta(days=2)
    for number, (tenant_id, rest, offset) in enumerate(later, start=len(later)):
        zone.write_events(raw_rows(tenant_id, rest, delivered, offset), chunk_id=f"{number:012d}")
    run_dbt(["run", *select], settings, root)
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


def test_the_second_run_kept_earlier_visits(
    simulated: tuple[duckdb.DuckDBPyConnection, Any],
) -> None:
    # People the second run touched, some of whose visits it kept from the first (so numbering
    # went on from them); every person's visits still numbered 1, 2, 3, ... in time order,
    # none twice.
    con = simulated[0]
    [(touched_with_kept, people, misnumbered)] = con.sql(
        """
        with latest as (select max(_batch_at) as stamp from int_sessions),
        people as (
            select tenant_id, actor_id,
                count(case when _batch_at < latest.stamp then 1 end) as kept,
                count(case when _batch_at = latest.stamp then 1 end) as rebuilt,
                count(*) as visits,
                count(distinct session_number) as numbers,
                count(distinct started_at) as starts,
                max(session_number) as last_number,
                max(session_number) = arg_max(session_number, started_at) as in_order
            from int_sessions, latest
            group by all
        )
        select count(case when kept > 0 and rebuilt > 0 then 1 end), count(*),
            count(
                case when numbers <> visits or starts <> visits or last_number <> visits
                    or not in_order then 1 end
            )
        from people
        """
    ).fetchall()
    assert touched_with_kept > 20
    assert people > touched_with_kept
    assert misnumbered == 0


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
