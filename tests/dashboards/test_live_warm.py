"""The dashboards' warm-up folds the event log's last day before anyone opens the Live page."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from dashboards.live import LiveReader
from ingest.event_log import SqliteEventLog
from intellishop.events import LoggedBatch, LoggedEvent
from serving.live.tail import SqliteLogTail


def order(order_id: str, revenue: float) -> LoggedEvent:
    now = time.time_ns() // 1000
    return LoggedEvent(
        message_id=uuid.uuid4().hex,
        type="track",
        event="Order Completed",
        user_id=f"buyer-{order_id}",
        anonymous_id=None,
        timestamp_us=now,
        sent_at_us=None,
        received_at_us=now,
        properties=json.dumps({"order_id": order_id, "revenue": revenue}).encode(),
        traits=b"{}",
        context=b"{}",
    )


class CountingTail(SqliteLogTail):
    reads = 0

    def read(self, cursor: str, limit: int) -> tuple[list[LoggedBatch], str]:
        self.reads += 1
        return super().read(cursor, limit)


def test_warm_folds_every_batch_so_the_first_visit_reads_once(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    log = SqliteEventLog(path)
    for i in range(2_500):  # more than one read's worth (1,000 batches a read)
        log.append(LoggedBatch(tenant_id="acme", events=[order(f"a{i}", 1.0)]))
    log.append(LoggedBatch(tenant_id="books", events=[order("b1", 900.0)]))
    tail = CountingTail(path)
    reader = LiveReader(tail)
    reader.warm([("acme", "UTC", "USD"), ("books", "UTC", "EUR")])
    assert tail.reads == 3  # 1,000 + 1,000 + 501: everything, then it stops
    log.append(LoggedBatch(tenant_id="acme", events=[order("late", 2.0)]))
    acme = reader.snapshot("acme", "UTC", "USD")
    assert tail.reads == 4  # the visit reads only what came after the warm-up
    assert acme["orders_today"] == 2_501
    assert acme["revenue_today"] == 2_502.0
    assert reader.snapshot("books", "UTC", "EUR")["revenue_today"] == 900.0
    log.close()
