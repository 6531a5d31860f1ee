"""Exactly once across a crash: the worker process is killed (SIGKILL) mid-run and started
again; every trigger reaches the receiver, and none is scheduled or queued twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from intellishop.automation.store import AutomationStore

from .conftest import WEBHOOK_SECRET, Receiver, Shop, track

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRIGGERS = 30


def start_worker(shop: Shop, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "INTELLISHOP_DATA_DIR": str(shop.settings.data_dir),
        "INTELLISHOP_PROFILE": "local",
        "INTELLISHOP_AUTOMATION_ALLOW_PRIVATE_TARGETS": "true",
    }
    command = [
        sys.executable,
        "-m",
        "intellishop.commands.automation",
        "worker",
        "--poll-seconds",
        "0.05",
        "--backoff-base-seconds",
        "0.2",
        "--lease-seconds",
        "1",
    ]
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def order(i: int) -> dict[str, object]:
    return track("Order Completed", f"u{i}", order_id=f"o{i}")


def wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_killed_worker_resumes_without_losing_or_repeating(
    shop: Shop, receiver: Receiver, tmp_path: Path
) -> None:
    body = {
        "name": "Orders to the CRM",
        "trigger_event": "Order Completed",
        "actions": [{"type": "webhook", "url": receiver.url, "secret": WEBHOOK_SECRET}],
    }
    response = shop.api.post("/v1/automations/rules", json=body, headers=shop.auth(shop.key_a))
    assert response.status_code == 201
    receiver.statuses = [500, 500, 500]  # some messages are mid-retry when the worker dies
    log = tmp_path / "worker.log"
    worker = start_worker(shop, log)
    try:
        sent = 0
        while sent < TRIGGERS // 2:  # a few events per request, as shop servers batch them
            shop.send(shop.key_a, *(order(i) for i in range(sent, sent + 3)))
            sent += 3
        wait(lambda: len(receiver.requests) >= 6, 30)
        assert len(receiver.requests) >= 6, log.read_text()[-3000:]
        # Not the instant a request lands (the sender has not even had the answer then): a
        # moment later, with retries still due and the outbox part-sent.
        time.sleep(0.15)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed_at = len(receiver.requests)
        while sent < TRIGGERS:  # events keep arriving while no worker runs
            shop.send(shop.key_a, *(order(i) for i in range(sent, sent + 3)))
            sent += 3
        time.sleep(0.3)
        assert len(receiver.requests) == killed_at  # nobody delivers while it is down
        restarted = time.monotonic()
        worker = start_worker(shop, log)

        def successes() -> int:
            return len({r.headers["Idempotency-Key"] for r in receiver.requests[3:]})

        wait(lambda: successes() >= TRIGGERS, 30)
        assert successes() == TRIGGERS, log.read_text()[-3000:]
        assert time.monotonic() - restarted < 60
        time.sleep(1.5)  # longer than the lease: a stale claim would be re-sent by now
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
    keys = Counter(r.headers["Idempotency-Key"] for r in receiver.requests)
    people = {r.json()["person_id"] for r in receiver.requests}
    assert people == {f"u{i}" for i in range(TRIGGERS)}
    assert len(keys) == TRIGGERS
    store = AutomationStore.for_settings(shop.settings)
    statuses = store.scheduled_statuses("shop-a")
    assert len(statuses) == TRIGGERS and {s for *_, s in statuses} == {"fired"}
    deliveries = store.deliveries("shop-a")
    assert len(deliveries) == TRIGGERS and {d.status for d in deliveries} == {"delivered"}
    # Receivers deduplicate by Idempotency-Key; besides the 3 refused attempts, a repeat can
    # only come from a kill between a 2xx and the outbox update (at most one per send thread).
    repeats = len(receiver.requests) - 3 - TRIGGERS
    assert 0 <= repeats <= 8, keys.most_common(3)
    print(f"requests {len(receiver.requests)}, triggers {TRIGGERS}, repeats after kill {repeats}")
