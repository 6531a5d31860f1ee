"""Canonical Segment events built by IntelliShop itself (platform webhooks, CSV imports).

Webhooks and imports do not go through the collector's HTTP validation: their events are built
here, already in the shape the collector stores (:class:`~intellishop.events.LoggedEvent`), so
the loader, staging and every model downstream see them exactly like SDK traffic.

Message ids are derived, never random: the same platform object (an order, a refund, a customer
at one ``updated_at``) always gets the same id, so a redelivered webhook or a re-imported file
lands once downstream (stitching keeps one row per message id). The same order reaching us by
webhook and by a Shopify CSV export gets the same ``Order Completed`` id, too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from intellishop.events import LoggedBatch, LoggedEvent, to_micros

from ..validation import field_error_from_msgspec

#: Namespace of every derived message id (uuid5): stable across releases, do not change.
MESSAGE_ID_NAMESPACE = uuid.UUID("5d0c3a55-4b7e-4f0e-9a57-1e7e11a5c0de")
#: Events per event-log entry when appending many (imports): about 1 MB of msgpack.
APPEND_BATCH_EVENTS = 2000

_json = msgspec.json.Encoder()


def derived_message_id(*parts: object) -> str:
    """A message id that is a pure function of what identifies the event."""
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, "|".join(str(part) for part in parts)))


def money(value: object) -> float | None:
    """A platform amount (Shopify and WooCommerce send decimal strings) as a float, or None."""
    if value is None or value == "":
        return None
    try:
        return float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None


def utc(value: datetime) -> datetime:
    """A timezone-aware datetime in UTC (a naive one is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def build_event(
    *,
    message_id: str,
    message_type: str,
    occurred_at: datetime,
    received_at_us: int,
    library: str,
    event: str | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> LoggedEvent:
    """One event as the collector would have logged it; ``library`` names where it came from."""
    if not user_id and not anonymous_id:
        raise ValueError("an event needs a user id or an anonymous id")
    full_context = {"library": {"name": library, "version": "1"}, **(context or {})}
    return LoggedEvent(
        message_id=message_id,
        type=message_type,
        event=event,
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp_us=to_micros(utc(occurred_at)),
        sent_at_us=None,
        received_at_us=received_at_us,
        properties=_json.encode({k: v for k, v in (properties or {}).items() if v is not None}),
        traits=_json.encode({k: v for k, v in (traits or {}).items() if v is not None}),
        context=_json.encode(full_context),
    )


def batches(tenant_id: str, events: Iterable[LoggedEvent], size: int) -> Iterable[LoggedBatch]:
    """Events cut into event-log entries of at most ``size`` events."""
    chunk: list[LoggedEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= size:
            yield LoggedBatch(tenant_id=tenant_id, events=chunk)
            chunk = []
    if chunk:
        yield LoggedBatch(tenant_id=tenant_id, events=chunk)


class PayloadError(ValueError):
    """A platform payload that cannot be mapped: names the field at fault (a 400 to the sender)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def decode_payload(body: bytes, struct: type[Any]) -> Any:
    """A webhook body decoded into its struct; a :class:`PayloadError` naming the field if not."""
    try:
        return msgspec.json.decode(body, type=struct)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        error = field_error_from_msgspec(exc)
        raise PayloadError(error.field, error.message) from exc
