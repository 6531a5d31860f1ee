"""The fields the loader takes out of each event's JSON when the Parquet raw zone lands it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.raw_zone import ParquetRawZone
from ingest.raw_zone.extracted import (
    EXTRACTED_SCHEMA,
    FIELDS_VERSION,
    MARKER,
    with_extracted_fields,
)
from intellishop.events import RAW_EVENT_SCHEMA
from intellishop.privacy import Person
from tests.dbt.scenario import RAW_SCHEMA, chunk_table

MOMENT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _row(**fields: object) -> dict[str, object]:
    return {
        "message_id": "m",
        "type": "track",
        "event": "Order Completed",
        "user_id": None,
        "anonymous_id": "a1",
        "previous_id": None,
        "timestamp": MOMENT,
        "sent_at": None,
        "received_at": MOMENT,
        "properties": "{}",
        "traits": None,
        "context": "{}",
        **fields,
    }


def test_fields_come_out_as_staging_would_read_them() -> None:
    properties = {
        "product_id": 42,
        "price": 12.50,
        "quantity": "3",
        "products": [{"product_id": "p1", "price": 1e21}],
        "name": 'Zoë\'s "best" mug',
        "coupon": None,
        "unknown": "ignored",
    }
    context = {"location": {"country": "DE"}, "intellishop": {"is_bot": False}, "page": {}}
    rows = [
        _row(message_id="m1", properties=json.dumps(properties), context=json.dumps(context)),
        _row(message_id="m2", type="identify", traits='{"email": "a@example.com"}'),
        # traits of other calls are not read by staging, so not extracted either
        _row(message_id="m3", traits='{"email": "b@example.com"}'),
        # not JSON: the row lands with no fields rather than failing its whole chunk
        _row(message_id="m4", properties="{not json", context="[1, 2]"),
    ]
    table = pa.Table.from_pylist(rows, schema=pa.schema(list(RAW_EVENT_SCHEMA)[:12]))
    extracted = with_extracted_fields(table)

    assert extracted.schema.names == [*table.schema.names, *EXTRACTED_SCHEMA.names]
    assert extracted.select(table.schema.names).equals(table)
    got = extracted.to_pylist()
    assert [row["message_id"] for row in got] == ["m1", "m2", "m3", "m4"]
    assert all(row[MARKER] == FIELDS_VERSION for row in got)
    first = got[0]
    assert first["property_product_id"] == "42"
    assert first["property_price"] == "12.5"
    assert first["property_quantity"] == "3"
    assert json.loads(first["property_products"]) == properties["products"]
    assert first["property_name"] == properties["name"]
    assert first["property_coupon"] is None
    assert first["context_location_country"] == "DE"
    assert first["context_intellishop_is_bot"] == "false"
    assert first["context_page_url"] is None
    assert got[1]["trait_email"] == "a@example.com"
    assert got[2]["trait_email"] is None
    fields = [name for name in EXTRACTED_SCHEMA.names if name != MARKER]
    assert all(got[3][name] is None for name in fields)


def test_the_parquet_raw_zone_writes_them_and_erasure_keeps_each_files_columns(
    tmp_path: Path,
) -> None:
    zone = ParquetRawZone(tmp_path)
    rows = [
        _row(message_id="m1", anonymous_id="a1", properties='{"product_id": "p1"}'),
        _row(message_id="m2", anonymous_id="a2", properties='{"product_id": "p2"}'),
    ]
    [new_file] = zone.write_events(chunk_table("shop", rows, 1), chunk_id="000000000001")
    written = pq.read_table(new_file, partitioning=None)
    assert written.schema.names == [*RAW_EVENT_SCHEMA.names, *EXTRACTED_SCHEMA.names]
    assert written.column("property_product_id").to_pylist() == ["p1", "p2"]
    # A file of the same tenant written before the loader extracted fields.
    old_file = new_file.with_name("part-000000000000.parquet")
    pq.write_table(written.drop_columns(EXTRACTED_SCHEMA.names), old_file)
    assert chunk_table("shop", rows, 1).schema == RAW_SCHEMA

    assert zone.erase(Person(tenant_id="shop", anonymous_ids=frozenset({"a1"}))) == 2
    after_new = pq.read_table(new_file, partitioning=None)
    after_old = pq.read_table(old_file, partitioning=None)
    assert after_new.schema.names == written.schema.names
    assert after_old.schema.names == RAW_EVENT_SCHEMA.names
    assert after_new.column("message_id").to_pylist() == ["m2"]
    assert after_new.column("property_product_id").to_pylist() == ["p2"]
    assert after_old.column("message_id").to_pylist() == ["m2"]
