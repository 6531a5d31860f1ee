"""The event log seam: durable, ordered, with a committed offset per consumer.

The collector appends one entry per accepted HTTP batch and answers 2xx only once ``append``
has returned, so an acknowledged event is on disk (local) or in Redis (prod). Consumers read
entries after their committed offset and commit only after their own output is durable: a
consumer that dies re-reads what it had not committed (at-least-once; loading is idempotent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from intellishop.events import LoggedBatch
from intellishop.privacy import Person


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One event-log entry. ``entry_id`` orders entries and is safe in a file name."""

    entry_id: str
    batch: LoggedBatch


class EventLog(Protocol):
    def append(self, batch: LoggedBatch) -> str:
        """Store a batch durably; returns its entry id."""
        ...

    def append_many(self, batches: Sequence[LoggedBatch]) -> list[str]:
        """Store several batches durably in one write (group commit); their ids, in order.

        All or nothing: when it raises, none of them is acknowledged."""
        ...

    def read(self, consumer: str, limit: int) -> list[LogEntry]:
        """Up to ``limit`` entries after the consumer's committed offset, in order."""
        ...

    def commit(self, consumer: str, entry_id: str) -> None:
        """Record that the consumer has durably handled every entry up to ``entry_id``."""
        ...

    def lag(self, consumer: str) -> int:
        """Entries appended but not yet committed by the consumer."""
        ...

    def erase(self, person: Person) -> int:
        """Remove the person's events from every entry (GDPR erasure); returns events removed.

        Entries keep their ids and order; an entry left empty stays as an empty batch, so
        consumers' offsets remain valid.
        """
        ...

    def close(self) -> None: ...
