"""The long-running services, how to start them, and a supervisor that restarts a dead one and
stops them all cleanly.

Each service runs in its own process group, so stopping the group also stops what the service
started itself (``dagster dev`` runs a webserver, a daemon and a code server). ``dagster dev``
ignores SIGINT/SIGTERM when its parent masks them, hence ``env --default-signal=INT``.

A service that dies (a crash, the OOM killer, a SIGKILL) is started again by
:meth:`Supervisor.supervise`, with a growing pause between attempts; one that keeps dying
(``RestartPolicy.max_restarts`` within ``window_seconds``) is a crash loop that restarting will
not fix, so the supervisor gives up and says which. Restarting loses nothing: the collector
acknowledges a batch only once it is in the event log, and a restarted loader resumes from its
consumer group's pending entries.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from intellishop.settings import DAGSTER_POSTGRES_URL_VARIABLE, Profile, Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Service:
    name: str
    description: str
    command: list[str]
    port: int
    health_path: str
    env: dict[str, str] = field(default_factory=dict)

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}"

    def health_url(self, host: str) -> str:
        return f"{self.url(host)}{self.health_path}"


def service_env(settings: Settings) -> dict[str, str]:
    """Environment for every child: the same settings, telemetry off, one BLAS thread.

    The interpreter's own ``bin`` directory leads ``PATH``: started as ``.venv/bin/intellishop up``
    without an activated virtualenv, Dagster's code server would not find ``dbt`` otherwise.
    """
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    path = env.get("PATH", os.defpath).split(os.pathsep)
    env.update(
        {
            "PATH": os.pathsep.join([bin_dir, *(p for p in path if p != bin_dir)]),
            "INTELLISHOP_PROFILE": settings.profile.value,
            "INTELLISHOP_DATA_DIR": str(settings.data_dir.resolve()),
            "DAGSTER_HOME": str(settings.dagster_home.resolve()),
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "OPENBLAS_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(settings.dbt_env())
    if settings.profile is Profile.PROD:
        env[DAGSTER_POSTGRES_URL_VARIABLE] = settings.dagster_postgres_url
    return env


def services(settings: Settings) -> dict[str, Service]:
    host = settings.host
    python = sys.executable
    bin_dir = Path(python).parent
    # Our own JSON access log, and our own X-Forwarded-For rule (only from
    # INTELLISHOP_TRUSTED_PROXIES): uvicorn's would believe any local peer's header. uvloop and
    # httptools named, so a missing one fails at start instead of falling back to slower ones.
    uvicorn = [
        python,
        "-m",
        "uvicorn",
        "--host",
        host,
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--no-proxy-headers",
        "--factory",
    ]
    return {
        "collector": Service(
            "collector",
            "Segment-compatible event collector (docs at /docs)",
            [*uvicorn, "--port", str(settings.collector_port), "ingest.app:create_app"],
            settings.collector_port,
            "/healthz",
        ),
        "api": Service(
            "api",
            "recommendations and analytics API (docs at /docs)",
            [*uvicorn, "--port", str(settings.api_port), "serving.app:create_app"],
            settings.api_port,
            "/healthz",
        ),
        "loader": Service(
            "loader",
            "event log -> raw zone, continuously (metrics at /metrics)",
            [python, "-m", "intellishop.cli", "load", "--follow"],
            settings.loader_metrics_port,
            "/metrics",
            env={"INTELLISHOP_METRICS_PORT": str(settings.loader_metrics_port)},
        ),
        "automation": Service(
            "automation",
            "automation worker: rules, webhooks, email (metrics at /metrics)",
            [python, "-m", "intellishop.cli", "automation", "worker"],
            settings.automation_metrics_port,
            "/metrics",
            env={"INTELLISHOP_METRICS_PORT": str(settings.automation_metrics_port)},
        ),
        "dagster": Service(
            "dagster",
            "Dagster UI: the pipeline, its lineage and runs",
            [
                "env",
                "--default-signal=INT",
                str(bin_dir / "dagster"),
                "dev",
                "--host",
                host,
                "--port",
                str(settings.dagster_port),
                "--workspace",
                str(PROJECT_ROOT / "workspace.yaml"),
            ],
            settings.dagster_port,
            "/server_info",
        ),
        "dashboards": Service(
            "dashboards",
            "merchant dashboards (Streamlit)",
            [
                python,
                "-m",
                "streamlit",
                "run",
                str(PROJECT_ROOT / "dashboards" / "streamlit_app.py"),
                "--server.address",
                host,
                "--server.port",
                str(settings.dashboard_port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                # Merchants get the app, not Streamlit's developer menu ("Deploy", rerun, ...).
                "--client.toolbarMode",
                "viewer",
            ],
            settings.dashboard_port,
            "/_stcore/health",
        ),
    }


class ServiceError(RuntimeError):
    pass


@dataclass(frozen=True)
class RestartPolicy:
    """How hard the supervisor tries to keep a dying service up before it gives up."""

    #: Restarts of one service allowed within ``window_seconds``; one more is a crash loop.
    max_restarts: int = 5
    window_seconds: float = 120.0
    #: Pause before the first restart; it doubles with each recent restart, up to ``max_backoff``.
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 10.0
    #: Health-check timeout of a restarted service.
    start_timeout: float = 120.0

    def pause(self, recent_restarts: int) -> float:
        return min(self.max_backoff_seconds, self.backoff_seconds * 2.0**recent_restarts)


class Supervisor:
    """Starts services, waits for their health checks, and stops every one of them on exit."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.running: dict[str, tuple[Service, subprocess.Popen[bytes]]] = {}
        #: Services that ignored SIGINT and had to be killed (should stay empty).
        self.killed: list[str] = []
        #: Monotonic times at which each service was restarted after it died.
        self.restarts: dict[str, list[float]] = {}

    def start(self, service: Service, timeout: float = 120.0) -> None:
        if _port_in_use(self.settings.host, service.port):
            raise ServiceError(
                f"port {service.port} on {self.settings.host} is taken (is an earlier demo still "
                f"running?): stop it, or set INTELLISHOP_{service.name.upper()}_PORT"
            )
        self.wait_healthy(service, self._spawn(service), timeout)

    def _spawn(self, service: Service) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{service.name}.log", "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            service.command,
            cwd=PROJECT_ROOT,
            env={**service_env(self.settings), **service.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()  # the child has its own copy of the descriptor
        self.running[service.name] = (service, process)
        return process

    def healthy(self, service: Service) -> bool:
        """One health check, answered 200 within a second."""
        try:
            return httpx.get(service.health_url(self.settings.host), timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(
        self, service: Service, process: subprocess.Popen[bytes], timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        url = service.health_url(self.settings.host)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServiceError(
                    f"{service.name} exited with code {process.returncode}; "
                    f"see {self.log_dir / (service.name + '.log')}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise ServiceError(f"{service.name} did not answer {url} within {timeout:.0f} s")

    def stop_all(self, timeout: float = 20.0) -> None:
        """SIGINT each process group, then SIGKILL what is still alive after ``timeout``."""
        for _service, process in reversed(list(self.running.values())):
            _signal_group(process, signal.SIGINT)
        deadline = time.monotonic() + timeout
        for service, process in self.running.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                process.wait(remaining)
            except subprocess.TimeoutExpired:
                self.killed.append(service.name)
                _signal_group(process, signal.SIGKILL)
                process.wait()
        # Grandchildren (dagster dev's code servers) may finish after their parent: give them the
        # rest of the timeout, then kill what is left of the group.
        for service, process in self.running.values():
            while live_group_members(process.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if live_group_members(process.pid):
                self.killed.append(f"{service.name} (leftover processes)")
                _signal_group(process, signal.SIGKILL)
        self.running.clear()

    def restart(self, name: str) -> None:
        """Start the dead service ``name`` again, without waiting for its health check.

        What is left of its process group goes first: a service killed with SIGKILL may leave
        children (``dagster dev``'s webserver and daemon) that would hold its port.
        """
        service, process = self.running[name]
        _signal_group(process, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 10
        while live_group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        while _port_in_use(self.settings.host, service.port) and time.monotonic() < deadline:
            time.sleep(0.1)  # the old listener's socket is still closing
        self._spawn(service)

    def supervise(
        self,
        policy: RestartPolicy | None = None,
        *,
        stop: threading.Event | None = None,
        on_event: Callable[[str, str], None] | None = None,
        poll_seconds: float = 0.2,
    ) -> str | None:
        """Restart every service that exits, until ``stop`` is set (or forever).

        Returns None when stopped, or the name of a service in a crash loop (it died more than
        ``policy.max_restarts`` times within ``policy.window_seconds``): the caller stops the rest.
        Nothing here blocks on one service: two that die together restart together, and one
        that is still starting does not keep the others unwatched. A restarted service that is
        not healthy within ``policy.start_timeout`` is killed, which counts as another death.
        ``on_event(name, message)`` hears of each death, restart and recovery, to log them.
        """
        policy = policy or RestartPolicy()
        stop = stop or threading.Event()
        say = on_event or (lambda name, message: None)
        due: dict[str, float] = {}  # dead services and when to start them again
        starting: dict[str, float] = {}  # restarted services and their health deadline
        while self.running and not stop.is_set():
            for name, (service, process) in list(self.running.items()):
                now = time.monotonic()
                if name in due:
                    if now >= due[name]:
                        del due[name]
                        self.restart(name)
                        starting[name] = time.monotonic() + policy.start_timeout
                        say(name, "restarted")
                    continue
                code = process.poll()
                if code is None:
                    if name in starting and self.healthy(service):
                        del starting[name]
                        say(name, "healthy again")
                    elif name in starting and now > starting[name]:
                        say(name, f"not healthy within {policy.start_timeout:.0f} s; killing it")
                        _signal_group(process, signal.SIGKILL)
                    continue
                starting.pop(name, None)
                recent = [t for t in self.restarts.get(name, []) if now - t < policy.window_seconds]
                if len(recent) >= policy.max_restarts:
                    say(
                        name, f"exited {len(recent) + 1} times within {policy.window_seconds:.0f} s"
                    )
                    return name
                self.restarts[name] = [*recent, now]
                pause = policy.pause(len(recent))
                say(name, f"{_describe_exit(code)}; restarting it in {pause:.1f} s")
                due[name] = now + pause
            stop.wait(poll_seconds)
        return None


def _describe_exit(code: int) -> str:
    if code >= 0:
        return f"exited with code {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


def live_group_members(pgid: int) -> list[int]:
    """Pids of running (not zombie) processes in group ``pgid``, from ``/proc`` (Linux)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state, ppid, pgrp, ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _port_in_use(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def run_foreground(command: Sequence[str], settings: Settings) -> int:
    """Run one service in the foreground (``intellishop serve NAME``), forwarding Ctrl-C."""
    os.chdir(PROJECT_ROOT)
    env = service_env(settings)
    os.execvpe(command[0], list(command), env)  # noqa: S606 - replaces this process on purpose
