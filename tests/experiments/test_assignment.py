"""Sticky, deterministic, weighted assignment and "Experiment Viewed" exposure logging."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import redis
from scipy import stats

from ingest.event_log import RedisStreamEventLog, SqliteEventLog
from intellishop.experiments import (
    EXPOSURE_EVENT,
    Experiment,
    assign,
    assign_and_log,
    bucket,
    exposure_event,
    log_exposures,
)
from intellishop.experiments.stats import sample_ratio_mismatch
from tests.conftest import REDIS_URL

from .conftest import make_experiment

UNITS = [f"user-{i}" for i in range(60_000)]


def shares(experiment: Experiment) -> dict[str, int]:
    counts = dict.fromkeys((v.id for v in experiment.variants), 0)
    for unit in UNITS:
        counts[assign(experiment, unit).id] += 1
    return counts


def test_buckets_are_uniform_and_deterministic() -> None:
    values = np.array([bucket("k", "s", unit) for unit in UNITS])
    assert stats.kstest(values, "uniform").pvalue > 0.001
    assert bucket("k", "s", "user-1") == bucket("k", "s", "user-1")
    assert values.min() >= 0.0 and values.max() < 1.0


def test_variants_follow_the_weights() -> None:
    experiment = make_experiment(weights=(0.6, 0.3, 0.1))
    counts = shares(experiment)
    check = sample_ratio_mismatch(list(counts.values()), experiment.weights())
    assert not check.mismatch, counts
    for variant, weight in zip(experiment.variants, experiment.weights(), strict=True):
        se = np.sqrt(weight * (1 - weight) / len(UNITS))
        assert abs(counts[variant.id] / len(UNITS) - weight) <= 3 * se


def test_a_user_keeps_their_variant() -> None:
    experiment = make_experiment()
    first = {unit: assign(experiment, unit).id for unit in UNITS[:2000]}
    # Stored and read back, renamed, restarted: the same split.
    again = Experiment.from_json(json.loads(json.dumps(experiment.to_json())))
    again = replace(again, name="Renamed")
    assert {unit: assign(again, unit).id for unit in UNITS[:2000]} == first
    # Weights given on another scale are the same weights.
    rescaled = make_experiment(weights=(5.0, 5.0))
    assert {unit: assign(rescaled, unit).id for unit in UNITS[:2000]} == first


def test_experiments_split_users_independently() -> None:
    one = make_experiment(key="one", salt="salt-one")
    two = make_experiment(key="two", salt="salt-two")
    table = np.zeros((2, 2))
    index = {"control": 0, "treatment": 1}
    for unit in UNITS[:20_000]:
        table[index[assign(one, unit).id], index[assign(two, unit).id]] += 1
    assert stats.chi2_contingency(table).pvalue > 0.001
    # Same key, another salt: another split (about half the users move).
    moved = sum(assign(one, u).id != assign(replace(one, salt="other"), u).id for u in UNITS[:4000])
    assert 1700 < moved < 2300


def test_exposure_is_one_append_with_segment_properties(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "events.sqlite3")
    experiment = make_experiment()
    variant = assign_and_log(log, experiment, "user-7")
    assert variant == assign(experiment, "user-7")
    entries = log.read("test", 10)
    assert len(entries) == 1 and entries[0].batch.tenant_id == "shop-a"
    (event,) = entries[0].batch.events
    assert (event.type, event.event, event.user_id) == ("track", EXPOSURE_EVENT, "user-7")
    assert json.loads(event.properties) == {
        "experiment_id": "recs-als",
        "experiment_name": "Experiment recs-als",
        "variation_id": variant.id,
        "variation_name": variant.name,
    }
    # Anonymous units are logged as anonymousId; several exposures share one append.
    events = [
        exposure_event(experiment, assign(experiment, f"anon-{i}"), anonymous_id=f"anon-{i}")
        for i in range(5)
    ]
    log_exposures(log, "shop-a", events)
    entries = log.read("test", 10)
    assert len(entries) == 2 and len(entries[1].batch.events) == 5
    assert entries[1].batch.events[0].user_id is None
    assert log_exposures(log, "shop-a", []) is None
    log.close()


def test_exposure_reaches_the_prod_event_log(redis_client: redis.Redis) -> None:
    stream = f"intellishop:test-experiments:{np.random.default_rng().integers(1 << 40)}"
    log = RedisStreamEventLog.from_url(REDIS_URL, stream)
    try:
        assign_and_log(log, make_experiment(), "user-9")
        (entry,) = log.read("test", 10)
        assert entry.batch.events[0].event == EXPOSURE_EVENT
    finally:
        log.close()
        redis_client.delete(stream)
