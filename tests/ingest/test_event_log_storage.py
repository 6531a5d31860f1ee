"""The local event log's storage: checkpoints off the append, compressed rows, old rows, kills."""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from ingest.event_log import SqliteEventLog
from ingest.event_log.payload import decode_payload
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.privacy import Person

BASE_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
REPO = Path(__file__).resolve().parents[2]


def event(message_id: str, user_id: str = "u1", filler: int = 0) -> LoggedEvent:
    """A track event; ``filler`` random bytes (base64) make it hard to compress."""
    properties = msgspec.json.encode({"pad": base64.b64encode(os.urandom(filler)).decode()})
    return LoggedEvent(
        message_id=message_id,
        type="track",
        event="Product Viewed",
        user_id=user_id,
        anonymous_id=None,
        timestamp_us=BASE_US,
        sent_at_us=None,
        received_at_us=BASE_US,
        properties=properties,
        traits=b"{}",
        context=b'{"page":{"url":"https://shop.example/p/1"}}',
    )


def raw_payloads(path: Path) -> list[bytes]:
    with sqlite3.connect(path) as con:
        return [bytes(p) for (p,) in con.execute("select payload from entries order by 1")]


def test_appends_leave_checkpoints_to_the_thread_which_keeps_the_wal_small(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    log = SqliteEventLog(path, checkpoint_after_bytes=256 * 1024)
    batches = [
        LoggedBatch("t", [event(f"m{i}-{j}", filler=1000) for j in range(50)]) for i in range(80)
    ]
    for start in range(0, len(batches), 4):
        log.append_many(batches[start : start + 4])
        time.sleep(0.01)  # the gap between two group writes (the collector's loop hop)
    appending = log._con()
    assert appending.execute("pragma wal_autocheckpoint").fetchone() == (0,)
    checkpointer = log._checkpointer
    assert checkpointer is not None
    deadline = time.monotonic() + 10
    while checkpointer.last is None or checkpointer.last[1] != checkpointer.last[2]:
        assert time.monotonic() < deadline, f"checkpoints never caught up: {checkpointer.last}"
        time.sleep(0.05)
    # About 5.5 MB appended; a WAL restarted after each checkpoint stays at a few of them.
    appended = sum(len(p) for p in raw_payloads(path))
    assert appended > 5_000_000
    assert checkpointer.checkpoints >= 5
    assert path.with_name(path.name + "-wal").stat().st_size < appended / 2
    assert [e.batch for e in log.read("c", 1000)] == batches
    log.close()
    assert not checkpointer._thread.is_alive()


def test_rows_are_stored_compressed(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    log = SqliteEventLog(path)
    batch = LoggedBatch("t", [event(f"m{j}") for j in range(100)])
    log.append(batch)
    (payload,) = raw_payloads(path)
    assert payload.startswith(b"LZ4\x00")
    assert len(payload) * 3 < len(msgspec.msgpack.encode(batch))
    assert decode_payload(payload) == batch
    log.close()


def test_rows_written_before_compression_stay_readable_and_erasable(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    log = SqliteEventLog(path)
    old = LoggedBatch("t", [event("old-1", "gone"), event("old-2", "kept")])
    with sqlite3.connect(path) as con:  # as the log wrote rows before compression
        con.execute(
            "insert into entries (tenant_id, appended_at_us, event_count, payload)"
            " values ('t', 1, 2, ?)",
            (msgspec.msgpack.encode(old),),
        )
    new = LoggedBatch("t", [event("new-1", "gone"), event("new-2", "kept")])
    log.append(new)
    assert [e.batch for e in log.read("c", 10)] == [old, new]

    assert log.erase(Person("t", frozenset({"gone"}), frozenset())) == 2
    left = [[e.message_id for e in entry.batch.events] for entry in log.read("c", 10)]
    assert left == [["old-2"], ["new-2"]]
    assert all(p.startswith(b"LZ4\x00") for p in raw_payloads(path))
    assert log.erase(Person("t", frozenset({"gone"}), frozenset())) == 0
    log.close()


#: Appends 3 batches of 20 events per transaction, printing each acknowledged group's ids.
APPENDER = """
import sys
from pathlib import Path
from ingest.event_log import SqliteEventLog
from intellishop.events import LoggedBatch, LoggedEvent

log = SqliteEventLog(Path(sys.argv[1]), checkpoint_after_bytes=64 * 1024)
pad = b'{"pad":"' + bytes(range(48, 112)) * 8 + b'"}'
for i in range(100_000):
    batches = [
        LoggedBatch("t", [
            LoggedEvent(f"k{i}-{b}-{j}", "track", "E", "u", None, 1, None, 1, pad, b"{}", b"{}")
            for j in range(20)
        ])
        for b in range(3)
    ]
    print(i, *log.append_many(batches), flush=True)
"""


def test_a_killed_appender_loses_no_acknowledged_entry_and_doubles_none(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert child.stdout is not None
    acknowledged: dict[int, list[str]] = {}
    for line in child.stdout:  # killed mid-stream, while its checkpointer runs
        sequence, *entry_ids = line.split()
        acknowledged[int(sequence)] = entry_ids
        if len(acknowledged) == 300:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL

    log = SqliteEventLog(path)
    entries = log.read("c", 1_000_000)
    by_id = {e.entry_id: e.batch for e in entries}
    for number, ids in acknowledged.items():
        assert [by_id[i].events[0].message_id for i in ids] == [
            f"k{number}-{b}-0" for b in range(3)
        ]
        assert all(len(by_id[i].events) == 20 for i in ids)
    message_ids = [m.message_id for e in entries for m in e.batch.events]
    assert len(message_ids) == len(set(message_ids))
    assert len(entries) >= 3 * len(acknowledged)
    log.close()
