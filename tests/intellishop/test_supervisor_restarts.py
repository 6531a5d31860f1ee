"""The supervisor starts a dead service again by itself, and gives up on one in a crash loop.

The service here is a tiny HTTP server (a real process, health-checked over HTTP like every
service) that can be told to die on its own after a while.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from intellishop.ports import free_port
from intellishop.services import RestartPolicy, Service, Supervisor
from intellishop.settings import Settings

SERVER = """
import http.server, os, sys, threading
lifetime = float(sys.argv[2])
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        if lifetime:  # dies some time after its first health check, however slow its start
            threading.Timer(lifetime, lambda: os._exit(3)).start()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def server(lifetime: float) -> Service:
    """A health-checked service that exits with code 3 ``lifetime`` s after it was first found
    healthy (0: never)."""
    port = free_port()
    command = [sys.executable, "-c", SERVER, str(port), str(lifetime)]
    return Service("tiny", "a test server", command, port, "/")


def test_a_killed_service_is_started_again_until_stopped(data_dir: Path) -> None:
    supervisor = Supervisor(Settings(data_dir=data_dir), data_dir / "logs")
    service = server(lifetime=0)
    supervisor.start(service, timeout=30)
    first = supervisor.running["tiny"][1]
    stop = threading.Event()
    seen: list[str] = []
    result: list[str | None] = []
    watcher = threading.Thread(
        target=lambda: result.append(
            supervisor.supervise(
                RestartPolicy(backoff_seconds=0.05),
                stop=stop,
                on_event=lambda name, message: seen.append(f"{name} {message}"),
            )
        )
    )
    watcher.start()
    try:
        os.kill(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "tiny healthy again" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        second = supervisor.running["tiny"][1]
        assert second is not first and second.poll() is None
        assert seen == [
            "tiny was killed by SIGKILL; restarting it in 0.1 s",
            "tiny restarted",
            "tiny healthy again",
        ]
    finally:
        stop.set()
        watcher.join(timeout=30)
        supervisor.stop_all()
    assert result == [None]  # stopped, not given up
    assert second.poll() is not None


def test_a_service_in_a_crash_loop_is_given_up(data_dir: Path) -> None:
    supervisor = Supervisor(Settings(data_dir=data_dir), data_dir / "logs")
    supervisor.start(server(lifetime=0.3), timeout=30)
    policy = RestartPolicy(max_restarts=2, window_seconds=60, backoff_seconds=0.05)
    try:
        assert supervisor.supervise(policy) == "tiny"
    finally:
        supervisor.stop_all()
    assert len(supervisor.restarts["tiny"]) == 2  # two restarts, then it gave up
