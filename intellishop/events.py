"""The one event schema: Segment-shaped messages in, flat raw rows out.

Shops send Segment's HTTP API messages (track, identify, page, alias). The collector validates
them against :class:`Message`, stamps ``receivedAt`` and the corrected ``timestamp``, and appends
them to the event log as :class:`LoggedEvent`. The loader flattens logged events into rows of
:data:`RAW_EVENT_SCHEMA`, the shape of the raw zone that dbt's staging models read.

Times are UTC everywhere. ``timestamp`` is when the event happened by the client's clock,
corrected for the client's skew with ``sentAt`` and ``receivedAt`` (Segment's rule).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
import pyarrow as pa

MessageType = Literal["track", "identify", "page", "screen", "alias", "group"]

#: Segment's e-commerce v2 event names. Other event names are kept as custom events.
ECOMMERCE_EVENTS: frozenset[str] = frozenset(
    {
        "Products Searched",
        "Product List Viewed",
        "Product List Filtered",
        "Promotion Viewed",
        "Promotion Clicked",
        "Product Clicked",
        "Product Viewed",
        "Product Added",
        "Product Removed",
        "Cart Viewed",
        "Checkout Started",
        "Checkout Step Viewed",
        "Checkout Step Completed",
        "Payment Info Entered",
        "Order Completed",
        "Order Updated",
        "Order Refunded",
        "Order Cancelled",
        "Coupon Entered",
        "Coupon Applied",
        "Coupon Denied",
        "Coupon Removed",
        "Product Added to Wishlist",
        "Product Removed from Wishlist",
        "Wishlist Product Added to Cart",
        "Product Shared",
        "Cart Shared",
        "Product Reviewed",
    }
)


class Message(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One Segment HTTP API message as a client sends it (camelCase, as Segment names fields)."""

    type: MessageType
    messageId: str | None = None
    userId: str | None = None
    anonymousId: str | None = None
    event: str | None = None
    name: str | None = None
    previousId: str | None = None
    groupId: str | None = None
    timestamp: datetime | None = None
    sentAt: datetime | None = None
    originalTimestamp: datetime | None = None
    context: dict[str, Any] = msgspec.field(default_factory=dict)
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    traits: dict[str, Any] = msgspec.field(default_factory=dict)
    integrations: dict[str, Any] = msgspec.field(default_factory=dict)
    # Fields Segment's own libraries add; accepted and ignored.
    channel: str | None = None
    version: Any = None
    writeKey: str | None = None
    _metadata: dict[str, Any] | None = None


class LoggedEvent(msgspec.Struct, array_like=True):
    """A validated event as stored in the event log (compact: encoded as a msgpack array)."""

    message_id: str
    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    timestamp_us: int  # corrected event time, microseconds since the epoch, UTC
    sent_at_us: int | None
    received_at_us: int
    properties: bytes  # JSON
    traits: bytes  # JSON
    context: bytes  # JSON
    previous_id: str | None = None


class LoggedBatch(msgspec.Struct, array_like=True):
    """One event-log entry: the accepted events of one HTTP request, for one tenant."""

    tenant_id: str
    events: list[LoggedEvent]


#: Columns of the raw zone, in order. ``tenant_id`` and ``event_date`` are hive partition keys in
#: the Parquet layout (``tenant_id=<id>/event_date=<YYYY-MM-DD>/``) and also columns in PostgreSQL.
RAW_EVENT_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("event", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("anonymous_id", pa.string()),
        pa.field("previous_id", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("sent_at", pa.timestamp("us", tz="UTC")),
        pa.field("received_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("properties", pa.string()),
        pa.field("traits", pa.string()),
        pa.field("context", pa.string()),
        pa.field("log_offset", pa.int64(), nullable=False),
    ]
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC.

    The collector calls this for every event: from the difference's fields it costs a quarter
    less than ``delta // timedelta(microseconds=1)``, which converts both operands to
    microseconds as Python integers and divides them."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
