"""Soak test: sustained traffic through the real collector, then count what landed, end to end.

Sends 100-event batches at a fixed rate for a fixed time over HTTP (asyncio, one connection pool),
retrying a failed batch with the SAME message ids (as the SDKs do), then waits until the raw zone
holds every acknowledged event and counts: lost = acknowledged but never landed, doubled = rows
beyond one per message id. Works on both profiles: the raw zone is PostgreSQL ``raw.events``
(``--postgres-dsn``) or the local Parquet raw zone (``--raw-zone``).

Along the way it samples what a soak is for: the event-log lag (the collector's ``/metrics``),
the resident memory of the collector and the loader (found by their listening ports, read from
``/proc``: Linux only, silently skipped elsewhere) and the load average, at the start, every
10 s and at the end, so a leak or a loader that falls further behind shows up as a trend.

Start the services first (the prod profile: ``intellishop up``), create a tenant on a plan whose
quota fits, then for example::

    uv run python benchmarks/soak.py --api-key KEY --rate 5000 --duration 600 \\
        --postgres-dsn postgresql://postgres@127.0.0.1:5432/intellishop
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

LAG_LINE = re.compile(r'^intellishop_event_log_lag_entries\{consumer="raw-loader"\} (\S+)$', re.M)


@dataclass
class Tally:
    batches: int = 0
    acknowledged: int = 0
    rejected: int = 0
    retries: int = 0
    failed_batches: int = 0
    latencies: list[float] = field(default_factory=list)
    max_lag: int = 0
    #: How late the sender is against its schedule (all --concurrency batches were in flight).
    behind: float = 0.0
    max_behind: float = 0.0


def listening_pid(port: int) -> int | None:
    """The pid of the process listening on TCP ``port`` (any address), from ``/proc``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except OSError:
            continue
    return None


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of ``pid`` in MiB (VmRSS), None if unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Processes:
    """The collector and loader processes, found once at the start by their ports."""

    collector: int | None
    loader: int | None

    def memory(self) -> str:
        def show(pid: int | None) -> str:
            rss = rss_mb(pid)
            return "?" if rss is None else f"{rss:.0f} MiB"

        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        return (
            f"RSS collector {show(self.collector)}, loader {show(self.loader)}; load average {load}"
        )


def read_lag(metrics_text: str) -> int | None:
    """The raw loader's lag in event-log entries from the collector's metrics, None if absent."""
    match = LAG_LINE.search(metrics_text)
    return None if match is None else int(float(match.group(1)))


def fetch_lag(collector_url: str) -> int | None:
    try:
        response = httpx.get(f"{collector_url.rstrip('/')}/metrics", timeout=10)
    except httpx.HTTPError:
        return None
    return read_lag(response.text) if response.status_code == 200 else None


def make_batch(run_id: str, first: int, size: int) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "batch": [
            {
                "type": "track",
                "event": "Product Viewed",
                "messageId": f"soak-{run_id}-{first + i}",
                "anonymousId": f"soak-visitor-{(first + i) % 5000}",
                "timestamp": now,
                "properties": {"product_id": f"sku-{(first + i) % 800}", "price": 19.99},
                "context": {"userAgent": "IntelliShopSoak/1.0 (X11; Linux x86_64)"},
            }
            for i in range(size)
        ],
        "sentAt": now,
    }


async def send_batch(
    client: httpx.AsyncClient, url: str, key: str, payload: dict[str, object], tally: Tally
) -> None:
    for attempt in range(8):
        started = time.perf_counter()
        try:
            response = await client.post(url, json=payload, auth=(key, ""))
        except httpx.HTTPError:
            response = None
        elapsed = time.perf_counter() - started
        if response is not None and response.status_code < 500 and response.status_code != 429:
            tally.latencies.append(elapsed)
            tally.batches += 1
            if response.status_code < 300:
                body = response.json()
                tally.acknowledged += int(body.get("accepted", len(payload["batch"])))  # type: ignore[arg-type]
                rejected = body.get("rejected", 0)
                tally.rejected += len(rejected) if isinstance(rejected, list) else int(rejected)
            else:
                tally.rejected += len(payload["batch"])  # type: ignore[arg-type]
            return
        tally.retries += 1
        await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
    tally.failed_batches += 1


async def run_traffic(args: argparse.Namespace, run_id: str, processes: Processes) -> Tally:
    url = f"{args.collector_url.rstrip('/')}/v1/batch"
    tally = Tally()
    interval = args.batch_size / args.rate
    limits = httpx.Limits(max_connections=args.concurrency)
    started = time.monotonic()
    next_report = started + 10
    # At most --concurrency batches in flight: when the collector cannot keep up, the sender falls
    # behind its schedule (reported) instead of queueing thousands of requests in the client,
    # whose connection pool slows down with every waiter until the client itself is the limit.
    slots = asyncio.Semaphore(args.concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        tasks: set[asyncio.Task[None]] = set()
        sequence = 0
        while (now := time.monotonic()) - started < args.duration:
            due = started + (sequence // args.batch_size) * interval
            if due > now:
                await asyncio.sleep(due - now)
            await slots.acquire()
            tally.behind = max(0.0, time.monotonic() - due)
            tally.max_behind = max(tally.max_behind, tally.behind)
            payload = make_batch(run_id, sequence, args.batch_size)
            task = asyncio.create_task(send_batch(client, url, args.api_key, payload, tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            task.add_done_callback(lambda _task: slots.release())
            sequence += args.batch_size
            if time.monotonic() >= next_report:
                elapsed = time.monotonic() - started
                lag = await asyncio.to_thread(fetch_lag, args.collector_url)
                tally.max_lag = max(tally.max_lag, lag or 0)
                print(
                    f"  {elapsed:5.0f} s: {tally.acknowledged:,} acknowledged "
                    f"({tally.acknowledged / elapsed:,.0f}/s), {len(tasks)} in flight, "
                    f"{tally.behind:.1f} s behind schedule, lag {lag} entries; "
                    f"{processes.memory()}",
                    flush=True,
                )
                next_report += 10
        await asyncio.gather(*tasks)
    return tally


def count_landed(args: argparse.Namespace, run_id: str) -> tuple[int, int]:
    """(distinct message ids, rows) of this run in the raw zone."""
    pattern = f"soak-{run_id}-%"
    if args.postgres_dsn:
        import psycopg

        with psycopg.connect(args.postgres_dsn) as con:
            row = con.execute(
                "select count(distinct message_id), count(*) from raw.events "
                "where message_id like %s",
                (pattern,),
            ).fetchone()
    else:
        import duckdb

        files = sorted(Path(args.raw_zone).glob("events/**/*.parquet"))
        if not files:
            return 0, 0
        with duckdb.connect() as con:
            row = con.execute(
                "select count(distinct message_id), count(*) from read_parquet($files) "
                "where message_id like $pattern",
                {"files": [str(f) for f in files], "pattern": pattern},
            ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collector-url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--rate", type=float, default=2000, help="events per second")
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--postgres-dsn", help="count in PostgreSQL raw.events (prod)")
    parser.add_argument("--raw-zone", help="count in this Parquet raw zone (local)")
    parser.add_argument("--settle-timeout", type=float, default=600, help="seconds to wait")
    parser.add_argument(
        "--loader-metrics-port", type=int, default=9102, help="finds the loader's process"
    )
    args = parser.parse_args()
    if not (args.postgres_dsn or args.raw_zone):
        parser.error("give --postgres-dsn (prod) or --raw-zone (local)")

    run_id = uuid.uuid4().hex[:10]
    collector_port = urlsplit(args.collector_url).port or 80
    processes = Processes(listening_pid(collector_port), listening_pid(args.loader_metrics_port))
    print(f"soak {run_id}: {args.rate:,.0f} events/s for {args.duration:.0f} s")
    print(f"at the start: {processes.memory()}", flush=True)
    started = time.monotonic()
    tally = asyncio.run(run_traffic(args, run_id, processes))
    sent_seconds = time.monotonic() - started
    end_lag = fetch_lag(args.collector_url)
    print(f"at the end of the traffic: lag {end_lag} entries; {processes.memory()}")

    print("waiting for the raw zone to hold every acknowledged event...", flush=True)
    settle_started = time.monotonic()
    landed, rows = 0, 0
    lag_zero: float | None = None  # seconds after the last send at which the lag read 0
    while time.monotonic() - settle_started < args.settle_timeout:
        # Counting millions of rows competes with the loader: count once the lag says it is done.
        lag = fetch_lag(args.collector_url)
        if lag == 0 and lag_zero is None:
            lag_zero = time.monotonic() - settle_started
        if lag in (0, None):
            landed, rows = count_landed(args, run_id)
            if landed >= tally.acknowledged:
                break
        time.sleep(1)
    else:
        landed, rows = count_landed(args, run_id)
    settle = time.monotonic() - settle_started
    shown_lag = "never" if lag_zero is None else f"{lag_zero:.1f} s"
    print(
        f"caught up (lag 0 after {shown_lag}, counted after {settle:.1f} s): {processes.memory()}"
    )

    latencies = sorted(tally.latencies) or [0.0]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    lost = tally.acknowledged - landed
    doubled = rows - landed
    print(
        f"\nsent for {sent_seconds:.0f} s: {tally.batches:,} batches, "
        f"{tally.acknowledged:,} events acknowledged ({tally.acknowledged / sent_seconds:,.0f}/s), "
        f"{tally.rejected} rejected, {tally.retries} retries, {tally.failed_batches} batches "
        f"given up\nbatch latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms; lag at most {tally.max_lag} entries while sending (sampled "
        f"every 10 s), {end_lag} at the end; sender at most {tally.max_behind:.1f} s behind "
        f"schedule\nlanded {landed:,} distinct events in {rows:,} rows "
        f"({settle:.1f} s after the last send): lost {lost}, doubled {doubled}"
    )
    shown = [
        "KEY" if previous == "--api-key" else arg
        for previous, arg in zip(["", *sys.argv[1:]], sys.argv[1:], strict=False)
    ]
    print(f"command: uv run python benchmarks/soak.py {shlex.join(shown)}")
    return 0 if lost == 0 and doubled == 0 and tally.failed_batches == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
