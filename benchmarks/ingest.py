"""Collector throughput and latency on one worker, local profile, against a same-run baseline.

Starts the real collector (one uvicorn worker) on loopback, then sends 100-event batches of
simulated shop events from an asyncio client with a fixed number of connections in flight. The
baseline is the same client hitting ``/healthz`` (HTTP and client cost with no decoding,
validation or durable append), so the ratio says what collection itself costs on this machine.
Finally it drains the event log into the raw zone and reports the loader's rate.

    uv run python benchmarks/ingest.py [--batches 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intellishop.simulation import SimulationConfig, generate_events

from ingest.loader import drain_event_log
from intellishop.services import Supervisor, services
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry


async def fire(
    url: str, bodies: list[bytes], key: str, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(auth=(key, ""), limits=limits, timeout=30) as client:

        async def worker() -> None:
            for body in queue:
                started = time.perf_counter()
                response = await client.post(
                    url, content=body, headers={"Content-Type": "application/json"}
                )
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


async def fire_get(url: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = iter(range(count))
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                (await client.get(url)).raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    import msgspec

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), collector_port=18000)
        settings.ensure_dirs()
        _, key = TenantRegistry(settings.tenants_db_path).create("Bench Shop")
        events = list(
            itertools.islice(
                generate_events(SimulationConfig(days=30, customers=2000)), args.batches * 100
            )
        )
        bodies = [
            msgspec.json.encode({"batch": events[i : i + 100]}) for i in range(0, len(events), 100)
        ]
        supervisor = Supervisor(settings, Path(tmp) / "logs")
        collector = services(settings)["collector"]
        supervisor.start(collector)
        try:
            base = collector.url(settings.host)
            asyncio.run(fire(f"{base}/v1/batch", bodies[:20], key, args.concurrency))  # warm up
            seconds, latencies = asyncio.run(
                fire(f"{base}/v1/batch", bodies, key, args.concurrency)
            )
            h_seconds, h_latencies = asyncio.run(
                fire_get(f"{base}/healthz", len(bodies), args.concurrency)
            )
        finally:
            supervisor.stop_all()
        sent = sum(len(msgspec.json.decode(b)["batch"]) for b in bodies)
        started = time.perf_counter()
        report = drain_event_log(settings)
        load_seconds = time.perf_counter() - started

    events_per_s = sent / seconds
    print(
        f"command: uv run python benchmarks/ingest.py --batches {args.batches} --concurrency {args.concurrency}"
    )
    print(f"collector, local profile, 1 worker, 100-event batches, {args.concurrency} in flight:")
    print(
        f"  {sent:,} events in {seconds:.2f} s = {events_per_s:,.0f} events/s "
        f"({len(bodies) / seconds:,.0f} requests/s), p50 {pct(latencies, 50):.1f} ms, p99 {pct(latencies, 99):.1f} ms"
    )
    print(
        f"  baseline GET /healthz: {len(bodies) / h_seconds:,.0f} requests/s, p50 {pct(h_latencies, 50):.1f} ms, "
        f"p99 {pct(h_latencies, 99):.1f} ms"
    )
    print(
        f"  batch requests/s vs healthz requests/s: {len(bodies) / seconds / (len(bodies) / h_seconds):.2f}"
    )
    print(
        f"loader: {report.events:,} events into {len(report.files)} Parquet files in {load_seconds:.2f} s "
        f"= {report.events / load_seconds:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
