"""The long-running services, how to start them, and a supervisor that stops them all cleanly.

Each service runs in its own process group, so stopping the group also stops what the service
started itself (``dagster dev`` runs a webserver, a daemon and a code server). ``dagster dev``
ignores SIGINT/SIGTERM when its parent masks them, hence ``env --default-signal=INT``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
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
    """Environment for every child: the same settings, telemetry off, one BLAS thread."""
    env = dict(os.environ)
    env.update(
        {
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
    # INTELLISHOP_TRUSTED_PROXIES): uvicorn's would believe any local peer's header.
    uvicorn = [
        python,
        "-m",
        "uvicorn",
        "--host",
        host,
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


class Supervisor:
    """Starts services, waits for their health checks, and stops every one of them on exit."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.running: dict[str, tuple[Service, subprocess.Popen[bytes]]] = {}
        #: Services that ignored SIGINT and had to be killed (should stay empty).
        self.killed: list[str] = []

    def start(self, service: Service, timeout: float = 120.0) -> None:
        if _port_in_use(self.settings.host, service.port):
            raise ServiceError(
                f"port {service.port} on {self.settings.host} is taken (is an earlier demo still "
                f"running?): stop it, or set INTELLISHOP_{service.name.upper()}_PORT"
            )
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
        self.running[service.name] = (service, process)
        self.wait_healthy(service, process, timeout)

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

    def wait_any_exit(self) -> str | None:
        """Block until one service exits; returns its name (None if nothing runs)."""
        while self.running:
            for name, (_service, process) in self.running.items():
                if process.poll() is not None:
                    return name
            time.sleep(0.5)
        return None


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
