"""Staging reads the JSON fields the loader took out at landing, and parses files written before.

The Parquet raw zone stores staging's fields beside the JSON (ingest/raw_zone/extracted.py).
Staging must give the same rows whichever way a file was written: from the extracted columns,
from the documents of older files (no such columns), or from a zone holding both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from ingest.raw_zone import ParquetRawZone
from ingest.raw_zone.extracted import (
    CONTEXT_PATHS,
    EXTRACTED_SCHEMA,
    FIELDS_VERSION,
    MARKER,
    PROPERTY_PATHS,
    TRAIT_PATHS,
)
from intellishop.settings import Profile, Settings
from tests.dbt.conftest import DBT_PROJECT_DIR, run_dbt
from tests.dbt.scenario import write_scenario

STAGING = DBT_PROJECT_DIR / "models" / "staging" / "collector" / "stg_collector__events.sql"


def _staging_paths(name: str) -> tuple[str, ...]:
    found = re.search(r"{% set " + name + r" = \[(.*?)\] %}", STAGING.read_text(), re.S)
    assert found, name
    return tuple(re.findall(r"'([^']+)'", found.group(1)))


def test_the_loader_extracts_the_paths_staging_reads() -> None:
    assert _staging_paths("property_paths") == PROPERTY_PATHS
    assert _staging_paths("context_paths") == CONTEXT_PATHS
    assert _staging_paths("trait_paths") == TRAIT_PATHS
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["vars"]["raw_fields_version"] == FIELDS_VERSION


def _strip_extracted(files: list[Path]) -> None:
    """Rewrite ``files`` as the loader wrote them before it extracted fields."""
    for path in files:
        table = pq.read_table(path, partitioning=None)
        pq.write_table(table.drop_columns(EXTRACTED_SCHEMA.names), path)


def _outdate(files: list[Path]) -> None:
    """Rewrite ``files`` as if landed with an older version that extracted none of the fields."""
    for path in files:
        table = pq.read_table(path, partitioning=None)
        for name in EXTRACTED_SCHEMA.names:
            position = table.schema.get_field_index(name)
            if name == MARKER:
                column = pa.array([FIELDS_VERSION - 1] * table.num_rows, pa.int32())
            else:
                column = pa.nulls(table.num_rows, pa.string())
            table = table.set_column(position, EXTRACTED_SCHEMA.field(name), column)
        pq.write_table(table, path)


def _staged(root: Path, strip: str) -> tuple[list[tuple[Any, ...]], str]:
    """The scenario's staged rows (the file a row came from left out) and the staging view's
    SQL, its raw zone written by the Parquet raw zone, then the files ``strip`` names made
    older: none, every other one or every one without the extracted columns, or every other one
    of an older version."""
    settings = Settings(data_dir=root / "data", profile=Profile.LOCAL)
    settings.ensure_dirs()
    zone = ParquetRawZone(settings.raw_zone_dir)
    write_scenario(zone)
    files = zone.event_files()
    if strip == "an older version":
        _outdate(files[::2])
    else:
        _strip_extracted({"none": [], "every other file": files[::2], "every file": files}[strip])
    raw = duckdb.sql(
        f"select * from read_parquet('{settings.raw_zone_dir}/events/*/*/*.parquet',"
        " union_by_name = true)"
    )
    kinds = {
        "none": {FIELDS_VERSION},
        "every other file": {None, FIELDS_VERSION},
        "every file": set(),
        "an older version": {FIELDS_VERSION - 1, FIELDS_VERSION},
    }[strip]
    if kinds:
        markers = raw.select(MARKER).distinct().fetchall()
        assert {marker for (marker,) in markers} == kinds
    else:
        assert MARKER not in raw.columns
    run_dbt(["run", "--select", "stg_collector__events"], settings, root)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        con.sql("set TimeZone = 'UTC'")
        rows = con.sql(
            "select * exclude (_raw_file) from stg_collector__events"
            " order by tenant_id, message_id, log_offset, _raw_row"
        ).fetchall()
        [(view,)] = con.sql(
            "select sql from duckdb_views() where view_name = 'stg_collector__events'"
        ).fetchall()
        return rows, view
    finally:
        con.close()


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[Any, ...]], str]:
    """Staged from a raw zone written as the loader writes it now."""
    return _staged(tmp_path_factory.mktemp("landed"), "none")


@pytest.mark.parametrize("strip", ["every other file", "every file", "an older version"])
def test_staging_reads_files_written_before_extraction_alike(
    strip: str, landed: tuple[list[tuple[Any, ...]], str], tmp_path: Path
) -> None:
    rows, view = _staged(tmp_path, strip)
    assert len(landed[0]) > 20
    assert rows == landed[0]
    # Rows without the current fields are parsed from their documents.
    assert _READS_DOCUMENTS.search(view)


#: The staging view names an event's JSON documents (to parse them).
_READS_DOCUMENTS = re.compile(r"\bsource\"?\.(properties|context|traits)\b")


def test_staging_does_not_read_the_documents_when_every_row_landed_its_fields(
    landed: tuple[list[tuple[Any, ...]], str],
) -> None:
    # DuckDB reads only the columns a query names, and 10M events carry 10 GB of JSON text.
    _, view = landed
    assert "exclude (properties, context, traits)" in view.lower()
    assert not _READS_DOCUMENTS.search(view)
