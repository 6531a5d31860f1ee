"""The endpoints over the ML models' tables: recommendations by algorithm and filters, similar
products, bought together, customer scores, segment members, forecasts, the analytics query."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from ingest.event_log import SqliteEventLog
from serving.served_events import SERVED_EVENT
from tests.serving.conftest import Shops
from tests.serving.published import full_shop

# recommendations ----------------------------------------------------------------------------


def ids(body: dict[str, object]) -> list[str]:
    items = body["items"]
    assert isinstance(items, list)
    return [item["product_id"] for item in items]


def test_the_blend_is_the_default_and_any_algorithm_can_be_asked_for(shops: Shops) -> None:
    blend = shops.get("/v1/recommendations/multi", n=2).json()
    assert blend["algorithm"] == "blend" and ids(blend) == ["a-p4", "a-p1"]
    als = shops.get("/v1/recommendations/multi", n=2, algorithm="als").json()
    assert als["algorithm"] == "als" and ids(als) == ["a-p1", "a-p2"]
    assert als["cold_start"] is False
    # No rows of that algorithm for the user: the cold-start answer, flagged.
    none = shops.get("/v1/recommendations/multi", n=2, algorithm="buy_again").json()
    assert none["cold_start"] is True and none["algorithm"] == "cold_start_trending"


def test_an_experiment_hook_picks_the_algorithm(shops: Shops) -> None:
    shops.client.app.state.choose_algorithm = lambda tenant, user: "content"  # type: ignore[attr-defined]
    body = shops.get("/v1/recommendations/multi", n=1).json()
    assert body["algorithm"] == "content" and ids(body) == ["a-p3"]


def test_exclude_context_and_category_filter_every_source(shops: Shops) -> None:
    # alice's list is a-p3, a-p4, a-p5 (stoves); the cart holds a-p3, she looks at a-p4.
    body = shops.client.get(
        "/v1/recommendations/alice",
        params=[("n", "4"), ("exclude", "a-p3"), ("context", "a-p4")],
        headers={"X-API-Key": shops.keys["shop-a"]},
    ).json()
    assert ids(body)[0] == "a-p5" and body["cold_start"] is False
    assert "a-p3" not in ids(body) and "a-p4" not in ids(body)
    assert len(ids(body)) == 4 and len(set(ids(body))) == 4  # topped up, no duplicates
    assert [item["rank"] for item in body["items"]] == [1, 2, 3, 4]
    tents = shops.get("/v1/recommendations/alice", n=5, category="tents").json()
    assert set(ids(tents)) == {"a-p0", "a-p1", "a-p2"}  # alice's stoves are filtered out
    assert {item["category"] for item in tents["items"]} == {"tents"}
    comma = shops.get("/v1/recommendations/alice", n=3, exclude="a-p3,a-p4").json()
    assert ids(comma)[0] == "a-p5"


def test_a_stranger_on_a_product_page_gets_similar_products_first(shops: Shops) -> None:
    body = shops.get("/v1/recommendations/stranger", n=3, context="a-p0").json()
    assert body["cold_start"] is True and body["algorithm"] == "cold_start_similar"
    assert ids(body)[:3] == ["a-p1", "a-p2", "a-p4"]
    assert body["items"][0]["algorithm"] == "cold_start_similar"


def test_every_list_is_logged_once_as_recommendations_served(shops: Shops) -> None:
    first = shops.get("/v1/recommendations/alice", n=2).json()
    second = shops.get("/v1/products/a-p0/similar", n=2, user_id="alice").json()
    third = shops.get("/v1/products/a-p0/frequently-bought-together").json()
    shops.get("/v1/recommendations/bob", "shop-b", n=1)
    served = shops.client.app.state.served_events  # type: ignore[attr-defined]
    served.flush()
    log = SqliteEventLog(shops.settings.event_log_path)
    entries = log.read("test-reader", 100)
    log.close()
    events = {
        e.message_id: (entry.batch.tenant_id, e) for entry in entries for e in entry.batch.events
    }
    assert {t for t, _ in events.values()} == {"shop-a", "shop-b"}
    # One entry per tenant for the flush, not one per response.
    assert sorted(entry.batch.tenant_id for entry in entries) == ["shop-a", "shop-b"]
    for body, surface in (
        (first, "recommendations"),
        (second, "similar"),
        (third, "frequently_bought_together"),
    ):
        tenant_id, event = events[body["recommendation_id"]]
        assert tenant_id == "shop-a" and event.event == SERVED_EVENT
        properties = json.loads(event.properties)
        assert properties["recommendation_id"] == body["recommendation_id"]
        assert properties["product_ids"] == ids(body)
        assert properties["algorithm"] == body.get("algorithm", "co_purchase")
        assert properties["surface"] == surface
    assert events[first["recommendation_id"]][1].user_id == "alice"


# similar and bought together ----------------------------------------------------------------


def test_similar_products_by_rank_without_duplicates(shops: Shops) -> None:
    body = shops.get("/v1/products/a-p0/similar", n=5).json()
    assert ids(body) == ["a-p1", "a-p2", "a-p4"]
    assert body["fallback"] is False and body["algorithm"] == "als+co_purchase"
    assert body["items"][0]["name"] == "A item 1" and body["items"][0]["price"] == 20.0
    content = shops.get("/v1/products/a-p0/similar", algorithm="content").json()
    assert ids(content) == ["a-p1"] and content["algorithm"] == "content"


def test_a_product_without_neighbours_gets_its_category_trending(shops: Shops) -> None:
    body = shops.get("/v1/products/a-p1/similar", n=2).json()
    assert body["fallback"] is True and body["algorithm"] == "category_trending"
    assert ids(body) == ["a-p0", "a-p2"]  # tents, a-p1 itself left out


def test_an_unknown_product_is_a_404_with_a_reason(shops: Shops) -> None:
    for path in ("similar", "frequently-bought-together", "forecast", "reorder"):
        response = shops.get(f"/v1/products/nope/{path}")
        assert response.status_code == 404, (path, response.text)
        assert "unknown product 'nope'" in response.json()["detail"]
    # Another shop's product is unknown here.
    assert shops.get("/v1/products/b-p0/similar").status_code == 404


def test_frequently_bought_together_carries_the_pair_statistics(shops: Shops) -> None:
    body = shops.get("/v1/products/a-p0/frequently-bought-together").json()
    assert ids(body) == ["a-p4", "a-p3"]
    first = body["items"][0]
    assert (first["orders_together"], first["confidence"], first["lift"]) == (5, 0.5, 2.5)
    assert first["rank"] == 1 and first["name"] == "A item 4"
    assert shops.get("/v1/products/a-p2/frequently-bought-together").json()["items"] == []


def test_before_the_models_publish_widgets_answer_and_analytics_say_why(shops: Shops) -> None:
    tables = full_shop("a", ["alice"])
    for name in ("similar_products", "frequently_bought_together", "demand_forecast"):
        tables.pop(name)
    tables.pop("reorder_suggestions")
    shops.store.publish("shop-a", tables)
    similar = shops.get("/v1/products/a-p0/similar")
    assert similar.status_code == 200 and similar.json()["fallback"] is True
    together = shops.get("/v1/products/a-p0/frequently-bought-together")
    assert together.status_code == 200 and together.json()["items"] == []
    for path in ("forecast", "reorder"):
        response = shops.get(f"/v1/products/a-p0/{path}")
        assert response.status_code == 503
        assert "table published yet" in response.json()["detail"]


# customers and segments ---------------------------------------------------------------------


def test_a_customer_profile_has_scores_and_last_orders(shops: Shops) -> None:
    body = shops.get("/v1/customers/alice").json()
    assert body["rfm_segment"] == "champions"
    assert body["churn_probability"] == 0.2 and body["clv_12m"] == 120.0
    assert body["expected_purchases_90d"] == 1.5 and body["scores_model_version"] == "m1"
    assert body["churn_top_features"] == [
        {"feature": "days_since_last_order", "contribution": -0.3}
    ]
    assert [o["order_id"] for o in body["last_orders"]] == ["a-o2", "a-o1"]
    carol = shops.get("/v1/customers/carol").json()
    assert carol["churn_probability"] == 0.7 and carol["churn_top_features"] is None
    assert carol["last_orders"] == []
    sam = shops.get("/v1/customers/sam").json()
    assert sam["churn_probability"] is None  # a customer the model did not score


def test_segment_members_are_paged_best_first(shops: Shops) -> None:
    page = shops.get("/v1/segments/champions/members", limit=1).json()
    assert page["total"] == 2 and page["next_offset"] == 1
    assert [m["customer_id"] for m in page["members"]] == ["alice"]
    last = shops.get("/v1/segments/champions/members", limit=1, offset=1).json()
    assert [m["customer_id"] for m in last["members"]] == ["carol"]
    assert last["next_offset"] is None
    beyond = shops.get("/v1/segments/champions/members", offset=5).json()
    assert beyond["members"] == [] and beyond["next_offset"] is None
    missing = shops.get("/v1/segments/loyal/members")  # shop-b's segment, not shop-a's
    assert missing.status_code == 404 and "champions" in missing.json()["detail"]


# forecasts ----------------------------------------------------------------------------------


def test_forecast_days_in_order_and_in_range(shops: Shops) -> None:
    body = shops.get("/v1/products/a-p0/forecast").json()
    assert [d["forecast_date"] for d in body["days"]] == ["2026-01-05", "2026-01-06", "2026-01-07"]
    assert body["total_yhat"] == 6.0
    ranged = shops.get("/v1/products/a-p0/forecast", start="2026-01-06", limit=1).json()
    assert [d["yhat"] for d in ranged["days"]] == [2.0]
    assert shops.get("/v1/products/a-p1/forecast").json()["days"] == []


def test_reorder_suggestion(shops: Shops) -> None:
    body = shops.get("/v1/products/a-p0/reorder").json()
    assert body["reorder_point"] == 16.2 and body["suggested_order_qty"] == 60.0
    assert body["lead_time_days"] == 7.0
    no_demand = shops.get("/v1/products/a-p1/reorder")
    assert no_demand.status_code == 404 and "no reorder suggestion" in no_demand.json()["detail"]


# the analytics query ------------------------------------------------------------------------


def test_revenue_by_week_and_by_country(shops: Shops) -> None:
    weekly = shops.get("/v1/analytics/query", metric="revenue", granularity="week").json()
    assert weekly["source"] == "daily_metrics"
    # 2026-01-01..03 fall in the week of Monday 2025-12-29; 01-05 starts the next.
    assert [(r["period"], r["value"]) for r in weekly["rows"]] == [
        ("2025-12-29", 350.5),
        ("2026-01-05", 49.5),
    ]
    assert weekly["total"] == 400.0
    by_country = shops.get("/v1/analytics/query", metric="revenue", breakdown="country").json()
    assert by_country["source"] == "geo_daily"
    assert [(r["period"], r["group"], r["value"]) for r in by_country["rows"]] == [
        ("2026-01-01", "DE", 50.0),
        ("2026-01-01", "US", 100.0),
        ("2026-01-03", "US", 250.5),
    ]


def test_ratios_divide_sums_and_filters_narrow(shops: Shops) -> None:
    body = shops.get(
        "/v1/analytics/query",
        metric="conversion_rate",
        granularity="month",
        breakdown="device_type",
        filter="traffic_source:google",
    ).json()
    assert body["source"] == "funnel_daily" and body["filters"] == {"traffic_source": "google"}
    values = {r["group"]: r["value"] for r in body["rows"]}
    assert values == {"desktop": 5 / 100, "mobile": 4 / 200, "tablet": 0.0}
    assert body["total"] == pytest.approx(9 / 310)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"metric": "profit"}, "metric"),
        ({}, "metric"),
        ({"metric": "revenue", "granularity": "hour"}, "granularity"),
        ({"metric": "revenue", "breakdown": "browser"}, "breakdown"),
        ({"metric": "revenue", "breakdown": "device_type"}, "breakdown"),
        ({"metric": "revenue", "filter": "browser:chrome"}, "filter"),
        ({"metric": "revenue", "filter": "country"}, "filter"),
        ({"metric": "visitors", "filter": "device_type:mobile"}, "filter"),
        ({"metric": "revenue", "start": "2026-02-01", "end": "2026-01-01"}, "start"),
    ],
)
def test_a_query_the_marts_cannot_answer_is_a_422_naming_the_field(
    shops: Shops, params: dict[str, str], field: str
) -> None:
    response = shops.get("/v1/analytics/query", **params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field


def test_query_answers_are_cached_until_the_next_publish(shops: Shops) -> None:
    params = {"metric": "orders", "granularity": "month"}
    first = shops.get("/v1/analytics/query", **params)
    again = shops.get("/v1/analytics/query", **params)
    assert first.headers["x-cache"] == "miss" and again.headers["x-cache"] == "hit"
    assert first.json() == again.json()
    tables = full_shop("a", ["alice"])
    tables["daily_metrics"] = tables["daily_metrics"].set_column(
        3, "orders", pa.array([30, 20, 10, 0])
    )
    shops.store.publish("shop-a", tables)
    fresh = shops.get("/v1/analytics/query", **params)
    assert fresh.headers["x-cache"] == "miss"
    assert fresh.json()["total"] == 60.0 and again.json()["total"] == 6.0
    # Another tenant's identical query is its own entry.
    other = shops.get("/v1/analytics/query", "shop-b", **params)
    assert other.headers["x-cache"] == "miss" and other.json()["tenant_id"] == "shop-b"
