"""Shopify webhooks (Admin REST payloads) as canonical Segment e-commerce events.

Topic -> event:

- ``orders/create`` -> ``Order Completed`` (one per order, whatever the redeliveries)
- ``orders/updated`` -> ``Order Updated`` (one per order and ``updated_at``)
- ``orders/cancelled`` -> ``Order Cancelled``
- ``refunds/create`` -> ``Order Refunded`` (amount refunded and the refunded line items)
- ``checkouts/create`` -> ``Checkout Started``; ``checkouts/update`` -> ``Checkout Updated``
  (a custom event: Segment's spec has none, and a second ``Checkout Started`` would count the
  checkout twice in funnels)
- ``customers/create`` -> ``identify``

People: a Shopify customer is ``userId = "shopify:<customer id>"``; a checkout (and the order it
becomes) also carries ``anonymousId = "shopify:checkout:<token>"``, so the warehouse's identity
stitching links a guest's checkout to the customer who completed it. Amounts arrive as decimal
strings and leave as numbers; ``revenue`` is Shopify's ``subtotal_price`` (after discounts,
before shipping and tax, Segment's definition), ``total`` is ``total_price``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from intellishop.events import LoggedEvent, to_micros

from .canonical import PayloadError, build_event, decode_payload, derived_message_id, money

PLATFORM = "shopify"
LIBRARY = "intellishop-shopify"

Amount = str | int | float | None
Id = int | str


class ShopifyCustomer(msgspec.Struct, forbid_unknown_fields=False):
    id: Id
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    orders_count: int | None = None
    total_spent: Amount = None
    accepts_marketing: bool | None = None
    state: str | None = None
    tags: str | None = None
    currency: str | None = None


class ShopifyLineItem(msgspec.Struct, forbid_unknown_fields=False):
    quantity: int
    price: Amount
    id: Id | None = None
    product_id: Id | None = None
    variant_id: Id | None = None
    sku: str | None = None
    title: str | None = None
    name: str | None = None
    variant_title: str | None = None
    vendor: str | None = None


class ShopifyShippingLine(msgspec.Struct, forbid_unknown_fields=False):
    price: Amount = None
    discounted_price: Amount = None


class ShopifyDiscountCode(msgspec.Struct, forbid_unknown_fields=False):
    code: str | None = None
    amount: Amount = None


class ShopifyOrder(msgspec.Struct, forbid_unknown_fields=False):
    id: Id
    created_at: datetime
    name: str | None = None
    order_number: int | None = None
    email: str | None = None
    updated_at: datetime | None = None
    processed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    currency: str | None = None
    total_price: Amount = None
    subtotal_price: Amount = None
    total_tax: Amount = None
    total_discounts: Amount = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    checkout_token: str | None = None
    line_items: list[ShopifyLineItem] = msgspec.field(default_factory=list)
    shipping_lines: list[ShopifyShippingLine] = msgspec.field(default_factory=list)
    discount_codes: list[ShopifyDiscountCode] = msgspec.field(default_factory=list)
    customer: ShopifyCustomer | None = None


class ShopifyRefundLineItem(msgspec.Struct, forbid_unknown_fields=False):
    quantity: int
    line_item_id: Id | None = None
    subtotal: Amount = None
    total_tax: Amount = None
    line_item: ShopifyLineItem | None = None


class ShopifyTransaction(msgspec.Struct, forbid_unknown_fields=False):
    amount: Amount = None
    kind: str | None = None
    status: str | None = None
    currency: str | None = None


class ShopifyRefund(msgspec.Struct, forbid_unknown_fields=False):
    id: Id
    order_id: Id
    created_at: datetime
    processed_at: datetime | None = None
    note: str | None = None
    refund_line_items: list[ShopifyRefundLineItem] = msgspec.field(default_factory=list)
    transactions: list[ShopifyTransaction] = msgspec.field(default_factory=list)


class ShopifyCheckout(msgspec.Struct, forbid_unknown_fields=False):
    id: Id
    created_at: datetime
    token: str | None = None
    cart_token: str | None = None
    email: str | None = None
    updated_at: datetime | None = None
    currency: str | None = None
    presentment_currency: str | None = None
    subtotal_price: Amount = None
    total_price: Amount = None
    total_tax: Amount = None
    total_discounts: Amount = None
    line_items: list[ShopifyLineItem] = msgspec.field(default_factory=list)
    customer: ShopifyCustomer | None = None


def customer_user_id(customer_id: object) -> str:
    return f"{PLATFORM}:{customer_id}"


def order_completed_message_id(order_id: object) -> str:
    """Shared with the Shopify CSV import, so an order seen both ways lands once."""
    return derived_message_id(PLATFORM, "Order Completed", order_id)


def _product(item: ShopifyLineItem, quantity: int | None = None) -> dict[str, Any]:
    return {
        "product_id": str(item.product_id) if item.product_id is not None else item.sku,
        "variant": str(item.variant_id) if item.variant_id is not None else None,
        "sku": item.sku,
        "name": item.title or item.name,
        "brand": item.vendor,
        "price": money(item.price),
        "quantity": item.quantity if quantity is None else quantity,
    }


def _shipping(order: ShopifyOrder) -> float | None:
    amounts = [money(line.discounted_price or line.price) for line in order.shipping_lines]
    known = [amount for amount in amounts if amount is not None]
    return round(sum(known), 2) if known else None


def _order_properties(order: ShopifyOrder) -> dict[str, Any]:
    coupons = [code.code for code in order.discount_codes if code.code]
    return {
        "order_id": str(order.id),
        "order_number": order.name,
        "checkout_id": order.checkout_token,
        "affiliation": "Shopify",
        "total": money(order.total_price),
        "subtotal": money(order.subtotal_price),
        "revenue": money(order.subtotal_price),
        "tax": money(order.total_tax),
        "shipping": _shipping(order),
        "discount": money(order.total_discounts),
        "coupon": ",".join(coupons) or None,
        "currency": (order.currency or "").upper() or None,
        "products": [_product(item) for item in order.line_items],
    }


def _order_people(order: ShopifyOrder) -> tuple[str | None, str | None]:
    user_id = customer_user_id(order.customer.id) if order.customer else None
    if order.checkout_token:
        anonymous_id: str | None = f"{PLATFORM}:checkout:{order.checkout_token}"
    else:
        anonymous_id = None if user_id else f"{PLATFORM}:order:{order.id}"
    return user_id, anonymous_id


def _webhook_context(topic: str, webhook_id: str | None) -> dict[str, Any]:
    return {"integration": {"name": PLATFORM, "topic": topic, "webhook_id": webhook_id}}


def _orders_create(body: bytes, received_at_us: int, context: dict[str, Any]) -> list[LoggedEvent]:
    order: ShopifyOrder = decode_payload(body, ShopifyOrder)
    user_id, anonymous_id = _order_people(order)
    return [
        build_event(
            message_id=order_completed_message_id(order.id),
            message_type="track",
            event="Order Completed",
            occurred_at=order.processed_at or order.created_at,
            received_at_us=received_at_us,
            library=LIBRARY,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=_order_properties(order),
            context=context,
        )
    ]


def _orders_updated(body: bytes, received_at_us: int, context: dict[str, Any]) -> list[LoggedEvent]:
    order: ShopifyOrder = decode_payload(body, ShopifyOrder)
    user_id, anonymous_id = _order_people(order)
    updated_at = order.updated_at or order.created_at
    properties = {
        **_order_properties(order),
        "financial_status": order.financial_status,
        "fulfillment_status": order.fulfillment_status,
    }
    return [
        build_event(
            message_id=derived_message_id(
                PLATFORM, "Order Updated", order.id, to_micros(updated_at)
            ),
            message_type="track",
            event="Order Updated",
            occurred_at=updated_at,
            received_at_us=received_at_us,
            library=LIBRARY,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            context=context,
        )
    ]


def _orders_cancelled(
    body: bytes, received_at_us: int, context: dict[str, Any]
) -> list[LoggedEvent]:
    order: ShopifyOrder = decode_payload(body, ShopifyOrder)
    user_id, anonymous_id = _order_people(order)
    return [
        build_event(
            message_id=derived_message_id(PLATFORM, "Order Cancelled", order.id),
            message_type="track",
            event="Order Cancelled",
            occurred_at=order.cancelled_at or order.updated_at or order.created_at,
            received_at_us=received_at_us,
            library=LIBRARY,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties={
                "order_id": str(order.id),
                "order_number": order.name,
                "total": money(order.total_price),
                "currency": (order.currency or "").upper() or None,
                "reason": order.cancel_reason,
            },
            context=context,
        )
    ]


def refund_amount(refund: ShopifyRefund) -> tuple[float, str | None]:
    """Money returned: successful refund transactions, else the refunded lines with their tax."""
    currency = next((t.currency for t in refund.transactions if t.currency), None)
    paid_back = [
        money(t.amount)
        for t in refund.transactions
        if (t.kind or "refund") == "refund" and (t.status or "success") == "success"
    ]
    if any(amount is not None for amount in paid_back):
        return round(sum(a for a in paid_back if a is not None), 2), currency
    lines = [
        (money(r.subtotal) or 0.0) + (money(r.total_tax) or 0.0) for r in refund.refund_line_items
    ]
    return round(sum(lines), 2), currency


def _refunds_create(body: bytes, received_at_us: int, context: dict[str, Any]) -> list[LoggedEvent]:
    refund: ShopifyRefund = decode_payload(body, ShopifyRefund)
    amount, currency = refund_amount(refund)
    products = [
        _product(line.line_item, quantity=line.quantity)
        for line in refund.refund_line_items
        if line.line_item is not None
    ]
    return [
        build_event(
            message_id=derived_message_id(PLATFORM, "Order Refunded", refund.id),
            message_type="track",
            event="Order Refunded",
            occurred_at=refund.processed_at or refund.created_at,
            received_at_us=received_at_us,
            library=LIBRARY,
            anonymous_id=f"{PLATFORM}:order:{refund.order_id}",
            properties={
                "order_id": str(refund.order_id),
                "refund_id": str(refund.id),
                "total": amount,
                "currency": currency.upper() if currency else None,
                "products": products,
                "reason": refund.note,
            },
            context=context,
        )
    ]


def _checkout(
    body: bytes, received_at_us: int, context: dict[str, Any], *, started: bool
) -> list[LoggedEvent]:
    checkout: ShopifyCheckout = decode_payload(body, ShopifyCheckout)
    key = checkout.token or str(checkout.id)
    updated_at = checkout.updated_at or checkout.created_at
    event = "Checkout Started" if started else "Checkout Updated"
    parts: tuple[object, ...] = (PLATFORM, event, key)
    if not started:
        parts = (*parts, to_micros(updated_at))
    return [
        build_event(
            message_id=derived_message_id(*parts),
            message_type="track",
            event=event,
            occurred_at=checkout.created_at if started else updated_at,
            received_at_us=received_at_us,
            library=LIBRARY,
            user_id=customer_user_id(checkout.customer.id) if checkout.customer else None,
            anonymous_id=f"{PLATFORM}:checkout:{key}",
            properties={
                "checkout_id": key,
                "value": money(checkout.subtotal_price),
                "revenue": money(checkout.subtotal_price),
                "total": money(checkout.total_price),
                "tax": money(checkout.total_tax),
                "discount": money(checkout.total_discounts),
                "currency": (checkout.presentment_currency or checkout.currency or "").upper()
                or None,
                "products": [_product(item) for item in checkout.line_items],
            },
            context=context,
        )
    ]


def _customers_create(
    body: bytes, received_at_us: int, context: dict[str, Any]
) -> list[LoggedEvent]:
    customer: ShopifyCustomer = decode_payload(body, ShopifyCustomer)
    occurred_at = customer.updated_at or customer.created_at
    if occurred_at is None:
        raise PayloadError("created_at", "a customer needs created_at or updated_at")
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
                "email": customer.email,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "name": name or None,
                "phone": customer.phone,
                "created_at": customer.created_at.isoformat() if customer.created_at else None,
                "accepts_marketing": customer.accepts_marketing,
            },
            context=context,
        )
    ]


_Mapper = Callable[[bytes, int, dict[str, Any]], list[LoggedEvent]]
_TOPICS: dict[str, _Mapper] = {
    "orders/create": _orders_create,
    "orders/updated": _orders_updated,
    "orders/cancelled": _orders_cancelled,
    "refunds/create": _refunds_create,
    "checkouts/create": lambda b, r, c: _checkout(b, r, c, started=True),
    "checkouts/update": lambda b, r, c: _checkout(b, r, c, started=False),
    "customers/create": _customers_create,
}
TOPICS: frozenset[str] = frozenset(_TOPICS)


def shopify_events(
    topic: str, body: bytes, *, received_at_us: int, webhook_id: str | None = None
) -> list[LoggedEvent]:
    """The canonical events of one Shopify webhook; raises PayloadError for a malformed body."""
    mapper = _TOPICS[topic]
    return mapper(body, received_at_us, _webhook_context(topic, webhook_id))
