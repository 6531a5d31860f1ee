"""The real collector as a process, for the SDK tests: a temp data dir, one tenant, a free port."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ingest.event_log.sqlite import SqliteEventLog
from intellishop.ports import free_port
from intellishop.services import Supervisor, services
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry


@dataclass
class ReceivedEvent:
    """One event as the collector logged it, with its JSON fields decoded."""

    tenant_id: str
    message_id: str
    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunningCollector:
    """A collector process that a test may stop and start again on the same port."""

    settings: Settings
    supervisor: Supervisor
    tenant_id: str
    key: str
    extra_origins: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.collector_port}"

    def start(self) -> None:
        self.supervisor.start(services(self.settings)["collector"], timeout=60)

    def stop(self) -> None:
        self.supervisor.stop_all()

    def events(self) -> list[ReceivedEvent]:
        """Everything in the event log, in order (read with a consumer that never commits)."""
        log = SqliteEventLog(self.settings.event_log_path)
        try:
            entries = log.read(f"sdk-test-{uuid.uuid4().hex}", 1_000_000)
        finally:
            log.close()
        return [
            ReceivedEvent(
                tenant_id=entry.batch.tenant_id,
                message_id=event.message_id,
                type=event.type,
                event=event.event,
                user_id=event.user_id,
                anonymous_id=event.anonymous_id,
                previous_id=event.previous_id,
                properties=json.loads(event.properties or b"{}"),
                traits=json.loads(event.traits or b"{}"),
                context=json.loads(event.context or b"{}"),
            )
            for entry in entries
            for event in entry.batch.events
        ]

    def wait_for(
        self, predicate: Callable[[list[ReceivedEvent]], bool], timeout: float = 15.0
    ) -> list[ReceivedEvent]:
        """Poll the event log until ``predicate(events)`` holds; fail with what arrived."""
        deadline = time.monotonic() + timeout
        events = self.events()
        while not predicate(events):
            if time.monotonic() > deadline:
                kinds = [(e.type, e.event) for e in events]
                raise AssertionError(f"timed out; the log holds {len(events)} events: {kinds}")
            time.sleep(0.1)
            events = self.events()
        return events


def make_collector(tmp_path: Path, allowed_origins: list[str] | None = None) -> RunningCollector:
    """A collector with one tenant, not started yet."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, collector_port=free_port())
    settings.ensure_dirs()
    tenant, key = TenantRegistry(settings.tenants_db_path).create(
        "SDK Shop", tenant_id="sdk-shop", allowed_origins=allowed_origins or ()
    )
    return RunningCollector(
        settings, Supervisor(settings, data_dir / "logs"), tenant.tenant_id, key
    )


@pytest.fixture
def collector_factory(tmp_path: Path) -> Iterator[Callable[..., RunningCollector]]:
    """Make (not start) collectors for one test; every one is stopped afterwards."""
    made: list[RunningCollector] = []

    def factory(allowed_origins: list[str] | None = None) -> RunningCollector:
        collector = make_collector(tmp_path / f"c{len(made)}", allowed_origins)
        made.append(collector)
        return collector

    yield factory
    for collector in made:
        collector.stop()


@pytest.fixture(scope="session")
def shop_origin() -> str:
    """The origin the browser tests' shop site is served from (another port than the collector)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def collector(
    tmp_path_factory: pytest.TempPathFactory, shop_origin: str
) -> Iterator[RunningCollector]:
    """One collector for the SDK tests (a start costs seconds); tests that stop it restart it."""
    running = make_collector(tmp_path_factory.mktemp("collector"), allowed_origins=[shop_origin])
    running.start()
    yield running
    running.stop()
