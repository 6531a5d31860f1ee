"""Collector and loader throughput, local profile, one collector worker, in one run.

Starts the real collector (``intellishop.services``: one uvicorn worker, the SQLite event log
with ``synchronous=FULL``) on a temporary data directory and a free loopback port, then sends
simulated shop traffic (``intellishop.simulation``) over HTTP from an asyncio client that keeps
a fixed number of requests in flight:

1. batched: ``--batch-size`` events per ``POST /v1/batch`` (how Segment's libraries send);
2. the loader drains the event log into the Parquet raw zone (in this process, timed);
3. baseline: one track event per ``POST /v1/track``, the same client and concurrency.

It prints events/s for both sends and their ratio, p50/p99 request latency, the loader's
events/s, the machine, and the exact command that produced the figures.

    .venv/bin/python benchmarks/ingest.py [--batches 1000] [--singles 5000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.loader import drain_event_log
from intellishop.services import Supervisor, services
from intellishop.settings import Profile, Settings
from intellishop.simulation import SimulationConfig, generate_events
from intellishop.tenants import TenantRegistry

WARMUP_REQUESTS = 20
JSON = {"Content-Type": "application/json"}


@dataclass
class Phase:
    """One timed send: ``requests`` requests carrying ``events`` events in ``seconds``."""

    events: int
    requests: int
    seconds: float
    latencies_s: list[float]

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, q: int) -> float:
        """The ``q``-th percentile of request latency, in milliseconds."""
        return statistics.quantiles(self.latencies_s, n=100, method="inclusive")[q - 1] * 1000


async def post_all(
    url: str, bodies: list[bytes], events_per_body: list[int], key: str, concurrency: int
) -> Phase:
    """POST every body with ``concurrency`` requests in flight; every event must be accepted."""
    latencies: list[float] = []
    pending = iter(zip(bodies, events_per_body, strict=True))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(auth=(key, ""), limits=limits, timeout=60) as client:

        async def worker() -> None:
            for body, expected in pending:
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=JSON)
                latencies.append(time.perf_counter() - started)
                answer = response.json() if response.status_code == 200 else None
                if not answer or answer.get("accepted") != expected or answer.get("rejected"):
                    raise RuntimeError(f"{url}: HTTP {response.status_code} {response.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Phase(sum(events_per_body), len(bodies), seconds, latencies)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def simulated_events(count: int, track_count: int) -> tuple[list[Any], list[Any]]:
    """``count`` simulated messages (all types, in time order) and ``track_count`` other
    track messages for the one-event-per-request baseline."""
    tracks: list[Any] = []
    events: list[Any] = []
    for event in generate_events(SimulationConfig(seed=7, days=30, customers=2000)):
        if len(events) < count:
            events.append(event)
        elif event["type"] == "track":
            tracks.append(event)
            if len(tracks) == track_count:
                break
    if len(events) < count or len(tracks) < track_count:
        raise RuntimeError("the simulated shop is too small for this run: fewer events")
    return events, tracks


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run, every option spelled out."""

    def shown(path: str) -> str:
        relative = os.path.relpath(path)
        return path if relative.startswith("..") else relative

    options = [
        f"--batches={args.batches}",
        f"--batch-size={args.batch_size}",
        f"--singles={args.singles}",
        f"--concurrency={args.concurrency}",
    ]
    return shlex.join([shown(sys.executable), shown(__file__), *options])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=1000, help="batched requests timed")
    parser.add_argument("--batch-size", type=int, default=100, help="events per batch")
    parser.add_argument("--singles", type=int, default=5000, help="/v1/track requests timed")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    batch_events = (WARMUP_REQUESTS + args.batches) * args.batch_size
    events, tracks = simulated_events(batch_events, WARMUP_REQUESTS + args.singles)
    sent_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    batches = [events[i : i + args.batch_size] for i in range(0, batch_events, args.batch_size)]
    batch_bodies = [msgspec.json.encode({"batch": b, "sentAt": sent_at}) for b in batches]
    track_bodies = [msgspec.json.encode(event) for event in tracks]

    with tempfile.TemporaryDirectory(prefix="intellishop-bench-") as tmp:
        settings = Settings(
            profile=Profile.LOCAL, data_dir=Path(tmp), host="127.0.0.1", collector_port=free_port()
        )
        settings.ensure_dirs()
        _, key = TenantRegistry(settings.tenants_db_path).create("Bench Shop")
        supervisor = Supervisor(settings, Path(tmp) / "logs")
        collector = services(settings)["collector"]
        base = collector.url(settings.host)

        def send(path: str, bodies: list[bytes], sizes: list[int]) -> Phase:
            return asyncio.run(post_all(base + path, bodies, sizes, key, args.concurrency))

        try:
            supervisor.start(collector)
            w = WARMUP_REQUESTS
            send("/v1/batch", batch_bodies[:w], [len(b) for b in batches[:w]])
            batched = send("/v1/batch", batch_bodies[w:], [len(b) for b in batches[w:]])
            # The loader runs while the collector idles, on 100-event entries only.
            started = time.perf_counter()
            loaded = drain_event_log(settings)
            load_seconds = time.perf_counter() - started
            if loaded.events != batch_events:
                raise RuntimeError(f"loaded {loaded.events} events, expected {batch_events}")
            send("/v1/track", track_bodies[:w], [1] * w)
            single = send("/v1/track", track_bodies[w:], [1] * args.singles)
        finally:
            supervisor.stop_all()

    body_kib = statistics.mean(len(body) for body in batch_bodies) / 1024
    print(f"command: {command_line(args)}")
    print(
        f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"1-min load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
        "(figures are only comparable on an idle machine)"
    )
    print(
        f"collector: local profile (SQLite event log, synchronous=FULL), 1 uvicorn worker, "
        f"{args.concurrency} requests in flight, client on the same machine"
    )
    columns = ("events", 8), ("events/s", 10), ("req/s", 8), ("p50 ms", 7), ("p99 ms", 7)
    print(f"  {'send':30} " + " ".join(f"{name:>{width}}" for name, width in columns))
    for label, phase in (
        (f"batched, {args.batch_size}/POST /v1/batch", batched),
        ("one event/POST /v1/track", single),
    ):
        print(
            f"  {label:30} {phase.events:>8,} {phase.events_per_s:>10,.0f} "
            f"{phase.requests_per_s:>8,.0f} {phase.percentile_ms(50):>7.1f} "
            f"{phase.percentile_ms(99):>7.1f}"
        )
    print(
        f"  batched / one-per-request: {batched.events_per_s / single.events_per_s:.1f}x "
        f"events/s (mean batch body {body_kib:.0f} KiB)"
    )
    print(
        f"loader: {loaded.events:,} events ({loaded.batches} log entries) into "
        f"{len(loaded.files)} Parquet files in {load_seconds:.2f} s "
        f"= {loaded.events / load_seconds:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
