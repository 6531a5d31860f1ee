"""A tenant to import into, and helpers to read what an import appended to the event log."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER
from intellishop.events import LoggedEvent
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms"


@pytest.fixture
def tenant(settings: Settings) -> str:
    TenantRegistry(settings.tenants_db_path).create(
        "Import Shop", tenant_id="import-shop", timezone="Europe/Berlin", currency="EUR"
    )
    return "import-shop"


def logged_events(settings: Settings) -> list[LoggedEvent]:
    log = SqliteEventLog(settings.event_log_path)
    try:
        entries = log.read(LOADER_CONSUMER, 100_000)
    finally:
        log.close()
    return [event for entry in entries for event in entry.batch.events]


def props(event: LoggedEvent) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event.properties)
    return loaded


def write_csv(path: Path, header: list[str], rows: list[list[Any]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path
