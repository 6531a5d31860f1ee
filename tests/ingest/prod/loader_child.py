"""A loader process for the crash tests: it SIGKILLs itself between raw-zone write and ack.

Run as ``python -m tests.ingest.prod.loader_child <kill after N writes>`` with the prod
profile's environment. N = 0 never kills: it drains once and exits.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pyarrow as pa

from ingest.loader import drain_event_log
from ingest.raw_zone import PostgresRawZone
from intellishop.settings import get_settings


def main() -> None:
    kill_after = int(sys.argv[1])
    writes = 0
    original = PostgresRawZone.write_events

    def write_then_maybe_die(self: PostgresRawZone, table: pa.Table, chunk_id: str) -> list[Path]:
        nonlocal writes
        written = original(self, table, chunk_id)
        writes += 1
        if writes == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # committed to PostgreSQL, not acknowledged
        return written

    PostgresRawZone.write_events = write_then_maybe_die  # type: ignore[method-assign]
    report = drain_event_log(get_settings(), chunk_entries=int(os.environ.get("CHUNK", "7")))
    print(report.events, report.duplicates)


if __name__ == "__main__":
    main()
