"""The Redis Streams event log: order, offsets per consumer group, crash recovery, erasure."""

from __future__ import annotations

import msgspec
import pytest
import redis

from ingest.event_log import RedisStreamEventLog, entry_offset
from intellishop.events import LoggedBatch
from intellishop.privacy import Person
from serving.live.tail import RedisLogTail

from .helpers import batch, event

pytestmark = pytest.mark.redis


def ids_of(entries: list) -> list[str]:  # type: ignore[type-arg]
    return [e.batch.events[0].message_id for e in entries]


def test_append_read_commit_lag(redis_client: redis.Redis, stream: str) -> None:
    log = RedisStreamEventLog(redis_client, stream, member="m1")
    ids = [log.append(batch("t", f"m{i}")) for i in range(5)]
    assert redis_client.xlen(stream) == 5  # one XADD per batch
    assert [entry_offset(i) for i in ids] == sorted({entry_offset(i) for i in ids})
    assert log.lag("c") == 5  # no group yet: everything is pending for it
    entries = log.read("c", 10)
    assert [e.entry_id for e in entries] == ids
    assert entries[0].batch == batch("t", "m0")
    log.commit("c", ids[2])
    assert ids_of(log.read("c", 10)) == ["m3", "m4"]  # uncommitted ones come back
    assert log.lag("c") == 2
    log.commit("c", ids[0])  # an old commit never moves the offset back
    assert log.lag("c") == 2
    assert log.lag("other-consumer") == 5
    log.commit("c", ids[4])
    assert log.read("c", 10) == [] and log.lag("c") == 0
    log.append(batch("t", "m5"))
    assert ids_of(log.read("c", 10)) == ["m5"]


def test_restarted_member_rereads_its_own_pending_entries(
    redis_client: redis.Redis, stream: str
) -> None:
    first = RedisStreamEventLog(redis_client, stream, member="loader-a")
    for i in range(3):
        first.append(batch("t", f"m{i}"))
    assert ids_of(first.read("c", 2)) == ["m0", "m1"]  # then it dies without committing
    restarted = RedisStreamEventLog(redis_client, stream, member="loader-a")
    assert ids_of(restarted.read("c", 10)) == ["m0", "m1"]  # its pending entries first
    restarted.commit("c", restarted.read("c", 10)[-1].entry_id)
    assert ids_of(restarted.read("c", 10)) == ["m2"]


def test_entries_of_a_dead_member_are_reclaimed(redis_client: redis.Redis, stream: str) -> None:
    dead = RedisStreamEventLog(redis_client, stream, member="dead")
    for i in range(3):
        dead.append(batch("t", f"m{i}"))
    assert ids_of(dead.read("c", 2)) == ["m0", "m1"]
    patient = RedisStreamEventLog(redis_client, stream, member="other", claim_idle_ms=60_000)
    assert ids_of(patient.read("c", 10)) == ["m2"]  # not idle long enough: new entries only
    patient.commit("c", patient.read("c", 10)[-1].entry_id)
    eager = RedisStreamEventLog(redis_client, stream, member="other", claim_idle_ms=0)
    claimed = eager.read("c", 10)
    assert ids_of(claimed) == ["m0", "m1"]
    eager.commit("c", claimed[-1].entry_id)
    assert eager.lag("c") == 0


def test_erasure_strips_unloaded_entries_and_deletes_loaded_ones(
    redis_client: redis.Redis, stream: str
) -> None:
    log = RedisStreamEventLog(redis_client, stream, member="m")
    loaded = log.append(LoggedBatch("t", [event("a1", user_id="gone"), event("a2", user_id="u2")]))
    log.commit("raw", log.read("raw", 10)[-1].entry_id)  # loaded (acknowledged)
    log.append(LoggedBatch("t", [event("b1", user_id=None, anonymous_id="anon-gone")]))
    log.append(LoggedBatch("t", [event("b2", user_id="u3")]))
    log.append(LoggedBatch("other", [event("c1", user_id="gone")]))  # another tenant's user
    person = Person("t", user_ids=frozenset({"gone"}), anonymous_ids=frozenset({"anon-gone"}))

    assert log.erase(person) == 2
    remaining = [str(i, "ascii") for i, _ in redis_client.xrange(stream) or []]  # type: ignore[arg-type]
    assert loaded not in remaining  # acknowledged by every group: deleted
    assert len(remaining) == 3
    pending = log.read("raw", 10)
    assert [[e.message_id for e in p.batch.events] for p in pending] == [[], ["b2"], ["c1"]]
    # Events received after the erasure (new consent) are not stripped.
    later = event("d1", user_id="gone", timestamp_us=2**62)
    log.append(LoggedBatch("t", [later]))
    assert log.read("fresh", 10)[-1].batch.events == [later]


def test_acknowledged_entries_are_trimmed_only_when_every_group_has_them(
    redis_client: redis.Redis, stream: str
) -> None:
    log = RedisStreamEventLog(redis_client, stream, member="m")
    ids = [log.append(batch("t", f"m{i}")) for i in range(4)]
    log.read("fast", 10)
    log.commit("fast", ids[3])
    log.read("slow", 10)
    log.commit("slow", ids[1])
    assert log.trim_acknowledged() == 2
    assert ids_of(log.read("slow", 10)) == ["m2", "m3"]
    assert log.lag("fast") == 0 and log.lag("slow") == 2


def test_an_entry_deleted_while_pending_reads_as_empty_and_commits(
    redis_client: redis.Redis, stream: str
) -> None:
    log = RedisStreamEventLog(redis_client, stream, member="m")
    ids = [log.append(batch("t", f"m{i}")) for i in range(2)]
    log.read("c", 10)
    redis_client.xdel(stream, ids[0])
    entries = log.read("c", 10)  # the pending list still names the deleted entry
    assert [(e.entry_id, len(e.batch.events)) for e in entries] == [(ids[0], 0), (ids[1], 1)]
    log.commit("c", ids[1])
    assert log.lag("c") == 0


def test_entries_are_compressed_and_bare_msgpack_ones_stay_readable_and_erasable(
    redis_client: redis.Redis, stream: str
) -> None:
    """Entries carry the SQLite log's LZ4 payload; an entry a collector wrote before that (the
    bare msgpack) is read, tailed and erased alike, side by side with new ones."""
    log = RedisStreamEventLog(redis_client, stream, member="m")
    new = batch("t", *(f"n{i}" for i in range(50)), user_id="gone")
    log.append(new)
    ((_, fields),) = redis_client.xrange(stream)  # type: ignore[misc]
    assert len(fields[b"batch"]) * 3 < len(msgspec.msgpack.encode(new))
    old = batch("t", "o1", user_id="gone")
    redis_client.xadd(
        stream,
        {"tenant": "t", "n": 1, "batch": msgspec.msgpack.encode(old)},  # type: ignore[dict-item]
    )
    assert [e.batch for e in log.read("raw", 10)] == [new, old]
    tailed, _ = RedisLogTail(redis_client, stream).read("0-0", 10)
    assert tailed == [new, old]
    log.commit("raw", log.read("raw", 10)[-1].entry_id)
    assert log.erase(Person("t", user_ids=frozenset({"gone"}))) == 51
    assert redis_client.xlen(stream) == 0
