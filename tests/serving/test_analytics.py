"""The analytics endpoints on hand-made published marts: exact sums, filters, limits, isolation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from intellishop.artifacts import ArtifactVersion, LocalArtifactStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry
from serving.analytics import AnalyticsIndex
from serving.app import create_app

D1, D2, D3, D5 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 5)

#: Every analytics endpoint, with parameters that are valid.
ENDPOINTS = [
    "/v1/analytics/daily",
    "/v1/analytics/funnel",
    "/v1/analytics/cohorts",
    "/v1/analytics/products",
    "/v1/customers/alice",
    "/v1/segments",
]


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, 12, tzinfo=UTC)


def shop_a() -> dict[str, pa.Table]:
    """shop-a's marts. Rows are deliberately out of order: the API must not rely on it."""
    return {
        "daily_metrics": pa.table(
            {
                "metric_date": [D3, D1, D5, D2],
                "currency": ["USD"] * 4,
                "revenue": [250.5, 100.0, 49.5, 0.0],
                "orders": [3, 2, 1, 0],
                "aov": [83.5, 50.0, 49.5, None],
                "sessions": [20, 40, 0, 10],
                "visitors": [18, 30, 0, 9],
                "conversion_rate": [0.15, 0.05, None, 0.0],
            }
        ),
        "funnel_daily": pa.table(
            {
                "metric_date": [D1, D1, D2, D3, D3],
                "device_type": ["desktop", "mobile", "desktop", "mobile", "tablet"],
                "traffic_source": ["google", "google", "direct", "direct", "google"],
                "country": ["US", "US", "DE", "US", None],
                "sessions": [100, 200, 50, 150, 10],
                "viewed_sessions": [60, 100, 30, 90, 5],
                "added_sessions": [20, 30, 10, 30, 0],
                "checkout_sessions": [10, 12, 5, 15, 0],
                "ordered_sessions": [5, 4, 3, 6, 0],
            }
        ),
        "customers": pa.table(
            {
                "customer_id": ["alice", "anon-7", "carol", "sam"],
                "user_id": ["alice", None, "carol", "sam"],
                "orders": [5, 1, 3, 1],
                "net_revenue": [500.0, 30.0, 300.0, 20.0],
                "first_order_at": [_at(1), _at(2), _at(3), _at(1)],
                "last_order_at": [_at(9), _at(2), _at(7), _at(1)],
                "recency_days": [3, 10, 5, 40],
                "recency_score": [5, 4, 5, 2],
                "frequency_score": [5, 2, 4, 1],
                "monetary_score": [5, 2, 4, 1],
                "rfm_code": ["555", "422", "544", "211"],
                "rfm_segment": ["champions", "new_customers", "champions", "hibernating"],
            }
        ),
        "cohort_retention": pa.table(
            {
                "cohort_grain": ["week", "month", "month", "week", "month"],
                "cohort_start": [
                    date(2025, 12, 29),
                    date(2026, 2, 1),
                    date(2026, 1, 1),
                    date(2025, 12, 29),
                    date(2026, 1, 1),
                ],
                "period_number": [2, 0, 1, 0, 0],
                "cohort_customers": [3, 5, 10, 3, 10],
                "active_customers": [1, 5, 4, 3, 10],
                "customer_retention": [1 / 3, 1.0, 0.4, 1.0, 1.0],
                "net_revenue": [15.0, 200.0, 120.5, 90.0, 500.0],
            }
        ),
        "product_performance": pa.table(
            {
                "product_id": ["p1", "p2", "p3", "p4"],
                "name": ["Mug", "Tent", "Stove", "Lamp"],
                "category": ["kitchen", "tents", "stoves", None],
                "views": [100, 300, 50, 300],
                "viewers": [80, 200, 40, 250],
                "cart_adds": [10, 30, 20, 0],
                "add_to_cart_rate": [0.1, 0.1, 0.4, 0.0],
                "orders": [5, 2, 8, 0],
                "buyers": [5, 2, 7, 0],
                "units_sold": [6, 2, 10, 0],
                "revenue": [120.0, 500.0, 80.0, 0.0],
                "units_refunded": [0, 1, 1, 0],
                "return_rate": [0.0, 0.5, 0.1, None],
            }
        ),
    }


def shop_b() -> dict[str, pa.Table]:
    """shop-b: one day, one funnel row, and a customer "sam" of its own."""
    tables = shop_a()
    return {
        **tables,
        "daily_metrics": pa.table(
            {
                "metric_date": [D1],
                "currency": ["EUR"],
                "revenue": [999.0],
                "orders": [9],
                "aov": [111.0],
                "sessions": [90],
                "visitors": [80],
                "conversion_rate": [0.1],
            }
        ),
        "funnel_daily": tables["funnel_daily"].slice(0, 1),
        "customers": pa.table(
            {
                "customer_id": ["sam"],
                "user_id": ["sam"],
                "orders": [9],
                "net_revenue": [900.0],
                "first_order_at": [_at(1)],
                "last_order_at": [_at(9)],
                "recency_days": [1],
                "recency_score": [5],
                "frequency_score": [5],
                "monetary_score": [5],
                "rfm_code": ["555"],
                "rfm_segment": ["loyal"],
            }
        ),
        "product_performance": tables["product_performance"].slice(3, 1),
        "cohort_retention": tables["cohort_retention"].slice(0, 1),
    }


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]

    def get(self, path: str, tenant: str = "shop-a", **params: Any) -> Any:
        return self.client.get(path, params=params, headers={"X-API-Key": self.keys[tenant]})


@pytest.fixture
def api(settings: Settings) -> Api:
    registry = TenantRegistry(settings.tenants_db_path)
    keys = {}
    for tenant_id in ("shop-a", "shop-b", "shop-new", "shop-old"):
        _, keys[tenant_id] = registry.create(tenant_id.upper(), tenant_id=tenant_id)
    keys["shop-a-write"] = registry.create_key("shop-a", scope="write")
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("shop-a", shop_a())
    store.publish("shop-b", shop_b())
    # Published by a pipeline from before the analytics marts: recommendations only.
    store.publish(
        "shop-old",
        {
            "trending": pa.table(
                {"product_id": ["x"], "category": ["c"], "score": [1.0], "rank": [1]}
            )
        },
    )
    client = TestClient(create_app(settings, refresh_seconds=0, auth_cache_seconds=0))
    return Api(client, keys)


# daily metrics ------------------------------------------------------------------------------


def test_daily_totals_are_ratios_of_sums(api: Api) -> None:
    response = api.get("/v1/analytics/daily")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenant_id"] == "shop-a" and body["currency"] == "USD"
    assert body["start"] is None and body["end"] is None
    assert [day["metric_date"] for day in body["days"]] == [
        "2026-01-01",
        "2026-01-02",
        "2026-01-03",
        "2026-01-05",
    ]
    assert body["totals"] == {
        "days": 4,
        "revenue": 400.0,
        "orders": 6,
        "sessions": 70,
        "visitors": 57,
        "aov": 66.6667,
        "conversion_rate": pytest.approx(6 / 70),
    }
    # Not the average of the daily rates (0.05, 0, 0.15 -> 0.0667).
    assert body["totals"]["conversion_rate"] != pytest.approx(0.2 / 3)
    assert body["days"][1] == {
        "metric_date": "2026-01-02",
        "currency": "USD",
        "revenue": 0.0,
        "orders": 0,
        "aov": None,
        "sessions": 10,
        "visitors": 9,
        "conversion_rate": 0.0,
    }


def test_daily_range_is_inclusive(api: Api) -> None:
    body = api.get("/v1/analytics/daily", start="2026-01-02", end="2026-01-03").json()
    assert body["start"] == "2026-01-02" and body["end"] == "2026-01-03"
    assert [day["metric_date"] for day in body["days"]] == ["2026-01-02", "2026-01-03"]
    assert body["totals"] == {
        "days": 2,
        "revenue": 250.5,
        "orders": 3,
        "sessions": 30,
        "visitors": 27,
        "aov": 83.5,
        "conversion_rate": 0.1,
    }
    from_the_3rd = api.get("/v1/analytics/daily", start="2026-01-03").json()
    assert from_the_3rd["totals"]["days"] == 2
    # Orders without sessions: AOV yes, conversion undefined.
    only_the_5th = api.get("/v1/analytics/daily", start="2026-01-05", end="2026-01-05").json()
    assert only_the_5th["totals"]["aov"] == 49.5
    assert only_the_5th["totals"]["conversion_rate"] is None


def test_an_empty_range_has_zero_totals_and_no_ratios(api: Api) -> None:
    body = api.get("/v1/analytics/daily", start="2026-01-04", end="2026-01-04").json()
    assert body["days"] == [] and body["currency"] is None
    assert body["totals"] == {
        "days": 0,
        "revenue": 0.0,
        "orders": 0,
        "sessions": 0,
        "visitors": 0,
        "aov": None,
        "conversion_rate": None,
    }


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-02-30"}, "start", "YYYY-MM-DD"),
        ({"end": "yesterday"}, "end", "YYYY-MM-DD"),
        ({"start": "20260101"}, "start", "YYYY-MM-DD"),
        ({"start": "1767225600"}, "start", "YYYY-MM-DD"),
        ({"start": "2026-1-1"}, "start", "YYYY-MM-DD"),
        ({"start": "2026-01-03", "end": "2026-01-02"}, "start", "is after end"),
    ],
)
def test_bad_dates_are_a_422_naming_the_field(
    api: Api, params: dict[str, str], field: str, message: str
) -> None:
    for path in ("/v1/analytics/daily", "/v1/analytics/funnel"):
        response = api.get(path, **params)
        assert response.status_code == 422, response.text
        error = response.json()["detail"][0]
        assert error["loc"] == ["query", field]
        assert message in error["msg"]


# funnel -------------------------------------------------------------------------------------


def test_funnel_sums_counts_then_divides(api: Api) -> None:
    body = api.get("/v1/analytics/funnel").json()
    assert body["rows"] == 5
    assert [(s["step"], s["sessions"]) for s in body["steps"]] == [
        ("session", 510),
        ("product_viewed", 285),
        ("product_added", 90),
        ("checkout_started", 42),
        ("order_completed", 18),
    ]
    assert body["conversion_rate"] == pytest.approx(18 / 510)
    first, viewed = body["steps"][0], body["steps"][1]
    assert first["conversion_from_previous"] is None and first["drop_off"] is None
    assert first["conversion_from_start"] == 1.0
    assert viewed["conversion_from_previous"] == pytest.approx(285 / 510)
    assert viewed["drop_off"] == 225
    assert viewed["drop_off_rate"] == pytest.approx(225 / 510)


def test_funnel_filters(api: Api) -> None:
    desktop = api.get("/v1/analytics/funnel", device="desktop").json()
    assert desktop["filters"]["device"] == "desktop" and desktop["rows"] == 2
    assert [s["sessions"] for s in desktop["steps"]] == [150, 90, 30, 15, 8]
    added, checkout, ordered = desktop["steps"][2:]
    assert added["conversion_from_previous"] == pytest.approx(1 / 3)
    assert checkout["conversion_from_previous"] == 0.5
    assert checkout["drop_off"] == 15 and checkout["drop_off_rate"] == 0.5
    assert ordered["conversion_from_start"] == pytest.approx(8 / 150)

    us_from_3rd = api.get("/v1/analytics/funnel", country="US", start="2026-01-03").json()
    assert us_from_3rd["rows"] == 1
    assert [s["sessions"] for s in us_from_3rd["steps"]] == [150, 90, 30, 15, 6]

    combined = api.get(
        "/v1/analytics/funnel", source="google", device="mobile", end="2026-01-02"
    ).json()
    assert [s["sessions"] for s in combined["steps"]] == [200, 100, 30, 12, 4]
    # A row without a country matches no country filter, but counts when unfiltered.
    assert api.get("/v1/analytics/funnel", country="US").json()["steps"][0]["sessions"] == 450


def test_funnel_with_no_matching_rows_has_zeros_and_no_rates(api: Api) -> None:
    body = api.get("/v1/analytics/funnel", device="fridge").json()
    assert body["rows"] == 0 and body["conversion_rate"] is None
    assert {s["sessions"] for s in body["steps"]} == {0}
    assert {s["conversion_from_start"] for s in body["steps"]} == {None}
    assert body["steps"][1]["drop_off"] == 0 and body["steps"][1]["drop_off_rate"] is None


# customers and segments ---------------------------------------------------------------------


def test_a_customer_is_their_rfm_row(api: Api) -> None:
    response = api.get("/v1/customers/alice")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "tenant_id": "shop-a",
        "model_version": response.json()["model_version"],
        "customer_id": "alice",
        "user_id": "alice",
        "orders": 5,
        "net_revenue": 500.0,
        "first_order_at": "2026-01-01T12:00:00Z",
        "last_order_at": "2026-01-09T12:00:00Z",
        "recency_days": 3,
        "recency_score": 5,
        "frequency_score": 5,
        "monetary_score": 5,
        "rfm_code": "555",
        "rfm_segment": "champions",
        # Scores and orders are null until their models publish (tests/serving/test_models.py).
        "churn_probability": None,
        "churn_top_features": None,
        "clv_12m": None,
        "expected_purchases_90d": None,
        "scores_model_version": None,
        "last_orders": None,
    }
    guest = api.get("/v1/customers/anon-7").json()
    assert guest["user_id"] is None and guest["rfm_segment"] == "new_customers"


def test_an_unknown_customer_is_a_clear_404(api: Api) -> None:
    response = api.get("/v1/customers/nobody")
    assert response.status_code == 404
    assert "no customer 'nobody'" in response.json()["detail"]
    assert "shop-a" in response.json()["detail"]


def test_segments_summarize_customers(api: Api) -> None:
    body = api.get("/v1/segments").json()
    assert body["customers"] == 4
    assert body["segments"] == [
        {
            "segment": "champions",
            "customers": 2,
            "net_revenue": 800.0,
            "avg_net_revenue": 400.0,
            "avg_orders": 4.0,
            "avg_recency_days": 4.0,
        },
        {
            "segment": "new_customers",
            "customers": 1,
            "net_revenue": 30.0,
            "avg_net_revenue": 30.0,
            "avg_orders": 1.0,
            "avg_recency_days": 10.0,
        },
        {
            "segment": "hibernating",
            "customers": 1,
            "net_revenue": 20.0,
            "avg_net_revenue": 20.0,
            "avg_orders": 1.0,
            "avg_recency_days": 40.0,
        },
    ]


def test_a_customer_lookup_is_a_dict_hit_not_a_scan() -> None:
    count = 200_000
    customers = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(count)],
            "user_id": [f"c{i}" for i in range(count)],
            "orders": [1 + i % 7 for i in range(count)],
            "net_revenue": [float(i % 100) for i in range(count)],
            "recency_days": [i % 365 for i in range(count)],
            "recency_score": [1 + i % 5 for i in range(count)],
            "frequency_score": [1 + i % 5 for i in range(count)],
            "monetary_score": [1 + i % 5 for i in range(count)],
            "rfm_code": ["111"] * count,
            "rfm_segment": [f"s{i % 9}" for i in range(count)],
        }
    )
    index = AnalyticsIndex(ArtifactVersion("t", "v1", "now", {"customers": customers}))
    started = time.perf_counter()
    for i in range(0, count, 100):
        row = index.customer(f"c{i}")
        assert row is not None and row["customer_id"] == f"c{i}"
    per_lookup = (time.perf_counter() - started) / (count / 100)
    assert per_lookup < 0.001, f"{per_lookup * 1000:.3f} ms per lookup"
    assert sum(segment["customers"] for segment in index.segments()) == count


# cohorts ------------------------------------------------------------------------------------


def test_cohorts_are_matrix_rows_per_grain(api: Api) -> None:
    months = api.get("/v1/analytics/cohorts").json()
    assert months["grain"] == "month"
    assert months["cohorts"] == [
        {
            "cohort_start": "2026-01-01",
            "cohort_customers": 10,
            "periods": [
                {
                    "period_number": 0,
                    "active_customers": 10,
                    "customer_retention": 1.0,
                    "net_revenue": 500.0,
                },
                {
                    "period_number": 1,
                    "active_customers": 4,
                    "customer_retention": 0.4,
                    "net_revenue": 120.5,
                },
            ],
        },
        {
            "cohort_start": "2026-02-01",
            "cohort_customers": 5,
            "periods": [
                {
                    "period_number": 0,
                    "active_customers": 5,
                    "customer_retention": 1.0,
                    "net_revenue": 200.0,
                }
            ],
        },
    ]
    weeks = api.get("/v1/analytics/cohorts", grain="week").json()
    assert [c["cohort_start"] for c in weeks["cohorts"]] == ["2025-12-29"]
    assert [p["period_number"] for p in weeks["cohorts"][0]["periods"]] == [0, 2]


def test_an_unknown_grain_is_a_422(api: Api) -> None:
    response = api.get("/v1/analytics/cohorts", grain="day")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "grain"]


# product performance ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("revenue", ["p2", "p1", "p3", "p4"]),
        ("views", ["p2", "p4", "p1", "p3"]),  # the tie goes to the lower product id
        ("units_sold", ["p3", "p1", "p2", "p4"]),
        ("return_rate", ["p2", "p3", "p1", "p4"]),  # a product never sold comes last
    ],
)
def test_products_sort_by_whitelisted_columns(api: Api, sort: str, expected: list[str]) -> None:
    body = api.get("/v1/analytics/products", sort=sort).json()
    assert body["sort"] == sort and body["products_total"] == 4
    assert [item["product_id"] for item in body["items"]] == expected
    assert [item["rank"] for item in body["items"]] == [1, 2, 3, 4]


def test_products_default_sort_limit_and_fields(api: Api) -> None:
    body = api.get("/v1/analytics/products", limit=1).json()
    assert body["sort"] == "revenue"
    assert body["items"] == [
        {
            "rank": 1,
            "product_id": "p2",
            "name": "Tent",
            "category": "tents",
            "views": 300,
            "viewers": 200,
            "cart_adds": 30,
            "add_to_cart_rate": 0.1,
            "orders": 2,
            "buyers": 2,
            "units_sold": 2,
            "revenue": 500.0,
            "units_refunded": 1,
            "return_rate": 0.5,
        }
    ]
    assert len(api.get("/v1/analytics/products", limit=1000).json()["items"]) == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "price"}, "sort"),
        ({"sort": "revenue; drop table"}, "sort"),
        ({"sort": "REVENUE"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_products_reject_other_sorts_and_limits(
    api: Api, params: dict[str, str], field: str
) -> None:
    response = api.get("/v1/analytics/products", **params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


# every endpoint -----------------------------------------------------------------------------


def test_nothing_published_is_a_503(api: Api) -> None:
    for path in ENDPOINTS:
        response = api.get(path, "shop-new")
        assert response.status_code == 503, path
        assert "no artifacts published yet" in response.json()["detail"]
        assert response.headers["retry-after"] == "60"


def test_a_version_without_the_marts_is_a_503_naming_the_table(api: Api) -> None:
    tables = {
        "/v1/analytics/daily": "daily_metrics",
        "/v1/analytics/funnel": "funnel_daily",
        "/v1/analytics/cohorts": "cohort_retention",
        "/v1/analytics/products": "product_performance",
        "/v1/customers/alice": "customers",
        "/v1/segments": "customers",
    }
    for path, table in tables.items():
        response = api.get(path, "shop-old")
        assert response.status_code == 503, path
        assert f"no {table} table published yet" in response.json()["detail"]
        assert "intellishop pipeline run" in response.json()["detail"]


def test_keys_are_required_and_write_keys_refused(api: Api) -> None:
    for path in ENDPOINTS:
        assert api.client.get(path).status_code == 401
        refused = api.get(path, "shop-a-write")
        assert refused.status_code == 403 and "write key" in refused.json()["detail"]


def test_tenants_never_see_each_other(api: Api) -> None:
    # "sam" is a customer of both shops: each shop answers with its own row.
    sam_a = api.get("/v1/customers/sam", "shop-a").json()
    sam_b = api.get("/v1/customers/sam", "shop-b").json()
    assert (sam_a["tenant_id"], sam_a["net_revenue"], sam_a["rfm_segment"]) == (
        "shop-a",
        20.0,
        "hibernating",
    )
    assert (sam_b["tenant_id"], sam_b["net_revenue"], sam_b["rfm_segment"]) == (
        "shop-b",
        900.0,
        "loyal",
    )
    # shop-a's customers are unknown to shop-b.
    assert api.get("/v1/customers/alice", "shop-b").status_code == 404
    segments_b = api.get("/v1/segments", "shop-b").json()
    assert [s["segment"] for s in segments_b["segments"]] == ["loyal"]
    daily_b = api.get("/v1/analytics/daily", "shop-b").json()
    assert daily_b["currency"] == "EUR" and daily_b["totals"]["revenue"] == 999.0
    funnel_b = api.get("/v1/analytics/funnel", "shop-b").json()
    assert funnel_b["rows"] == 1 and funnel_b["steps"][0]["sessions"] == 100
    products_b = api.get("/v1/analytics/products", "shop-b").json()
    assert [item["product_id"] for item in products_b["items"]] == ["p4"]
    assert api.get("/v1/analytics/cohorts", "shop-b").json()["cohorts"] == []


def test_the_endpoints_are_in_the_openapi_schema(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    for path in (
        "/v1/analytics/daily",
        "/v1/analytics/funnel",
        "/v1/analytics/cohorts",
        "/v1/analytics/products",
        "/v1/customers/{user_id}",
        "/v1/segments",
    ):
        operation = schema["paths"][path]["get"]
        assert operation["summary"]
        assert "$ref" in operation["responses"]["200"]["content"]["application/json"]["schema"]
    sort = schema["components"]["schemas"]["ProductPerformanceList"]["properties"]["sort"]
    assert sort["enum"] == ["revenue", "views", "units_sold", "return_rate"]
    assert "404" in schema["paths"]["/v1/customers/{user_id}"]["get"]["responses"]
