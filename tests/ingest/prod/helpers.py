"""Events and raw-zone reads shared by the prod-profile tests."""

from __future__ import annotations

import psycopg

from intellishop.events import LoggedBatch, LoggedEvent

BASE_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
DAY_US = 86_400_000_000


def event(
    message_id: str,
    *,
    user_id: str | None = "u1",
    anonymous_id: str | None = None,
    timestamp_us: int = BASE_US,
) -> LoggedEvent:
    return LoggedEvent(
        message_id=message_id,
        type="track",
        event="Product Viewed",
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp_us=timestamp_us,
        sent_at_us=None,
        received_at_us=timestamp_us,
        properties=b'{"product_id":"p1"}',
        traits=b"{}",
        context=b"{}",
    )


def batch(tenant_id: str, *message_ids: str, **kwargs: object) -> LoggedBatch:
    return LoggedBatch(tenant_id, [event(m, **kwargs) for m in message_ids])  # type: ignore[arg-type]


def pg_rows(dsn: str) -> list[tuple[str, str, str]]:
    """(tenant_id, event_date, message_id) of every raw.events row, sorted."""
    with psycopg.connect(dsn) as con:
        rows = con.execute(
            "select tenant_id, event_date::text, message_id from raw.events order by 1, 2, 3"
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]
