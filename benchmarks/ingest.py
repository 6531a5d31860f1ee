"""Collector and loader throughput, local profile, one collector worker, in one run.

Starts the real collector (``intellishop.services``: one uvicorn worker, the SQLite event log
with ``synchronous=FULL``) on a temporary data directory and a free loopback port, then sends
simulated shop traffic (``intellishop.simulation``) over HTTP from a lean asyncio client (prepared
HTTP/1.1 requests on keep-alive connections: it shares the two cores) that keeps a fixed
number of requests in flight:

1. batched: ``--batch-size`` events per ``POST /v1/batch`` (how Segment's libraries send);
2. the loader drains the event log into the Parquet raw zone (in this process, timed);
3. baseline: one track event per ``POST /v1/track``, the same client and concurrency;
4. the HTTP floor: the batched bodies again, to uvicorn started by the collector's own command
   but serving a bare ASGI app that reads the body and answers (``benchmarks/bare_asgi.py``):
   its server CPU per event is what HTTP alone costs, the part of the collector's figure that
   no change to the collector's code can remove.

It prints events/s for both sends and their ratio, p50/p99 request latency, the loader's
events/s, the HTTP floor, the machine, and the exact command that produced the figures.

With ``--profile prod`` the collector appends to Redis Streams and a loader runs continuously
into PostgreSQL while the batches are sent: ``intellishop load --follow`` in its own process
(``--loader process``, the default, as deployed) or ``follow_event_log`` in a thread of this
process (``--loader thread``). It measures accept-to-raw-zone latency: from the HTTP 200 of a
batch to its rows being committed in ``raw.events``. ``--loader after`` stops the loader during
the send instead (the collector alone on the cores) and times how fast it catches up. It uses
a stream key and a database of its own (both removed afterwards) on ``--redis-url`` and
``--postgres-dsn``, and prints the collector's CPU per event for the send as the local run does.

With ``--asgi`` the collector app runs in this process and the batches go straight through its
ASGI interface (no HTTP, no client CPU): it prints the process CPU per event of everything the
collector does for ``POST /v1/batch`` except HTTP parsing (auth, limits, validation, enrichment,
the durable SQLite append, metrics, the access log). Less sensitive to a busy machine than the
HTTP figure, so it is the one to compare two versions of the code with (``--repeat`` runs,
best of).

    .venv/bin/python benchmarks/ingest.py [--batches 1000] [--singles 5000] [--concurrency 16]
    .venv/bin/python benchmarks/ingest.py --profile prod [--loader process] [--rate 50]
    .venv/bin/python benchmarks/ingest.py --asgi [--batches 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import itertools
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
import pyarrow as pa
import redis
import uvloop
from psycopg import sql

from ingest.loader import LoadReport, drain_event_log, follow_event_log
from intellishop.ports import free_port
from intellishop.services import Service, Supervisor, services
from intellishop.settings import Profile, Settings
from intellishop.simulation import SimulationConfig, generate_events
from intellishop.tenants import TenantRegistry

WARMUP_REQUESTS = 20


@dataclass
class Phase:
    """One timed send: ``requests`` requests carrying ``events`` events in ``seconds``."""

    events: int
    requests: int
    seconds: float
    latencies_s: list[float]
    #: CPU the sending process used meanwhile (HTTP client sends only).
    client_cpu_s: float = 0.0

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
    url: str,
    bodies: list[bytes],
    events_per_body: list[int],
    key: str,
    concurrency: int,
    accepted_at: list[float] | None = None,
    interval: float = 0.0,
    check_answers: bool = True,
) -> Phase:
    """POST every body with ``concurrency`` requests in flight; every event must be accepted
    (``check_answers=False``: every answer must be a 200, for the bare app of the HTTP floor).

    ``accepted_at``, if given, receives each body's 200 time (``time.perf_counter``) by index;
    ``interval`` > 0 paces the sends: body ``i`` leaves no earlier than ``i * interval`` s in.

    Each of the ``concurrency`` workers keeps one HTTP/1.1 connection alive and writes
    prepared request bytes on it: the client shares the machine's two cores with the
    collector, and httpx spent 2.3 ms of CPU per 107 KiB request (more than the collector's
    1.5 ms), so the same collector looked slower: 40-46k against 69-71k events/s, p99 163-215
    against 114-127 ms (docs/benchmarks.md, 2026-11-26 07:25).
    """
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"{url}: expected http://host:port/path")
    credentials = base64.b64encode(f"{key}:".encode()).decode()
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Basic {credentials}\r\nContent-Type: application/json\r\n"
        "Content-Length: "
    ).encode()
    decoder = msgspec.json.Decoder()
    latencies: list[float] = []
    indexes = iter(range(len(bodies)))
    pending = iter(zip(bodies, events_per_body, strict=True))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            for (body, expected), index in zip(pending, indexes, strict=False):
                if interval:
                    await asyncio.sleep(max(0.0, begin + index * interval - time.perf_counter()))
                started = time.perf_counter()
                writer.write(b"%s%d\r\n\r\n%s" % (head, len(body), body))
                status, payload = await _read_response(reader, url)
                done = time.perf_counter()
                latencies.append(done - started)
                if accepted_at is not None:
                    accepted_at[index] = done
                if status == 200 and not check_answers:
                    continue
                answer = decoder.decode(payload) if status == 200 else None
                if not answer or answer.get("accepted") != expected or answer.get("rejected"):
                    raise RuntimeError(f"{url}: HTTP {status} {payload[:300]!r}")
        finally:
            writer.close()

    # The simulated events this process holds (millions of objects) are frozen out of the
    # garbage collector's reach: a full collection of them takes this client 80-280 ms
    # (measured with gc.callbacks), and one during a send would delay every request in flight.
    gc.collect()
    gc.freeze()
    try:
        cpu_before = time.process_time()
        started = begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        client_cpu_s = time.process_time() - cpu_before
    finally:
        gc.unfreeze()
    return Phase(sum(events_per_body), len(bodies), seconds, latencies, client_cpu_s)


async def _read_response(reader: asyncio.StreamReader, url: str) -> tuple[int, bytes]:
    """The status and body of one HTTP/1.1 response (the collector always sends a length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise RuntimeError(f"{url}: response without Content-Length: {head[:300]!r}")
    return int(head[9:12]), await reader.readexactly(length)


def http_floor_cpu(
    supervisor: Supervisor,
    collector: Service,
    host: str,
    batch_bodies: list[bytes],
    concurrency: int,
) -> float:
    """Server CPU seconds for the timed batch bodies sent to a bare ASGI app (the HTTP floor)
    served by the collector's own uvicorn command (its last three arguments name the port and
    the app)."""
    port = free_port()
    bare = Service(
        "bare",
        "uvicorn serving benchmarks/bare_asgi.py",
        [
            *collector.command[:-3],
            "--port",
            str(port),
            "--app-dir",
            str(Path(__file__).resolve().parent),
            "bare_asgi:create_app",
        ],
        port,
        "/healthz",
    )
    supervisor.start(bare)
    url = bare.url(host) + "/v1/batch"

    def send(bodies: list[bytes]) -> None:
        # The bare app counts nothing: only its 200s are checked.
        sizes = [0] * len(bodies)
        uvloop.run(post_all(url, bodies, sizes, "", concurrency, check_answers=False))

    send(batch_bodies[:WARMUP_REQUESTS])
    pid = supervisor.running["bare"][1].pid
    before = process_cpu_seconds(pid)
    send(batch_bodies[WARMUP_REQUESTS:])
    return process_cpu_seconds(pid) - before


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from ``/proc`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


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
        *(
            [
                f"--profile={args.profile}",
                f"--loader={args.loader}",
                *([f"--loaders={args.loaders}"] if args.loaders != 1 else []),
                f"--rate={args.rate:g}",
            ]
            if args.profile != "local"
            else []
        ),
        *(["--asgi", f"--repeat={args.repeat}"] if args.asgi else []),
        f"--batches={args.batches}",
        f"--batch-size={args.batch_size}",
        *([f"--singles={args.singles}"] if args.profile == "local" and not args.asgi else []),
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
    parser.add_argument("--profile", choices=["local", "prod"], default="local")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="prod: batches/s to send (0: as fast as possible)"
    )
    parser.add_argument(
        "--loader",
        choices=["process", "thread", "after"],
        default="process",
        help="prod: `intellishop load --follow` as its own process, or a thread of this one;"
        " `after`: its own process, stopped while the batches are sent (the collector alone on"
        " the cores, as the local run's loader drains after the send), then draining",
    )
    parser.add_argument(
        "--loaders",
        type=int,
        default=1,
        help="prod, --loader process or after: loader processes, each its own consumer-group"
        " member (as replicas are)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--asgi", action="store_true", help="in-process: collector CPU per event, no HTTP"
    )
    parser.add_argument("--repeat", type=int, default=3, help="--asgi: timed runs (best of)")
    args = parser.parse_args()
    if args.loaders < 1:
        parser.error("--loaders: at least 1")
    if args.profile == "prod":
        prod_main(args)
        return
    if args.asgi:
        asgi_main(args)
        return

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
        _, key = TenantRegistry(settings.tenants_db_path).create("Bench Shop", plan="enterprise")
        supervisor = Supervisor(settings, Path(tmp) / "logs")
        collector = services(settings)["collector"]
        base = collector.url(settings.host)

        def send(path: str, bodies: list[bytes], sizes: list[int]) -> Phase:
            return uvloop.run(post_all(base + path, bodies, sizes, key, args.concurrency))

        try:
            supervisor.start(collector)
            w = WARMUP_REQUESTS
            send("/v1/batch", batch_bodies[:w], [len(b) for b in batches[:w]])
            collector_pid = supervisor.running["collector"][1].pid
            cpu_before = process_cpu_seconds(collector_pid)
            batched = send("/v1/batch", batch_bodies[w:], [len(b) for b in batches[w:]])
            collector_cpu = process_cpu_seconds(collector_pid) - cpu_before
            # The loader runs while the collector idles, on 100-event entries only.
            started = time.perf_counter()
            loaded = drain_event_log(settings)
            load_seconds = time.perf_counter() - started
            if loaded.events != batch_events:
                raise RuntimeError(f"loaded {loaded.events} events, expected {batch_events}")
            send("/v1/track", track_bodies[:w], [1] * w)
            single = send("/v1/track", track_bodies[w:], [1] * args.singles)
            floor_cpu = http_floor_cpu(
                supervisor, collector, settings.host, batch_bodies, args.concurrency
            )
        finally:
            supervisor.stop_all()

    body_kib = statistics.mean(len(body) for body in batch_bodies) / 1024
    print(f"command: {command_line(args)}")
    print(
        f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
        f"Python {platform.python_version()} from {sys.base_prefix}, "
        f"{platform.system()} {platform.release()}; "
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
        f"  collector CPU for the batched send: {collector_cpu:.2f} s = "
        f"{batched.events / collector_cpu:,.0f} events per collector-core-second "
        "(durable: each 200 after the SQLite append)"
    )
    print(f"  client CPU for the batched send: {batched.client_cpu_s:.2f} s")
    collector_us = collector_cpu / batched.events * 1e6
    floor_us = floor_cpu / batched.events * 1e6
    print(
        f"  HTTP floor (the same bodies to uvicorn serving benchmarks/bare_asgi.py): "
        f"{floor_us:.2f} µs of server CPU per event ({floor_cpu / batched.requests * 1e6:.0f} µs "
        f"per request); the collector {collector_us:.2f} µs per event, "
        f"{collector_us - floor_us:.2f} µs of it past HTTP"
    )
    print(
        f"loader: {loaded.events:,} events ({loaded.batches} log entries) into "
        f"{len(loaded.files)} Parquet files in {load_seconds:.2f} s "
        f"= {loaded.events / load_seconds:,.0f} events/s"
    )


async def post_asgi(
    app: Any, bodies: list[bytes], authorization: bytes, concurrency: int
) -> list[float]:
    """POST every body to ``app`` through ASGI, ``concurrency`` at a time; request latencies."""
    latencies: list[float] = []
    pending = iter(bodies)

    async def one(body: bytes) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/batch",
            "raw_path": b"/v1/batch",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"collector"),
                (b"content-type", b"application/json"),
                (b"authorization", authorization),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"HTTP {sent[0]['status']}: {sent[1].get('body', b'')[:300]!r}")

    async def worker() -> None:
        for body in pending:
            started = time.perf_counter()
            await one(body)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def asgi_main(args: argparse.Namespace) -> None:
    """The collector app in this process, batches through ASGI: process CPU per event."""
    import logging

    from ingest.app import create_app
    from ingest.logging import ACCESS_LOGGER_NAME

    load_before = os.getloadavg()[0]
    batch_events = (WARMUP_REQUESTS + args.batches) * args.batch_size
    events, _ = simulated_events(batch_events, 1)
    sent_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    bodies = [
        msgspec.json.encode({"batch": events[i : i + args.batch_size], "sentAt": sent_at})
        for i in range(0, batch_events, args.batch_size)
    ]
    runs: list[tuple[float, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="intellishop-bench-") as tmp:
        settings = Settings(profile=Profile.LOCAL, data_dir=Path(tmp), host="127.0.0.1")
        settings.ensure_dirs()
        _, key = TenantRegistry(settings.tenants_db_path).create("Bench Shop", plan="enterprise")
        authorization = b"Basic " + base64.b64encode(f"{key}:".encode())
        app = create_app(settings)
        # The access log still formats every line (its cost is counted); it is not printed.
        with open(os.devnull, "w") as devnull:
            for handler in logging.getLogger(ACCESS_LOGGER_NAME).handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(devnull)
            for _ in range(args.repeat):
                w = WARMUP_REQUESTS
                uvloop.run(post_asgi(app, bodies[:w], authorization, args.concurrency))
                cpu_before = time.process_time()
                latencies = uvloop.run(post_asgi(app, bodies[w:], authorization, args.concurrency))
                runs.append((time.process_time() - cpu_before, latencies))
        app.state.event_log.close()
    timed = args.batches * args.batch_size
    print(f"command: {command_line(args)}")
    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()} from "
        f"{sys.base_prefix}; 1-min load "
        f"average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"collector in-process (ASGI, no HTTP), local profile (SQLite, synchronous=FULL), "
        f"{args.concurrency} requests in flight, {args.batch_size}-event batches"
    )
    for cpu, latencies in runs:
        print(
            f"  {timed:,} events: process CPU {cpu:.2f} s = {timed / cpu:,.0f} events per "
            f"core-second; p50 / p99 {percentile_ms(latencies, 50):.1f} / "
            f"{percentile_ms(latencies, 99):.1f} ms"
        )
    best = min(cpu for cpu, _ in runs)
    print(f"  best of {len(runs)}: {timed / best:,.0f} events per collector-core-second")


def percentile_ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


class LandingPoller:
    """Watches PostgreSQL from outside the loader: when is each accepted batch in the raw zone?

    A batch's rows are committed in one transaction (a loader chunk holds whole event-log
    entries), together with its message ids in ``raw.loaded_messages``; so a batch has landed
    when its last message id is there. Every ``interval`` s one indexed query asks about the
    ``window`` oldest batches not seen yet (batches land about in the order they are sent); a
    batch is stamped when first seen (so the figure includes up to one interval plus one query
    of observation delay, more for a batch that landed ahead of ``window`` older ones).

    The watching costs the loader CPU on a two-core machine, so it asks about few batches:
    asking about every batch not seen yet, as it did until 2026-11-26, kept a PostgreSQL
    backend busy on a whole core in a run of 1,000 batches (a 1,000-id ``any`` every 2 ms), and
    the figure measured the watcher: p50 470 ms at 5,000 events/s, 97 ms asking about 64, 33 ms
    about 8 (``--loader thread``, where the loader stamps its own commits: 9 ms)."""

    window = 8

    def __init__(self, dsn: str, tenant_id: str, last_ids: list[str]) -> None:
        self.dsn, self.tenant_id, self.last_ids = dsn, tenant_id, last_ids
        self.landed_at = [0.0] * len(last_ids)
        self.stop = threading.Event()
        self.interval = 0.002
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        con: psycopg.Connection[tuple[Any, ...]] | None = None
        while not self.stop.is_set():
            try:
                con = con or psycopg.connect(self.dsn, autocommit=True)
                # The oldest batches not seen yet, sent or not: one not sent cannot be there,
                # and the client fills in acceptance times only after its send.
                waiting = dict(
                    itertools.islice(
                        (
                            (message_id, i)
                            for i, message_id in enumerate(self.last_ids)
                            if not self.landed_at[i]
                        ),
                        self.window,
                    )
                )
                if waiting:
                    rows = con.execute(
                        "select message_id from raw.loaded_messages"
                        " where tenant_id = %s and message_id = any(%s)",
                        (self.tenant_id, list(waiting)),
                    ).fetchall()
                    now = time.perf_counter()
                    for (message_id,) in rows:
                        self.landed_at[waiting[message_id]] = now
            except psycopg.Error:
                con = None  # raw.loaded_messages not created yet, or a reconnect
            self.stop.wait(self.interval)
        if con is not None:
            con.close()


def start_loader_process(data_dir: Path, log_path: Path, member: str) -> subprocess.Popen[bytes]:
    """``intellishop load --follow`` in a process of its own, as the prod deployment runs it,
    as consumer-group member ``member`` (each replica is one)."""
    command = [str(Path(sys.executable).parent / "intellishop"), "load", "--follow"]
    env = {
        **os.environ,
        "INTELLISHOP_DATA_DIR": str(data_dir),
        "INTELLISHOP_LOADER_MEMBER": member,
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def prod_main(args: argparse.Namespace) -> None:
    """Collector on Redis Streams, loader following into PostgreSQL: accept-to-raw-zone latency.

    ``--loader process`` (the default) runs ``intellishop load --follow`` as its own process and
    watches PostgreSQL for each batch (:class:`LandingPoller`); ``--loader thread`` runs
    ``follow_event_log`` in a thread of this process with 100-entry chunks and stamps each
    chunk as the loader commits it (the earlier way, kept for comparison). ``--loader after``
    stops the loader process (SIGSTOP) for the timed send and resumes it afterwards: on a
    machine whose two cores also run the client, Redis, PostgreSQL and the loader, that is the
    collector's throughput and latency with the cores to itself, and the loader's rate into
    PostgreSQL while it catches up; accept-to-raw-zone is then the backlog's wait, so it is
    not printed."""
    load_before = os.getloadavg()[0]
    batch_events = (WARMUP_REQUESTS + args.batches) * args.batch_size
    events, _ = simulated_events(batch_events, 1)
    sent_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    batches = [events[i : i + args.batch_size] for i in range(0, batch_events, args.batch_size)]
    bodies = [msgspec.json.encode({"batch": b, "sentAt": sent_at}) for b in batches]
    # Every message id of a batch maps to the batch, so a chunk's rows find their batch.
    batch_of = {e["messageId"]: i for i, b in enumerate(batches) for e in b}
    stream = f"bench-{uuid.uuid4().hex}:events"
    database = f"intellishop_bench_{uuid.uuid4().hex[:12]}"
    dsn = psycopg.conninfo.make_conninfo(args.postgres_dsn, dbname=database)
    os.environ.update(
        {
            "INTELLISHOP_PROFILE": "prod",
            "INTELLISHOP_ADMIN_TOKEN": uuid.uuid4().hex,
            "INTELLISHOP_JWT_SECRET": uuid.uuid4().hex * 2,
            "INTELLISHOP_REDIS_URL": args.redis_url,
            "INTELLISHOP_REDIS_STREAM": stream,
            "INTELLISHOP_POSTGRES_DSN": dsn,
        }
    )
    # Rows of a batch counted as they become durable in PostgreSQL; the last one stamps it.
    remaining = [len(b) for b in batches]
    landed_at = [0.0] * len(batches)
    accepted_at = [0.0] * len(batches)

    def on_written(table: pa.Table) -> None:
        now = time.perf_counter()
        for message_id in table.column("message_id").to_pylist():
            index = batch_of.get(message_id)
            if index is not None:
                remaining[index] -= 1
                if remaining[index] == 0:
                    landed_at[index] = now

    in_process = args.loader == "thread"
    with tempfile.TemporaryDirectory(prefix="intellishop-bench-") as tmp:
        settings = Settings(
            profile=Profile.PROD, data_dir=Path(tmp), host="127.0.0.1", collector_port=free_port()
        )
        settings.ensure_dirs()
        tenant, key = TenantRegistry(settings.tenants_db_path).create(
            "Bench Shop", plan="enterprise"
        )
        supervisor = Supervisor(settings, Path(tmp) / "logs")
        collector = services(settings)["collector"]
        base = collector.url(settings.host)
        stop, report = threading.Event(), LoadReport()
        loader = threading.Thread(
            target=follow_event_log,
            args=(settings, stop),
            kwargs={"chunk_entries": 100, "idle_seconds": 0.005, "report": report,
                    "on_written": on_written},
        )  # fmt: skip
        poller = LandingPoller(dsn, tenant.tenant_id, [b[-1]["messageId"] for b in batches])
        if not in_process:
            landed_at = poller.landed_at
        loader_processes: list[subprocess.Popen[bytes]] = []
        w = WARMUP_REQUESTS
        try:
            supervisor.start(collector)
            if in_process:
                loader.start()
            else:
                loader_processes = [
                    start_loader_process(
                        Path(tmp), Path(tmp) / "logs" / f"loader-{n}.log", f"bench-{n}"
                    )
                    for n in range(args.loaders)
                ]
                poller.thread.start()
            uvloop.run(
                post_all(base + "/v1/batch", bodies[:w], [len(b) for b in batches[:w]], key,
                         args.concurrency, accepted_at)
            )  # fmt: skip
            deadline = time.monotonic() + 120
            while not all(landed_at[:w]) and time.monotonic() < deadline:
                time.sleep(0.01)  # the loader is connected and has caught up: time from here
            # The watcher's lookups by id need the table's statistics: PostgreSQL planned them
            # for the empty table the loader created and scanned all of it every 2 ms (a
            # backend on 60 % of a core, taken from the collector and the loader it measures).
            with psycopg.connect(dsn, autocommit=True) as con:
                con.execute("analyze raw.loaded_messages")
            collector_pid = supervisor.running["collector"][1].pid
            if args.loader == "after":
                for process in loader_processes:
                    process.send_signal(signal.SIGSTOP)
            cpu_before = process_cpu_seconds(collector_pid)
            timed = uvloop.run(
                post_all(base + "/v1/batch", bodies[w:], [len(b) for b in batches[w:]], key,
                         args.concurrency, accepted := [0.0] * args.batches,
                         interval=1 / args.rate if args.rate else 0.0)
            )  # fmt: skip
            collector_cpu = process_cpu_seconds(collector_pid) - cpu_before
            resumed_at = time.perf_counter()
            if args.loader == "after":
                for process in loader_processes:
                    process.send_signal(signal.SIGCONT)
            accepted_at[w:] = accepted
            deadline = time.monotonic() + 120
            while not all(landed_at[w:]) and time.monotonic() < deadline:
                time.sleep(0.01)
            drained_at = time.perf_counter()
        finally:
            stop.set()
            poller.stop.set()
            if in_process:
                loader.join(timeout=60)
            for process in loader_processes:
                process.send_signal(signal.SIGCONT)  # a stopped one would not end
                process.terminate()
                process.wait(timeout=60)
            supervisor.stop_all()
            client = redis.Redis.from_url(args.redis_url)
            for name in client.scan_iter(match=f"{stream}*"):
                client.delete(name)
            if not in_process:
                poller.thread.join(timeout=10)
            with psycopg.connect(args.postgres_dsn, autocommit=True) as con:
                con.execute(
                    sql.SQL("drop database if exists {} with (force)").format(
                        sql.Identifier(database)
                    )
                )
    if not all(landed_at):
        missing = sum(len(batches[i]) for i, at in enumerate(landed_at) if not at)
        raise RuntimeError(f"{missing} accepted events never reached the raw zone")
    lag = [landed_at[i] - accepted_at[i] for i in range(WARMUP_REQUESTS, len(batches))]
    print(f"command: {command_line(args)}")
    print(
        f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
        f"Python {platform.python_version()} from {sys.base_prefix}, "
        f"{platform.system()} {platform.release()}; "
        f"1-min load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    loader_text = (
        "loader: follow_event_log in a thread of this process, chunks of up to 100 entries, "
        "each batch stamped when its chunk committed"
        if in_process
        else f"loader: `intellishop load --follow` in {args.loaders} process(es) of its own"
        " (default chunks, one consumer-group member each)"
        + (", stopped during the send and resumed after it" if args.loader == "after" else "")
        + ", each batch stamped when seen in raw.loaded_messages (polled every "
        f"{poller.interval * 1000:g} ms)"
    )
    print(
        f"collector: prod profile (Redis Streams, one XADD per batch), 1 uvicorn worker, "
        f"{args.concurrency} requests in flight"
        f"{f', paced at {args.rate:g} batches/s' if args.rate else ', unpaced'}; {loader_text}"
    )
    print(
        f"  sent {timed.events:,} events in {args.batches} batches: "
        f"{timed.events_per_s:,.0f} events/s, HTTP p50 {timed.percentile_ms(50):.1f} ms, "
        f"p99 {timed.percentile_ms(99):.1f} ms"
    )
    print(
        f"  collector CPU for the send: {collector_cpu:.2f} s = "
        f"{timed.events / collector_cpu:,.0f} events per collector-core-second (durable: each "
        "200 after the XADD)"
    )
    if args.loader == "after":
        print(
            f"  loader resumed after the send: all {timed.events:,} events in the raw zone "
            f"{(drained_at - resumed_at) * 1000:.0f} ms later = "
            f"{timed.events / (drained_at - resumed_at):,.0f} events/s into PostgreSQL"
        )
        return
    print(
        f"  accept-to-raw-zone (HTTP 200 -> the batch committed in PostgreSQL): "
        f"p50 {percentile_ms(lag, 50):.1f} ms, p99 {percentile_ms(lag, 99):.1f} ms, "
        f"max {max(lag) * 1000:.1f} ms (p99 / HTTP p99: "
        f"{percentile_ms(lag, 99) / timed.percentile_ms(99):.1f}x)"
    )
    print(
        f"  all in the raw zone {(drained_at - max(accepted_at)) * 1000:.0f} ms after the last 200"
        + (
            f"; loader: {report.events:,} events ({report.batches} entries, "
            f"{report.duplicates} duplicates skipped)"
            if in_process
            else ""
        )
    )


if __name__ == "__main__":
    main()
