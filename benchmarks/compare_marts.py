"""Did a change to the dbt models change what they produce? Snapshot a warehouse, compare two.

    .venv/bin/python benchmarks/compare_marts.py snapshot WAREHOUSE.duckdb OUT_DIR
    .venv/bin/python benchmarks/compare_marts.py compare BEFORE_DIR AFTER_DIR

`snapshot` writes every table and view of the warehouse's `main` schema (the marts and the
intermediate tables) to OUT_DIR as Parquet, one file per relation, leaving out the bookkeeping
columns whose values depend on when a run started (`_batch_at`). `compare` checks that both
snapshots hold the same relations with the same columns and, compared as multisets of rows,
the same rows: strings, dates, timestamps and decimals exactly, doubles to 1e-9 relative (a
parallel sum may add in another order). Exit status 1 and the first differences when not.

Use it around a performance change: build the models on a fixed simulated raw zone
(benchmarks/pipeline.py caches one per size), snapshot, change, rebuild, snapshot, compare.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

#: Columns stamped with the run's start time: they differ between any two builds.
VOLATILE_COLUMNS = frozenset({"_batch_at"})
#: Relative tolerance for double-precision columns.
RELATIVE_TOLERANCE = 1e-9


def snapshot(warehouse: Path, out_dir: Path) -> list[str]:
    """Write each relation of ``warehouse`` to ``out_dir``; returns the relation names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            row[0]
            for row in con.sql(
                "select table_name from information_schema.tables"
                " where table_schema = 'main' order by table_name"
            ).fetchall()
        ]
        for name in names:
            columns = [
                row[0]
                for row in con.sql(
                    "select column_name from information_schema.columns"
                    f" where table_schema = 'main' and table_name = '{name}'"
                    " order by ordinal_position"
                ).fetchall()
                if row[0] not in VOLATILE_COLUMNS
            ]
            select = ", ".join(f'"{column}"' for column in columns)
            con.sql(f'select {select} from main."{name}"').write_parquet(
                str(out_dir / f"{name}.parquet")
            )
    finally:
        con.close()
    return names


def compare(before: Path, after: Path, limit: int = 5) -> list[str]:
    """Differences between two snapshots, as readable lines (empty when they are the same)."""
    problems: list[str] = []
    names_before = {path.stem for path in before.glob("*.parquet")}
    names_after = {path.stem for path in after.glob("*.parquet")}
    for name in sorted(names_before ^ names_after):
        side = "before" if name in names_before else "after"
        problems.append(f"{name}: only {side}")
    con = duckdb.connect()
    for name in sorted(names_before & names_after):
        left = con.read_parquet(str(before / f"{name}.parquet"))
        right = con.read_parquet(str(after / f"{name}.parquet"))
        if left.columns != right.columns or left.types != right.types:
            problems.append(
                f"{name}: columns differ: {list(zip(left.columns, left.types, strict=False))}"
                f" vs {list(zip(right.columns, right.types, strict=False))}"
            )
            continue
        problems.extend(_compare_rows(con, name, before, after, left.columns, left.types, limit))
    con.close()
    return problems


def _compare_rows(
    con: duckdb.DuckDBPyConnection,
    name: str,
    before: Path,
    after: Path,
    columns: list[str],
    types: list[duckdb.sqltypes.DuckDBPyType],
    limit: int,
) -> list[str]:
    """Rows of one relation: exact columns as multisets, doubles paired in sorted order."""
    exact = [c for c, t in zip(columns, types, strict=True) if str(t) not in {"DOUBLE", "FLOAT"}]
    floats = [c for c, t in zip(columns, types, strict=True) if str(t) in {"DOUBLE", "FLOAT"}]
    quoted = ", ".join(f'"{column}"' for column in columns)
    order = ", ".join(f'"{column}" nulls first' for column in [*exact, *floats])
    problems: list[str] = []
    [counts] = con.sql(
        f"select (select count(*) from '{before}/{name}.parquet'),"
        f" (select count(*) from '{after}/{name}.parquet')"
    ).fetchall()
    if counts[0] != counts[1]:
        problems.append(f"{name}: {counts[0]} rows before, {counts[1]} after")
    # Number both sides in the same total order and pair rows by that number.
    numbered = (
        "select row_number() over (order by {order}) as _n, {quoted} from '{path}/{name}.parquet'"
    )
    match_exact = " and ".join(f'b."{c}" is not distinct from a."{c}"' for c in exact) or "true"
    match_floats = " and ".join(
        f'(b."{c}" is not distinct from a."{c}" or abs(b."{c}" - a."{c}")'
        f' <= {RELATIVE_TOLERANCE} * greatest(abs(b."{c}"), abs(a."{c}")))'
        for c in floats
    )
    condition = f"{match_exact} and {match_floats}" if floats else match_exact
    differing = con.sql(
        f"""
        with b as ({numbered.format(order=order, quoted=quoted, path=before, name=name)}),
             a as ({numbered.format(order=order, quoted=quoted, path=after, name=name)})
        select b._n, a._n from b full outer join a on b._n = a._n
        where b._n is null or a._n is null or not ({condition})
        order by coalesce(b._n, a._n)
        limit {limit}
        """
    ).fetchall()
    for row_before, row_after in differing:
        number = row_before if row_before is not None else row_after
        left = con.sql(numbered.format(order=order, quoted=quoted, path=before, name=name)).filter(
            f"_n = {number}"
        )
        right = con.sql(numbered.format(order=order, quoted=quoted, path=after, name=name)).filter(
            f"_n = {number}"
        )
        problems.append(f"{name}: row {number} before {left.fetchall()} after {right.fetchall()}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("snapshot", help="write a warehouse's relations as Parquet")
    take.add_argument("warehouse", type=Path)
    take.add_argument("out_dir", type=Path)
    check = commands.add_parser("compare", help="compare two snapshots")
    check.add_argument("before", type=Path)
    check.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        names = snapshot(args.warehouse, args.out_dir)
        print(f"{len(names)} relations written to {args.out_dir}")
        return
    problems = compare(args.before, args.after)
    for line in problems:
        print(line)
    if problems:
        sys.exit(1)
    print(f"same: every relation of {args.before} equals {args.after}")


if __name__ == "__main__":
    main()
