"""The collector's durable append on its own: SQLite event log + group commit, old vs new code.

Runs, in a child process per turn, ``--writers`` coroutines on one event loop, each doing what a
``POST /v1/batch`` does around the append: validate ``--batch-size`` simulated events on the
loop (``ingest.validation.validate_batch``, so the writer thread competes for the GIL as in the
collector; ``--no-validate``: the append alone), then ``await GroupCommitter.append`` (the
durable write, ``synchronous=FULL``). It prints, per code version and turn:

- events/s appended durably and the process CPU per event (µs, all threads);
- append latency p50/p99/max (from the batch handed to the committer to its entry id);
- write latency p50/p99/max (one group's ``append_many`` in the worker thread: fsync and any
  checkpoint run inside it);
- event-loop lag p99/max (how late a 1 ms timer fires: the loop blocked by the GIL);
- the WAL file's size at the end (what a checkpoint still has to copy).

The code versions take turns (``--rounds``), each on a fresh database, so a busy machine
affects both alike; the ratios are of the medians over the rounds.

    git archive HEAD | tar -x -C /tmp/ingest-log/old
    .venv/bin/python benchmarks/event_log.py --old /tmp/ingest-log/old [--seconds 8]
        [--writers 16] [--batch-size 100] [--rounds 3] [--no-validate]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

REPO = Path(__file__).resolve().parents[1]

P = ParamSpec("P")
R = TypeVar("R")


def percentile_ms(values: list[float], q: int) -> float:
    """The ``q``-th percentile of ``values`` (seconds), in milliseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def simulated_bodies(count: int, batch_size: int) -> list[bytes]:
    """``count`` simulated shop messages as ``POST /v1/batch`` bodies of ``batch_size``."""
    import msgspec

    from intellishop.simulation import SimulationConfig, generate_events

    messages: list[Any] = []
    for message in generate_events(SimulationConfig(seed=7, days=30, customers=2000)):
        messages.append(message)
        if len(messages) == count:
            return [
                msgspec.json.encode({"batch": messages[i : i + batch_size]})
                for i in range(0, count, batch_size)
            ]
    raise RuntimeError("the simulated shop is too small for this run")


async def run_writers(args: argparse.Namespace, db: Path) -> dict[str, Any]:
    """The timed run of one child: writers appending for ``args.seconds``."""
    from ingest.event_log import SqliteEventLog
    from ingest.event_log.group_commit import GroupCommitter
    from ingest.validation import decode_envelope, validate_batch
    from intellishop.events import LoggedBatch

    chunks = simulated_bodies(args.batch_size * 50, args.batch_size)

    takes_body = "body" in inspect.signature(validate_batch).parameters
    limits: dict[str, Any] = {"max_event_bytes": 1 << 20, "max_future_us": 10**13}

    def validate(body: bytes) -> tuple[list[Any], list[Any]]:
        received_at_us = time.time_ns() // 1000
        if takes_body:
            batch = validate_batch(body, received_at_us=received_at_us, **limits)
            return batch.accepted, batch.rejected
        # code before c89952d (--old): validate_batch took the envelope's messages
        old_validate_batch: Any = validate_batch
        accepted, rejected = old_validate_batch(
            decode_envelope(body).batch,
            received_at_us=received_at_us,
            envelope_sent_at=None,
            envelope_context=None,
            **limits,
        )
        return accepted, rejected

    validated = [validate(chunk)[0] for chunk in chunks]
    log = SqliteEventLog(db)
    committer = GroupCommitter(log)
    write_seconds: list[float] = []

    def timed(write: Callable[P, R]) -> Callable[P, R]:
        """``write`` (one of the log's appends), its seconds added to ``write_seconds``."""

        def timed_write(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return write(*args, **kwargs)
            finally:
                write_seconds.append(time.perf_counter() - started)

        return timed_write

    log.append_many = timed(log.append_many)  # type: ignore[method-assign]
    log.append = timed(log.append)  # type: ignore[method-assign]

    latencies: list[float] = []
    lags: list[float] = []
    events = 0
    deadline = 0.0

    async def writer(index: int) -> None:
        nonlocal events
        turn = index
        while time.perf_counter() < deadline:
            if args.validate:
                accepted, rejected = validate(chunks[turn % len(chunks)])
                assert not rejected
            else:
                accepted = validated[turn % len(chunks)]
            turn += args.writers
            started = time.perf_counter()
            await committer.append(LoggedBatch("bench", accepted))
            latencies.append(time.perf_counter() - started)
            events += len(accepted)

    async def ticker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - started - 0.001)

    deadline = time.perf_counter() + 1.0  # warm-up: thread pool, page cache, first WAL
    await asyncio.gather(*(writer(i) for i in range(args.writers)))
    latencies.clear()
    write_seconds.clear()
    events = 0
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(ticker(), *(writer(i) for i in range(args.writers)))
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    wal = db.with_name(db.name + "-wal")
    result = {
        "events_per_s": events / seconds,
        "cpu_us_per_event": cpu / events * 1e6,
        "append_p50_ms": percentile_ms(latencies, 50),
        "append_p99_ms": percentile_ms(latencies, 99),
        "append_max_ms": max(latencies) * 1000,
        "write_p50_ms": percentile_ms(write_seconds, 50),
        "write_p99_ms": percentile_ms(write_seconds, 99),
        "write_max_ms": max(write_seconds) * 1000,
        "batches_per_write": len(latencies) / len(write_seconds),
        "loop_lag_p99_ms": percentile_ms(lags, 99),
        "loop_lag_max_ms": max(lags) * 1000,
        "wal_mb_at_end": (wal.stat().st_size if wal.exists() else 0) / 1e6,
    }
    log.close()
    return result


def child(args: argparse.Namespace) -> None:
    """One turn of one code version (``--code``), printed as one JSON line."""
    sys.path.insert(0, args.code)
    with tempfile.TemporaryDirectory(prefix="event-log-bench-", dir=args.tmp) as tmp:
        result = asyncio.run(run_writers(args, Path(tmp) / "events.sqlite"))
    print(json.dumps(result))


def turn(args: argparse.Namespace, code: str) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--child", "--code", code, "--seconds", str(args.seconds),
        "--writers", str(args.writers), "--batch-size", str(args.batch_size),
    ]  # fmt: skip
    if args.tmp:
        command += ["--tmp", args.tmp]
    if not args.validate:
        command.append("--no-validate")
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=code).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", help="a checkout of the old code (git archive); omit: new only")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--writers", type=int, default=16, help="requests in flight")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--validate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="validate each batch on the loop first, as a request does (--no-validate: the "
        "append alone)",
    )
    parser.add_argument("--tmp", help="where the databases go (default: the system temp dir)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", default=str(REPO), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    versions = {"new": str(REPO)} | ({"old": args.old} if args.old else {})
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
    print("command:", shlex.join([sys.executable, *sys.argv]))
    for round_ in range(args.rounds):
        for name, code in list(versions.items())[:: 1 if round_ % 2 else -1]:
            result = turn(args, code)
            results[name].append(result)
            shown = " ".join(f"{key}={value:.3g}" for key, value in result.items())
            print(f"round {round_ + 1} {name}: {shown}  loadavg {_loadavg()}", flush=True)
    medians = {
        name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for name, runs in results.items()
    }
    for name, median in medians.items():
        print(f"median {name}: " + " ".join(f"{k}={v:.3g}" for k, v in median.items()))
    if "old" in medians:
        new, old = medians["new"], medians["old"]
        print(
            "new/old: "
            + " ".join(f"{key}={new[key] / old[key]:.2f}" for key in new if old[key] > 0)
        )
    print(f"cpus: {os.cpu_count()}  loadavg at end: {_loadavg()}")


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
