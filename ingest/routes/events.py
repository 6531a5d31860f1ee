"""Segment-compatible collection endpoints: batch, track, identify, page, screen, alias, group.

A 2xx is sent only after the accepted events are durable in the event log. A batch whose events
are partly bad keeps the good ones (200, with ``rejected`` listing each bad event's index and
fields); a batch with no good event is a 400 and stores nothing.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from intellishop.events import LoggedBatch, LoggedEvent

from ..deps import CurrentTenant, EventLogDep, SettingsDep
from ..validation import BatchEnvelope, field_error_from_msgspec, validate_message

router = APIRouter(prefix="/v1", tags=["collect"])

_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A Segment HTTP API message",
    "properties": {
        "type": {
            "type": "string",
            "enum": ["track", "identify", "page", "screen", "alias", "group"],
        },
        "event": {"type": "string"},
        "userId": {"type": "string"},
        "anonymousId": {"type": "string"},
        "messageId": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
        "context": {"type": "object"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
    },
    "example": {
        "type": "track",
        "event": "Product Viewed",
        "userId": "u_123",
        "properties": {"product_id": "p_42", "price": 19.99, "currency": "USD"},
    },
}
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "items": _MESSAGE_SCHEMA},
        "sentAt": {"type": "string"},
    },
}


class BodyTooLargeError(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(size)
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status_code: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": False, "detail": detail, **extra}, status_code=status_code)


async def _durable_append(log: EventLogDep, tenant_id: str, events: list[LoggedEvent]) -> None:
    await anyio.to_thread.run_sync(log.append, LoggedBatch(tenant_id=tenant_id, events=events))


@router.post(
    "/batch",
    summary="Send several messages in one request (Segment's batch API)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        }
    },
)
async def batch(
    request: Request, tenant: CurrentTenant, settings: SettingsDep, log: EventLogDep
) -> JSONResponse:
    try:
        body = await _read_body(request, settings.max_batch_bytes)
    except BodyTooLargeError as exc:
        return _error(413, f"batch is {exc.args[0]} bytes; the limit is {settings.max_batch_bytes}")
    received_at_us = time.time_ns() // 1000
    try:
        envelope = msgspec.json.decode(body, type=BatchEnvelope)
    except msgspec.ValidationError as exc:  # a DecodeError subclass: catch it first
        error = field_error_from_msgspec(exc)
        return _error(422, f"{error.field}: {error.message}", field=error.field)
    except msgspec.DecodeError as exc:
        return _error(400, f"malformed JSON: {exc}")
    if not envelope.batch:
        return _error(400, "batch is empty", field="batch")

    accepted: list[LoggedEvent] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(envelope.batch):
        outcome = validate_message(
            bytes(raw),
            received_at_us=received_at_us,
            envelope_sent_at=envelope.sentAt,
            envelope_context=envelope.context,
            max_event_bytes=settings.max_event_bytes,
            max_future_us=settings.max_clock_skew_seconds * 1_000_000,
        )
        if isinstance(outcome, LoggedEvent):
            accepted.append(outcome)
        else:
            rejected.append({"index": index, "errors": [e.as_dict() for e in outcome]})
    if not accepted:
        return _error(400, "no valid event in the batch", accepted=0, rejected=rejected)
    await _durable_append(log, tenant.tenant_id, accepted)
    return JSONResponse({"success": True, "accepted": len(accepted), "rejected": rejected})


async def _single(
    request: Request, tenant_id: str, settings: SettingsDep, log: EventLogDep, message_type: str
) -> JSONResponse:
    try:
        body = await _read_body(request, settings.max_event_bytes)
    except BodyTooLargeError as exc:
        return _error(413, f"event is {exc.args[0]} bytes; the limit is {settings.max_event_bytes}")
    try:
        # Segment's single-message endpoints imply the type: fill it in when absent.
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        return _error(400, f"malformed JSON: {exc}")
    if not isinstance(decoded, dict):
        return _error(422, "the body must be a JSON object", field="$")
    decoded.setdefault("type", message_type)
    outcome = validate_message(
        msgspec.json.encode(decoded),
        received_at_us=time.time_ns() // 1000,
        envelope_sent_at=None,
        envelope_context=None,
        max_event_bytes=settings.max_event_bytes,
        max_future_us=settings.max_clock_skew_seconds * 1_000_000,
        forced_type=message_type,
    )
    if not isinstance(outcome, LoggedEvent):
        return _error(
            422,
            "; ".join(f"{e.field}: {e.message}" for e in outcome),
            errors=[e.as_dict() for e in outcome],
        )
    await _durable_append(log, tenant_id, [outcome])
    return JSONResponse({"success": True, "accepted": 1, "rejected": []})


def _single_route(message_type: str) -> None:
    async def endpoint(
        request: Request, tenant: CurrentTenant, settings: SettingsDep, log: EventLogDep
    ) -> JSONResponse:
        return await _single(request, tenant.tenant_id, settings, log, message_type)

    endpoint.__name__ = message_type
    router.add_api_route(
        f"/{message_type}",
        endpoint,
        methods=["POST"],
        summary=f"Send one {message_type} message",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _MESSAGE_SCHEMA}},
            }
        },
    )


for _type in ("track", "identify", "page", "screen", "alias", "group"):
    _single_route(_type)
