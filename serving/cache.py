"""Answers worth keeping: analytics query results, cached per tenant *and published version*.

The key always holds the tenant's artifact version, so a new publish invalidates every answer
of that tenant at once, in every worker, without a delete: the next request asks for a key that
does not exist yet, and the old keys age out (LRU locally, a TTL in Redis).

- local profile: an in-process LRU (one worker; nothing to share);
- prod profile: Redis, shared by every worker, so a query computed once serves them all. Redis
  being down never fails a request: the answer is computed as if the cache were empty. In front
  of it, a small in-process LRU (:class:`MemoryFirstCache`): an answer under a key never
  changes (the key names the version), so a copy in memory is never stale, and a repeated
  query costs neither a Redis round trip nor a thread hop.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from intellishop.settings import Profile, Settings

log = logging.getLogger(__name__)

LOCAL_MAX_ENTRIES = 4096
#: Answers each prod worker also keeps in memory (Redis holds them all).
MEMORY_FIRST_MAX_ENTRIES = 512
REDIS_TTL_SECONDS = 24 * 3600
REDIS_PREFIX = "intellishop:serving:cache:"


class ResponseCache(Protocol):
    #: Whether a call may wait on the network (then callers on the event loop use a thread).
    blocking: bool

    def get(self, key: str) -> bytes | None: ...

    def get_now(self, key: str) -> bytes | None:
        """The answer if this process holds it in memory; never waits (None: ask ``get``)."""
        ...

    def set(self, key: str, value: bytes) -> None: ...


class LocalLRUCache:
    """At most ``max_entries`` answers, least recently used dropped first. Thread-safe."""

    blocking = False

    def __init__(self, max_entries: int = LOCAL_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    get_now = get

    def set(self, key: str, value: bytes) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class RedisResponseCache:
    """Answers in Redis under ``prefix`` with a TTL; errors count as misses."""

    blocking = True

    def __init__(
        self, client: redis.Redis, prefix: str = REDIS_PREFIX, ttl_seconds: int = REDIS_TTL_SECONDS
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    def get(self, key: str) -> bytes | None:
        try:
            value = self.client.get(self.prefix + key)
        except redis.RedisError as error:
            log.warning("response cache unavailable: %s", error)
            return None
        return value if isinstance(value, bytes) else None

    def get_now(self, key: str) -> bytes | None:
        return None

    def set(self, key: str, value: bytes) -> None:
        try:
            self.client.set(self.prefix + key, value, ex=self.ttl_seconds)
        except redis.RedisError as error:
            log.warning("response cache unavailable: %s", error)


class MemoryFirstCache:
    """``shared`` (Redis) behind an in-process LRU of the most used answers.

    Correct only because a key's answer never changes (keys hold the published version).
    """

    blocking = True

    def __init__(self, shared: ResponseCache, max_entries: int = MEMORY_FIRST_MAX_ENTRIES) -> None:
        self.shared = shared
        self.memory = LocalLRUCache(max_entries)

    def get_now(self, key: str) -> bytes | None:
        return self.memory.get(key)

    def get(self, key: str) -> bytes | None:
        value = self.memory.get(key)
        if value is None:
            value = self.shared.get(key)
            if value is not None:
                self.memory.set(key, value)
        return value

    def set(self, key: str, value: bytes) -> None:
        self.memory.set(key, value)
        self.shared.set(key, value)


def open_response_cache(settings: Settings) -> ResponseCache:
    """The profile's cache: an in-process LRU locally, Redis at ``settings.redis_url`` in prod."""
    if settings.profile is Profile.PROD:
        # No retries: a cache that does not answer at once is a miss (redis-py would otherwise
        # back off for seconds while the request waits).
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=0.5,
            socket_connect_timeout=0.2,
            retry=Retry(NoBackoff(), 0),
        )
        return MemoryFirstCache(RedisResponseCache(client))
    return LocalLRUCache()
