"""Group commit: one writer thread, groups of what is queued, every waiter told its own outcome."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ingest.event_log import SqliteEventLog
from ingest.event_log.group_commit import GroupCommitter
from intellishop.events import LoggedBatch, LoggedEvent

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: in the whole suite, a browser test driven by
    Playwright's sync API leaves an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def batch(name: str) -> LoggedBatch:
    return LoggedBatch(
        "t",
        [LoggedEvent(name, "track", "Viewed", "u1", None, 1, None, 1, b"{}", b"{}", b"{}")],
    )


class RecordingLog:
    """An event log in memory that records each write's batches (and may fail or be slow)."""

    def __init__(self, seconds: float = 0.0, error: BaseException | None = None) -> None:
        self.seconds = seconds
        self.error = error
        self.writes: list[list[str]] = []
        self.threads: set[str] = set()

    def append(self, batch: LoggedBatch) -> str:
        return self.append_many([batch])[0]

    def append_many(self, batches: Sequence[LoggedBatch]) -> list[str]:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
        if self.error is not None:
            raise self.error
        self.writes.append([b.events[0].message_id for b in batches])
        return [f"id-{b.events[0].message_id}" for b in batches]


def test_concurrent_appends_share_writes_and_each_gets_its_own_id() -> None:
    log = RecordingLog(seconds=0.02)
    committer = GroupCommitter(log)  # type: ignore[arg-type]

    async def main() -> list[str]:
        return await asyncio.gather(*(committer.append(batch(f"m{i}")) for i in range(10)))

    assert run(main()) == [f"id-m{i}" for i in range(10)]
    # The ten appends of one loop iteration are handed over together: one write.
    assert log.writes == [[f"m{i}" for i in range(10)]]
    assert (committer.writes, committer.batches) == (1, 10)
    assert log.threads == {"event-log-writer"}


def test_batches_appended_during_a_write_form_the_next_group() -> None:
    log = RecordingLog(seconds=0.05)
    committer = GroupCommitter(log)  # type: ignore[arg-type]

    async def main() -> None:
        first = asyncio.ensure_future(committer.append(batch("a")))
        await asyncio.sleep(0.02)  # the write of "a" is in flight
        await asyncio.gather(first, *(committer.append(batch(f"b{i}")) for i in range(3)))

    run(main())
    assert log.writes == [["a"], ["b0", "b1", "b2"]]


def test_a_failed_write_fails_every_batch_of_its_group_and_the_next_write_goes_on() -> None:
    log = RecordingLog(error=OSError("disk full"))
    committer = GroupCommitter(log)  # type: ignore[arg-type]

    async def main() -> list[BaseException | str]:
        return await asyncio.gather(
            *(committer.append(batch(f"m{i}")) for i in range(3)), return_exceptions=True
        )

    outcomes = run(main())
    assert all(isinstance(o, OSError) and str(o) == "disk full" for o in outcomes)
    log.error = None
    assert run(committer.append(batch("later"))) == "id-later"


def test_a_cancelled_waiter_neither_drops_its_batch_nor_cancels_the_others() -> None:
    log = RecordingLog(seconds=0.05)
    committer = GroupCommitter(log)  # type: ignore[arg-type]

    async def main() -> str:
        hung_up = asyncio.ensure_future(committer.append(batch("gone")))
        other = asyncio.ensure_future(committer.append(batch("kept")))
        await asyncio.sleep(0.01)
        hung_up.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hung_up
        return await asyncio.wait_for(other, 5)

    assert run(main()) == "id-kept"
    assert log.writes == [["gone", "kept"]]


def test_several_event_loops_share_the_writer() -> None:
    log = RecordingLog(seconds=0.01)
    committer = GroupCommitter(log)  # type: ignore[arg-type]
    results: dict[int, str] = {}

    def client(index: int) -> None:
        results[index] = run(committer.append(batch(f"m{index}")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: f"id-m{i}" for i in range(4)}
    assert sorted(m for write in log.writes for m in write) == [f"m{i}" for i in range(4)]


def test_the_writer_ends_when_idle_and_the_next_append_starts_another() -> None:
    log = RecordingLog()
    committer = GroupCommitter(log, idle_seconds=0.05)  # type: ignore[arg-type]
    assert run(committer.append(batch("a"))) == "id-a"
    first = committer._writer
    assert first is not None
    first.join(timeout=5)
    assert not first.is_alive() and committer._writer is None
    assert run(committer.append(batch("b"))) == "id-b"
    assert committer._writer is not None and committer._writer is not first


def test_groups_are_durable_in_the_sqlite_log_in_order(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "events.sqlite")
    committer = GroupCommitter(log)

    async def main() -> list[str]:
        return await asyncio.gather(*(committer.append(batch(f"m{i}")) for i in range(20)))

    ids = run(main())
    assert ids == sorted(ids) and len(set(ids)) == 20
    entries = log.read("c", 100)
    assert [e.entry_id for e in entries] == ids
    assert [e.batch.events[0].message_id for e in entries] == [f"m{i}" for i in range(20)]
    log.close()
