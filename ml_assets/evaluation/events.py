"""Segment events to ``int_product_interactions`` rows, in Python, for offline evaluation.

The pipeline builds interactions with dbt (``int_identity_map`` -> ``int_events_stitched`` ->
``int_product_mentions`` -> ``int_product_interactions``). Evaluating a model on a CSV file or
on the simulator should not need a warehouse, so this module applies the same rules to events
in memory:

- only ``track`` events; crawlers (a ``CRAWLER_MARKERS`` user agent, or the collector's
  ``context.intellishop.is_bot``) are dropped;
- identity: an anonymous id belongs to the user of the latest event carrying both ids (or an
  ``alias``); ``actor_id`` = user id, else that user, else the anonymous id; ``user_id`` is the
  event's own user id (null while anonymous), as in ``int_events_stitched``;
- one row per product an event names: ``properties.product_id`` of product events, each element
  of ``properties.products[]`` of cart, checkout and order events; list views are not touches.

Two columns beyond the contract are kept because the evaluation uses them: ``order_id`` (order
events) and ``country`` (``context.location.country``). Recommenders ignore them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
import polars as pl

from intellishop.events import LoggedEvent
from intellishop.simulation import CRAWLER_MARKERS
from ml_assets.recommend.interactions import INTERACTION_SCHEMA

LIST_EVENTS = frozenset(
    {
        "Product List Viewed",
        "Product List Filtered",
        "Cart Viewed",
        "Checkout Started",
        "Order Completed",
        "Order Updated",
        "Order Refunded",
        "Order Cancelled",
    }
)
NOT_TOUCHES = frozenset({"Product List Viewed", "Product List Filtered"})

EVALUATION_SCHEMA: dict[str, pl.DataType] = {
    **INTERACTION_SCHEMA,
    "order_id": pl.String(),
    "country": pl.String(),
}
PRODUCT_SCHEMA: dict[str, pl.DataType] = {
    "tenant_id": pl.String(),
    "product_id": pl.String(),
    "name": pl.String(),
    "category": pl.String(),
    "brand": pl.String(),
    "price": pl.Float64(),
}

_decode = msgspec.json.Decoder(dict[str, Any])


def logged_to_message(event: LoggedEvent) -> dict[str, Any]:
    """An event-log event in the Segment message shape the converter reads."""
    return {
        "type": event.type,
        "event": event.event,
        "userId": event.user_id,
        "anonymousId": event.anonymous_id,
        "previousId": event.previous_id,
        "timestamp": datetime.fromtimestamp(event.timestamp_us / 1e6, UTC),
        "properties": _decode.decode(event.properties) if event.properties else {},
        "context": _decode.decode(event.context) if event.context else {},
    }


def _moment(value: Any) -> datetime:
    """A naive UTC datetime from a datetime or an ISO string (``Z`` allowed)."""
    moment = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _is_bot(context: Mapping[str, Any]) -> bool:
    flags = context.get("intellishop")
    if isinstance(flags, Mapping) and flags.get("is_bot"):
        return True
    agent = str(context.get("userAgent") or "")
    return any(marker in agent for marker in CRAWLER_MARKERS)


def events_to_interactions(
    messages: Iterable[Mapping[str, Any]], *, tenant_id: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(interactions in ``EVALUATION_SCHEMA``, products in ``PRODUCT_SCHEMA``) of one tenant.

    Products carry the latest name, category, brand and price any event mentioned.
    """
    links: dict[str, tuple[datetime, str]] = {}
    rows: list[tuple[Any, ...]] = []
    catalog: dict[str, tuple[datetime, Any, Any, Any, Any]] = {}
    for message in messages:
        kind = message.get("type")
        user = message.get("userId")
        anonymous = message.get("anonymousId")
        when = _moment(message.get("timestamp"))
        linked = message.get("previousId") if kind == "alias" else anonymous
        if user and linked:
            previous = links.get(linked)
            if previous is None or previous[0] <= when:
                links[linked] = (when, user)
        if kind != "track":
            continue
        event = message.get("event")
        if not event or event in NOT_TOUCHES:
            continue
        context = message.get("context") or {}
        if _is_bot(context):
            continue
        properties = message.get("properties") or {}
        location = context.get("location")
        country = location.get("country") if isinstance(location, Mapping) else None
        if event in LIST_EVENTS:
            products = properties.get("products") or []
        elif properties.get("product_id") is not None:
            products = [properties]
        else:
            products = []
        order_id = properties.get("order_id") if event in LIST_EVENTS else None
        for product in products:
            if not isinstance(product, Mapping) or product.get("product_id") is None:
                continue
            product_id = str(product["product_id"])
            quantity = product.get("quantity")
            rows.append(
                (
                    user,
                    anonymous,
                    product_id,
                    product.get("category"),
                    event,
                    float(quantity) if isinstance(quantity, int | float) else 1.0,
                    when,
                    None if order_id is None else str(order_id),
                    country,
                )
            )
            seen = catalog.get(product_id)
            if seen is None or seen[0] <= when:
                catalog[product_id] = (
                    when,
                    product.get("name"),
                    product.get("category"),
                    product.get("brand"),
                    product.get("price"),
                )
    records = []
    for user, anonymous, *rest in rows:
        actor = user or (links[anonymous][1] if anonymous in links else anonymous)
        records.append((tenant_id, actor, user, *rest))
    interactions = pl.DataFrame(records, schema=EVALUATION_SCHEMA, orient="row")
    products = pl.DataFrame(
        [
            (tenant_id, product_id, name, category, brand, _price(price))
            for product_id, (_, name, category, brand, price) in sorted(catalog.items())
        ],
        schema=PRODUCT_SCHEMA,
        orient="row",
    )
    return interactions, products


def _price(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
