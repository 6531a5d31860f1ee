"""Serving API latency and throughput, one uvicorn worker, real HTTP, in one run.

Publishes a synthetic shop of realistic size (``--users`` users x 20 recommendations, 2,000
products with 20 similar products each, 120 days of marts) into a temporary data directory,
starts the real API (``intellishop.services``: one uvicorn worker) on a free loopback port, and
drives it from a hand-written HTTP/1.1 keep-alive client: an ``asyncio.Protocol`` per
connection on uvloop, no task or stream object per request, in ``--client-processes`` forked
processes. It costs a few tens of microseconds of CPU per request (printed as "client CPU
ms/request"), so on a 2-core machine shared with the server it is not what limits the figures.

For each endpoint, two phases:

1. **open loop** at ``--rate`` requests/s (default 1,000) for ``--seconds``: requests are sent
   on a fixed schedule whatever the answers do (queued at the client when all ``--connections``
   are busy), and latency counts from the *scheduled* time, so a stall is not hidden (no
   coordinated omission); p50/p99/max and the rate achieved;
2. **closed loop** with ``--concurrency`` requests in flight: the most requests/s it sustains.

Endpoints: personal recommendations (90% known users, 10% strangers: the cold-start path),
similar products, and a cached analytics query (revenue by week and country; the cache is warm
after the first request). Baseline in the same run: ``/healthz`` (no auth, no data), so the
ratios say what the data path costs whatever the machine's load. Server CPU per request comes
from the API process's ``/proc`` counters over each phase.

``--compare DIR`` also starts the API from another checkout (for example the previous commit,
``git archive HEAD | tar -x -C /tmp/serving-before``) on the same data, and measures both
servers in turns, endpoint by endpoint, in the same window: the ratios after/before are what
the change did, whatever else the machine is doing.

With ``--profile prod`` the API runs the prod profile: the Redis serving store (pointer in Redis,
pub/sub invalidation), the Redis response cache and the Redis Streams event log for the
"Recommendations Served" events; it uses a tenant id and a stream key of its own on
``--redis-url`` and deletes its keys afterwards.

    .venv/bin/python benchmarks/serving.py [--rate 1000] [--seconds 10] [--users 20000]
    .venv/bin/python benchmarks/serving.py --compare /tmp/serving-before
    .venv/bin/python benchmarks/serving.py --profile prod
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import platform
import random
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa
import redis

from intellishop.artifacts import LocalArtifactStore, RedisArtifactStore
from intellishop.services import Service, Supervisor, services
from intellishop.settings import Profile, Settings
from intellishop.tenants import TenantRegistry

PRODUCTS = 2000
CATEGORIES = 20
PER_USER = 20
DAYS = 120


@dataclass
class Result:
    server: str
    name: str
    mode: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    #: CPU seconds the API process spent in this phase (user + system, from /proc).
    server_cpu_s: float = float("nan")
    #: CPU seconds the load generator's processes spent in this phase.
    client_cpu_s: float = float("nan")
    _ordered: list[float] = field(default_factory=list, repr=False)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else float("nan")

    def quantile(self, q: float) -> float:
        if len(self._ordered) != len(self.latencies_ms):
            self._ordered = sorted(self.latencies_ms)
        ordered = self._ordered
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")

    @property
    def client_ms_per_request(self) -> float:
        return self.client_cpu_s * 1000 / self.requests if self.requests else float("nan")

    def row(self) -> str:
        return (
            f"| {self.server} | {self.name} | {self.mode} | {self.rate:,.0f} | "
            f"{self.quantile(0.5):.2f} | {self.quantile(0.99):.2f} | "
            f"{max(self.latencies_ms, default=float('nan')):.1f} | "
            f"{self.cpu_ms_per_request:.3f} | {self.client_ms_per_request:.3f} | {self.errors} |"
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


class HTTPConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; calls ``on_answer(self, status)`` per response.

    Parsing is the least that works against uvicorn: the status line and ``content-length``
    (uvicorn always sends it for these routes); no chunked bodies, no pipelining.
    """

    def __init__(self, on_answer: Callable[[HTTPConnection, int], None]) -> None:
        self.on_answer = on_answer
        self.buffer = bytearray()
        self.need = -1
        self.status = 0
        self.sent_at = 0.0
        self.busy = False
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def send(self, request: bytes, sent_at: float) -> None:
        assert self.transport is not None
        self.busy = True
        self.sent_at = sent_at
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.need < 0:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(self.buffer[:end]).lower()
                self.status = int(head[9:12])
                at = head.find(b"content-length:")
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop > 0 else None]) if at >= 0 else 0
                self.need = end + 4 + length
            if len(self.buffer) < self.need:
                return
            del self.buffer[: self.need]
            self.need = -1
            self.busy = False
            self.on_answer(self, self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


def _request(host: str, path: str, headers: bytes) -> bytes:
    return (
        b"GET "
        + path.encode()
        + b" HTTP/1.1\r\nHost: "
        + host.encode()
        + b"\r\n"
        + headers
        + b"\r\n"
    )


@dataclass
class _Part:
    """What one client process measured in one phase."""

    latencies_ms: list[float]
    errors: int
    first_sent: float
    last_answer: float
    cpu_s: float


async def _all_lost(pool: list[HTTPConnection]) -> None:
    """Returns when the server closed every connection (it died, or timed them out)."""
    for connection in pool:
        await connection.lost


async def _connect(
    host: str, port: int, on_answer: Callable[[HTTPConnection, int], None]
) -> HTTPConnection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: HTTPConnection(on_answer), host, port)
    return protocol


async def _open_loop_part(
    host: str,
    port: int,
    requests: list[bytes],
    rate: float,
    seconds: float,
    start_at: float,
    part: int,
    parts: int,
    connections: int,
) -> _Part:
    """This process's share (every ``parts``-th request) of a fixed schedule at ``rate``."""
    cpu = time.process_time()
    total = int(rate * seconds)
    expected = len(range(part, total, parts))
    latencies: list[float] = []
    errors = 0
    idle: deque[HTTPConnection] = deque()
    backlog: deque[tuple[bytes, float]] = deque()
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    last_answer = 0.0

    def on_answer(connection: HTTPConnection, status: int) -> None:
        nonlocal errors, last_answer
        last_answer = time.monotonic()
        latencies.append((last_answer - connection.sent_at) * 1000)
        errors += status != 200
        if backlog:
            request, scheduled = backlog.popleft()
            connection.send(request, scheduled)
        else:
            idle.append(connection)
        if len(latencies) >= expected and not done.done():
            done.set_result(None)

    pool = [await _connect(host, port, on_answer) for _ in range(max(1, connections // parts))]
    idle.extend(pool)
    i = part
    while time.monotonic() < start_at:
        await asyncio.sleep(start_at - time.monotonic())
    while i < total:
        now = time.monotonic()
        while i < total and start_at + i / rate <= now:
            scheduled = start_at + i / rate
            request = requests[i % len(requests)]
            if idle:
                # FIFO: every connection stays in use, so none idles into the server's timeout.
                idle.popleft().send(request, scheduled)
            else:
                backlog.append((request, scheduled))
            i += parts
        if i < total:
            await asyncio.sleep(max(0.0, start_at + i / rate - time.monotonic()))
    if expected:
        lost = asyncio.ensure_future(_all_lost(pool))
        await asyncio.wait([done, lost], timeout=seconds + 60, return_when="FIRST_COMPLETED")
    errors += expected - len(latencies)
    for connection in pool:
        if connection.transport is not None:
            connection.transport.close()
    return _Part(latencies, errors, start_at, last_answer, time.process_time() - cpu)


async def _closed_loop_part(
    host: str, port: int, requests: list[bytes], concurrency: int, seconds: float, start_at: float
) -> _Part:
    """``concurrency`` connections, each sending its next request as soon as one is answered."""
    cpu = time.process_time()
    latencies: list[float] = []
    errors = 0
    deadline = start_at + seconds
    counter = 0
    last_answer = 0.0
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    busy = 0

    def send_next(connection: HTTPConnection) -> None:
        nonlocal counter, busy
        counter += 1
        busy += 1
        connection.send(requests[counter % len(requests)], time.monotonic())

    def on_answer(connection: HTTPConnection, status: int) -> None:
        nonlocal errors, last_answer, busy
        busy -= 1
        last_answer = time.monotonic()
        latencies.append((last_answer - connection.sent_at) * 1000)
        errors += status != 200
        if last_answer < deadline:
            send_next(connection)
        elif busy == 0 and not finished.done():
            finished.set_result(None)

    pool = [await _connect(host, port, on_answer) for _ in range(concurrency)]
    while time.monotonic() < start_at:
        await asyncio.sleep(start_at - time.monotonic())
    for connection in pool:
        send_next(connection)
    lost = asyncio.ensure_future(_all_lost(pool))
    await asyncio.wait([finished, lost], timeout=seconds + 60, return_when="FIRST_COMPLETED")
    errors += busy
    for connection in pool:
        if connection.transport is not None:
            connection.transport.close()
    return _Part(latencies, errors, start_at, last_answer, time.process_time() - cpu)


def _run_part(kind: str, *args: object) -> _Part:
    """Entry point of a client process: one phase on its own event loop (uvloop if present)."""
    coroutine = (
        _open_loop_part(*args)  # type: ignore[arg-type]
        if kind == "open"
        else _closed_loop_part(*args)  # type: ignore[arg-type]
    )
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


class LoadGenerator:
    """``processes`` forked client processes that share each phase's schedule."""

    def __init__(self, processes: int, connections: int) -> None:
        self.processes = processes
        self.connections = connections
        self.pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"))
        # Fork now, before the API's supervisor starts threads in this process.
        for future in [self.pool.submit(time.sleep, 0) for _ in range(processes)]:
            future.result()

    def _gather(
        self, server: str, name: str, mode: str, futures: list[Future[_Part]], count_from: float
    ) -> Result:
        parts = [future.result() for future in futures]
        latencies = [value for part in parts for value in part.latencies_ms]
        last = max((part.last_answer for part in parts), default=count_from)
        return Result(
            server,
            name,
            mode,
            len(latencies),
            max(1e-9, last - count_from),
            latencies,
            sum(part.errors for part in parts),
            client_cpu_s=sum(part.cpu_s for part in parts),
        )

    def open_loop(
        self,
        server: str,
        name: str,
        host: str,
        port: int,
        requests: list[bytes],
        rate: float,
        seconds: float,
    ) -> Result:
        """Requests on a fixed schedule at ``rate``; latency from each scheduled send time."""
        start_at = time.monotonic() + 0.3 + 0.02 * self.connections  # after connecting
        futures = [
            self.pool.submit(
                _run_part,
                "open",
                host,
                port,
                requests,
                rate,
                seconds,
                start_at,
                part,
                self.processes,
                self.connections,
            )
            for part in range(self.processes)
        ]
        return self._gather(server, name, f"open {rate:,.0f}/s", futures, start_at)

    def closed_loop(
        self,
        server: str,
        name: str,
        host: str,
        port: int,
        requests: list[bytes],
        concurrency: int,
        seconds: float,
    ) -> Result:
        """``concurrency`` requests in flight for ``seconds``: the sustained maximum."""
        start_at = time.monotonic() + 0.3 + 0.02 * concurrency
        shares = [concurrency // self.processes] * self.processes
        for extra in range(concurrency % self.processes):
            shares[extra] += 1
        futures = [
            self.pool.submit(_run_part, "closed", host, port, requests, share, seconds, start_at)
            for share in shares
            if share
        ]
        return self._gather(server, name, f"closed x{concurrency}", futures, start_at)

    def close(self) -> None:
        self.pool.shutdown()


def event_loop_of(pid: int) -> str:
    """Which event loop and HTTP parser the server process loaded (from its memory maps)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "unknown"
    loop = "uvloop" if "uvloop" in maps else "asyncio"
    parser = "httptools" if "httptools" in maps else "h11"
    return f"{loop} + {parser}"


def api_from(service: Service, root: Path) -> Service:
    """The same API service, importing the application from another checkout ``root``."""
    command = [*service.command[:-1], "--app-dir", str(root), service.command[-1]]
    return dataclasses.replace(service, name=f"{service.name}-{root.name}", command=command)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=["local", "prod"], default="local")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--connections", type=int, default=64, help="open loop's pool")
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="DIR",
        help="also run the API from this checkout (e.g. the previous commit) and print ratios",
    )
    parser.add_argument(
        "--only",
        nargs="*",
        choices=["recommendations", "similar", "query"],
        help="endpoints to measure besides the healthz baseline (default: all)",
    )
    args = parser.parse_args()

    from tests.e2e.conftest import free_port

    load_before = os.getloadavg()[0]
    generator = LoadGenerator(args.client_processes, args.connections)
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
    api = services(settings)["api"]
    servers: list[tuple[str, Service, int]] = [("this tree", api, settings.api_port)]
    if args.compare is not None:
        port = free_port()
        before_api = services(settings.model_copy(update={"api_port": port}))["api"]
        servers.append((str(args.compare), api_from(before_api, args.compare.resolve()), port))
    results: list[Result] = []
    loops: dict[str, str] = {}
    try:
        for label, service, _ in servers:
            supervisor.start(service)
            loops[label] = event_loop_of(supervisor.running[service.name][1].pid)
        host = settings.host
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
        if args.only is not None:
            keep = {"recommendations": "recommendations", "similar": "similar products"}
            wanted = {keep.get(name, "analytics query (cached)") for name in args.only}
            endpoints = {
                name: value
                for name, value in endpoints.items()
                if name.startswith("healthz") or name in wanted
            }

        for name, (paths, extra) in endpoints.items():
            requests = [_request(host, path, extra) for path in paths]
            # Servers take turns per endpoint: both see the same minute of the machine's load.
            for label, service, port in servers:
                pid = supervisor.running[service.name][1].pid

                generator.closed_loop(label, name, host, port, requests[:200], 4, 1.0)  # warm up
                before = cpu_seconds(pid)
                result = generator.open_loop(
                    label, name, host, port, requests, args.rate, args.seconds
                )
                result.server_cpu_s = cpu_seconds(pid) - before
                results.append(result)
                before = cpu_seconds(pid)
                result = generator.closed_loop(
                    label, name, host, port, requests, args.concurrency, args.seconds / 2
                )
                result.server_cpu_s = cpu_seconds(pid) - before
                results.append(result)
    finally:
        generator.close()
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
        f"\nserving benchmark, profile {args.profile}: one uvicorn worker per server, "
        f"{args.users:,} users x {PER_USER} recs, {PRODUCTS:,} products"
    )
    for label, _, _ in servers:
        print(f"server {label}: {loops[label]}")
    load = os.getloadavg()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; load average {load_before:.1f} at the start, "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the end; "
        f"load generator: {args.client_processes} process(es), "
        f"{args.connections} connections in the open loop"
    )
    print(
        "\n| server | endpoint | load | requests/s | p50 ms | p99 ms | max ms "
        "| server CPU ms/request | client CPU ms/request | errors |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for result in results:
        print(result.row())
    by_key = {(r.server, r.name, r.mode): r for r in results}
    print("\nratios to the healthz baseline of the same server and run:")
    for result in results:
        if result.name.startswith("healthz"):
            continue
        ref = by_key[(result.server, "healthz (baseline)", result.mode)]
        if result.mode.startswith("open"):
            p99 = result.quantile(0.99) / ref.quantile(0.99)
            print(f"  {result.server}, {result.name}: p99 x{p99:.2f}")
        else:
            print(
                f"  {result.server}, {result.name}: throughput x{result.rate / ref.rate:.2f}, "
                f"server CPU per request x{result.cpu_ms_per_request / ref.cpu_ms_per_request:.2f} "
                f"({result.cpu_ms_per_request:.3f} ms: one core answers "
                f"{1000 / result.cpu_ms_per_request:,.0f} requests/s)"
            )
    if len(servers) > 1:
        this, other = servers[0][0], servers[1][0]
        print(f"\nthis tree / {other} (same run, taking turns per endpoint):")
        for result in results:
            if result.server != this:
                continue
            ref = by_key[(other, result.name, result.mode)]
            cpu = result.cpu_ms_per_request / ref.cpu_ms_per_request
            if result.mode.startswith("open"):
                print(
                    f"  {result.name}, {result.mode}: server CPU per request x{cpu:.2f}, "
                    f"p50 x{result.quantile(0.5) / ref.quantile(0.5):.2f}, "
                    f"p99 x{result.quantile(0.99) / ref.quantile(0.99):.2f}"
                )
            else:
                print(
                    f"  {result.name}, {result.mode}: server CPU per request x{cpu:.2f}, "
                    f"throughput x{result.rate / ref.rate:.2f}"
                )
    print(f"\ncommand: {shlex.join([sys.executable, *sys.argv])}")


if __name__ == "__main__":
    main()
