"""Real pieces for automation tests: the collector and API apps, an HTTP webhook receiver, an
SMTP server (aiosmtpd) and a worker with short timings (loopback allowed explicitly)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.app import create_app as create_collector
from intellishop.automation.config import AutomationConfig
from intellishop.automation.worker import PassReport, Worker
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.app import create_app as create_api
from serving.routes import automations, tracking

WEBHOOK_SECRET = "whsec_0123456789abcdef"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: records every request; answers from ``statuses``."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    headers_out: dict[str, str] = field(default_factory=dict)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            code = state.statuses.pop(0) if state.statuses else 200
            self.send_response(code)
            for name, value in state.headers_out.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class Mailbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer("127.0.0.1", port, mailbox)
    controller.stop()


@dataclass
class Shop:
    """Two tenants with secret keys, a write key of A, the collector and the API in-process."""

    settings: Settings
    collector: TestClient
    api: TestClient
    key_a: str
    key_b: str
    write_key_a: str

    def send(self, key: str, *events: dict[str, Any]) -> None:
        response = self.collector.post("/v1/batch", json={"batch": list(events)}, auth=(key, ""))
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(events), response.text

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


def api_app(settings: Settings) -> FastAPI:
    """The serving API with the automation routers (added here until app.py registers them)."""
    app = create_api(settings, refresh_seconds=0.0, auth_cache_seconds=0.0)
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/v1/automations/rules" not in paths:
        app.include_router(automations.router)
    if "/t/o/{token}" not in paths:
        app.include_router(tracking.router)
    return app


@pytest.fixture
def shop(settings: Settings) -> Iterator[Shop]:
    registry = TenantRegistry(settings.tenants_db_path)
    _, key_a = registry.create(
        "Shop A", tenant_id="shop-a", timezone="Europe/Berlin", plan="enterprise"
    )
    _, key_b = registry.create("Shop B", tenant_id="shop-b", plan="enterprise")
    write_key = registry.create_key("shop-a", scope="write")
    with TestClient(create_collector(settings)) as collector, TestClient(api_app(settings)) as api:
        yield Shop(settings, collector, api, key_a, key_b, write_key)


def fast_config(settings: Settings, **overrides: Any) -> AutomationConfig:
    values: dict[str, Any] = {
        "poll_seconds": 0.05,
        "backoff_base_seconds": 0.05,
        "lease_seconds": 1.0,
        "allow_private_targets": True,
        "webhook_timeout_seconds": 5.0,
        "tracking_base_url": "http://testserver",
        "scan_seconds": 0.0,
    }
    values.update(overrides)
    return AutomationConfig.from_settings(settings, **values)


@pytest.fixture
def make_worker(settings: Settings) -> Iterator[Callable[..., Worker]]:
    made: list[Worker] = []

    def make(**overrides: Any) -> Worker:
        worker = Worker(settings, fast_config(settings, **overrides))
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.close()


def run_until(
    worker: Worker, done: Callable[[], bool], timeout: float = 10.0, at_us: int | None = None
) -> PassReport:
    """Passes until ``done()``; the last pass's report. Fails the test on timeout."""
    total = PassReport()
    deadline = time.monotonic() + timeout
    while True:
        report = worker.run_once(at_us)
        for name in ("events", "scheduled", "cancelled", "fired", "delivered", "retried", "dead"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if done():
            return total
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout} s; so far {total}")
        time.sleep(0.02)


def track(event: str, user: str, **properties: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "userId": user, "properties": properties}


def identify(user: str, email: str, **traits: Any) -> dict[str, Any]:
    return {"type": "identify", "userId": user, "traits": {"email": email, **traits}}
