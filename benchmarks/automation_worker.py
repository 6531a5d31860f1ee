"""Automation worker throughput on the prod backends: events/s through ``ingest_log``.

Fills a Redis stream of its own with soak-shaped traffic (100-event batches of ``Product
Viewed`` by 5,000 anonymous visitors over 800 products, one in ten with a user id too) for one
tenant with a browse-abandonment rule (trigger ``Product Viewed``, cancelled by ``Order
Completed``, a webhook after an hour), then times the worker reading it into a PostgreSQL
automation store of its own (a database created and dropped here). Runs the committed worker
(``git show HEAD:intellishop/automation/worker.py``) and the working tree's, alternately, on
fresh streams and databases, and prints each one's events/s, their ratio, the load average and
the command. ``--profile`` prints the top of a cProfile of one working-tree run.

    .venv/bin/python benchmarks/automation_worker.py [--entries 100] [--repeat 2] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.event_log import RedisStreamEventLog  # noqa: E402
from intellishop.automation.config import AutomationConfig  # noqa: E402
from intellishop.automation.rules import RuleSpec  # noqa: E402
from intellishop.automation.store import AutomationStore  # noqa: E402
from intellishop.events import LoggedBatch, LoggedEvent  # noqa: E402
from intellishop.settings import Settings  # noqa: E402

RULE = {
    "name": "Browse abandonment",
    "trigger_event": "Product Viewed",
    "cancel_on": ["Order Completed"],
    "delay_seconds": 3600,
    "actions": [
        {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "whsec_0123456789ab"}
    ],
}


def baseline_module() -> ModuleType:
    """The committed worker, imported next to the working tree's (same package, other name)."""
    source = subprocess.run(
        ["git", "show", "HEAD:intellishop/automation/worker.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "baseline_worker.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("intellishop.automation._baseline_worker", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def event(i: int) -> LoggedEvent:
    visitor = f"visitor-{i % 5000}"
    return LoggedEvent(
        message_id=f"bench-{uuid.uuid4().hex}",
        type="track",
        event="Product Viewed",
        user_id=f"user-{i % 5000}" if i % 10 == 0 else None,
        anonymous_id=visitor,
        timestamp_us=1_700_000_000_000_000 + i,
        sent_at_us=None,
        received_at_us=1_700_000_000_000_000 + i,
        properties=msgspec.json.encode({"product_id": f"sku-{i % 800}", "price": 19.99}),
        traits=b"{}",
        context=msgspec.json.encode({"location": {"country": "DE"}} if i % 3 == 0 else {}),
    )


def one_run(worker_cls: Any, entries: int, redis_url: str, admin_dsn: str, prof: bool) -> float:
    name = f"intellishop_autobench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as con:
        con.execute(f"create database {name}")
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    client = redis.Redis.from_url(redis_url)
    stream = f"bench:automation:{uuid.uuid4().hex}"
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(data_dir=Path(data_dir))
            settings.ensure_dirs()
            store = AutomationStore(dsn)
            store.create_rule("shop-a", RuleSpec.model_validate(RULE))
            log = RedisStreamEventLog(client, stream, member="bench")
            log.append_many(
                [
                    LoggedBatch("shop-a", [event(e * 100 + i) for i in range(100)])
                    for e in range(entries)
                ]
            )
            config = AutomationConfig.from_settings(settings, poll_seconds=0.05)
            worker = worker_cls(settings, config, store=store, event_log=log)
            worker._rules = store.enabled_rules()
            profiler = cProfile.Profile() if prof else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            from intellishop.automation.worker import PassReport

            tally = PassReport()
            worker.ingest_log(tally)
            seconds = time.perf_counter() - started
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            assert tally.events == entries * 100, tally
            worker.close()
    finally:
        for key in client.scan_iter(f"{stream}*"):
            client.delete(key)
        client.close()
        with psycopg.connect(admin_dsn, autocommit=True) as con:
            con.execute(f"drop database if exists {name} with (force)")
    return entries * 100 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100, help="100-event entries per run")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    from intellishop.automation.worker import Worker

    if args.profile:
        one_run(Worker, args.entries, args.redis_url, args.postgres_dsn, True)
        return
    baseline = baseline_module().Worker
    before: list[float] = []
    after: list[float] = []
    for _ in range(args.repeat):
        before.append(one_run(baseline, args.entries, args.redis_url, args.postgres_dsn, False))
        after.append(one_run(Worker, args.entries, args.redis_url, args.postgres_dsn, False))
    print(f"events per run: {args.entries * 100}, runs each: {args.repeat} (alternating)")
    for label, runs in (("committed worker (HEAD)", before), ("working-tree worker", after)):
        print(f"{label:25} best {max(runs):8.0f} events/s  all {[round(x) for x in runs]}")
    print(f"ratio (after / before, best of each): {max(after) / max(before):.2f}x")
    print(f"load average: {os.getloadavg()}  cores: {os.cpu_count()}")
    print("command: " + shlex.join([".venv/bin/python", *sys.argv]))


if __name__ == "__main__":
    main()
