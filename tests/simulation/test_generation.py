"""The simulator's promises: deterministic, ordered, Segment-shaped, and believable."""

from __future__ import annotations

import ipaddress
import itertools
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from intellishop.events import ECOMMERCE_EVENTS, Message
from intellishop.simulation import (
    CATEGORIES,
    SimulationConfig,
    build_catalog,
    generate_events,
)
from intellishop.simulation.shoppers import COUNTRIES
from intellishop.simulation.timeline import black_friday

from .conftest import SHOP, SHOP_END, is_bot, session_starts, tracks

SMALL = SimulationConfig(seed=11, days=10, customers=60, end=date(2025, 3, 14))
SILENCE = timedelta(weeks=2)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def ts(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))


def test_same_seed_gives_the_same_events_and_another_seed_does_not() -> None:
    first = msgspec.json.encode(list(generate_events(SMALL)))
    again = msgspec.json.encode(list(generate_events(SMALL)))
    other = list(generate_events(replace(SMALL, seed=12)))
    assert first == again
    assert msgspec.json.encode(other) != first
    decoded = msgspec.json.decode(first)
    assert not {e["messageId"] for e in other} & {e["messageId"] for e in decoded}
    users = {e["userId"] for e in decoded if "userId" in e}
    assert users and not users & {e["userId"] for e in other if "userId" in e}


def test_catalog_is_deterministic_and_believable() -> None:
    catalog = build_catalog(SHOP)
    assert catalog == build_catalog(SHOP)
    assert len(catalog) == SHOP.products
    assert len({p.product_id for p in catalog}) == len({p.name for p in catalog}) == len(catalog)
    categories = Counter(p.category for p in catalog)
    assert 8 <= len(categories) <= 12 and len(categories) == len(CATEGORIES)
    assert all(len({p.brand for p in catalog if p.category == c}) >= 3 for c in categories)
    prices = [p.price for p in catalog]
    assert min(prices) > 0 and max(prices) < 2000
    assert statistics.median(prices) < statistics.mean(prices)  # log-normal: a long right tail
    # Popularity drifts: the most popular products at the end are not the all-time ones.
    by_popularity = sorted(catalog, key=lambda p: -p.popularity)[:20]
    at_end = sorted(catalog, key=lambda p: -p.popularity * 2.718 ** (p.trend / 2))[:20]
    assert by_popularity != at_end


def test_events_are_in_time_order_inside_the_window(shop_events: list[dict[str, Any]]) -> None:
    stamps = [e["timestamp"] for e in shop_events]
    assert stamps == sorted(stamps)
    assert all(s.endswith("Z") for s in stamps)
    first = datetime.combine(SHOP_END - timedelta(days=SHOP.days - 1), datetime.min.time(), UTC)
    assert ts(shop_events[0]) >= first
    assert ts(shop_events[-1]) < first + timedelta(days=SHOP.days)
    assert ts(shop_events[0]) < first + timedelta(hours=2)  # traffic from the first hours on
    assert ts(shop_events[-1]) > first + timedelta(days=SHOP.days, hours=-2)


def test_without_an_end_the_window_ends_now() -> None:
    now = datetime(2025, 6, 3, 14, 30, tzinfo=UTC)
    events = list(generate_events(SimulationConfig(seed=5, days=3, customers=40), now=now))
    assert events and max(ts(e) for e in events) < now
    assert ts(events[-1]).date() == now.date()
    assert min(ts(e) for e in events).date() == date(2025, 6, 1)


def test_every_message_is_a_segment_message(shop_events: list[dict[str, Any]]) -> None:
    decoded = msgspec.json.decode(msgspec.json.encode(shop_events), type=list[Message])
    assert len(decoded) == len(shop_events)
    assert Counter(m.type for m in decoded).keys() == {"track", "identify", "page"}
    ids = [e["messageId"] for e in shop_events]
    assert len(set(ids)) == len(ids) and all(UUID.match(i) for i in ids[:1000])
    names = {e["event"] for e in shop_events if e["type"] == "track"}
    assert names <= ECOMMERCE_EVENTS
    assert {
        "Products Searched", "Product List Viewed", "Product Viewed", "Product Added",
        "Product Removed", "Cart Viewed", "Checkout Started", "Payment Info Entered",
        "Order Completed", "Order Refunded", "Coupon Applied", "Product Added to Wishlist",
    } <= names  # fmt: skip
    for e in shop_events[:2000]:
        assert e.get("userId") or e.get("anonymousId")
        if e["type"] == "page":
            context = e["context"]
            assert {"ip", "userAgent", "locale", "page", "location"} <= context.keys()
            assert e["properties"]["url"] == context["page"]["url"]
            assert e["properties"]["url"].startswith("https://shop.example.com/")
        if e["type"] == "track" and e["event"] == "Product Viewed":
            assert {"product_id", "sku", "name", "category", "brand", "price", "currency"} <= (
                e["properties"].keys()
            )


def test_funnel_rates_are_believable(shop_events: list[dict[str, Any]]) -> None:
    human = [e for e in shop_events if not is_bot(e)]
    views = len(tracks(human, "Product Viewed"))
    adds = len(tracks(human, "Product Added"))
    checkouts = len(tracks(human, "Checkout Started"))
    orders = len(tracks(human, "Order Completed"))
    sessions = session_starts(human)
    assert 0.07 <= adds / views <= 0.13
    assert 0.02 <= orders / sessions <= 0.045
    assert 0.4 <= orders / checkouts <= 0.8
    assert 4 <= len(human) / sessions <= 10


def test_orders_are_complete_and_add_up(shop_events: list[dict[str, Any]]) -> None:
    orders = tracks(shop_events, "Order Completed")
    assert len(orders) > 200
    assert len({o["properties"]["order_id"] for o in orders}) == len(orders)
    catalog = {p.product_id: p for p in build_catalog(SHOP)}
    for order in orders:
        p = order["properties"]
        assert order["userId"] and p["order_id"] and p["currency"] == "USD"
        assert p["products"] and all(item["quantity"] >= 1 for item in p["products"])
        items = sum(round(item["price"] * 100) * item["quantity"] for item in p["products"])
        cents = {k: round(p[k] * 100) for k in ("total", "subtotal", "revenue", "tax", "shipping")}
        discount = round(p["discount"] * 100)
        assert cents["subtotal"] == cents["revenue"] == items - discount
        assert cents["total"] == cents["subtotal"] + cents["tax"] + cents["shipping"]
        assert 0 <= discount < items
        if discount:
            assert p["coupon"]
        if "coupon" in p:
            assert discount > 0 or cents["shipping"] == 0  # FREESHIP
        for item in p["products"]:
            assert item["price"] == catalog[item["product_id"]].price
    coupons = Counter(o["properties"].get("coupon") for o in orders)
    assert coupons["BLACKFRIDAY25"] > 0  # the deal weekend is inside the window


def test_refunds_reference_earlier_orders(shop_events: list[dict[str, Any]]) -> None:
    orders: dict[str, dict[str, Any]] = {}
    refunds = 0
    for e in shop_events:
        if e["type"] != "track":
            continue
        if e["event"] == "Order Completed":
            orders[e["properties"]["order_id"]] = e
        elif e["event"] == "Order Refunded":
            refunds += 1
            order = orders[e["properties"]["order_id"]]  # refunded after it was placed
            assert e["userId"] == order["userId"]
            assert ts(e) - ts(order) >= timedelta(days=2)
            assert 0 < e["properties"]["total"] <= order["properties"]["total"]
    assert 0.015 <= refunds / len(orders) <= 0.08


def test_anonymous_visitors_identify_and_are_stitched(shop_events: list[dict[str, Any]]) -> None:
    anonymous_first: set[str] = set()
    seen_with_user: set[str] = set()
    devices: defaultdict[str, set[str]] = defaultdict(set)
    for e in shop_events:
        anonymous_id, user_id = e.get("anonymousId"), e.get("userId")
        if anonymous_id and not user_id and anonymous_id not in seen_with_user:
            anonymous_first.add(anonymous_id)
        if anonymous_id and user_id:
            seen_with_user.add(anonymous_id)
            devices[user_id].add(anonymous_id)
    stitched = anonymous_first & seen_with_user
    assert len(stitched) > 100  # browsed anonymously first, identified later
    assert sum(len(ids) > 1 for ids in devices.values()) > 20  # customers with several devices
    identifies = [e for e in shop_events if e["type"] == "identify"]
    assert all(e["userId"] and e["anonymousId"] for e in identifies)
    traits = identifies[0]["traits"]
    assert {"email", "first_name", "last_name", "country", "created_at"} <= traits.keys()
    assert traits["email"].split("@")[1] in {"example.com", "example.org", "example.net"}
    users = {e["userId"] for e in identifies}
    assert 0.7 * SHOP.customers <= len(users) <= SHOP.customers
    # Most visitors never identify: far more anonymous ids than users.
    anonymous_only = {e["anonymousId"] for e in shop_events if "anonymousId" in e} - seen_with_user
    assert len(anonymous_only) > 5 * len(users)


def test_customer_habits_differ(shop_events: list[dict[str, Any]]) -> None:
    orders_by_user = Counter(e["userId"] for e in tracks(shop_events, "Order Completed"))
    assert sum(n == 1 for n in orders_by_user.values()) > 50  # one-time buyers
    assert sum(n >= 3 for n in orders_by_user.values()) > 10  # loyal repeat buyers
    last_seen: dict[str, datetime] = {}
    for e in shop_events:
        if e.get("userId") and e.get("event") != "Order Refunded":  # refunds: the shop's doing
            last_seen[e["userId"]] = ts(e)
    end = datetime.combine(SHOP_END, datetime.min.time(), UTC)
    churned = [u for u, n in orders_by_user.items() if n >= 2 and end - last_seen[u] > SILENCE]
    assert churned  # bought repeatedly, then stopped coming
    # Loyal customers re-order the same staple products.
    bought: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for e in tracks(shop_events, "Order Completed"):
        for item in e["properties"]["products"]:
            bought[e["userId"]][item["product_id"]] += 1
    assert sum(any(n >= 2 for n in c.values()) for c in bought.values()) > 10


def test_weekly_and_seasonal_patterns(shop_events: list[dict[str, Any]]) -> None:
    human = [e for e in shop_events if not is_bot(e)]
    visits = Counter(
        ts(e).date()
        for e in human
        if e["type"] == "page" and not e["properties"]["referrer"].startswith("https://shop.")
    )
    orders = Counter(ts(e).date() for e in tracks(human, "Order Completed"))
    before_deals = [d for d in visits if d < date(2024, 11, 10)]
    weekend = statistics.mean(visits[d] for d in before_deals if d.weekday() >= 5)
    weekday = statistics.mean(visits[d] for d in before_deals if d.weekday() < 5)
    assert weekend > 1.1 * weekday
    deal_days = [black_friday(2024) + timedelta(days=i) for i in range(4)]
    assert statistics.mean(orders[d] for d in deal_days) > 1.8 * statistics.mean(
        orders[d] for d in before_deals
    )
    hours = Counter(ts(e).hour for e in human if e["type"] == "page")
    assert hours.most_common(1)[0][1] > 2 * min(hours.values())  # a daily rhythm


def test_pages_are_seconds_to_minutes_apart(shop_events: list[dict[str, Any]]) -> None:
    by_device: defaultdict[str, list[datetime]] = defaultdict(list)
    for e in shop_events:
        if e["type"] == "page" and not is_bot(e):
            by_device[e["anonymousId"]].append(ts(e))
    gaps = [
        (b - a).total_seconds()
        for stamps in itertools.islice(by_device.values(), 5000)
        for a, b in itertools.pairwise(stamps)
    ]
    within = [g for g in gaps if g < 1800]  # the same visit
    assert len(within) > 0.5 * len(gaps)
    assert min(within) > 0
    assert 5 <= statistics.median(within) <= 180


def test_geography_devices_and_sources(shop_events: list[dict[str, Any]]) -> None:
    human = [e for e in shop_events if not is_bot(e) and e["type"] == "page"]
    countries = Counter(e["context"]["location"]["country"] for e in human)
    assert len(countries) >= 8 and countries.most_common(1)[0][0] == "US"
    blocks = {c.code: [ipaddress.IPv4Network(b) for b in c.ip_blocks] for c in COUNTRIES}
    for e in human[:3000]:
        ip = ipaddress.IPv4Address(e["context"]["ip"])
        assert ip.is_global
        assert any(ip in block for block in blocks[e["context"]["location"]["country"]])
    agents = Counter(e["context"]["userAgent"] for e in human)
    assert any("iPhone" in a for a in agents) and any("Windows NT" in a for a in agents)
    assert any("iPad" in a for a in agents) and any("Android" in a for a in agents)
    landings = [e for e in human if not e["properties"]["referrer"].startswith("https://shop.")]
    campaigns = Counter(
        e["context"]["campaign"]["medium"] for e in landings if "campaign" in e["context"]
    )
    assert {"cpc", "email", "paid_social"} <= campaigns.keys()
    for e in landings:
        if "campaign" in e["context"]:
            assert "utm_source=" in e["properties"]["url"]
    referrers = Counter(e["properties"]["referrer"] for e in landings)
    assert referrers[""] > 0 and referrers["https://www.google.com/"] > 0


def test_bots_are_about_two_percent(shop_events: list[dict[str, Any]]) -> None:
    bots = [e for e in shop_events if is_bot(e)]
    assert 0.01 <= len(bots) / len(shop_events) <= 0.035
    assert not any("userId" in e for e in bots)
    assert {e["context"]["userAgent"].split("compatible; ")[-1][:6] for e in bots} >= {
        "Google",
        "bingbo",
        "Ahrefs",
    }


@pytest.mark.parametrize("field", ["days", "customers"])
def test_bad_config_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SimulationConfig(**{field: 0})  # type: ignore[arg-type]
