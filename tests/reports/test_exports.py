"""Exports through the API: every format round-trips, large tables stream in chunks, names
outside the whitelist are refused, and a key only ever exports its own tenant's table.

The app is ``serving.app.create_app`` with the exports router included here, as the lead's
registration line in serving/app.py will do.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.app import create_app
from serving.routes import exports
from tests.dashboards.demo_data import demo_tables

LARGE_ROWS = 120_000  # more than two chunks


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]

    def get(self, path: str, tenant: str = "acme") -> httpx.Response:
        response: httpx.Response = self.client.get(path, headers={"X-API-Key": self.keys[tenant]})
        return response


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    registry = TenantRegistry(settings.tenants_db_path)
    keys = {}
    for tenant_id in ("acme", "books"):
        _, keys[tenant_id] = registry.create(tenant_id.title(), tenant_id=tenant_id)
    keys["acme-public"] = registry.create_key("acme", scope="public")
    store = LocalArtifactStore(settings.artifacts_dir)
    acme = demo_tables("a")
    acme["recommendations"] = pa.table(
        {
            "user_id": [f"u{i // 20}" for i in range(LARGE_ROWS)],
            "product_id": [f"a-p{i % 40}" for i in range(LARGE_ROWS)],
            "score": [float(i % 20) for i in range(LARGE_ROWS)],
            "rank": pa.array([i % 20 + 1 for i in range(LARGE_ROWS)], pa.int32()),
            "algorithm": ["als"] * LARGE_ROWS,
        }
    )
    store.publish("acme", acme)
    store.publish("books", {"daily_metrics": demo_tables("b", 2)["daily_metrics"]})
    app = create_app(settings, refresh_seconds=0, auth_cache_seconds=0)
    app.include_router(exports.router)
    with TestClient(app) as client:
        yield Api(client, keys)


def test_csv_jsonl_and_parquet_hold_the_published_rows(api: Api) -> None:
    published = pl.DataFrame(demo_tables("a")["daily_metrics"])
    csv = api.client.get(
        "/v1/exports/daily_metrics.csv", headers={"Authorization": f"Bearer {api.keys['acme']}"}
    )
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert 'filename="acme_daily_metrics_' in csv.headers["content-disposition"]
    frame = pl.read_csv(io.BytesIO(csv.content), try_parse_dates=True)
    assert frame.height == published.height
    assert frame["revenue"].to_list() == pytest.approx(published["revenue"].to_list())
    lines = api.get("/v1/exports/daily_metrics.jsonl")
    rows = [json.loads(line) for line in lines.text.splitlines()]
    assert len(rows) == published.height
    assert rows[0]["metric_date"] == str(published["metric_date"][0])
    assert rows[-1]["orders"] == published["orders"][-1]
    same = api.get("/v1/exports/daily_metrics.json")
    assert same.text == lines.text
    parquet = api.get("/v1/exports/customers.parquet")
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.equals(demo_tables("a")["customers"])


def test_a_large_table_streams_in_chunks(api: Api) -> None:
    with api.client.stream(
        "GET", "/v1/exports/recommendations.csv", headers={"X-API-Key": api.keys["acme"]}
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-row-count"] == str(LARGE_ROWS)
        chunks = [chunk for chunk in response.iter_raw() if chunk]
    assert len(chunks) >= LARGE_ROWS // exports.CHUNK_ROWS
    body = b"".join(chunks)
    assert body.count(b"\n") == LARGE_ROWS + 1  # one header line
    assert body.count(b"user_id") == 1
    parquet = api.get("/v1/exports/recommendations.parquet")
    file = pq.ParquetFile(io.BytesIO(parquet.content))
    assert file.metadata.num_rows == LARGE_ROWS
    assert file.metadata.num_row_groups == -(-LARGE_ROWS // exports.CHUNK_ROWS)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/exports/sqlite_master.csv",
        "/v1/exports/..%2F..%2Ftenants.csv",
        "/v1/exports/daily_metrics;drop.csv",
        "/v1/exports/CURRENT.json",
    ],
)
def test_names_outside_the_whitelist_are_refused(api: Api, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404, response.text


def test_an_unknown_format_is_a_422(api: Api) -> None:
    assert api.get("/v1/exports/daily_metrics.xml").status_code == 422


def test_each_key_exports_only_its_own_tenant(api: Api) -> None:
    books = api.get("/v1/exports/daily_metrics.jsonl", tenant="books")
    rows = [json.loads(line) for line in books.text.splitlines()]
    expected = pl.DataFrame(demo_tables("b", 2)["daily_metrics"])
    assert [r["revenue"] for r in rows] == pytest.approx(expected["revenue"].to_list())
    # books published no customers: a 503, never acme's table
    assert api.get("/v1/exports/customers.csv", tenant="books").status_code == 503


def test_exports_need_person_level_access(api: Api) -> None:
    assert api.get("/v1/exports/daily_metrics.csv", tenant="acme-public").status_code == 403
    assert api.client.get("/v1/exports/daily_metrics.csv").status_code == 401
