"""The collector and the loader SIGKILLed mid-stream under ``intellishop up``: nothing lost.

A real ``intellishop up`` (prod profile: Redis Streams event log, PostgreSQL raw zone) runs the
collector and a following loader. A client streams batches and retries a failed one with the
same message ids, as the SDKs do. Both services are killed with SIGKILL at once while the
client sends; ``up`` must start each again by itself, and afterwards every acknowledged event
is in ``raw.events`` exactly once. (Killing the loader between its raw-zone write and its XACK,
and restarting Redis and PostgreSQL, are in ``test_crash_and_restart.py``.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from intellishop.ports import free_port
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[3]
#: How long the client keeps retrying one batch before it calls the collector gone for good.
GIVE_UP_SECONDS = 60.0
#: What ``up`` prints about each killed service, in this order.
WHAT_UP_SAYS = ("was killed by SIGKILL", "restarted", "healthy again")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def children(pid: int) -> dict[str, int]:
    """The collector's and the loader's pids among ``pid``'s children, from ``/proc``."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) != pid or fields[0] in ("Z", "X"):
            continue
        if "ingest.app:create_app" in command:
            found["collector"] = int(entry.name)
        elif "load --follow" in command:
            found["loader"] = int(entry.name)
    return found


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout:.0f} s")


@dataclass
class Client:
    """Streams 20-event batches; a batch counts only once a 2xx acknowledged it."""

    url: str
    key: str
    acknowledged: set[str] = field(default_factory=set)
    failures: int = 0
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def more(self, events: int) -> Callable[[], bool]:
        """A condition: ``events`` more than now have been acknowledged."""
        target = len(self.acknowledged) + events
        return lambda: len(self.acknowledged) >= target or self.error is not None

    def run(self) -> None:
        with httpx.Client(timeout=5, auth=(self.key, "")) as http:
            sequence = 0
            while not self.stop.is_set():
                ids = [f"kill-{sequence}-{j}" for j in range(20)]
                if not self.send(http, ids):
                    return
                self.acknowledged.update(ids)
                sequence += 1

    def send(self, http: httpx.Client, ids: list[str]) -> bool:
        """Post until acknowledged, the same message ids every time (a retry, not a new event)."""
        payload = {
            "batch": [
                {"type": "track", "event": "Product Viewed", "messageId": m, "userId": "u1",
                 "properties": {"product_id": "p1"}}
                for m in ids
            ]
        }  # fmt: skip
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while time.monotonic() < deadline:
            try:
                response = http.post(f"{self.url}/v1/batch", json=payload)
                if response.status_code == 200 and response.json().get("accepted") == len(ids):
                    return True
                if response.status_code < 500:
                    self.error = f"{response.status_code}: {response.text}"
                    return False
            except httpx.HTTPError:
                pass  # the connection died with the collector: retry
            self.failures += 1
            time.sleep(0.05)
        self.error = f"no collector answered for {GIVE_UP_SECONDS:.0f} s"
        return False


def restarted(supervisor_pid: int, name: str, old_pid: int) -> Callable[[], bool]:
    """A condition: the supervisor runs a ``name`` again, in a process other than ``old_pid``."""
    return lambda: children(supervisor_pid).get(name, old_pid) != old_pid


@pytest.fixture
def tenant_key(prod_settings: Settings, redis_client: redis.Redis) -> Iterator[str]:
    """A tenant of this test's own (its rate-limit keys in Redis are deleted afterwards)."""
    tenant_id = f"kill-{uuid.uuid4().hex[:10]}"
    _tenant, key = TenantRegistry(prod_settings.tenants_db_path).create(
        "Kill Test", tenant_id=tenant_id, plan="enterprise"
    )
    yield key
    for name in redis_client.scan_iter(match=f"intellishop:limits:*{tenant_id}*"):
        redis_client.delete(name)


def test_up_restarts_a_killed_collector_and_loader_and_nothing_acknowledged_is_lost(
    prod_settings: Settings, tenant_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    collector_port, loader_port = free_port(), free_port()
    monkeypatch.setenv("INTELLISHOP_COLLECTOR_PORT", str(collector_port))
    monkeypatch.setenv("INTELLISHOP_LOADER_METRICS_PORT", str(loader_port))
    url = f"http://127.0.0.1:{collector_port}"
    output = tmp_path / "up.log"
    with open(output, "wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "intellishop.cli", "up", "--only", "collector",
             "--only", "loader"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    client = Client(url, tenant_key)
    sender = threading.Thread(target=client.run)
    last: dict[str, int] = {}
    try:
        wait_for(lambda: "IntelliShop is running" in output.read_text(), 90, "up did not start")
        first = children(up.pid)
        sender.start()
        wait_for(client.more(100), 30, "no traffic")
        for name in ("loader", "collector"):  # both at once, mid-stream: the client is sending
            os.kill(first[name], signal.SIGKILL)
        for name in ("loader", "collector"):
            wait_for(restarted(up.pid, name, first[name]), 30, f"up did not restart the {name}")
        wait_for(client.more(100), 60, "nothing got through after the collector restarted")
        client.stop.set()
        sender.join(timeout=GIVE_UP_SECONDS + 10)
        assert client.error is None, client.error
        assert client.failures > 0  # the kill did interrupt the stream

        def landed() -> int:
            with psycopg.connect(prod_settings.postgres_dsn) as con:
                row = con.execute("select count(*) from raw.events").fetchone()
            return int(row[0]) if row else 0

        wait_for(lambda: landed() >= len(client.acknowledged), 60, "the raw zone did not catch up")
        with psycopg.connect(prod_settings.postgres_dsn) as con:
            ids = [m for (m,) in con.execute("select message_id from raw.events").fetchall()]
        assert len(ids) == len(set(ids))  # nothing doubled, retries of appended batches included
        assert set(ids) == client.acknowledged  # nothing lost (and nothing unacknowledged)
        assert up.poll() is None  # up kept running through both deaths
        said = [f"{n} {what}" for n in ("loader", "collector") for what in WHAT_UP_SAYS]
        wait_for(lambda: all(s in output.read_text() for s in said), 30, f"up did not say {said}")
    finally:
        client.stop.set()
        if sender.is_alive():
            sender.join(timeout=GIVE_UP_SECONDS + 10)
        last = children(up.pid)
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    assert up.returncode == 0, output.read_text()[-3000:]
    assert set(last) == {"collector", "loader"}
    assert not [pid for pid in last.values() if alive(pid)]  # the restarted ones stopped too
