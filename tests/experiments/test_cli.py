"""``intellishop experiments``: the sub-app on the local profile's store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from intellishop.commands.experiments import experiments_app
from intellishop.experiments import Status, assign, open_store
from intellishop.settings import Settings

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(experiments_app, list(args))
    return result.exit_code, result.output


def test_create_list_start_results_decide(settings: Settings, tmp_path: Path) -> None:
    code, out = invoke(
        "create",
        "shop-a",
        "price-test",
        "--surface",
        "price",
        "--variant",
        "base:1",
        "--variant",
        "cheaper:1",
        "--metric",
        "revenue_per_user",
        "--guardrail",
        "conversion:0.02",
    )
    assert code == 0, out
    code, out = invoke("list", "shop-a")
    assert code == 0 and "price-test" in out and "base*" in out
    assert invoke("list", "shop-b")[1].count("price-test") == 0
    assert invoke("start", "shop-a", "price-test")[0] == 0
    assert invoke("results", "shop-a", "price-test")[0] == 1  # nothing stored yet

    experiment = open_store(settings).get("shop-a", "price-test")
    assert experiment.status is Status.RUNNING and experiment.control.id == "base"
    units = [f"u{i}" for i in range(3000)]
    start = datetime.now(UTC) - timedelta(days=1)
    pl.DataFrame(
        {
            "tenant_id": "shop-a",
            "experiment_id": "price-test",
            "unit_id": units,
            "variant_id": [assign(experiment, u).id for u in units],
            "exposed_at": [start] * 3000,
        }
    ).write_parquet(tmp_path / "exposures.parquet")
    pl.DataFrame(
        {
            "tenant_id": "shop-a",
            "unit_id": units[::20],
            "ordered_at": [start + timedelta(hours=2)] * 150,
            "revenue": [30.0] * 150,
        }
    ).write_parquet(tmp_path / "orders.parquet")
    files = [
        "--exposures",
        str(tmp_path / "exposures.parquet"),
        "--outcomes",
        str(tmp_path / "orders.parquet"),
    ]
    code, out = invoke("results", "shop-a", "price-test", *files, "--json")
    assert code == 0, out
    look = json.loads(out)
    assert sum(v["units"] for v in look["variants"]) == 3000
    code, out = invoke("results", "shop-a", "price-test")
    assert code == 0 and "sample ratio" in out and "decision: continue" in out

    code, out = invoke("decide", "shop-a", "--auto", *files)
    assert code == 0 and "price-test: continue" in out
    assert invoke("decide", "shop-a", "price-test", "--winner", "nope")[0] == 2
    code, out = invoke("decide", "shop-a", "price-test", "--winner", "base", "--note", "flat")
    assert code == 0, out
    decision = open_store(settings).decision("shop-a", "price-test")
    assert decision is not None and decision.winner == "base"
    assert decision.evidence["note"] == "flat"


def test_bad_input_exits_2_naming_the_field(settings: Settings) -> None:
    code, out = invoke("create", "shop-a", "x", "--variant", "only-one")
    assert code == 2 and "variants" in out
    code, out = invoke("create", "shop-a", "x", "--variant", "a:heavy", "--variant", "b")
    assert code == 2 and "variants.0.weight" in out
    code, out = invoke(
        "create", "shop-a", "x", "--variant", "a", "--variant", "b", "--guardrail", "vibes:0.1"
    )
    assert code == 2 and "guardrails.0" in out
    assert invoke("start", "shop-a", "missing")[0] == 2
