"""Serving API latency and throughput, one uvicorn worker, real HTTP, in one run.

Publishes a synthetic shop of realistic size (``--users`` users x 20 recommendations, 2,000
products with 20 similar products each, 120 days of marts) into a temporary data directory,
starts the real API (``intellishop.services``: one uvicorn worker) on a free loopback port, and
drives it from a small asyncio HTTP/1.1 keep-alive client (hand-written: an HTTP library would
cost the client more CPU than the server spends, on a 2-core machine they share).

For each endpoint, two phases:

1. **open loop** at ``--rate`` requests/s (default 1,000) for ``--seconds``: requests are sent
   on a fixed schedule whatever the answers do, and latency counts from the *scheduled* time,
   so a stall is not hidden (no coordinated omission); p50/p99/max and the rate achieved;
2. **closed loop** with ``--concurrency`` requests in flight: the most requests/s it sustains.

Endpoints: personal recommendations (90% known users, 10% strangers: the cold-start path),
similar products, and a cached analytics query (revenue by week and country; the cache is warm
after the first request). Baseline in the same run: ``/healthz`` (no auth, no data), so the
ratios say what the data path costs whatever the machine's load.

With ``--profile prod`` the API runs the prod profile: the Redis serving store (pointer in Redis,
pub/sub invalidation), the Redis response cache and the Redis Streams event log for the
"Recommendations Served" events; it uses a tenant id and a stream key of its own on
``--redis-url`` and deletes its keys afterwards.

    .venv/bin/python benchmarks/serving.py [--rate 1000] [--seconds 10] [--users 20000]
    .venv/bin/python benchmarks/serving.py --profile prod
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa
import redis

from intellishop.artifacts import LocalArtifactStore, RedisArtifactStore
from intellishop.services import Supervisor, services
from intellishop.settings import Profile, Settings
from intellishop.tenants import TenantRegistry

PRODUCTS = 2000
CATEGORIES = 20
PER_USER = 20
DAYS = 120


@dataclass
class Result:
    name: str
    mode: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    #: CPU seconds the API process spent in this phase (user + system, from /proc).
    server_cpu_s: float = float("nan")

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")

    def row(self) -> str:
        return (
            f"| {self.name} | {self.mode} | {self.rate:,.0f} | {self.quantile(0.5):.2f} | "
            f"{self.quantile(0.99):.2f} | {max(self.latencies_ms, default=float('nan')):.1f} | "
            f"{self.cpu_ms_per_request:.3f} | {self.errors} |"
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def shop_tables(users: int, seed: int = 7) -> dict[str, pa.Table]:
    """A synthetic shop's published tables (shapes of docs/contracts.md)."""
    rng = random.Random(seed)
    products = [f"p{i}" for i in range(PRODUCTS)]
    categories = [f"c{i % CATEGORIES}" for i in range(PRODUCTS)]
    user_ids = [f"u{u}" for u in range(users) for _ in range(PER_USER)]
    rec_products = [rng.choice(products) for _ in range(users * PER_USER)]
    ranks = list(range(1, PER_USER + 1)) * users
    similar_of = [p for p in products for _ in range(20)]
    days = [date(2026, 1, 1) + timedelta(days=d) for d in range(DAYS)]
    countries = ["US", "DE", "FR", "GB", "NL"]
    return {
        "products": pa.table(
            {
                "product_id": products,
                "name": [f"Product {i}" for i in range(PRODUCTS)],
                "category": categories,
                "brand": ["acme"] * PRODUCTS,
                "price": [float(10 + i % 90) for i in range(PRODUCTS)],
            }
        ),
        "trending": pa.table(
            {
                "product_id": products[:100],
                "category": categories[:100],
                "score": [100.0 - i for i in range(100)],
                "rank": list(range(1, 101)),
                "category_rank": [i // CATEGORIES + 1 for i in range(100)],
            }
        ),
        "popular": pa.table(
            {
                "product_id": products[:100],
                "category": categories[:100],
                "score": [100.0 - i for i in range(100)],
                "rank": list(range(1, 101)),
            }
        ),
        "recommendations": pa.table(
            {
                "user_id": user_ids,
                "product_id": rec_products,
                "score": [1.0 / r for r in ranks],
                "rank": ranks,
                "algorithm": ["als"] * len(ranks),
            }
        ),
        "similar_products": pa.table(
            {
                "product_id": similar_of,
                "similar_product_id": [rng.choice(products) for _ in similar_of],
                "score": [1.0 / (1 + i % 20) for i in range(len(similar_of))],
                "rank": [1 + i % 20 for i in range(len(similar_of))],
                "algorithm": ["als"] * len(similar_of),
            }
        ),
        "daily_metrics": pa.table(
            {
                "metric_date": days,
                "currency": ["USD"] * DAYS,
                "revenue": [1000.0 + d for d in range(DAYS)],
                "orders": [20 + d % 7 for d in range(DAYS)],
                "aov": [50.0] * DAYS,
                "sessions": [900] * DAYS,
                "visitors": [700] * DAYS,
                "conversion_rate": [0.02] * DAYS,
            }
        ),
        "geo_daily": pa.table(
            {
                "metric_date": [d for d in days for _ in countries],
                "country": countries * DAYS,
                "sessions": [100] * (DAYS * len(countries)),
                "visitors": [80] * (DAYS * len(countries)),
                "orders": [4] * (DAYS * len(countries)),
                "net_revenue": [200.0] * (DAYS * len(countries)),
            }
        ),
    }


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its answer, in turn."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def get(self, path: str, headers: bytes) -> int:
        self.writer.write(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n" + headers + b"\r\n"
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def open_loop(
    name: str, host: str, port: int, paths: list[str], headers: bytes, rate: float, seconds: float
) -> Result:
    """Requests on a fixed schedule; latency from the scheduled send time."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await Connection.open(host, port))
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        connection = await pool.get()
        try:
            status = await connection.get(paths[i % len(paths)], headers)
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
            connection = await Connection.open(host, port)
        else:
            errors += status != 200
        latencies.append((time.perf_counter() - scheduled) * 1000)
        pool.put_nowait(connection)

    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    return Result(name, f"open {rate:,.0f}/s", total, elapsed, latencies, errors)


async def closed_loop(
    name: str,
    host: str,
    port: int,
    paths: list[str],
    headers: bytes,
    concurrency: int,
    seconds: float,
) -> Result:
    """``concurrency`` requests in flight for ``seconds``: the sustained maximum."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    counter = 0

    async def worker() -> None:
        nonlocal errors, counter
        connection = await Connection.open(host, port)
        while time.perf_counter() < deadline:
            counter += 1
            started = time.perf_counter()
            status = await connection.get(paths[counter % len(paths)], headers)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 200
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(
        name,
        f"closed x{concurrency}",
        len(latencies),
        time.perf_counter() - started,
        latencies,
        errors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=["local", "prod"], default="local")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    from tests.e2e.conftest import free_port

    tmp = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    tenant_id = f"bench-{uuid.uuid4().hex[:8]}"
    stream = f"bench:serving:{uuid.uuid4().hex}"
    prod = args.profile == "prod"
    if prod:
        os.environ.update(
            {
                "INTELLISHOP_ADMIN_TOKEN": uuid.uuid4().hex,
                "INTELLISHOP_JWT_SECRET": uuid.uuid4().hex * 2,
                "INTELLISHOP_REDIS_URL": args.redis_url,
                "INTELLISHOP_REDIS_STREAM": stream,
            }
        )
    settings = Settings(
        data_dir=tmp / "data", api_port=free_port(), profile=Profile.PROD if prod else Profile.LOCAL
    )
    settings.ensure_dirs()
    _, key = TenantRegistry(settings.tenants_db_path).create("Bench", tenant_id=tenant_id)
    tables = shop_tables(args.users)
    client = redis.Redis.from_url(args.redis_url) if prod else None
    store = (
        RedisArtifactStore(settings.artifacts_dir, client)
        if client
        else LocalArtifactStore(settings.artifacts_dir)
    )
    store.publish(tenant_id, tables)

    supervisor = Supervisor(settings, tmp / "logs")
    results: list[Result] = []
    try:
        supervisor.start(services(settings)["api"])
        headers = f"X-API-Key: {key}\r\n".encode()
        rng = random.Random(1)
        # 90% known users, 10% strangers (the cold-start path).
        recs = [
            f"/v1/recommendations/{'u' if rng.random() < 0.9 else 'new'}"
            f"{rng.randrange(args.users)}?n=10"
            for _ in range(5000)
        ]
        similar = [f"/v1/products/p{rng.randrange(PRODUCTS)}/similar?n=10" for _ in range(5000)]
        query = ["/v1/analytics/query?metric=revenue&granularity=week&breakdown=country"]
        endpoints = {
            "healthz (baseline)": (["/healthz"], b""),
            "recommendations": (recs, headers),
            "similar products": (similar, headers),
            "analytics query (cached)": (query, headers),
        }

        pid = supervisor.running["api"][1].pid

        async def measured(phase: Any) -> Result:
            before = cpu_seconds(pid)
            result: Result = await phase
            result.server_cpu_s = cpu_seconds(pid) - before
            return result

        async def run() -> None:
            host, port = settings.host, settings.api_port
            for name, (paths, extra) in endpoints.items():
                await closed_loop(name, host, port, paths[:200], extra, 4, 1.0)  # warm up
                results.append(
                    await measured(
                        open_loop(name, host, port, paths, extra, args.rate, args.seconds)
                    )
                )
                results.append(
                    await measured(
                        closed_loop(
                            name, host, port, paths, extra, args.concurrency, args.seconds / 2
                        )
                    )
                )

        asyncio.run(run())
    finally:
        supervisor.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        if client is not None:
            for pattern in (
                f"intellishop:artifacts:*{tenant_id}*",
                f"intellishop:serving:cache:{tenant_id}*",
            ):
                for name in client.scan_iter(match=pattern):
                    client.delete(name)
            client.srem("intellishop:artifacts:tenants", tenant_id)
            client.delete(stream)

    print(
        f"\nserving benchmark, profile {args.profile}: one uvicorn worker, "
        f"{args.users:,} users x {PER_USER} recs, {PRODUCTS:,} products"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {load:.1f} at the end"
    )
    print(
        "\n| endpoint | load | requests/s | p50 ms | p99 ms | max ms | server CPU ms/request "
        "| errors |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for result in results:
        print(result.row())
    base = {r.mode: r for r in results if r.name.startswith("healthz")}
    print(
        "\nratios to the healthz baseline of the same run (p99 open loop; throughput closed loop):"
    )
    for result in results:
        if result.name.startswith("healthz"):
            continue
        ref = base[result.mode]
        if result.mode.startswith("open"):
            print(f"  {result.name}: p99 x{result.quantile(0.99) / ref.quantile(0.99):.2f}")
        else:
            print(
                f"  {result.name}: throughput x{result.rate / ref.rate:.2f}, server CPU per "
                f"request x{result.cpu_ms_per_request / ref.cpu_ms_per_request:.2f} "
                f"({result.cpu_ms_per_request:.3f} ms: one core answers "
                f"{1000 / result.cpu_ms_per_request:,.0f} requests/s)"
            )
    print(f"\ncommand: {shlex.join([sys.executable, *sys.argv])}")


if __name__ == "__main__":
    main()
