"""A pipeline's drain never deadlocks with a following loader: it waits for it to catch up."""

from __future__ import annotations

import threading
import time

import pytest

from ingest.event_log import open_event_log
from ingest.loader import LOADER_CONSUMER, _loader_lock, drain_event_log, follow_event_log
from intellishop.settings import Settings
from tests.intellishop.test_cli_load import batch, raw_files


def test_a_drain_waits_for_the_follower_instead_of_the_lock(settings: Settings) -> None:
    stop = threading.Event()
    follower = threading.Thread(target=follow_event_log, args=(settings, stop), daemon=True)
    follower.start()
    try:
        deadline = time.monotonic() + 10
        while True:  # until the follower holds the installation's loader lock
            with _loader_lock(settings, wait=False) as free:
                if not free:
                    break
            assert time.monotonic() < deadline, "the follower never took the loader lock"
            time.sleep(0.02)
        log = open_event_log(settings)
        for i in range(5):
            log.append(batch(f"m{i}"))
        started = time.monotonic()
        report = drain_event_log(settings, follower_timeout_seconds=30)
        assert time.monotonic() - started < 30
        assert follower.is_alive(), "the follower died"
        assert report.batches in (0, 5)  # whoever held the lock loaded them, once
        assert log.lag(LOADER_CONSUMER) == 0
        assert raw_files(settings)
        log.close()
    finally:
        stop.set()
        follower.join(10)
    assert not follower.is_alive()


def test_a_stuck_follower_makes_the_drain_fail_not_hang(settings: Settings) -> None:
    log = open_event_log(settings)
    log.append(batch("m1"))
    log.close()
    # A "follower" that holds the lock and loads nothing.
    with _loader_lock(settings), pytest.raises(TimeoutError, match="still has 1 event-log"):
        drain_event_log(settings, follower_timeout_seconds=0.5)
