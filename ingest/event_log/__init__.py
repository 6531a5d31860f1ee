"""Event log backends, chosen by profile: SQLite locally, Redis Streams in prod."""

from __future__ import annotations

from intellishop.settings import Profile, Settings

from .base import EventLog, LogEntry
from .redis_streams import RedisStreamEventLog, redis_entry_offset
from .sqlite import SqliteEventLog

__all__ = [
    "EventLog",
    "LogEntry",
    "RedisStreamEventLog",
    "SqliteEventLog",
    "entry_offset",
    "open_event_log",
]


def open_event_log(settings: Settings) -> EventLog:
    """The profile's event log; in prod, the stream ``settings.redis_stream`` at
    ``settings.redis_url``, read as consumer-group member ``settings.loader_member``."""
    if settings.profile is Profile.LOCAL:
        return SqliteEventLog(settings.event_log_path)
    return RedisStreamEventLog.from_url(
        settings.redis_url, settings.redis_stream, member=settings.loader_member
    )


def entry_offset(entry_id: str) -> int:
    """An entry id of either backend as an increasing integer (the raw zone's ``log_offset``).

    SQLite ids are zero-padded offsets (``000000000042``); Redis ids are ``<ms>-<seq>``,
    mapped to ``ms * 10^6 + seq`` so that two entries of one millisecond stay ordered."""
    if "-" in entry_id:
        return redis_entry_offset(entry_id)
    return int(entry_id)
