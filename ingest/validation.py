"""Turning request bodies into logged events, with an error for every event that is wrong.

Every rejection names the event's index in the batch and the field at fault, so a shop developer
can fix the client without guessing. Good events of a partly bad batch are kept.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from intellishop.events import LoggedEvent, Message, to_micros

MAX_EVENT_NAME_LENGTH = 200
MAX_ID_LENGTH = 255

_json = msgspec.json.Encoder()
_path_in_message = re.compile(r" - at `\$(?:\.)?(?P<path>[^`]*)`$")
_unknown_field = re.compile(r"unknown field `([^`]*)`")


class BatchEnvelope(msgspec.Struct, forbid_unknown_fields=False):
    """Segment's batch body: ``batch`` plus defaults applied to every message."""

    batch: list[msgspec.Raw]
    sentAt: datetime | None = None
    context: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class ValidationOutcome:
    accepted: list[LoggedEvent] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def field_error_from_msgspec(error: msgspec.ValidationError | msgspec.DecodeError) -> FieldError:
    text = str(error)
    match = _path_in_message.search(text)
    path, message = (match.group("path"), text[: match.start()]) if match else ("", text)
    unknown = _unknown_field.search(message)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
    return FieldError(field=path or "$", message=message)


def validate_message(
    raw: bytes,
    *,
    received_at_us: int,
    envelope_sent_at: datetime | None,
    envelope_context: dict[str, Any] | None,
    max_event_bytes: int,
    max_future_us: int,
    forced_type: str | None = None,
) -> LoggedEvent | list[FieldError]:
    """One message, checked; either the event to log or every error found."""
    if len(raw) > max_event_bytes:
        return [FieldError("$", f"event is {len(raw)} bytes; the limit is {max_event_bytes}")]
    try:
        message = msgspec.json.decode(raw, type=Message)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return [field_error_from_msgspec(exc)]
    if forced_type is not None and message.type != forced_type:
        return [FieldError("type", f"this endpoint takes '{forced_type}' messages")]

    errors: list[FieldError] = []
    if not message.userId and not message.anonymousId:
        errors.append(FieldError("userId", "userId or anonymousId is required"))
    for name in ("userId", "anonymousId", "messageId", "previousId"):
        value = getattr(message, name)
        if value is not None and len(value) > MAX_ID_LENGTH:
            errors.append(FieldError(name, f"longer than {MAX_ID_LENGTH} characters"))
    if message.type == "track":
        if not message.event or not message.event.strip():
            errors.append(FieldError("event", "track messages need a non-empty event name"))
        elif len(message.event) > MAX_EVENT_NAME_LENGTH:
            errors.append(FieldError("event", f"longer than {MAX_EVENT_NAME_LENGTH} characters"))
    if message.type == "alias" and not message.previousId:
        errors.append(FieldError("previousId", "alias messages need previousId"))

    timestamp = message.timestamp or message.originalTimestamp
    sent_at = message.sentAt or envelope_sent_at
    if timestamp is None:
        timestamp_us = received_at_us
    else:
        timestamp_us = to_micros(timestamp)
        if sent_at is not None:
            # Segment's clock-skew correction: the client's clock may be wrong, but the gap
            # between the event and the send is right; anchor it on our receive time.
            timestamp_us = received_at_us - (to_micros(sent_at) - timestamp_us)
    if timestamp_us - received_at_us > max_future_us:
        errors.append(FieldError("timestamp", "is in the future (check the client's clock)"))
    if errors:
        return errors

    context = message.context
    if envelope_context:
        context = {**envelope_context, **context}
    message_id = message.messageId or _derived_message_id(raw)
    return LoggedEvent(
        message_id=message_id,
        type=message.type,
        event=message.event if message.type == "track" else message.name,
        user_id=message.userId,
        anonymous_id=message.anonymousId,
        timestamp_us=timestamp_us,
        sent_at_us=to_micros(sent_at) if sent_at else None,
        received_at_us=received_at_us,
        properties=_json.encode(message.properties),
        traits=_json.encode(message.traits),
        context=_json.encode(context),
        previous_id=message.previousId,
    )


def _derived_message_id(raw: bytes) -> str:
    """A message id for a client that sent none: the same bytes retried get the same id."""
    return str(uuid.UUID(bytes=hashlib.sha256(raw).digest()[:16], version=4))
