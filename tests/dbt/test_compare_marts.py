"""benchmarks/compare_marts.py: the check that a faster model still writes the same rows.

It must call two warehouses equal when only row order, run stamps (`_batch_at`) or the last
bits of a double differ, and different on anything else: otherwise a performance change that
alters a mart would pass unnoticed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "compare_marts.py"


@pytest.fixture(scope="module")
def compare_marts() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compare_marts", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compare_marts"] = module
    spec.loader.exec_module(module)
    return module


def _warehouse(path: Path, rows: str, stamp: str = "2026-01-01") -> Path:
    con = duckdb.connect(str(path))
    con.execute(
        "create table daily (tenant_id varchar, day date, revenue decimal(18,4), rate double,"
        " _batch_at timestamptz)"
    )
    con.execute(f"insert into daily select *, timestamptz '{stamp}' from (values {rows})")
    con.execute("create view daily_view as select tenant_id, revenue from daily")
    con.close()
    return path


ROWS = "('a', date '2026-01-01', 10.5, 0.1), ('b', date '2026-01-02', 3, null)"


def test_same_rows_in_another_order_and_another_run_compare_equal(
    tmp_path: Path, compare_marts: ModuleType
) -> None:
    reordered = "('b', date '2026-01-02', 3, null), ('a', date '2026-01-01', 10.5, 0.1 + 1e-12)"
    compare_marts.snapshot(_warehouse(tmp_path / "one.duckdb", ROWS), tmp_path / "one")
    compare_marts.snapshot(
        _warehouse(tmp_path / "two.duckdb", reordered, stamp="2026-02-01"), tmp_path / "two"
    )
    assert compare_marts.compare(tmp_path / "one", tmp_path / "two") == []


@pytest.mark.parametrize(
    "changed",
    [
        "('a', date '2026-01-01', 10.4, 0.1), ('b', date '2026-01-02', 3, null)",  # a decimal
        "('a', date '2026-01-01', 10.5, 0.2), ('b', date '2026-01-02', 3, null)",  # a double
        "('a', date '2026-01-01', 10.5, 0.1), ('b', date '2026-01-03', 3, null)",  # a date
        "('a', date '2026-01-01', 10.5, 0.1)",  # a row missing
        f"{ROWS}, ('a', date '2026-01-01', 10.5, 0.1)",  # a row twice
    ],
)
def test_any_changed_value_or_row_is_reported(
    tmp_path: Path, compare_marts: ModuleType, changed: str
) -> None:
    compare_marts.snapshot(_warehouse(tmp_path / "one.duckdb", ROWS), tmp_path / "one")
    compare_marts.snapshot(_warehouse(tmp_path / "two.duckdb", changed), tmp_path / "two")
    problems = compare_marts.compare(tmp_path / "one", tmp_path / "two")
    assert problems and all(line.startswith("daily") for line in problems)
