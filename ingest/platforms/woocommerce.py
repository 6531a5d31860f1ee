"""WooCommerce webhooks (REST API v3 payloads) as canonical Segment e-commerce events.

WooCommerce creates an order before it is paid (status ``pending``), so the topic alone does not
say whether a sale happened; the status does:

- an order in ``processing``, ``on-hold``, ``completed`` or ``refunded`` was placed:
  ``Order Completed`` (one per order id: ``order.created`` and every later ``order.updated``
  derive the same message id, so it lands once however many updates arrive)
- ``order.created`` of an order not yet placed (``pending``, ``failed``, ``checkout-draft``):
  ``Checkout Started``
- ``order.updated``: ``Order Updated`` (one per ``date_modified_gmt``), ``Order Cancelled`` when
  cancelled, and one ``Order Refunded`` per entry of ``refunds[]`` (partial refunds included)
- ``customer.created``: ``identify``

People: ``userId = "woocommerce:<customer_id>"`` (0 means a guest); every order event also
carries ``anonymousId = "woocommerce:order:<id>"`` so a guest's checkout and order join up.
Dates are the ``*_gmt`` fields (UTC without an offset). ``revenue`` is total minus tax and
shipping (Segment's definition).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from intellishop.events import LoggedEvent, to_micros

from .canonical import (
    PayloadError,
    build_event,
    decode_payload,
    derived_message_id,
    money,
    utc,
)

PLATFORM = "woocommerce"
LIBRARY = "intellishop-woocommerce"
PLACED_STATUSES = frozenset({"processing", "on-hold", "completed", "refunded"})
TOPICS: frozenset[str] = frozenset({"order.created", "order.updated", "customer.created"})

Amount = str | int | float | None


class WooBilling(msgspec.Struct, forbid_unknown_fields=False):
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    country: str | None = None


class WooLineItem(msgspec.Struct, forbid_unknown_fields=False):
    quantity: int
    id: int | None = None
    name: str | None = None
    product_id: int | None = None
    variation_id: int | None = None
    sku: str | None = None
    price: Amount = None
    subtotal: Amount = None
    total: Amount = None


class WooCoupon(msgspec.Struct, forbid_unknown_fields=False):
    code: str | None = None


class WooRefund(msgspec.Struct, forbid_unknown_fields=False):
    id: int
    total: Amount = None
    reason: str | None = None


class WooOrder(msgspec.Struct, forbid_unknown_fields=False):
    id: int
    status: str
    date_created_gmt: datetime
    number: str | None = None
    currency: str | None = None
    date_modified_gmt: datetime | None = None
    date_paid_gmt: datetime | None = None
    total: Amount = None
    total_tax: Amount = None
    shipping_total: Amount = None
    discount_total: Amount = None
    customer_id: int = 0
    billing: WooBilling | None = None
    line_items: list[WooLineItem] = msgspec.field(default_factory=list)
    coupon_lines: list[WooCoupon] = msgspec.field(default_factory=list)
    refunds: list[WooRefund] = msgspec.field(default_factory=list)


class WooCustomer(msgspec.Struct, forbid_unknown_fields=False):
    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    date_created_gmt: datetime | None = None
    date_modified_gmt: datetime | None = None
    billing: WooBilling | None = None


def customer_user_id(customer_id: int) -> str:
    return f"{PLATFORM}:{customer_id}"


def _product(item: WooLineItem) -> dict[str, Any]:
    price = money(item.price)
    if price is None and item.quantity:
        subtotal = money(item.subtotal)
        price = round(subtotal / item.quantity, 2) if subtotal is not None else None
    return {
        "product_id": str(item.product_id) if item.product_id else item.sku,
        "variant": str(item.variation_id) if item.variation_id else None,
        "sku": item.sku or None,
        "name": item.name,
        "price": price,
        "quantity": item.quantity,
    }


def _order_properties(order: WooOrder) -> dict[str, Any]:
    total = money(order.total)
    tax = money(order.total_tax)
    shipping = money(order.shipping_total)
    revenue = round(total - (tax or 0.0) - (shipping or 0.0), 2) if total is not None else None
    coupons = [coupon.code for coupon in order.coupon_lines if coupon.code]
    return {
        "order_id": str(order.id),
        "order_number": order.number,
        "affiliation": "WooCommerce",
        "total": total,
        "revenue": revenue,
        "tax": tax,
        "shipping": shipping,
        "discount": money(order.discount_total),
        "coupon": ",".join(coupons) or None,
        "currency": (order.currency or "").upper() or None,
        "status": order.status,
        "products": [_product(item) for item in order.line_items],
    }


def _order_event(
    order: WooOrder,
    event: str,
    message_id: str,
    occurred_at: datetime,
    received_at_us: int,
    context: dict[str, Any],
    properties: dict[str, Any],
) -> LoggedEvent:
    return build_event(
        message_id=message_id,
        message_type="track",
        event=event,
        occurred_at=occurred_at,
        received_at_us=received_at_us,
        library=LIBRARY,
        user_id=customer_user_id(order.customer_id) if order.customer_id > 0 else None,
        anonymous_id=f"{PLATFORM}:order:{order.id}",
        properties=properties,
        context=context,
    )


def _order_events(
    topic: str, body: bytes, received_at_us: int, context: dict[str, Any]
) -> list[LoggedEvent]:
    order: WooOrder = decode_payload(body, WooOrder)
    status = order.status.lower()
    modified_at = order.date_modified_gmt or order.date_created_gmt
    properties = _order_properties(order)
    events: list[LoggedEvent] = []
    if status in PLACED_STATUSES:
        events.append(
            _order_event(
                order,
                "Order Completed",
                derived_message_id(PLATFORM, "Order Completed", order.id),
                order.date_paid_gmt or order.date_created_gmt,
                received_at_us,
                context,
                properties,
            )
        )
    elif topic == "order.created":
        events.append(
            _order_event(
                order,
                "Checkout Started",
                derived_message_id(PLATFORM, "Checkout Started", order.id),
                order.date_created_gmt,
                received_at_us,
                context,
                {**properties, "checkout_id": str(order.id)},
            )
        )
    if topic != "order.updated":
        return events
    events.append(
        _order_event(
            order,
            "Order Updated",
            derived_message_id(PLATFORM, "Order Updated", order.id, to_micros(modified_at)),
            modified_at,
            received_at_us,
            context,
            properties,
        )
    )
    if status == "cancelled":
        events.append(
            _order_event(
                order,
                "Order Cancelled",
                derived_message_id(PLATFORM, "Order Cancelled", order.id),
                modified_at,
                received_at_us,
                context,
                {
                    "order_id": str(order.id),
                    "total": properties["total"],
                    "currency": properties["currency"],
                },
            )
        )
    for index, refund in enumerate(order.refunds):
        amount = money(refund.total)
        if amount is None:
            raise PayloadError(f"refunds.{index}.total", "is not an amount")
        events.append(
            _order_event(
                order,
                "Order Refunded",
                derived_message_id(PLATFORM, "Order Refunded", refund.id),
                modified_at,
                received_at_us,
                context,
                {
                    "order_id": str(order.id),
                    "refund_id": str(refund.id),
                    # WooCommerce lists refunds as negative amounts.
                    "total": abs(amount),
                    "currency": properties["currency"],
                    "reason": refund.reason or None,
                },
            )
        )
    return events


def _customer_events(
    body: bytes, received_at_us: int, context: dict[str, Any]
) -> list[LoggedEvent]:
    customer: WooCustomer = decode_payload(body, WooCustomer)
    occurred_at = customer.date_modified_gmt or customer.date_created_gmt
    if occurred_at is None:
        raise PayloadError("date_created_gmt", "a customer needs date_created_gmt")
    email = customer.email or (customer.billing.email if customer.billing else None)
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    return [
        build_event(
            message_id=derived_message_id(
                PLATFORM, "identify", customer.id, to_micros(occurred_at)
            ),
            message_type="identify",
            occurred_at=occurred_at,
            received_at_us=received_at_us,
            library=LIBRARY,
            user_id=customer_user_id(customer.id),
            traits={
                "email": email or None,
                "first_name": customer.first_name or None,
                "last_name": customer.last_name or None,
                "name": name or None,
                "username": customer.username or None,
                "created_at": utc(customer.date_created_gmt).isoformat()
                if customer.date_created_gmt
                else None,
            },
            context=context,
        )
    ]


def woocommerce_events(
    topic: str, body: bytes, *, received_at_us: int, webhook_id: str | None = None
) -> list[LoggedEvent]:
    """The canonical events of one WooCommerce webhook; raises PayloadError when malformed."""
    context = {"integration": {"name": PLATFORM, "topic": topic, "webhook_id": webhook_id}}
    if topic == "customer.created":
        return _customer_events(body, received_at_us, context)
    if topic in ("order.created", "order.updated"):
        return _order_events(topic, body, received_at_us, context)
    raise KeyError(topic)
