"""The main job, run in process over two simulated shops: what it publishes, and that it is safe
to run again.

One module-scoped sequence of three runs: the first loads everything; the second (through
``run_pipeline``, as ``intellishop pipeline run`` does) finds no new events; the third follows a
client retry that re-sent events already loaded. Expected numbers are computed here, in plain
Python, from the messages the shops sent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dagster_project.definitions import defs
from dagster_project.defs.publish.assets import PUBLISHED_COLUMNS
from dagster_project.run import run_pipeline
from intellishop.artifacts import ArtifactVersion, LocalArtifactStore
from intellishop.quality import CHECKS
from intellishop.settings import Settings

from .conftest import END, SHOPS, Installation, post_batches

TENANTS = [shop.tenant_id for shop in SHOPS]
TIMEZONES = {shop.tenant_id: shop.timezone for shop in SHOPS}
#: Warehouse models whose rows per tenant must not move when nothing new arrived.
COUNTED_MODELS = ("int_events_stitched", "int_sessions", "int_orders", "products")


@dataclass
class Snapshot:
    """What one run left behind: the published artifacts and the warehouse's row counts."""

    artifacts: dict[str, ArtifactVersion]
    #: model -> tenant -> rows
    counts: dict[str, dict[str, int]]
    raw_rows: int

    def published(self, tenant_id: str, table: str) -> pl.DataFrame:
        frame = pl.from_arrow(self.artifacts[tenant_id].tables[table])
        assert isinstance(frame, pl.DataFrame)
        return frame

    def table_rows(self) -> dict[tuple[str, str], int]:
        return {
            (tenant_id, name): table.num_rows
            for tenant_id, version in self.artifacts.items()
            for name, table in version.tables.items()
        }


def take_snapshot(settings: Settings) -> Snapshot:
    store = LocalArtifactStore(settings.artifacts_dir, refresh_seconds=0)
    artifacts = {}
    for tenant_id in store.tenants():
        version = store.current(tenant_id)
        assert version is not None
        artifacts[tenant_id] = version
    counts: dict[str, dict[str, int]] = {}
    # Read-only, and closed before the next run: an open handle would block `dbt build`.
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for model in COUNTED_MODELS:
            rows = con.sql(f"select tenant_id, count(*) from {model} group by 1").fetchall()
            counts[model] = {str(tenant): int(n) for tenant, n in rows}
    finally:
        con.close()
    pattern = str(settings.raw_zone_dir / "events" / "*" / "*" / "*.parquet")
    [(raw_rows,)] = duckdb.sql(f"select count(*) from read_parquet('{pattern}')").fetchall()
    return Snapshot(artifacts, counts, int(raw_rows))


@dataclass
class Runs:
    installation: Installation
    first: dg.ExecuteInProcessResult
    after_first: Snapshot
    after_rerun: Snapshot
    resent: int
    after_retry: Snapshot
    third: dg.ExecuteInProcessResult


def execute(
    definitions: dg.Definitions,
    job_name: str = "intellishop_pipeline",
    partition: str | None = None,
) -> dg.ExecuteInProcessResult:
    job = definitions.resolve_job_def(job_name)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, partition_key=partition
        )
    failures = [
        f"{event.step_key}: {event.step_failure_data.error.to_string()[-2000:]}"
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error
    ]
    assert result.success, "\n".join(failures)
    return result


@pytest.fixture(scope="module")
def runs(installation: Installation) -> Runs:
    settings = installation.settings
    definitions = defs()
    first = execute(definitions)
    after_first = take_snapshot(settings)

    run_pipeline()  # exits non-zero on failure; records the run in $DAGSTER_HOME
    after_rerun = take_snapshot(settings)

    # A client that timed out re-sends a batch the collector had in fact stored: every order,
    # refund and identify of one shop, plus its first hundred messages, under the same ids.
    events = installation.events[TENANTS[0]]
    retried = [e for e in events if e.get("event") in {"Order Completed", "Order Refunded"}]
    retried += [e for e in events if e["type"] == "identify"] + events[:100]
    resent = post_batches(installation.client, installation.keys[TENANTS[0]], retried)
    third = execute(definitions)
    after_retry = take_snapshot(settings)
    return Runs(installation, first, after_first, after_rerun, resent, after_retry, third)


# What the shops sent, recomputed independently of the warehouse.


def when(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))


def tracks(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "track" and e["event"] == name]


@dataclass(frozen=True)
class Order:
    ordered_at: datetime
    gross: float
    net: float


def orders_of(events: list[dict[str, Any]]) -> list[Order]:
    """Orders with refunds taken back as the share of the total refunded (docs of int_orders)."""
    first: dict[str, dict[str, Any]] = {}
    for message in sorted(
        tracks(events, "Order Completed"), key=lambda e: (when(e), e["messageId"])
    ):
        first.setdefault(message["properties"]["order_id"], message)
    refunded: Counter[str] = Counter()
    for message in tracks(events, "Order Refunded"):
        props = message["properties"]
        refunded[props["order_id"]] += props.get("total", props.get("revenue", 0.0))
    orders = []
    for order_id, message in first.items():
        props = message["properties"]
        gross = float(props.get("revenue", props.get("total", 0.0)))
        base = float(props.get("total", gross))
        share = 0.0 if order_id not in refunded else min(1.0, refunded[order_id] / base)
        orders.append(Order(when(message), gross, round(gross * (1 - share), 4)))
    return orders


def local_day(instant: datetime, timezone: str) -> date:
    return instant.astimezone(ZoneInfo(timezone)).date()


def user_ids(events: list[dict[str, Any]]) -> set[str]:
    return {e["userId"] for e in events if e.get("userId")}


def catalogue(events: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """product_id -> (name, category), from single-product events."""
    seen = {}
    for message in events:
        props = message.get("properties", {})
        if message["type"] == "track" and "product_id" in props and "name" in props:
            seen[props["product_id"]] = (props["name"], props["category"])
    return seen


# The first run.


def test_the_job_materializes_every_asset(runs: Runs) -> None:
    job = defs().resolve_job_def("intellishop_pipeline")
    materialized = {
        event.asset_key
        for event in runs.first.get_asset_materialization_events()
        if event.asset_key
    }
    assert materialized == job.asset_layer.selected_asset_keys
    raw = runs.first.asset_materializations_for_node("raw_zone")
    loaded = {m.asset_key.to_user_string(): m.metadata for m in raw}
    sent = sum(len(events) for events in runs.installation.events.values())
    assert loaded["raw/events"]["events_loaded"].value == sent


def test_the_raw_checks_pass_and_metadata_counts_what_is_there(runs: Runs) -> None:
    checks = {e.check_name: e for e in runs.first.get_asset_check_evaluations()}
    raw_checks = {name: check for name, check in checks.items() if name in CHECKS}
    assert set(raw_checks) == set(CHECKS)
    assert all(check.passed for check in raw_checks.values()), {
        name: check.metadata for name, check in raw_checks.items() if not check.passed
    }
    raw = runs.first.asset_materializations_for_node("raw_zone")
    events = next(m.metadata for m in raw if m.asset_key.to_user_string() == "raw/events")
    assert events["dagster/row_count"].value == runs.after_first.raw_rows
    assert "| tenant_id |" in str(events["newest_events"].value)
    [published] = runs.first.asset_materializations_for_node("serving_artifacts")
    assert published.metadata["dagster/row_count"].value == sum(
        runs.after_first.table_rows().values()
    )
    for tenant_id in TENANTS:
        assert tenant_id in str(published.metadata["rows_by_tenant_and_table"].value)
        assert tenant_id in str(published.metadata["latest_daily_metrics"].value)


def test_dbt_builds_the_warehouse_of_the_settings(runs: Runs) -> None:
    """Not the one that stale INTELLISHOP_WAREHOUSE_PATH / _RAW_ZONE variables point at."""
    assert runs.installation.settings.warehouse_path.exists()
    assert not runs.installation.decoy_dir.exists()


NEED_MORE_TRAFFIC = {
    "recommendation_attribution",
    "frequently_bought_together",
    "customer_scores",
    "demand_forecast",
    "reorder_suggestions",
}


def test_both_tenants_get_every_serving_table(runs: Runs) -> None:
    assert sorted(runs.after_first.artifacts) == sorted(TENANTS)
    for tenant_id, version in runs.after_first.artifacts.items():
        assert version.metadata["dagster_run_id"] == runs.first.run_id
        assert set(version.tables) == set(PUBLISHED_COLUMNS)
        for name, table in version.tables.items():
            assert table.column_names == PUBLISHED_COLUMNS[name], (tenant_id, name)
            # Tables that need more than this small traffic (served lists for attribution,
            # repeated co-purchases, customers enough to train on) may be empty here.
            if name not in NEED_MORE_TRAFFIC:
                assert table.num_rows > 0, (tenant_id, name)


def test_stitching_keeps_every_message_once(runs: Runs) -> None:
    for tenant_id, events in runs.installation.events.items():
        distinct = len({e["messageId"] for e in events})
        assert runs.after_first.counts["int_events_stitched"][tenant_id] == distinct


def test_recommendations_go_to_the_tenants_own_users(runs: Runs) -> None:
    events = runs.installation.events
    users = {tenant_id: user_ids(events[tenant_id]) for tenant_id in TENANTS}
    assert not users[TENANTS[0]] & users[TENANTS[1]], "the shops must not share user ids"
    for tenant_id in TENANTS:
        recommendations = runs.after_first.published(tenant_id, "recommendations")
        recommended = set(recommendations["user_id"].to_list())
        assert recommended, tenant_id
        assert recommended <= users[tenant_id], tenant_id
        products = set(recommendations["product_id"].to_list())
        assert products <= set(catalogue(events[tenant_id])), tenant_id


def test_products_and_lists_are_the_tenants_own_catalogue(runs: Runs) -> None:
    events = runs.installation.events
    catalogues = {tenant_id: catalogue(events[tenant_id]) for tenant_id in TENANTS}
    shared_ids = set(catalogues[TENANTS[0]]) & set(catalogues[TENANTS[1]])
    assert any(catalogues[TENANTS[0]][p] != catalogues[TENANTS[1]][p] for p in shared_ids), (
        "the shops must name some product id differently, or this test cannot see a leak"
    )
    for tenant_id in TENANTS:
        own = catalogues[tenant_id]
        products = runs.after_first.published(tenant_id, "products")
        for product_id, name, category in products.select("product_id", "name", "category").rows():
            assert own[product_id] == (name, category), (tenant_id, product_id)
        for table in ("trending", "popular"):
            ranked = runs.after_first.published(tenant_id, table)
            for product_id, category in ranked.select("product_id", "category").rows():
                assert own[product_id][1] == category, (tenant_id, table, product_id)
            assert ranked["rank"].to_list() == list(range(1, ranked.height + 1))


def test_daily_orders_and_revenue_fall_on_the_tenants_local_day(runs: Runs) -> None:
    for tenant_id, timezone in TIMEZONES.items():
        orders = orders_of(runs.installation.events[tenant_id])
        by_local: dict[date, list[Order]] = defaultdict(list)
        for order in orders:
            by_local[local_day(order.ordered_at, timezone)].append(order)
        by_utc = Counter(order.ordered_at.date() for order in orders)
        assert {day: len(o) for day, o in by_local.items()} != dict(by_utc), (
            f"{tenant_id}: no order falls on another day locally than in UTC"
        )
        metrics = runs.after_first.published(tenant_id, "daily_metrics")
        published = {
            day: (orders_count, revenue)
            for day, orders_count, revenue in metrics.filter(pl.col("orders") > 0)
            .select("metric_date", "orders", "revenue")
            .rows()
        }
        assert sorted(published) == sorted(by_local), tenant_id
        for day, day_orders in by_local.items():
            assert published[day][0] == len(day_orders), (tenant_id, day)
            expected = sum(order.net for order in day_orders)
            assert published[day][1] == pytest.approx(expected, abs=0.01), (tenant_id, day)


def test_revenue_is_net_of_refunds(runs: Runs) -> None:
    for tenant_id in TENANTS:
        orders = orders_of(runs.installation.events[tenant_id])
        gross = sum(order.gross for order in orders)
        net = sum(order.net for order in orders)
        assert net < gross - 1, f"{tenant_id} has no refund to take back"
        metrics = runs.after_first.published(tenant_id, "daily_metrics")
        assert metrics["revenue"].sum() == pytest.approx(net, abs=0.01)
        assert metrics["orders"].sum() == len(orders)


def test_metrics_are_consistent_per_day(runs: Runs) -> None:
    for tenant_id in TENANTS:
        metrics = runs.after_first.published(tenant_id, "daily_metrics")
        assert metrics["metric_date"].is_unique().all()
        assert metrics["currency"].unique().to_list() == ["USD"]
        for row in metrics.iter_rows(named=True):
            assert row["visitors"] <= row["sessions"], row
            if row["sessions"]:
                assert row["conversion_rate"] == pytest.approx(row["orders"] / row["sessions"])
            if row["orders"]:
                assert row["aov"] == pytest.approx(row["revenue"] / row["orders"], abs=0.0001)
            else:
                assert row["aov"] is None, row
        assert metrics["sessions"].sum() > metrics["orders"].sum() > 0


# Running again.

#: Published tables that must come out the same when the data did not change, by their keys.
#: (Trending is left out: its time decay runs on the wall clock, so its scores drift by the
#: second; its row counts are compared.)
SAME_ROWS = {
    "daily_metrics": ["metric_date"],
    "recommendations": ["user_id", "rank"],
    "popular": ["rank"],
    "products": ["product_id"],
}


def assert_same_rows(left: pl.DataFrame, right: pl.DataFrame, keys: list[str]) -> None:
    """The same rows, in whatever order (serving tables have no row order)."""
    assert_frame_equal(left.sort(keys), right.sort(keys))


def test_a_second_run_without_new_events_changes_nothing(runs: Runs) -> None:
    assert runs.after_rerun.raw_rows == runs.after_first.raw_rows
    assert runs.after_rerun.counts == runs.after_first.counts
    assert runs.after_rerun.table_rows() == runs.after_first.table_rows()
    for tenant_id in TENANTS:
        assert (
            runs.after_rerun.artifacts[tenant_id].version
            != runs.after_first.artifacts[tenant_id].version
        )
        for table, keys in SAME_ROWS.items():
            assert_same_rows(
                runs.after_rerun.published(tenant_id, table),
                runs.after_first.published(tenant_id, table),
                keys,
            )


def test_run_pipeline_records_its_run_in_dagster_home(runs: Runs) -> None:
    with dg.DagsterInstance.get() as instance:
        recorded = instance.get_runs()
        assert [run.job_name for run in recorded] == ["intellishop_pipeline"]
        assert recorded[0].status is dg.DagsterRunStatus.SUCCESS
        loaded = instance.get_latest_materialization_event(dg.AssetKey(["raw", "events"]))
    assert loaded is not None and loaded.asset_materialization is not None
    assert loaded.asset_materialization.metadata["events_loaded"].value == 0
    for tenant_id in TENANTS:
        published_by = runs.after_rerun.artifacts[tenant_id].metadata["dagster_run_id"]
        assert published_by == recorded[0].run_id


def test_resent_events_are_counted_once(runs: Runs) -> None:
    assert runs.resent > 100
    # The loader recognises the message ids: the raw zone does not grow.
    assert runs.after_retry.raw_rows == runs.after_first.raw_rows
    raw = runs.third.asset_materializations_for_node("raw_zone")
    loaded = {m.asset_key.to_user_string(): m.metadata for m in raw}
    assert loaded["raw/events"]["events_loaded"].value == 0
    assert loaded["raw/events"]["duplicates_skipped"].value == runs.resent
    assert runs.after_retry.counts == runs.after_first.counts
    assert runs.after_retry.table_rows() == runs.after_first.table_rows()
    for tenant_id in TENANTS:
        for table, keys in SAME_ROWS.items():
            assert_same_rows(
                runs.after_retry.published(tenant_id, table),
                runs.after_first.published(tenant_id, table),
                keys,
            )


# The daily job.


def test_the_daily_job_runs_the_pipeline_for_one_utc_day(runs: Runs) -> None:
    """Yesterday's partition: the day's profile counts that UTC day's messages, the checks
    look at that day only, and dbt and publish run as in the main job (nothing new to add)."""
    day = END
    result = execute(defs(), "daily_pipeline", day.isoformat())
    [profile] = result.asset_materializations_for_node("raw__event_days")
    assert profile.partition == day.isoformat()
    sent_that_day = {
        (tenant_id, e["messageId"])
        for tenant_id, events in runs.installation.events.items()
        for e in events
        if when(e).astimezone(UTC).date() == day
    }
    assert sent_that_day
    assert profile.metadata["dagster/row_count"].value == len(sent_that_day)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["schema"].metadata["days_checked"].value == day.isoformat()
    assert checks["schema"].metadata["rows_checked"].value == len(sent_that_day)
    assert all(checks[name].passed for name in CHECKS)
    after_daily = take_snapshot(runs.installation.settings)
    assert after_daily.counts == runs.after_first.counts
    assert after_daily.table_rows() == runs.after_first.table_rows()
