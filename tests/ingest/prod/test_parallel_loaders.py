"""Loaders of different consumer-group members run side by side (the Kubernetes loader's
replicas) and land every message once; two of one member take turns."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from ingest.event_log import open_event_log
from ingest.loader import LOADER_CONSUMER, LoadReport, _loader_lock, follow_event_log
from intellishop.settings import Settings

from .helpers import batch, pg_rows

CHUNK = 3


@pytest.mark.redis
@pytest.mark.postgres
def test_a_second_member_loads_while_the_first_is_stuck_and_each_message_lands_once(
    prod_settings: Settings,
) -> None:
    members = {name: prod_settings.model_copy(update={"loader_member": name}) for name in "ab"}
    reports = {name: LoadReport() for name in members}
    # Member a takes its first chunk, writes it, then hangs before acknowledging it (a slow or
    # stuck replica): its lock and its pending entries stay held.
    gate = threading.Event()

    def stuck(table: pa.Table) -> None:
        gate.wait(60)

    stop = threading.Event()
    threads = {
        name: threading.Thread(
            target=follow_event_log,
            args=(settings, stop),
            kwargs={
                "chunk_entries": CHUNK,
                "idle_seconds": 0.005,
                "report": reports[name],
                "on_written": stuck if name == "a" else None,
            },
            daemon=True,
        )
        for name, settings in members.items()
    }
    log = open_event_log(prod_settings)
    try:
        threads["a"].start()
        deadline = time.monotonic() + 20
        while True:  # until a holds its lock
            with _loader_lock(members["a"], wait=False) as free:
                if not free:
                    break
            assert time.monotonic() < deadline, "loader a never took its lock"
            time.sleep(0.02)
        threads["b"].start()

        expected: set[tuple[str, str]] = set()
        for i in range(60):
            tenant = "a" if i % 3 else "b"
            ids = [f"m{i}-{j}" for j in range(4)] + ([f"m{i - 1}-0"] if i else [])  # retries
            log.append(batch(tenant, *ids))
            expected |= {(tenant, m) for m in ids}
        # b loads everything but a's chunk in hand: it does not wait for a's lock.
        deadline = time.monotonic() + 30
        while log.lag(LOADER_CONSUMER) > CHUNK:
            assert time.monotonic() < deadline, (
                f"member b did not load beside the stuck member a: lag {log.lag(LOADER_CONSUMER)}"
            )
            time.sleep(0.05)
        assert reports["b"].batches >= 60 - CHUNK

        gate.set()  # a acknowledges its chunk
        while log.lag(LOADER_CONSUMER) > 0:
            assert time.monotonic() < deadline, "member a did not finish its chunk"
            time.sleep(0.05)
        rows = pg_rows(prod_settings.postgres_dsn)
        assert len(rows) == len(set(rows))  # nothing doubled
        assert {(t, m) for t, _, m in rows} == expected  # nothing lost
        # Every entry went to exactly one member, and neither loader died on the way (two
        # starting at once on a new database both try to create it).
        assert reports["a"].batches + reports["b"].batches == 60
        assert reports["a"].batches >= 1
        assert all(thread.is_alive() for thread in threads.values())
    finally:
        gate.set()
        stop.set()
        for thread in threads.values():
            if thread.ident is not None:  # started
                thread.join(timeout=10)
        log.close()


@pytest.mark.redis
@pytest.mark.postgres
def test_two_loaders_of_one_member_take_turns(prod_settings: Settings) -> None:
    """They would read the same pending entries: the second waits for the first's lock."""
    same = prod_settings.model_copy(update={"loader_member": "same"})
    other = prod_settings.model_copy(update={"loader_member": "other"})
    with _loader_lock(same, wait=False) as first:
        assert first
        with _loader_lock(same, wait=False) as second:
            assert not second
        with _loader_lock(other, wait=False) as another:
            assert another
