"""The real collector process believes X-Forwarded-For only from configured proxies.

uvicorn's own proxy-header handling would believe any local peer and rewrite the client
address before our rule runs; the service is started without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ingest.event_log import open_event_log
from intellishop.ports import free_port
from intellishop.services import Supervisor, services
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

pytestmark = pytest.mark.e2e


def stored_countries(settings: Settings) -> list[str | None]:
    log = open_event_log(settings)
    try:
        entries = log.read("test-reader", 100)
    finally:
        log.close()
    countries = []
    for entry in entries:
        for event in entry.batch.events:
            context = json.loads(event.context)
            countries.append((context.get("location") or {}).get("country"))
    return countries


def test_a_forged_forwarded_for_does_not_choose_the_country(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, collector_port=free_port())
    settings.ensure_dirs()
    _, key = TenantRegistry(settings.tenants_db_path).create("Shop", plan="enterprise")
    supervisor = Supervisor(settings, data_dir / "logs")
    collector = services(settings)["collector"]
    supervisor.start(collector, timeout=60)
    try:
        response = httpx.post(
            collector.url(settings.host) + "/v1/track",
            json={"type": "track", "event": "Seen", "anonymousId": "a1"},
            headers={"X-Forwarded-For": "8.8.8.8"},  # a US address, claimed by the client
            auth=(key, ""),
        )
        assert response.status_code == 200, response.text
    finally:
        supervisor.stop_all()
    # The peer is 127.0.0.1 (no country); the header is not believed without trusted proxies.
    assert stored_countries(settings) == [None]
