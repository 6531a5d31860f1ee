"""The recommendation route's hook: sticky algorithm per user, one exposure per user."""

from __future__ import annotations

import json

import pytest

from intellishop.events import LoggedEvent
from intellishop.experiments import EXPOSURE_EVENT, AlgorithmChooser, assign, open_store
from intellishop.settings import Settings

from .conftest import make_experiment, prod_environment


def test_running_experiment_picks_the_algorithm_and_logs_first_exposures(
    settings: Settings,
) -> None:
    sent: list[tuple[str, LoggedEvent]] = []
    choose = AlgorithmChooser(settings, lambda t, e: sent.append((t, e)), cache_seconds=0)
    assert choose("shop-a", "u1") is None and sent == []  # nothing running: the default

    store = open_store(settings)
    experiment = store.create(make_experiment())
    store.start("shop-a", experiment.key)
    users = [f"u{i}" for i in range(200)]
    picks = {user: choose("shop-a", user) for user in users}
    assert {picks[u] for u in users} == {"trending", "als-1"}
    for user in users:
        assert picks[user] == assign(experiment, user).config["algorithm"]
        assert choose("shop-a", user) == picks[user]  # sticky, and logged once
    assert len(sent) == len(users)
    tenant, event = sent[0]
    assert (tenant, event.event, event.user_id) == ("shop-a", EXPOSURE_EVENT, "u0")
    assert json.loads(event.properties)["experiment_id"] == experiment.key
    assert choose("shop-b", "u1") is None  # another tenant's experiment is not this one's


def test_a_variant_without_an_algorithm_keeps_the_default(settings: Settings) -> None:
    base = make_experiment()
    from dataclasses import replace

    control = replace(base.variants[0], config={})
    store = open_store(settings)
    store.create(replace(base, variants=(control, base.variants[1])))
    store.start("shop-a", base.key)
    choose = AlgorithmChooser(settings, lambda t, e: None, cache_seconds=0)
    answers = {choose("shop-a", f"u{i}") for i in range(100)}
    assert answers == {None, "als-1"}


def test_a_broken_store_serves_the_default(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    prod_environment(monkeypatch, "postgresql://postgres@127.0.0.1:1/nowhere")
    from intellishop.settings import get_settings

    choose = AlgorithmChooser(get_settings(), lambda t, e: None, cache_seconds=0)
    assert choose("shop-a", "u1") is None
    # For a second the store is not asked again (a hanging server would slow every request).
    assert choose._quiet_until > 0
    assert choose("shop-a", "u2") is None


def test_a_decided_winner_is_rolled_out_to_everyone(settings: Settings) -> None:
    from intellishop.experiments import record_decision

    store = open_store(settings)
    experiment = store.create(make_experiment())
    store.start("shop-a", experiment.key)
    sent: list[tuple[str, LoggedEvent]] = []
    choose = AlgorithmChooser(settings, lambda t, e: sent.append((t, e)), cache_seconds=0)
    assert {choose("shop-a", f"u{i}") for i in range(50)} == {"trending", "als-1"}
    record_decision(store, store.get("shop-a", experiment.key), "winner", "treatment", {})
    sent.clear()
    assert {choose("shop-a", f"u{i}") for i in range(50)} == {"als-1"}
    assert sent == []  # no experiment, no exposures
    assert choose("shop-b", "u1") is None
    # A new experiment on the surface takes over from the rollout.
    store.create(make_experiment(key="next-test", salt="another"))
    store.start("shop-a", "next-test")
    assert {choose("shop-a", f"u{i}") for i in range(50)} == {"trending", "als-1"}
