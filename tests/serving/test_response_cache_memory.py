"""The prod response cache answers repeated queries from memory, and still shares via Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from serving.cache import MemoryFirstCache, RedisResponseCache


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    name = f"test:serving:memory:{uuid.uuid4().hex}:"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}*"))
    if keys:
        redis_client.delete(*keys)


def test_an_answer_is_kept_in_memory_and_shared_through_redis(
    redis_client: redis.Redis, prefix: str
) -> None:
    one = MemoryFirstCache(RedisResponseCache(redis_client, prefix=prefix))
    two = MemoryFirstCache(RedisResponseCache(redis_client, prefix=prefix))
    one.set("k", b"answer")
    assert one.get_now("k") == b"answer"  # no round trip for the worker that computed it
    assert two.get_now("k") is None  # another worker: not in its memory yet...
    assert two.get("k") == b"answer"  # ...but in Redis
    assert two.get_now("k") == b"answer"  # and from then on in memory
    redis_client.delete(f"{prefix}k")
    assert one.get("k") == b"answer"  # memory first: keys never change meaning


def test_memory_is_bounded(redis_client: redis.Redis, prefix: str) -> None:
    cache = MemoryFirstCache(RedisResponseCache(redis_client, prefix=prefix), max_entries=2)
    for key in ("a", "b", "c"):
        cache.set(key, key.encode())
    assert cache.get_now("a") is None and cache.get_now("c") == b"c"
    assert cache.get("a") == b"a"  # still in Redis
