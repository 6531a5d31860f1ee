"""The prod event log: one Redis Stream, one consumer group per consumer.

One ``XADD`` per accepted HTTP batch (the ``LoggedBatch`` as the SQLite log stores it, msgpack
compressed with LZ4 (:mod:`.payload`), plus its tenant and event count as separate fields, so
erasure can skip other tenants without decoding them). Compressed, an entry takes a sixth of the
memory Redis holds it in and of the bytes the collector sends; entries written before hold the
bare msgpack and stay readable. Durability of a 2xx is Redis' own: run it with ``appendonly
yes`` and ``appendfsync always`` (the opening of the log warns when it is not), since ``XADD``
returns before a disk write otherwise.

Consumers are consumer groups (``XGROUP CREATE ... 0 MKSTREAM``: a new consumer starts at the
beginning, like a new SQLite offset). Within a group each process is a *member*, named by host
by default so a restarted loader is the same member. ``read`` returns, in this order:

1. the member's own pending entries (``XREADGROUP ... 0``): delivered before, never committed,
   i.e. what a crashed run had in hand; reading twice without a commit gives the same entries,
   as the SQLite log does;
2. entries reclaimed from members idle longer than ``claim_idle_ms`` (``XAUTOCLAIM``): a loader
   on another host that died mid-chunk;
3. new entries (``XREADGROUP ... >``).

``commit(entry_id)`` acknowledges (``XACK``) every entry pending for this member up to
``entry_id``. Entry ids are Redis ids (``<ms>-<seq>``); :func:`redis_entry_offset` maps them to
one increasing integer for the raw zone's ``log_offset``.

Erasure (GDPR). A stream entry cannot be rewritten in place, and deleting and re-adding it
would change its id and order under the consumers. So erasure is two-part:

- the person's ids are recorded per tenant with the erasure time (``<stream>:erased:<tenant>``);
  ``read`` strips their events received up to that time from every entry it hands out, so an
  entry not yet loaded never brings them into the raw zone (later events of the same id, e.g.
  after new consent, pass);
- entries that every consumer group has acknowledged and that mention the person are deleted
  (``XDEL``): their events are in the raw zone, whose own ``erase`` removes them there.
  ``trim_acknowledged`` (the loader calls it after each drain) drops every acknowledged entry,
  so the unacknowledged ones still holding the person's events go as soon as they are loaded.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

import redis

from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.privacy import Person

from .base import LogEntry
from .payload import decode_payload, encode_payload, payload_msgpack

log = logging.getLogger(__name__)

#: A member idle this long with pending entries is taken as dead; its entries are reclaimed.
DEFAULT_CLAIM_IDLE_MS = 60_000
#: Entries per XRANGE page when scanning the stream (erasure, lag without XINFO's figure).
_SCAN_PAGE = 1000
#: A Redis id's sequence part stays below this (it counts entries within one millisecond).
_SEQ_SPAN = 1_000_000


def redis_entry_offset(entry_id: str) -> int:
    """``<ms>-<seq>`` as one increasing integer (``ms * 10^6 + seq``; fits in int64)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms) * _SEQ_SPAN + int(seq or 0)


def _id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _entry_fields(batch: LoggedBatch) -> dict[str | bytes, bytes | str | int]:
    """A batch's stream entry: its tenant and event count beside the payload, so erasure can
    skip other tenants' entries without decoding them."""
    return {"tenant": batch.tenant_id, "n": len(batch.events), "batch": encode_payload(batch)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStreamEventLog:
    """Event log on a Redis Stream (the prod profile's). Thread-safe (redis-py's pool)."""

    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        *,
        member: str | None = None,
        claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
    ) -> None:
        self.client = client
        self.stream = stream
        self.member = member or socket.gethostname()
        self.claim_idle_ms = claim_idle_ms
        self._groups: set[str] = set()
        self._warn_if_not_durable()

    @classmethod
    def from_url(cls, url: str, stream: str, **kwargs: Any) -> RedisStreamEventLog:
        client = redis.Redis.from_url(url, socket_timeout=30, health_check_interval=30)
        return cls(client, stream, **kwargs)

    def _warn_if_not_durable(self) -> None:
        try:
            info = self.client.info("persistence")
            fsync = self.client.config_get("appendfsync")
        except redis.ResponseError:  # CONFIG may be renamed away on managed servers
            return
        if not int(info.get("aof_enabled", 0)) or _text(fsync.get("appendfsync")) != "always":
            log.warning(
                "Redis at %s runs without 'appendonly yes' + 'appendfsync always': an event "
                "acknowledged with 2xx can be lost if Redis stops",
                self.client.connection_pool.connection_kwargs.get("host", "?"),
            )

    # --- appending -------------------------------------------------------------------------

    def append(self, batch: LoggedBatch) -> str:
        return _text(self.client.xadd(self.stream, _entry_fields(batch)))  # type: ignore[arg-type]

    def append_many(self, batches: Sequence[LoggedBatch]) -> list[str]:
        """One round trip for every batch: a MULTI/EXEC pipeline of XADDs, all or nothing."""
        pipe = self.client.pipeline(transaction=True)
        for batch in batches:
            pipe.xadd(self.stream, _entry_fields(batch))  # type: ignore[arg-type]
        return [_text(entry_id) for entry_id in pipe.execute()]

    # --- consuming -------------------------------------------------------------------------

    def _ensure_group(self, group: str) -> None:
        if group in self._groups:
            return
        try:
            self.client.xgroup_create(self.stream, group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._groups.add(group)

    def read(self, consumer: str, limit: int) -> list[LogEntry]:
        self._ensure_group(consumer)
        try:
            raw = self._read_raw(consumer, limit)
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._groups.discard(consumer)  # the stream was deleted under us: start again
            self._ensure_group(consumer)
            raw = self._read_raw(consumer, limit)
        return self._decode(raw)

    def _read_raw(self, group: str, limit: int) -> list[tuple[Any, Any]]:
        own = self._xreadgroup(group, "0", limit)
        if own:
            return own
        _, claimed, *_ = self.client.xautoclaim(
            self.stream, group, self.member, self.claim_idle_ms, "0-0", count=limit
        )
        if claimed:
            return sorted(claimed, key=lambda item: _id_tuple(_text(item[0])))
        return self._xreadgroup(group, ">", limit)

    def _xreadgroup(self, group: str, start: str, limit: int) -> list[tuple[Any, Any]]:
        answer: Any = self.client.xreadgroup(group, self.member, {self.stream: start}, count=limit)
        if not answer:
            return []
        # redis-py answers [[stream, entries]] (RESP2) or {stream: [entries]} (RESP3).
        if isinstance(answer, dict):
            return list(next(iter(answer.values()))[0])
        return list(answer[0][1])

    def _decode(self, raw: Sequence[tuple[Any, Any]]) -> list[LogEntry]:
        entries: list[LogEntry] = []
        erased_by_tenant: dict[str, dict[str, int]] = {}
        for entry_id, fields in raw:
            if not fields:
                # Deleted while pending (XDEL after erasure): nothing left to load.
                entries.append(LogEntry(_text(entry_id), LoggedBatch("", [])))
                continue
            batch = decode_payload(fields[b"batch"])
            erased = erased_by_tenant.get(batch.tenant_id)
            if erased is None:
                erased = erased_by_tenant[batch.tenant_id] = self._erasures(batch.tenant_id)
            if erased:
                batch = LoggedBatch(
                    batch.tenant_id, [e for e in batch.events if not _is_erased(e, erased)]
                )
            entries.append(LogEntry(_text(entry_id), batch))
        return entries

    def commit(self, consumer: str, entry_id: str) -> None:
        self._ensure_group(consumer)
        upto = _id_tuple(entry_id)
        while True:
            pending = self.client.xpending_range(
                self.stream, consumer, min="-", max=entry_id, count=_SCAN_PAGE,
                consumername=self.member,
            )  # fmt: skip
            ids = [_text(p["message_id"]) for p in pending]
            ids = [i for i in ids if _id_tuple(i) <= upto]
            if not ids:
                return
            self.client.xack(self.stream, consumer, *ids)
            if len(pending) < _SCAN_PAGE:
                return

    def lag(self, consumer: str) -> int:
        group = self._group_info(consumer)
        if group is None:
            return int(self.client.xlen(self.stream))
        pending = int(group["pending"])
        undelivered = group.get("lag")
        if undelivered is None:  # Redis cannot tell after deletions: count the entries
            undelivered = self._count_after(_text(group["last-delivered-id"]))
        return pending + int(undelivered)

    def _group_info(self, group: str) -> dict[str, Any] | None:
        try:
            groups = self.client.xinfo_groups(self.stream)
        except redis.ResponseError:  # no such stream yet
            return None
        for info in groups:
            if _text(info["name"]) == group:
                return info
        return None

    def _count_after(self, entry_id: str) -> int:
        count, start = 0, f"({entry_id}"
        while page := self.client.xrange(self.stream, min=start, count=_SCAN_PAGE):
            count += len(page)
            start = f"({_text(page[-1][0])}"
        return count

    # --- retention and erasure -----------------------------------------------------------

    def acknowledged_below(self) -> str | None:
        """The lowest id some consumer group still needs; every entry before it is loaded.

        ``None`` when there is no group (nothing may be dropped then)."""
        try:
            groups = self.client.xinfo_groups(self.stream)
        except redis.ResponseError:
            return None
        if not groups:
            return None
        frontiers: list[tuple[int, int]] = []
        for info in groups:
            name = _text(info["name"])
            summary = self.client.xpending(self.stream, name)
            if int(summary["pending"]):
                frontiers.append(_id_tuple(_text(summary["min"])))
            else:
                ms, seq = _id_tuple(_text(info["last-delivered-id"]))
                frontiers.append((ms, seq + 1))
        ms, seq = min(frontiers)
        return f"{ms}-{seq}"

    def trim_acknowledged(self) -> int:
        """Drop every entry all consumer groups have acknowledged; returns entries dropped.

        The raw zone holds those events durably, and Redis keeps its data in memory."""
        below = self.acknowledged_below()
        if below is None:
            return 0
        return int(self.client.xtrim(self.stream, minid=below, approximate=False))

    def _erasure_key(self, tenant_id: str) -> str:
        return f"{self.stream}:erased:{tenant_id}"

    def _erasures(self, tenant_id: str) -> dict[str, int]:
        raw = cast(dict[bytes, bytes], self.client.hgetall(self._erasure_key(tenant_id)))
        return {key.decode(): int(value) for key, value in raw.items()}

    def erase(self, person: Person) -> int:
        """Forget the person's events: stripped on every later read, deleted once loaded.

        Returns the person's events found in the stream (deleted now, or stripped from entries
        still waiting for a consumer)."""
        erased_at = time.time_ns() // 1000
        mapping = {f"u:{u}": erased_at for u in person.user_ids}
        mapping |= {f"a:{a}": erased_at for a in person.anonymous_ids}
        self.client.hset(self._erasure_key(person.tenant_id), mapping=mapping)  # type: ignore[arg-type]
        needles = [i.encode() for i in person.user_ids | person.anonymous_ids]
        below = self.acknowledged_below()
        found, deletable = 0, []
        for entry_id, fields in self._scan():
            if _text(fields.get(b"tenant", b"")) != person.tenant_id:
                continue
            payload = payload_msgpack(fields.get(b"batch", b""))
            if not any(needle in payload for needle in needles):
                continue
            batch = decode_payload(payload)
            mine = sum(1 for e in batch.events if _is_erased(e, mapping))
            found += mine
            if mine and below is not None and _id_tuple(entry_id) < _id_tuple(below):
                deletable.append(entry_id)
        for start in range(0, len(deletable), _SCAN_PAGE):
            self.client.xdel(self.stream, *deletable[start : start + _SCAN_PAGE])
        return found

    def _scan(self) -> Iterable[tuple[str, dict[Any, Any]]]:
        start = "-"
        while page := self.client.xrange(self.stream, min=start, count=_SCAN_PAGE):
            for entry_id, fields in page:
                yield _text(entry_id), fields or {}
            start = f"({_text(page[-1][0])}"

    def close(self) -> None:
        self.client.close()


def _is_erased(event: LoggedEvent, erased: dict[str, int]) -> bool:
    keys = []
    if event.user_id is not None:
        keys.append(f"u:{event.user_id}")
    if event.anonymous_id is not None:
        keys.append(f"a:{event.anonymous_id}")
    for key in keys:
        erased_at = erased.get(key)
        if erased_at is not None and event.received_at_us <= erased_at:
            return True
    return False
