"""Loaders of different consumer-group members run side by side (the Kubernetes loader's
replicas) and land every message once; two of one member take turns."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pyarrow as pa
import pytest

from ingest.event_log import open_event_log
from ingest.loader import LOADER_CONSUMER, LoadReport, _loader_lock, follow_event_log
from ingest.raw_zone.postgres import ensure_database
from intellishop.settings import Settings
from tests.conftest import ADMIN_DSN, drop_database

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
    in_hand, gate = threading.Event(), threading.Event()

    def stuck(table: pa.Table) -> None:
        in_hand.set()
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
    expected: set[tuple[str, str]] = set()

    def append(indexes: range) -> None:
        for i in indexes:
            tenant = "a" if i % 3 else "b"
            ids = [f"m{i}-{j}" for j in range(4)] + ([f"m{i - 1}-0"] if i else [])  # retries
            log.append(batch(tenant, *ids))
            expected.update((tenant, m) for m in ids)

    try:
        append(range(CHUNK))
        threads["a"].start()
        assert in_hand.wait(20), "loader a never took its chunk"
        threads["b"].start()
        append(range(CHUNK, 60))
        # b loads everything but a's chunk in hand: it does not wait for a's lock.
        deadline = time.monotonic() + 30
        while reports["b"].batches < 60 - CHUNK:
            assert time.monotonic() < deadline, (
                f"member b did not load beside the stuck member a: lag {log.lag(LOADER_CONSUMER)}"
            )
            time.sleep(0.05)
        assert log.lag(LOADER_CONSUMER) == CHUNK  # a's, written and not acknowledged

        gate.set()  # a acknowledges its chunk
        while log.lag(LOADER_CONSUMER) > 0:
            assert time.monotonic() < deadline, "member a did not finish its chunk"
            time.sleep(0.05)
        rows = pg_rows(prod_settings.postgres_dsn)
        assert len(rows) == len(set(rows))  # nothing doubled
        assert {(t, m) for t, _, m in rows} == expected  # nothing lost
        # Every entry went to exactly one member, and neither loader died on the way.
        assert (reports["a"].batches, reports["b"].batches) == (CHUNK, 60 - CHUNK)
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


@pytest.mark.postgres
def test_loaders_creating_a_new_database_at_once_all_go_on(postgres_dsn: str) -> None:
    """Replicas starting together on a new installation each create the database: the losers
    of PostgreSQL's race get "duplicate database" or a unique violation, and go on. (The
    ``postgres_dsn`` fixture is for its check that PostgreSQL is there; the test makes a
    database of its own.)"""
    name = f"intellishop_race_{uuid.uuid4().hex[:12]}"
    dsn = psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=name)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def create() -> None:
        start.wait()
        try:
            ensure_database(dsn)
        except BaseException as error:  # the test reports it
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        psycopg.connect(dsn, connect_timeout=5).close()
    finally:
        drop_database(name)
