"""Warehouse benchmark: how long `dbt build` takes over N simulated events, against a raw scan.

    .venv/bin/python benchmarks/pipeline.py --events 10000000 [--postgres-events 1000000]

1. Prepare (not timed): simulated shops' events, their contexts enriched as the collector
   enriches them, written to a Parquet raw zone in the layout the loader produces
   (docs/contracts.md), cached under --work-dir by size and seed.
2. Baseline, same run: one DuckDB scan of the raw zone that parses every event's JSON fields
   and groups by tenant, day and type: the floor any model over all events pays.
3. The last simulated day is held back (its partitions moved aside), then `dbt build
   --full-refresh` (all models and their data tests; unit tests only with --with-unit-tests,
   as the pipeline leaves them to CI) on DuckDB over the other days.
4. The held-back day lands and `dbt build` runs incrementally: the scheduled daily run. Then
   `dbt build` again with nothing new (an incremental run's floor).

--nodes N prints each build's slowest dbt nodes (from run_results.json) and the time per kind
of node; --snapshot-dir keeps every relation after the full and the incremental build, for
benchmarks/compare_marts.py to check that a faster model still produces the same rows.
5. Optionally the same models on PostgreSQL over the first --postgres-events events (loaded
   through the prod raw zone's own writer, PostgresRawZone, not timed), `dbt build --target
   prod --full-refresh`.

Prints each figure, the ratio to the baseline and the command line. Results go in
docs/benchmarks.md by hand, with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

# The project root first: this directory's ingest.py would shadow the `ingest` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.enrichment import ContextEnricher
from ingest.raw_zone.parquet import ParquetRawZone
from ingest.raw_zone.postgres import PostgresRawZone
from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.settings import dbt_postgres_session_env
from intellishop.simulation import SimulationConfig, generate_events

ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")
RAW_SCHEMA = pa.schema(
    [*RAW_EVENT_SCHEMA, pa.field("tenant_id", pa.string()), pa.field("event_date", pa.date32())]
)
#: Customers in the small simulation that calibrates events per customer for a window.
CALIBRATION_CUSTOMERS = 100
ROWS_PER_FILE = 250_000
#: Part of the cache directory's name: raw zones prepared before their contexts were enriched
#: and their files compressed as the collector and the loader do (2026-11-26), or before the
#: loader took staging's JSON fields out at landing (2026-11-28), are not reused.
RAW_FORMAT = "extracted"
#: What a pipeline run asks dbt for (dagster_project/defs/dbt/assets.py, DBT_BUILD_ARGS): models
#: and data tests; dbt's unit tests check the SQL, not the data, and run in CI.
BUILD = ["build", "--exclude-resource-type", "unit_test"]


def _micros(text: str | None) -> int | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1_000_000)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def write_shop(args: tuple[Path, str, int, int, int]) -> int:
    """Simulate one shop and write its raw-zone files; returns the number of events."""
    raw_dir, tenant_id, seed, days, customers = args
    columns: dict[str, list[Any]] = {name: [] for name in RAW_SCHEMA.names}
    written = 0
    part = 0

    zone = ParquetRawZone(raw_dir)

    def flush() -> None:
        # Through the raw zone's own writer: one file per day of the part, the JSON fields
        # staging reads extracted beside the JSON, as the loader lands them.
        nonlocal part
        zone.write_events(pa.table(columns, schema=RAW_SCHEMA), chunk_id=f"{part:06d}")
        part += 1
        for values in columns.values():
            values.clear()

    end = datetime.now(UTC).date()
    config = SimulationConfig(seed=seed, days=days, customers=customers, end=end)
    enrich = ContextEnricher(request_ip=None, store_ip=False).in_place
    for offset, event in enumerate(generate_events(config)):
        timestamp = _micros(event["timestamp"])
        assert timestamp is not None
        columns["message_id"].append(event["messageId"])
        columns["type"].append(event["type"])
        columns["event"].append(event.get("event"))
        columns["user_id"].append(event.get("userId"))
        columns["anonymous_id"].append(event.get("anonymousId"))
        columns["previous_id"].append(event.get("previousId"))
        columns["timestamp"].append(timestamp)
        columns["sent_at"].append(timestamp)
        columns["received_at"].append(timestamp)
        columns["properties"].append(_json(event.get("properties")))
        columns["traits"].append(_json(event.get("traits")))
        # As the collector stores it: IP dropped, country, device and bot flag added.
        columns["context"].append(_json(enrich(dict(event.get("context") or {}))))
        columns["log_offset"].append(offset)
        columns["tenant_id"].append(tenant_id)
        columns["event_date"].append(datetime.fromtimestamp(timestamp / 1e6, UTC).date())
        written += 1
        if len(columns["message_id"]) >= ROWS_PER_FILE:
            flush()
    if columns["message_id"]:
        flush()
    return written


def prepare(work_dir: Path, events: int, days: int, shops: int) -> tuple[Path, int]:
    """The raw zone for ``events`` simulated events over ``shops`` shops (cached by size)."""
    raw_dir = work_dir / f"raw-{events}-{days}d-{shops}shops-{RAW_FORMAT}"
    done = raw_dir / "DONE"
    if done.exists():
        return raw_dir, int(done.read_text())
    # Events grow with customers (each brings anonymous traffic too) but not with days alone
    # (customers churn): measure the rate on a small shop of the same window.
    sample = sum(
        1
        for _ in generate_events(
            SimulationConfig(seed=1, days=days, customers=CALIBRATION_CUSTOMERS)
        )
    )
    customers = max(20, round(events / shops / (sample / CALIBRATION_CUSTOMERS)))
    jobs = [(raw_dir, f"shop-{n:02d}", 100 + n, days, customers) for n in range(shops)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        total = sum(pool.map(write_shop, jobs))
    tenants = pa.table(
        {
            "tenant_id": [job[1] for job in jobs],
            "name": [job[1] for job in jobs],
            "timezone": ["America/New_York" if n % 2 else "Europe/Berlin" for n in range(shops)],
            "currency": ["USD" if n % 2 else "EUR" for n in range(shops)],
            "created_at": [datetime.now(UTC).isoformat()] * shops,
            "disabled": [False] * shops,
        }
    )
    (raw_dir / "tenants").mkdir(parents=True, exist_ok=True)
    pq.write_table(tenants, raw_dir / "tenants" / "tenants.parquet")
    done.write_text(str(total))
    return raw_dir, total


def raw_scan_seconds(raw_dir: Path) -> float:
    """The baseline: parse every event's JSON once and group by tenant, day and type."""
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        f"""
        select tenant_id, event_date, type, event, count(*),
               count(json_extract_string(properties, '$.product_id')),
               count(json_extract_string(context, '$.userAgent'))
        from read_parquet('{raw_dir}/events/*/*/*.parquet', hive_partitioning = true)
        group by all
        """
    ).fetchall()
    con.close()
    return time.perf_counter() - started


def hold_back_last_day(raw_dir: Path, holding: Path) -> list[tuple[Path, Path]]:
    """Move every tenant's partition of the last event date aside; returns (from, to) pairs."""
    days = sorted({path.name for path in (raw_dir / "events").glob("tenant_id=*/event_date=*")})
    moved: list[tuple[Path, Path]] = []
    for partition in (raw_dir / "events").glob(f"tenant_id=*/{days[-1]}"):
        target = holding / partition.parent.name / partition.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(partition, target)
        moved.append((partition, target))
    return moved


def restore(moved: list[tuple[Path, Path]]) -> None:
    for partition, target in moved:
        shutil.move(target, partition)


def dbt(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [DBT, *command, "--profiles-dir", ".", "--quiet"], cwd=DBT_DIR, env=env, check=True
    )
    return time.perf_counter() - started


def print_node_timings(target: Path, label: str, wall: float, top: int) -> None:
    """The slowest nodes of the last dbt invocation (its run_results.json), and the rest.

    dbt runs two nodes at a time (threads: 2), so node times add up to more than the wall
    time; what is left of the wall time after the busiest thread is dbt's own start-up,
    parsing and bookkeeping.
    """
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = sorted(
        ((float(result["execution_time"]), str(result["unique_id"])) for result in results),
        reverse=True,
    )
    busy = sum(seconds for seconds, _ in nodes)
    kinds: dict[str, float] = {}
    for seconds, unique_id in nodes:
        kind = unique_id.split(".")[0]
        kinds[kind] = kinds.get(kind, 0.0) + seconds
    print(f"  {label}: {len(nodes)} nodes, {busy:.1f} s of node time in {wall:.1f} s wall")
    print("    by kind: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(kinds.items())))
    for seconds, unique_id in nodes[:top]:
        print(f"    {seconds:6.2f} s  {unique_id}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--shops", type=int, default=4)
    parser.add_argument("--postgres-events", type=int, default=0)
    parser.add_argument(
        "--postgres-only", action="store_true", help="skip the DuckDB builds (PostgreSQL only)"
    )
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".intellishop" / "bench")
    parser.add_argument(
        "--with-unit-tests",
        action="store_true",
        help="run dbt's unit tests in every build too (as CI does; the pipeline does not)",
    )
    parser.add_argument(
        "--nodes", type=int, default=0, help="print the N slowest dbt nodes of each build"
    )
    parser.add_argument(
        "--snapshot-dir",
        type=Path,
        help="write every relation after the full and the incremental build here"
        " (compare two with benchmarks/compare_marts.py)",
    )
    args = parser.parse_args()
    python = os.path.relpath(sys.executable, Path.cwd())
    print("command:", shlex.join([python, *sys.argv]))
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

    started = time.perf_counter()
    raw_dir, total = prepare(args.work_dir, args.events, args.days, args.shops)
    print(
        f"raw zone: {total:,} events in {raw_dir}"
        f" (prepared in {time.perf_counter() - started:.0f} s)"
    )

    warehouse = args.work_dir / f"warehouse-{total}.duckdb"
    warehouse.unlink(missing_ok=True)
    target = args.work_dir / "dbt-target"
    env = {
        **os.environ,
        "INTELLISHOP_WAREHOUSE_PATH": str(warehouse),
        "INTELLISHOP_RAW_ZONE": str(raw_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
    }
    dbt(["parse", "--target", "local"], env)  # parse once: the timings below are the work
    build_args = ["build"] if args.with_unit_tests else BUILD
    load = os.getloadavg()
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")

    if args.postgres_only:
        print_postgres(raw_dir, args.postgres_events, env)
        return
    baseline = raw_scan_seconds(raw_dir)
    held = hold_back_last_day(raw_dir, args.work_dir / "held-back")
    try:
        build = dbt([*build_args, "--target", "local", "--full-refresh"], env)
    finally:
        restore(held)
    after_build(args, target, warehouse, "full", build)
    day = dbt([*build_args, "--target", "local"], env)
    after_build(args, target, warehouse, "day", day)
    # The floor of a scheduled run: nothing new arrived, staging parses nothing.
    idle = dbt([*build_args, "--target", "local"], env)
    after_build(args, target, warehouse, "idle", idle)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"baseline raw scan (JSON parsed, grouped): {baseline:6.1f} s")
    print(
        f"dbt build --full-refresh, DuckDB (all but the last day): {build:6.1f} s"
        f"  {build / baseline:5.1f}x baseline  {total / build:,.0f} events/s"
    )
    print(f"dbt build, incremental, one new day:      {day:6.1f} s  {day / build:5.2f}x full build")
    print(
        f"dbt build, incremental, nothing new:      {idle:6.1f} s  {idle / build:5.2f}x full build"
    )

    if args.postgres_events:
        print_postgres(raw_dir, args.postgres_events, env)


def after_build(
    args: argparse.Namespace, target: Path, warehouse: Path, label: str, wall: float
) -> None:
    """Per-node timings and a snapshot of the relations, when asked for."""
    if args.nodes:
        print_node_timings(target, label, wall, args.nodes)
    if args.snapshot_dir and label != "idle":
        from compare_marts import snapshot

        snapshot(warehouse, args.snapshot_dir / label)


def print_postgres(raw_dir: Path, events: int, env: dict[str, str]) -> None:
    """Load the first ``events`` raw events into a scratch PostgreSQL database and build there."""
    import psycopg

    database = "intellishop_bench"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"drop database if exists {database}")
        con.execute(f"create database {database}")
    relation = duckdb.connect().sql(
        f"select * exclude (tenant_id, event_date), tenant_id, event_date"
        f" from read_parquet('{raw_dir}/events/*/*/*.parquet', hive_partitioning = true,"
        f" hive_types = {{'tenant_id': varchar, 'event_date': date}}) limit {events}"
    )
    assert relation is not None
    rows = relation.arrow().read_all()
    tenants = pq.read_table(raw_dir / "tenants" / "tenants.parquet")
    zone = PostgresRawZone(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        for number, batch in enumerate(rows.to_batches(200_000)):
            zone.write_events(pa.Table.from_batches([batch]), chunk_id=f"{number:012d}")
        zone.write_tenants(tenants)
    finally:
        zone.close()
    # The session settings the product gives dbt (Settings.dbt_env): UTC, no JIT compilation.
    pg_env = {**env, **dbt_postgres_session_env(), "INTELLISHOP_POSTGRES_DB": database}
    dbt(["parse", "--target", "prod"], pg_env)
    build = dbt(["build", "--target", "prod", "--full-refresh"], pg_env)
    idle = dbt(["build", "--target", "prod"], pg_env)
    print(
        f"dbt build (models + tests), PostgreSQL, {rows.num_rows:,} events: {build:6.1f} s"
        f"  {rows.num_rows / build:,.0f} events/s"
    )
    print(f"dbt build, PostgreSQL, incremental, nothing new: {idle:6.1f} s")


if __name__ == "__main__":
    main()
