"""The whole loop over real HTTP: events in through the collector, recommendations out."""

from __future__ import annotations

import subprocess
import sys
import threading

import duckdb
import httpx
import pytest

from intellishop.services import PROJECT_ROOT, service_env

from .conftest import Stack

pytestmark = pytest.mark.e2e


def raw_users(stack: Stack, tenant_id: str) -> set[str]:
    pattern = f"{stack.settings.raw_zone_dir}/events/tenant_id={tenant_id}/**/*.parquet"
    rows = duckdb.sql(
        f"select distinct user_id from read_parquet('{pattern}') where user_id is not null"
    )
    return {row[0] for row in rows.fetchall()}


def test_every_accepted_event_reached_the_raw_zone_once(stack: Stack) -> None:
    pattern = f"{stack.settings.raw_zone_dir}/events/**/*.parquet"
    [(total, distinct)] = duckdb.sql(
        "select count(*), count(distinct (tenant_id, message_id))"
        f" from read_parquet('{pattern}', hive_partitioning = true)"
    ).fetchall()
    assert total > 1000
    assert total == distinct


def test_known_users_get_their_own_recommendations(stack: Stack) -> None:
    key = stack.keys["shop-a"]
    users = sorted(raw_users(stack, "shop-a"))
    assert users
    personal = 0
    for user_id in users[:20]:
        response = httpx.get(
            f"{stack.api_url}/v1/recommendations/{user_id}", params={"n": 5}, auth=(key, "")
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["tenant_id"] == "shop-a" and body["user_id"] == user_id
        assert 1 <= len(body["items"]) <= 5
        assert body["recommendation_id"]
        personal += body["algorithm"] != "cold_start_trending"
    assert personal >= 10


def test_trending_and_cold_start(stack: Stack) -> None:
    key = stack.keys["shop-a"]
    trending = httpx.get(f"{stack.api_url}/v1/trending", params={"n": 10}, auth=(key, "")).json()
    assert len(trending["items"]) == 10
    scores = [item["score"] for item in trending["items"]]
    assert scores == sorted(scores, reverse=True)
    stranger = httpx.get(f"{stack.api_url}/v1/recommendations/nobody-here", auth=(key, "")).json()
    assert stranger["algorithm"] == "cold_start_trending"
    assert stranger["items"]


def test_tenants_never_see_each_other(stack: Stack) -> None:
    a_users = raw_users(stack, "shop-a") - raw_users(stack, "shop-b")
    user_id = sorted(a_users)[0]
    as_a = httpx.get(
        f"{stack.api_url}/v1/recommendations/{user_id}", auth=(stack.keys["shop-a"], "")
    ).json()
    as_b = httpx.get(
        f"{stack.api_url}/v1/recommendations/{user_id}", auth=(stack.keys["shop-b"], "")
    ).json()
    assert as_a["algorithm"] != "cold_start_trending"
    assert as_b["tenant_id"] == "shop-b"
    assert as_b["algorithm"] == "cold_start_trending"  # shop B has never seen A's user
    b_trending = httpx.get(f"{stack.api_url}/v1/trending", auth=(stack.keys["shop-b"], "")).json()
    assert b_trending["tenant_id"] == "shop-b"
    assert httpx.get(f"{stack.api_url}/v1/trending", auth=("isk_forged", "")).status_code == 401


def test_the_api_keeps_answering_while_the_pipeline_runs(stack: Stack) -> None:
    key = stack.keys["shop-a"]
    pipeline = subprocess.Popen(
        [sys.executable, "-m", "intellishop.cli", "pipeline", "run"],
        cwd=PROJECT_ROOT,
        env=service_env(stack.settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    statuses: list[int] = []

    def poll() -> None:
        with httpx.Client(auth=(key, ""), timeout=5) as client:
            while pipeline.poll() is None:
                statuses.append(client.get(f"{stack.api_url}/v1/trending").status_code)

    poller = threading.Thread(target=poll)
    poller.start()
    assert pipeline.wait(timeout=600) == 0
    poller.join()
    assert len(statuses) > 20
    assert set(statuses) == {200}
