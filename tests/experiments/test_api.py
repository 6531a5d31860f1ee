"""``/v1/experiments`` over HTTP in-process: CRUD, lifecycle, assignment with exposure
logging, results, decisions, and that one tenant can never see or touch another's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from ingest.event_log import SqliteEventLog
from intellishop.experiments import EXPOSURE_EVENT, evaluate_running, open_store

from .conftest import BODY, Api


def test_create_read_list_update_delete(api: Api) -> None:
    created = api.call("POST", "", json=BODY)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["tenant_id"] == "shop-a"
    assert "salt" not in body
    assert api.call("GET", "/recs-als").json() == body
    assert [e["key"] for e in api.call("GET", "").json()["experiments"]] == ["recs-als"]
    assert api.call("GET", "", params={"status": "running"}).json()["experiments"] == []
    changed = api.call("PATCH", "/recs-als", json={"name": "Renamed", "max_days": 28})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["max_days"]) == ("Renamed", 28)
    assert api.call("POST", "", json=BODY).status_code == 409
    assert api.call("DELETE", "/recs-als").status_code == 204
    assert api.call("GET", "/recs-als").status_code == 404


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"key": "Bad Key"}, ["body", "key"]),
        ({"surface": "billboard"}, ["body", "surface"]),
        ({"target_metric": "happiness"}, ["body", "target_metric"]),
        ({"variants": BODY["variants"][:1]}, ["body", "variants"]),
        (
            {"variants": [BODY["variants"][0], {**BODY["variants"][1], "weight": -1}]},
            ["body", "variants", 1, "weight"],
        ),
        (
            {"variants": [BODY["variants"][0], {**BODY["variants"][1], "control": True}]},
            ["body", "variants"],
        ),
        (
            {"variants": [BODY["variants"][0], {**BODY["variants"][1], "id": "trending"}]},
            ["body", "variants", 1, "id"],
        ),
        (
            {"guardrails": [{"metric": "conversion", "max_degradation": 2}]},
            ["body", "guardrails", 0, "max_degradation"],
        ),
        ({"alpha": 0.9}, ["body", "alpha"]),
    ],
)
def test_bad_definitions_are_422_naming_the_field(
    api: Api, change: dict[str, Any], loc: list[Any]
) -> None:
    response = api.call("POST", "", json={**BODY, **change})
    assert response.status_code == 422, response.text
    assert any(error["loc"] == loc for error in response.json()["detail"]), response.json()


def test_lifecycle_assignment_and_exposure_logging(api: Api) -> None:
    api.call("POST", "", json=BODY)
    assert api.call("POST", "/recs-als/assignments", json={"unit_id": "u1"}).status_code == 409
    started = api.call("POST", "/recs-als/start")
    assert started.status_code == 200 and started.json()["status"] == "running"
    assert api.call("PATCH", "/recs-als", json={"variants": BODY["variants"]}).status_code == 409
    assert api.call("PATCH", "/recs-als", json={"name": "Still fine"}).status_code == 200
    other = {**BODY, "key": "recs-other"}
    api.call("POST", "", json=other)
    busy = api.call("POST", "/recs-other/start")
    assert busy.status_code == 409 and "already running" in busy.json()["detail"]

    answers = [
        api.call("POST", "/recs-als/assignments", json={"unit_id": "u1"}).json() for _ in range(3)
    ]
    assert len({a["variant_id"] for a in answers}) == 1  # sticky
    assert answers[0]["config"]["algorithm"] == answers[0]["variant_id"]
    quiet = api.call(
        "POST",
        "/recs-als/assignments",
        json={"unit_id": "anon-1", "anonymous": True, "log_exposure": False},
    ).json()
    assert quiet["exposure_logged"] is False
    api.call("POST", "/recs-als/assignments", json={"unit_id": "anon-2", "anonymous": True})
    log = SqliteEventLog(api.settings.event_log_path)
    entries = log.read("test", 100)
    log.close()
    assert len(entries) == 4  # one append per logged call
    events = [e.batch.events[0] for e in entries]
    assert {e.event for e in events} == {EXPOSURE_EVENT}
    assert {e.batch.tenant_id for e in entries} == {"shop-a"}
    assert json.loads(events[0].properties)["variation_id"] == answers[0]["variant_id"]
    assert (events[-1].user_id, events[-1].anonymous_id) == (None, "anon-2")

    stopped = api.call("POST", "/recs-als/stop")
    assert stopped.json()["status"] == "stopped"
    assert api.call("DELETE", "/recs-als").status_code == 409
    decided = api.call("POST", "/recs-als/decision", json={"winner": "trending"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"]["outcome"] == "manual"
    assert api.call("POST", "/recs-als/decision", json={"winner": "als"}).status_code == 409
    unknown = api.call("POST", "/recs-other/decision", json={"winner": "nope"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "winner"]


def test_results_show_the_pipelines_latest_look_and_decision(api: Api) -> None:
    api.call("POST", "", json=BODY)
    api.call("POST", "/recs-als/start")
    empty = api.call("GET", "/recs-als/results").json()
    assert (empty["results"], empty["looks"], empty["decision"]) == (None, 0, None)

    start = datetime.now(UTC)
    units = [f"u{i}" for i in range(6000)]
    variants = [
        api.call(
            "POST", "/recs-als/assignments", json={"unit_id": u, "log_exposure": False}
        ).json()["variant_id"]
        for u in units[:50]
    ]
    assert set(variants) == {"trending", "als"}
    from intellishop.experiments import assign

    experiment = open_store(api.settings).get("shop-a", "recs-als")
    assigned = [assign(experiment, u).id for u in units]
    assert assigned[:50] == variants
    buyers = [
        u for i, u in enumerate(units) if (i % 10 == 0 if assigned[i] == "als" else i % 20 == 0)
    ]
    exposures = pl.DataFrame(
        {
            "tenant_id": "shop-a",
            "experiment_id": "recs-als",
            "unit_id": units,
            "variant_id": assigned,
            "exposed_at": [start] * len(units),
        }
    )
    outcomes = pl.DataFrame(
        {
            "tenant_id": "shop-a",
            "unit_id": buyers,
            "ordered_at": [start + timedelta(hours=1)] * len(buyers),
            "revenue": [40.0] * len(buyers),
        }
    )
    evaluate_running(open_store(api.settings), exposures, outcomes, as_of=start + timedelta(days=1))
    results = api.call("GET", "/recs-als/results").json()
    assert results["looks"] == 1 and results["status"] == "decided"
    assert results["decision"]["winner"] == "als"
    assert results["evidence"]["decision"]["action"] == "declare_winner"
    by_id = {v["variant"]: v for v in results["results"]["variants"]}
    assert by_id["als"]["converters"] == sum(1 for u in buyers if assigned[units.index(u)] == "als")
    # Strict JSON all the way (no NaN).
    json.loads(api.call("GET", "/recs-als/results").text)


def test_tenants_are_isolated_on_every_endpoint(api: Api) -> None:
    assert api.call("POST", "", json=BODY).status_code == 201
    api.call("POST", "/recs-als/start")
    for method, path, body in [
        ("GET", "/recs-als", None),
        ("PATCH", "/recs-als", {"name": "x"}),
        ("DELETE", "/recs-als", None),
        ("POST", "/recs-als/start", None),
        ("POST", "/recs-als/stop", None),
        ("POST", "/recs-als/decision", {"winner": "als"}),
        ("GET", "/recs-als/results", None),
        ("POST", "/recs-als/assignments", {"unit_id": "u1"}),
    ]:
        response = api.call(method, path, tenant="shop-b", json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert api.call("GET", "", tenant="shop-b").json()["experiments"] == []
    # shop-b may use the same key for its own experiment.
    assert api.call("POST", "", tenant="shop-b", json=BODY).status_code == 201
    assert api.call("GET", "/recs-als").json()["status"] == "running"


def test_keys_are_required_and_write_keys_refused(api: Api) -> None:
    assert api.client.get("/v1/experiments").status_code == 401
    assert api.call("GET", "", tenant="write-a").status_code == 403
    assert api.call("POST", "", tenant="write-a", json=BODY).status_code == 403
    assert api.call("GET", "/Bad Key!").status_code == 422


def test_patch_with_nulls_changes_nothing(api: Api) -> None:
    api.call("POST", "", json=BODY)
    before = api.call("GET", "/recs-als").json()
    response = api.call("PATCH", "/recs-als", json={"surface": None, "variants": None})
    assert response.status_code == 200, response.text
    assert response.json() == before
    bad = api.call("PATCH", "/recs-als", json={"variants": [BODY["variants"][0]] * 2})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["body", "variants"]
