"""The JSON fields staging reads, taken out of each event once, when the loader lands it.

`properties`, `context` and `traits` stay in the raw zone as the client sent them (JSON text):
they are the record. Beside them the Parquet raw zone stores the fields dbt's staging model
reads (``stg_collector__events``), one text column each, and ``fields_version`` on every row
written so. Parsing the documents was 40 % of the CPU of a full build of the stitched events,
and every full build parsed all of them again (docs/benchmarks.md); the loader parses each event
once, with the same function staging used (DuckDB's multi-path ``json_extract_string``), so the
values are the ones staging would have taken out. Staging parses the JSON of the rows whose
``fields_version`` is older than its own (``var('raw_fields_version')``), or null: files written
before extraction have no such columns.

The paths are staging's (``property_paths``, ``context_paths``, ``trait_paths`` in
``dbt_project/models/staging/collector/stg_collector__events.sql``; a test keeps them equal).
"""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa

PROPERTY_PATHS: tuple[str, ...] = (
    "product_id",
    "name",
    "category",
    "brand",
    "price",
    "quantity",
    "order_id",
    "revenue",
    "total",
    "currency",
    "url",
    "referrer",
    "products",
    "coupon",
    "recommendation_id",
    "algorithm",
    "product_ids",
    "experiment_id",
    "variation_id",
    "window_days",
)
CONTEXT_PATHS: tuple[str, ...] = (
    "location.country",
    "userAgent",
    "locale",
    "library.name",
    "page.url",
    "page.referrer",
    "campaign.source",
    "campaign.medium",
    "campaign.name",
    "intellishop.is_bot",
    "intellishop.device_type",
    "intellishop.browser",
    "intellishop.os",
)
#: Traits of identify calls only, as staging reads them (other calls' traits are ignored).
TRAIT_PATHS: tuple[str, ...] = ("email", "first_name", "last_name", "name", "phone")

#: Raw column -> (paths taken out of it, prefix of their columns).
DOCUMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "properties": (PROPERTY_PATHS, "property_"),
    "context": (CONTEXT_PATHS, "context_"),
    "traits": (TRAIT_PATHS, "trait_"),
}

#: The column holding which :data:`FIELDS_VERSION` a row's fields were taken out with.
MARKER = "fields_version"
#: Raise it with every change to the paths, together with dbt's ``var('raw_fields_version')``:
#: staging then parses the rows landed before, which lack the new fields.
FIELDS_VERSION = 1


def column_name(document: str, path: str) -> str:
    """The raw column of a field: ``context``, ``location.country`` -> context_location_country."""
    paths, prefix = DOCUMENTS[document]
    if path not in paths:
        raise KeyError(f"{document}.{path} is not extracted")
    return prefix + path.replace(".", "_")


EXTRACTED_SCHEMA = pa.schema(
    [
        *(
            pa.field(column_name(document, path), pa.string())
            for document, (paths, _) in DOCUMENTS.items()
            for path in paths
        ),
        pa.field(MARKER, pa.int32()),
    ]
)


def _select() -> str:
    """The query that parses each document once (into the list of its paths' values) and
    returns one column per path, then the version; built from the constants above only."""
    lists = []
    fields = []
    for document, (paths, _) in DOCUMENTS.items():
        path_list = ", ".join(f"'$.{path}'" for path in paths)
        # try(): a document that is not JSON yields no fields rather than failing the chunk
        # (the collector only accepts JSON objects; this guards files from other writers).
        extracted = f"try(json_extract_string({document}, [{path_list}]))"
        if document == "traits":
            extracted = f"case when type = 'identify' then {extracted} end"
        lists.append(f"{extracted} as {document}")
        fields += [
            f"{document}[{position}] as {column_name(document, path)}"
            for position, path in enumerate(paths, start=1)
        ]
    return (
        f"select {', '.join(fields)}, cast({FIELDS_VERSION} as integer) as {MARKER}"
        f" from (select {', '.join(lists)} from batch) as documents"
    )


_SELECT = _select()
_database: duckdb.DuckDBPyConnection | None = None
_database_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of the process's one in-memory DuckDB: opening a database (and loading its JSON
    extension) took about 40 ms, a call's whole cost for a following loader's small chunks."""
    global _database
    with _database_lock:
        if _database is None:
            _database = duckdb.connect()
        return _database.cursor()


def with_extracted_fields(table: pa.Table) -> pa.Table:
    """``table`` (raw-zone rows) with the :data:`EXTRACTED_SCHEMA` columns after its own."""
    cursor = _cursor()
    try:
        cursor.register("batch", table.select(["type", *DOCUMENTS]))
        extracted = cursor.sql(_SELECT).to_arrow_table().cast(EXTRACTED_SCHEMA)
    finally:
        cursor.close()
    for name in EXTRACTED_SCHEMA.names:
        table = table.append_column(EXTRACTED_SCHEMA.field(name), extracted.column(name))
    return table
