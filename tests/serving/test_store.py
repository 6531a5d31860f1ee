"""The prod serving store and the response caches, against the real Redis: a publish reaches a
reader through pub/sub (not its slow re-read), swaps atomically, and Redis going away never
stops the API from answering."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import redis
from fastapi.testclient import TestClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from intellishop.artifacts import RedisArtifactStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.app import create_app
from serving.cache import LocalLRUCache, RedisResponseCache
from tests.serving.published import full_shop


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    name = f"test:serving:{uuid.uuid4().hex}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}*"))
    if keys:
        redis_client.delete(*keys)


def test_the_lru_drops_the_least_recently_used() -> None:
    cache = LocalLRUCache(max_entries=2)
    cache.set("a", b"1")
    cache.set("b", b"2")
    assert cache.get("a") == b"1"  # a is now the most recent
    cache.set("c", b"3")
    assert cache.get("b") is None and cache.get("a") == b"1" and cache.get("c") == b"3"
    assert len(cache) == 2


def test_the_redis_cache_shares_answers_and_survives_an_outage(
    redis_client: redis.Redis, prefix: str
) -> None:
    one = RedisResponseCache(redis_client, prefix=prefix + ":", ttl_seconds=60)
    two = RedisResponseCache(redis.Redis.from_url(_url(redis_client)), prefix=prefix + ":")
    one.set("k", b"answer")
    assert two.get("k") == b"answer"
    assert 0 < redis_client.ttl(f"{prefix}:k") <= 60
    down = RedisResponseCache(_unreachable(), prefix=prefix)
    assert down.get("k") is None  # a miss, not an error
    down.set("k", b"x")


def _unreachable() -> redis.Redis:
    """A Redis that refuses connections, without redis-py's seconds of retries."""
    return redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )


def _url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    host, port = kwargs.get("host", "127.0.0.1"), kwargs.get("port", 6379)
    return f"redis://{host}:{port}/{kwargs.get('db', 0)}"


def _tables(marker: str) -> dict[str, pa.Table]:
    return full_shop(marker, ["alice"])


def test_a_publish_reaches_readers_through_pub_sub(
    redis_client: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    publisher = RedisArtifactStore(tmp_path, redis_client, prefix=prefix)
    # A reader that would re-read the pointer only once a minute: pub/sub must tell it.
    reader = RedisArtifactStore(
        tmp_path, redis.Redis.from_url(_url(redis_client)), prefix=prefix,
        refresh_seconds=60, listen=True,
    )  # fmt: skip
    try:
        assert reader.current("shop") is None
        first = publisher.publish("shop", _tables("a"))
        deadline = time.monotonic() + 5
        while (found := reader.current("shop")) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert found is not None and found.version == first
        second = publisher.publish("shop", _tables("z"))
        started = time.monotonic()
        while reader.current("shop").version != second:  # type: ignore[union-attr]
            assert time.monotonic() - started < 2, "the reader missed the announcement"
            time.sleep(0.02)
        loaded = reader.current("shop")
        assert loaded is not None
        assert loaded.tables["trending"].column("product_id")[0].as_py() == "z-p0"
        assert redis_client.get(f"{prefix}:current:shop") == second.encode()
        assert reader.tenants() == ["shop"]
    finally:
        reader.close()


def test_the_api_keeps_answering_when_redis_goes_away(
    redis_client: redis.Redis, prefix: str, settings: Settings
) -> None:
    _, key = TenantRegistry(settings.tenants_db_path).create("Shop", tenant_id="shop")
    store = RedisArtifactStore(settings.artifacts_dir, redis_client, prefix=prefix)
    version = store.publish("shop", _tables("a"))
    broken = _unreachable()
    reader = RedisArtifactStore(
        settings.artifacts_dir, redis_client, prefix=prefix, refresh_seconds=0
    )
    client = TestClient(create_app(settings, store=reader, auth_cache_seconds=0))
    headers = {"X-API-Key": key}
    assert client.get("/v1/trending", headers=headers).json()["model_version"] == version
    reader.client = broken  # Redis is restarting: the pointer cannot be read
    for path in ("/v1/trending", "/v1/recommendations/alice", "/v1/analytics/daily"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["model_version"] == version
