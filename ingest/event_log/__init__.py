"""Event log backends, chosen by profile: SQLite locally, Redis Streams in prod."""

from __future__ import annotations

from intellishop.settings import Profile, Settings

from .base import EventLog, LogEntry
from .sqlite import SqliteEventLog

__all__ = ["EventLog", "LogEntry", "SqliteEventLog", "open_event_log"]


def open_event_log(settings: Settings) -> EventLog:
    if settings.profile is Profile.LOCAL:
        return SqliteEventLog(settings.event_log_path)
    raise NotImplementedError(
        "the prod event log (Redis Streams) lands with the event-collection issue; "
        "use INTELLISHOP_PROFILE=local"
    )
