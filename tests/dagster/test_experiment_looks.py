"""``experiment_looks`` materialized against a real DuckDB warehouse and experiment store.

The warehouse holds the two models the asset reads (``int_experiment_exposures``,
``int_experiment_outcomes``) with the columns and types dbt gives them, written here rather
than built by dbt (seconds, not minutes; the models' SQL has dbt unit tests of its own). The
simulated traffic is deterministic, and each experiment is built so that a mistake in what
the asset reads shows up as a wrong decision:

- north/subject (email, 7-day window): the treatment triples conversion within the window,
  while the control's people buy a lot three weeks later; counted without ``window_days`` the
  control would win.
- north/price: the treatment sells the priced product four times as often, while the
  control's people buy another product a lot; counted without the product lines the control
  would win.
- north/aa: an A/A test (identical arms): must keep running.
- south/subject: another tenant's A/A test under the same key: must keep running, on its own
  1,000 units (north's rows would make its treatment win).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import pytest

from dagster_project.defs.experiments.assets import experiment_looks
from dagster_project.resources import SettingsResource, WarehouseResource
from intellishop.experiments import Experiment, Status, Surface, Variant, open_store
from intellishop.experiments.attribution import PRODUCT_LINES, WINDOW
from intellishop.experiments.results import DECLARE_WINNER
from intellishop.settings import Settings

RESOURCES = {"settings": SettingsResource(), "warehouse": WarehouseResource()}
NOW = datetime.now(UTC).replace(microsecond=0)
#: Every experiment started 25 days ago; people were exposed on its first day.
STARTED = NOW - timedelta(days=25)
WINDOW_DAYS = 7
EXPOSURE_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(), "experiment_id": pl.String(), "unit_id": pl.String(),
    "variant_id": pl.String(), "exposed_at": pl.Datetime("us", "UTC"), "product_id": pl.String(),
    "window_days": pl.Int32(), "message_id": pl.String(),
}  # fmt: skip
LINE_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(), "order_id": pl.String(), "unit_id": pl.String(),
    "ordered_at": pl.Datetime("us", "UTC"), "product_id": pl.String(), "revenue": pl.Float64(),
}  # fmt: skip


@dataclass
class Traffic:
    """Rows of the two warehouse models, as the simulated shops produced them."""

    exposures: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def expose(
        self,
        tenant_id: str,
        experiment_id: str,
        unit_id: str,
        variant_id: str,
        at: datetime,
        *,
        product_id: str | None = None,
        window_days: int | None = None,
    ) -> None:
        self.exposures.append(
            {
                "tenant_id": tenant_id,
                "experiment_id": experiment_id,
                "unit_id": unit_id,
                "variant_id": variant_id,
                "exposed_at": at,
                "product_id": product_id,
                "window_days": window_days,
                "message_id": f"x-{len(self.exposures)}",
            }
        )

    def order(self, tenant_id: str, unit_id: str, at: datetime, products: dict[str, float]) -> None:
        """One order: a line per product and the remainder row (no product), as dbt writes."""
        order_id = f"o-{len(self.lines)}"
        rows: list[tuple[str | None, float]] = [*products.items(), (None, 0.0)]
        for product_id, revenue in rows:
            self.lines.append(
                {
                    "tenant_id": tenant_id,
                    "order_id": order_id,
                    "unit_id": unit_id,
                    "ordered_at": at,
                    "product_id": product_id,
                    "revenue": revenue,
                }
            )


def arms(count: int, prefix: str) -> Iterator[tuple[str, str, int]]:
    """(unit id, variant, index within the variant): units alternate between the arms."""
    for i in range(count):
        yield f"{prefix}-{i:05d}", ("control", "treatment")[i % 2], i // 2


def simulate() -> Traffic:
    traffic = Traffic()
    day_one = STARTED + timedelta(days=1)
    # north/subject: 5% vs 15% within the window; 40% of the control buys after 20 days.
    for unit, variant, j in arms(2000, "n-email"):
        seen = day_one + timedelta(minutes=j)
        traffic.expose("north", "subject", unit, variant, seen, window_days=WINDOW_DAYS)
        if j % 20 < (1 if variant == "control" else 3):
            traffic.order("north", unit, seen + timedelta(days=2), {"p-1": 40.0})
        if variant == "control" and j % 5 < 2:
            traffic.order("north", unit, seen + timedelta(days=20), {"p-2": 40.0})
    # north/price: 3% vs 12% buy the priced product; 40% of the control buys another one.
    for unit, variant, j in arms(2000, "n-price"):
        seen = day_one + timedelta(minutes=j)
        traffic.expose("north", "price", unit, variant, seen, product_id="p-priced")
        if j % 100 < (3 if variant == "control" else 12):
            traffic.order("north", unit, seen + timedelta(hours=3), {"p-priced": 25.0})
        if variant == "control" and j % 5 < 2:
            traffic.order("north", unit, seen + timedelta(hours=4), {"p-other": 60.0})
    # north/aa and south/subject: identical arms, 5% each; some people seen twice.
    for tenant_id, experiment_id, count in (("north", "aa", 2000), ("south", "subject", 1000)):
        window = WINDOW_DAYS if experiment_id == "subject" else None
        for unit, variant, j in arms(count, f"{tenant_id[0]}-{experiment_id}"):
            seen = day_one + timedelta(minutes=j)
            traffic.expose(tenant_id, experiment_id, unit, variant, seen, window_days=window)
            if j % 3 == 0:
                later = seen + timedelta(days=1)
                traffic.expose(tenant_id, experiment_id, unit, variant, later, window_days=window)
            if j % 20 == 0:
                traffic.order(tenant_id, unit, seen + timedelta(days=1), {"p-1": 30.0})
    return traffic


def write_warehouse(settings: Settings, traffic: Traffic) -> None:
    """The two models in the local warehouse file, typed as dbt builds them."""
    exposures = pl.DataFrame(traffic.exposures, schema=EXPOSURE_SCHEMA)  # noqa: F841 (by name)
    lines = pl.DataFrame(traffic.lines, schema=LINE_SCHEMA)  # noqa: F841 (read by DuckDB)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.sql(
            "create table int_experiment_exposures as select tenant_id, experiment_id, unit_id,"
            " variant_id, exposed_at::timestamptz as exposed_at, product_id,"
            " window_days::integer as window_days, message_id from exposures"
        )
        con.sql(
            "create table int_experiment_outcomes as select tenant_id, order_id, unit_id,"
            " ordered_at::timestamptz as ordered_at, product_id,"
            " revenue::decimal(18, 4) as revenue from lines"
        )


def experiment(tenant_id: str, key: str, surface: Surface) -> Experiment:
    return Experiment(
        tenant_id=tenant_id,
        key=key,
        name=f"{tenant_id} {key}",
        surface=surface,
        variants=(
            Variant(id="control", name="Control", weight=0.5, control=True),
            Variant(id="treatment", name="Treatment", weight=0.5),
        ),
        salt="fixed-salt",
    ).validate()


EXPERIMENTS = (
    ("north", "subject", Surface.EMAIL),
    ("north", "price", Surface.PRICE),
    ("north", "aa", Surface.RECOMMENDATIONS),
    ("south", "subject", Surface.EMAIL),
)


@pytest.fixture
def running(settings: Settings) -> Settings:
    """The four experiments running since ``STARTED``, and their traffic in the warehouse."""
    store = open_store(settings)
    for tenant_id, key, surface in EXPERIMENTS:
        store.create(experiment(tenant_id, key, surface))
        store.start(tenant_id, key, now=STARTED)
    write_warehouse(settings, simulate())
    return settings


def look(settings: Settings, min_hours_between_looks: float | None = None) -> dict[str, Any]:
    """Materialize ``experiment_looks`` once; its metadata, as plain values."""
    config = (
        {}
        if min_hours_between_looks is None
        else {"min_hours_between_looks": min_hours_between_looks}
    )
    run_config = {"ops": {"experiment_looks": {"config": config}}}
    result = dg.materialize([experiment_looks], resources=RESOURCES, run_config=run_config)
    assert result.success
    [materialization] = result.asset_materializations_for_node("experiment_looks")
    return {name: value.value for name, value in materialization.metadata.items()}


def units(results: dict[str, Any]) -> int:
    return sum(int(variant["units"]) for variant in results["variants"])


def test_a_clear_winner_is_decided_with_its_evidence(running: Settings) -> None:
    metadata = look(running)
    assert metadata["experiments_evaluated"] == 4
    assert metadata["decisions"] == 2
    store = open_store(running)
    for key, attribution in (("subject", WINDOW), ("price", PRODUCT_LINES)):
        assert store.get("north", key).status is Status.DECIDED, key
        decision = store.decision("north", key)
        assert decision is not None
        assert (decision.outcome, decision.winner) == ("winner", "treatment")
        evidence = decision.evidence
        assert evidence["decision"]["action"] == DECLARE_WINNER
        assert attribution in evidence["attribution"]
        assert units(evidence) == 2000
        target = next(c for c in evidence["comparisons"] if c["role"] == "target")
        assert target["sequential"]["significant"]
        assert target["difference"] > 0
        assert store.latest_evaluation("north", key) == evidence
    assert f"north/subject: {DECLARE_WINNER} -> treatment" in metadata["decided"]


def test_an_aa_test_and_another_tenants_rows_leave_experiments_running(
    running: Settings,
) -> None:
    look(running)
    store = open_store(running)
    for tenant_id, key, expected_units in (("north", "aa", 2000), ("south", "subject", 1000)):
        assert store.get(tenant_id, key).status is Status.RUNNING, (tenant_id, key)
        assert store.decision(tenant_id, key) is None
        [results] = store.evaluations(tenant_id, key)
        # Only its own tenant's units: north's subject test has 2,000 more under the same key.
        assert units(results) == expected_units
        assert results["decision"]["action"] == "continue"
    # A run an hour later does not look again: about once a day is enough.
    metadata = look(running)
    assert (metadata["experiments_running"], metadata["experiments_evaluated"]) == (2, 0)
    assert len(store.evaluations("north", "aa")) == 1
    # When a look is due, it is at what still runs, and only at that.
    metadata = look(running, min_hours_between_looks=0)
    assert metadata["experiments_evaluated"] == 2
    assert metadata["decisions"] == 0
    assert len(store.evaluations("north", "aa")) == 2
    assert len(store.evaluations("north", "subject")) == 1


def test_nothing_running_reads_nothing(settings: Settings) -> None:
    # No warehouse file at all: the asset must not try to open it.
    assert not settings.warehouse_path.exists()
    metadata = look(settings)
    assert metadata["experiments_evaluated"] == 0
    assert not settings.warehouse_path.exists()
