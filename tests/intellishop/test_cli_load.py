"""`intellishop load --follow` lands events while it runs and stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from ingest.event_log import open_event_log
from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.services import PROJECT_ROOT, service_env
from intellishop.settings import Settings


def batch(message_id: str) -> LoggedBatch:
    now_us = int(time.time() * 1_000_000)
    event = LoggedEvent(
        message_id=message_id,
        type="track",
        event="Product Viewed",
        user_id=None,
        anonymous_id="a1",
        timestamp_us=now_us,
        sent_at_us=None,
        received_at_us=now_us,
        properties=b'{"product_id": "p1"}',
        traits=b"{}",
        context=b"{}",
    )
    return LoggedBatch(tenant_id="shop", events=[event])


def raw_files(settings: Settings) -> list[str]:
    return sorted(p.name for p in (settings.raw_zone_dir / "events").rglob("*.parquet"))


def test_follow_loads_new_events_until_interrupted(settings: Settings) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "intellishop.cli", "load", "--follow"],
        cwd=PROJECT_ROOT,
        env=service_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        log = open_event_log(settings)
        log.append(batch("m1"))
        log.close()
        deadline = time.monotonic() + 30
        while not (settings.raw_zone_dir / "events").exists() or not raw_files(settings):
            assert follower.poll() is None, follower.stdout.read() if follower.stdout else ""
            assert time.monotonic() < deadline, "the follower did not load the event"
            time.sleep(0.1)
    finally:
        follower.send_signal(signal.SIGINT)
        output, _ = follower.communicate(timeout=30)
    assert follower.returncode == 0, output
    assert "Traceback" not in output
    log = open_event_log(settings)
    try:
        assert log.lag("raw-loader") == 0
    finally:
        log.close()
