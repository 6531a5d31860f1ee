"""send_events against real HTTP servers on loopback: a scripted fake collector and the real one."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from intellishop.settings import Settings
from intellishop.simulation import SendError, SimulationConfig, generate_events, send_events
from intellishop.tenants import TenantRegistry

#: A scripted answer: (status, headers, body) or None for "accept, rejecting 'Bad Event's".
Answer = tuple[int, dict[str, str], dict[str, Any]] | None


@dataclass
class FakeCollector:
    """Records every batch request and answers from a script, then like the real collector."""

    script: list[Answer] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/batch")
        async def batch(request: Request) -> JSONResponse:
            body = msgspec.json.decode(await request.body())
            with self.lock:
                self.requests.append(body)
                self.auth.append(request.headers.get("authorization", ""))
                answer = self.script.pop(0) if self.script else None
            if answer is not None:
                status, headers, payload = answer
                return JSONResponse(payload, status_code=status, headers=headers)
            rejected = [
                {"index": i, "errors": [{"field": "event", "message": "not allowed here"}]}
                for i, event in enumerate(body["batch"])
                if event.get("event") == "Bad Event"
            ]
            accepted = len(body["batch"]) - len(rejected)
            return JSONResponse({"success": True, "accepted": accepted, "rejected": rejected})

        return app

    def delivered(self) -> list[dict[str, Any]]:
        """Events of the requests that were answered 200 by the default behaviour."""
        return [e for r in self.requests for e in r["batch"]]


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free loopback port; yield its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def fake() -> Iterator[FakeCollector]:
    collector = FakeCollector()
    with serve(collector.app()) as url:
        collector.url = url
        yield collector


def events(n: int, bad: set[int] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "event": "Bad Event" if bad and i in bad else "Product Viewed",
            "anonymousId": f"a{i}",
            "messageId": f"m{i}",
            "timestamp": "2024-05-01T12:00:00.000Z",
            "properties": {"product_id": f"p{i % 7}"},
        }
        for i in range(n)
    ]


def recorder() -> tuple[list[float], Callable[[float], None]]:
    waits: list[float] = []
    return waits, waits.append


def test_sends_every_event_in_batches_with_basic_auth(fake: FakeCollector) -> None:
    report = send_events(
        iter(events(250)), collector_url=fake.url + "/", api_key="k_test", progress=True
    )
    assert (report.events_sent, report.events_accepted, report.events_rejected) == (250, 250, 0)
    assert report.batches == 3 and report.ok and report.seconds > 0
    assert sorted(len(r["batch"]) for r in fake.requests) == [50, 100, 100]
    assert sorted(e["messageId"] for e in fake.delivered()) == sorted(f"m{i}" for i in range(250))
    assert all(r["sentAt"].endswith("Z") for r in fake.requests)
    assert set(fake.auth) == {"Basic " + base64.b64encode(b"k_test:").decode()}


def test_retries_a_503_then_succeeds(fake: FakeCollector) -> None:
    fake.script = [(503, {"Retry-After": "0"}, {"detail": "event log unavailable"})]
    waits, sleep = recorder()
    report = send_events(
        events(40), collector_url=fake.url, api_key="k", concurrency=1, progress=False, sleep=sleep
    )
    assert report.retries == 1 and waits == [0.0]
    assert report.events_accepted == 40 and report.batches == 1 and report.ok
    assert len(fake.requests) == 2 and fake.requests[0]["batch"] == fake.requests[1]["batch"]


def test_honours_retry_after_on_429_and_backs_off_without_it(fake: FakeCollector) -> None:
    fake.script = [
        (429, {"Retry-After": "3"}, {"detail": "rate limited"}),
        (500, {}, {"detail": "boom"}),
    ]
    waits, sleep = recorder()
    report = send_events(
        events(10), collector_url=fake.url, api_key="k", concurrency=1, progress=False, sleep=sleep
    )
    assert report.events_accepted == 10 and report.retries == 2
    assert waits[0] == 3.0 and 0 < waits[1] < 2


def test_counts_a_partial_rejection(fake: FakeCollector) -> None:
    report = send_events(
        events(120, bad={3, 50, 101}),
        collector_url=fake.url,
        api_key="k",
        batch_size=60,
        progress=False,
    )
    assert (report.events_sent, report.events_accepted, report.events_rejected) == (120, 117, 3)
    assert not report.ok and report.errors and "not allowed here" in report.errors[0]


def test_a_wholly_bad_batch_counts_as_rejected(fake: FakeCollector) -> None:
    fake.script = [(400, {}, {"detail": "no valid event in the batch", "accepted": 0})]
    report = send_events(events(5), collector_url=fake.url, api_key="k", progress=False)
    assert (report.events_accepted, report.events_rejected) == (0, 5)
    assert "no valid event" in report.errors[0]


def test_a_refused_key_stops_the_run(fake: FakeCollector) -> None:
    fake.script = [(401, {}, {"detail": "invalid, revoked or disabled API key"})] * 50
    with pytest.raises(SendError, match="refused the API key") as caught:
        send_events(events(500), collector_url=fake.url, api_key="nope", progress=False)
    assert caught.value.report.events_accepted == 0
    assert len(fake.requests) < 20  # stopped early, not one refusal per batch


def test_a_spent_monthly_quota_stops_the_run_without_waiting(fake: FakeCollector) -> None:
    weeks = str(14 * 24 * 3600)
    fake.script = [(429, {"Retry-After": weeks}, {"limit": "quota", "detail": "quota used"})] * 50
    waits, sleep = recorder()
    with pytest.raises(SendError, match="quota is used up"):
        send_events(events(500), collector_url=fake.url, api_key="k", progress=False, sleep=sleep)
    assert waits == []  # never slept for weeks
    assert len(fake.requests) < 20


def test_an_unreachable_collector_fails_after_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    waits, sleep = recorder()
    with pytest.raises(SendError, match="gave up") as caught:
        send_events(
            events(10),
            collector_url=f"http://127.0.0.1:{port}",
            api_key="k",
            max_retries=3,
            progress=False,
            sleep=sleep,
        )
    assert len(waits) == 3
    assert caught.value.report.events_failed == 10


def test_oversized_batches_are_split_by_bytes(fake: FakeCollector) -> None:
    big = events(30)
    for event in big:
        event["properties"]["blob"] = "x" * 2000
    report = send_events(
        big, collector_url=fake.url, api_key="k", max_batch_bytes=20_000, progress=False
    )
    assert report.events_accepted == 30 and report.batches >= 3
    assert all(len(msgspec.json.encode(r)) <= 20_000 for r in fake.requests)


def test_the_real_collector_accepts_a_whole_simulation(settings: Settings) -> None:
    from ingest.app import create_app

    _, key = TenantRegistry(settings.tenants_db_path).create("Sim Shop")
    config = SimulationConfig(seed=9, days=3, customers=25)  # ends now
    with serve(create_app(settings)) as url:
        report = send_events(
            generate_events(config), collector_url=url, api_key=key, progress=False
        )
    assert report.ok, report.errors
    assert report.events_accepted == report.events_sent > 500


def test_a_failing_event_source_stops_the_run(fake: FakeCollector) -> None:
    def source() -> Iterator[dict[str, Any]]:
        yield from events(150)
        raise RuntimeError("the simulator broke")

    with pytest.raises(RuntimeError, match="simulator broke"):
        send_events(source(), collector_url=fake.url, api_key="k", progress=False)
    assert len(fake.delivered()) <= 150
