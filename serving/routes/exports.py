"""Exports: any published table of the caller's tenant as CSV, JSON lines or Parquet.

``GET /v1/exports/{table}.{format}`` streams the table in chunks of ``CHUNK_ROWS`` rows, so a
table of millions of rows never sits in memory twice as text; the published Arrow table is
sliced, never copied. Only the names in ``EXPORTABLE_TABLES`` can be asked for: the name picks
an entry of the tenant's own published version (no SQL, no file path is built from it), and
the tenant comes from the credential, never from the request. Exports hold person-level data
(customers, scores, recommendations), so they need the secret key or an analyst or owner.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from enum import StrEnum

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from ..deps import CatalogDep, CustomersTenant

router = APIRouter(prefix="/v1/exports", tags=["exports"])

#: Rows per streamed chunk (and per Parquet row group).
CHUNK_ROWS = 50_000

#: Every table an export may name: the published marts and model tables (docs/contracts.md).
EXPORTABLE_TABLES = frozenset(
    {
        "products",
        "trending",
        "popular",
        "recommendations",
        "daily_metrics",
        "hourly_metrics",
        "product_performance",
        "funnel_daily",
        "geo_daily",
        "customers",
        "cohort_retention",
        "behavioural_segments",
        "persons",
        "recommendation_attribution",
        "similar_products",
        "frequently_bought_together",
        "customer_scores",
        "customer_orders",
        "demand_forecast",
        "reorder_suggestions",
    }
)


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    json = "json"  # JSON lines too: one object a line streams; one array would not
    parquet = "parquet"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.jsonl: "application/x-ndjson",
    ExportFormat.json: "application/x-ndjson",
    ExportFormat.parquet: "application/vnd.apache.parquet",
}


def _csv_chunks(table: pa.Table) -> Iterator[bytes]:
    for index, batch in enumerate(table.to_batches(max_chunksize=CHUNK_ROWS)):
        buffer = io.BytesIO()
        pa_csv.write_csv(
            pa.Table.from_batches([batch], schema=table.schema),
            buffer,
            write_options=pa_csv.WriteOptions(include_header=index == 0),
        )
        yield buffer.getvalue()
    if table.num_rows == 0:  # the header alone still says what the columns are
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer)
        yield buffer.getvalue()


def _jsonl_chunks(table: pa.Table) -> Iterator[bytes]:
    for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
        frame = pl.from_arrow(pa.Table.from_batches([batch], schema=table.schema))
        assert isinstance(frame, pl.DataFrame)
        yield frame.write_ndjson().encode()


class _ChunkSink:
    """A write-only file for ParquetWriter that hands out what was written since last asked,
    while ``tell`` keeps counting from the start (the footer's offsets depend on it)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _parquet_chunks(table: pa.Table) -> Iterator[bytes]:
    sink = _ChunkSink()
    with pq.ParquetWriter(sink, table.schema, compression="zstd") as writer:
        for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
            writer.write_table(pa.Table.from_batches([batch], schema=table.schema))
            yield sink.take()
    yield sink.take()  # the footer


CHUNKERS = {
    ExportFormat.csv: _csv_chunks,
    ExportFormat.jsonl: _jsonl_chunks,
    ExportFormat.json: _jsonl_chunks,
    ExportFormat.parquet: _parquet_chunks,
}


@router.get(
    "/{table}.{export_format}",
    summary="Export a published table (CSV, JSON lines or Parquet), streamed",
    description="One of the tenant's published tables as it was published, streamed in chunks "
    f"of {CHUNK_ROWS:,} rows. `table` is one of: {', '.join(sorted(EXPORTABLE_TABLES))}. "
    "`json` and `jsonl` both give JSON lines (one object per line). 404 for another name, "
    "503 while the table is not published yet. Secret key, analyst or owner.",
    responses={
        200: {
            "content": {media: {} for media in set(MEDIA_TYPES.values())},
            "description": "The table, streamed.",
        },
        404: {"description": "Not an exportable table."},
    },
    response_class=StreamingResponse,
)
async def export_table(
    table: str,
    export_format: ExportFormat,
    tenant: CustomersTenant,
    catalog: CatalogDep,
) -> StreamingResponse:
    if table not in EXPORTABLE_TABLES:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no exportable table {table[:64]!r}: use one of "
            + ", ".join(sorted(EXPORTABLE_TABLES)),
        )
    artifact = await run_in_threadpool(catalog.store.current, tenant.tenant_id)
    data = artifact.tables.get(table) if artifact is not None else None
    if artifact is None or data is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no {table} table published yet for tenant {tenant.tenant_id!r}: run the "
            "pipeline (`intellishop pipeline run`, or `make demo`)",
            headers={"Retry-After": "60"},
        )
    extension = "jsonl" if export_format is ExportFormat.json else export_format.value
    filename = f"{tenant.tenant_id}_{table}_{artifact.version}.{extension}"
    return StreamingResponse(
        CHUNKERS[export_format](data),
        media_type=MEDIA_TYPES[export_format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Model-Version": artifact.version,
            "X-Row-Count": str(data.num_rows),
        },
    )
