"""Segment-compatible collection endpoints: batch, track, identify, page, screen, alias, group.

A 2xx is sent only after the accepted events are durable in the event log. A batch whose events
are partly bad keeps the good ones (200, with ``rejected`` listing each bad event's index and
fields); a batch with no good event is a 400 and stores nothing.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.settings import Settings

from ..deps import API_KEY_PARAMETERS, appender_of
from ..enrichment import ContextEnricher, client_ip
from ..fast_path import AdmittedRoute
from ..limits import AdmissionDep, EventAdmission
from ..metrics import record_events, record_rejected_request
from ..validation import (
    FieldError,
    RequestError,
    check_content_type,
    decode_content,
    decode_object,
    validate_batch,
    validate_message,
)

router = APIRouter(prefix="/v1", tags=["collect"], route_class=AdmittedRoute)
_encoder = msgspec.json.Encoder()

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
_ERROR_BODY: dict[str, Any] = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["success", "detail"],
                "properties": {"success": {"type": "boolean"}, "detail": {}},
            }
        }
    }
}
#: Every refusal the collection routes give, documented so clients (and the fuzz tests) know.
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed body, or no valid event in the batch", **_ERROR_BODY},
    401: {"description": "Missing, invalid or revoked API key", **_ERROR_BODY},
    413: {"description": "Body, event or inflated gzip body over the limit", **_ERROR_BODY},
    415: {"description": "Content-Type or Content-Encoding not supported", **_ERROR_BODY},
    422: {"description": "The event is invalid: each error names the field", **_ERROR_BODY},
    429: {"description": "Rate limit or quota reached", **_ERROR_BODY},
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


async def _request_body(request: Request, limit: int, what: str) -> bytes | JSONResponse:
    """The body, checked (content type, size, content encoding), or the answer refusing it."""
    try:
        check_content_type(request.headers.get("content-type"))
        body = await _read_body(request, limit)
        return decode_content(body, request.headers.get("content-encoding"), limit)
    except BodyTooLargeError as exc:
        record_rejected_request("too_large")
        return _error(413, f"{what} is {exc.args[0]} bytes; the limit is {limit}")
    except RequestError as exc:
        return _request_error(exc)


def _error(status_code: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": False, "detail": detail, **extra}, status_code=status_code)


_REQUEST_REJECTION_REASONS = {400: "malformed", 413: "too_large", 415: "unsupported_media_type"}


def _request_error(exc: RequestError) -> JSONResponse:
    record_rejected_request(_REQUEST_REJECTION_REASONS.get(exc.status_code, "schema"))
    extra = {"field": exc.field} if exc.field else {}
    return _error(exc.status_code, exc.detail, **extra)


def _enricher(request: Request, store_ip: bool, settings: Settings) -> ContextEnricher:
    peer = request.client.host if request.client else None
    forwarded_for = request.headers.get("x-forwarded-for")
    return ContextEnricher(client_ip(peer, forwarded_for, settings.trusted_proxies), store_ip)


def _error_paths(prefix: str, errors: list[FieldError]) -> list[dict[str, str]]:
    """Errors with their full path (``batch[3].properties.products[1].price``)."""
    return [
        {
            "path": prefix if e.field == "$" else f"{prefix}.{e.field}" if prefix else e.field,
            "message": e.message,
        }
        for e in errors
    ]


async def _durable_append(
    request: Request, admission: EventAdmission, events: list[LoggedEvent]
) -> None:
    """Returns once the events are durable (grouped with concurrent requests' batches); if
    the append fails, the quota reserved for them is given back."""
    appender = appender_of(request)
    try:
        await appender.append(LoggedBatch(admission.tenant.tenant_id, events))
    except BaseException:
        await admission.give_back()
        raise


def _json(status_code: int, content: dict[str, Any]) -> Response:
    """A JSON response encoded by msgspec (the stdlib encoder costs more per request)."""
    return Response(_encoder.encode(content), status_code, media_type="application/json")


@router.post(
    "/batch",
    summary="Send several messages in one request (Segment's batch API)",
    responses=_ERROR_RESPONSES,
    openapi_extra={
        "parameters": API_KEY_PARAMETERS,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        },
    },
)
async def batch(request: Request, admission: AdmissionDep) -> Response:
    tenant = admission.tenant
    settings: Settings = request.app.state.settings
    body = await _request_body(request, settings.max_batch_bytes, "batch")
    if isinstance(body, JSONResponse):
        return body
    enricher = _enricher(request, tenant.store_ip, settings)
    try:
        validated = validate_batch(
            body,
            received_at_us=time.time_ns() // 1000,
            max_event_bytes=settings.max_event_bytes,
            max_future_us=settings.max_clock_skew_seconds * 1_000_000,
            enrich=enricher.in_place,
            enrich_view=enricher.view_json,
        )
    except RequestError as exc:
        return _request_error(exc)
    if not validated.size:
        record_rejected_request("empty")
        return _error(400, "batch is empty", field="batch")

    accepted = validated.accepted
    rejected: list[dict[str, Any]] = []
    error_paths: list[dict[str, str]] = []
    reasons: list[str] = []
    for index, errors in validated.rejected:
        rejected.append({"index": index, "errors": [e.as_dict() for e in errors]})
        error_paths.extend(_error_paths(f"batch[{index}]", errors))
        reasons.append(errors[0].reason)
    request.state.events_rejected = len(rejected)
    if not accepted:
        record_events(0, reasons)
        return _error(
            400, "no valid event in the batch", accepted=0, rejected=rejected, errors=error_paths
        )
    invalid = len(rejected)
    accepted, rejected = await admission.admit(accepted, rejected, validated.size)
    reasons.extend(["quota"] * (len(rejected) - invalid))
    request.state.events_rejected = len(rejected)
    await _durable_append(request, admission, accepted)
    record_events(len(accepted), reasons)
    request.state.events_accepted = len(accepted)
    return _json(
        200,
        {"success": True, "accepted": len(accepted), "rejected": rejected, "errors": error_paths},
    )


async def _single(request: Request, message_type: str, admission: EventAdmission) -> Response:
    tenant = admission.tenant
    settings: Settings = request.app.state.settings
    body = await _request_body(request, settings.max_event_bytes, "event")
    if isinstance(body, JSONResponse):
        return body
    try:
        # Segment's single-message endpoints imply the type: fill it in when absent.
        decoded = decode_object(body)
    except RequestError as exc:
        return _request_error(exc)
    decoded.setdefault("type", message_type)
    outcome = validate_message(
        msgspec.json.encode(decoded),
        received_at_us=time.time_ns() // 1000,
        envelope_sent_at=None,
        envelope_context=None,
        max_event_bytes=settings.max_event_bytes,
        max_future_us=settings.max_clock_skew_seconds * 1_000_000,
        forced_type=message_type,
        enrich=_enricher(request, tenant.store_ip, settings).in_place,
    )
    if not isinstance(outcome, LoggedEvent):
        record_events(0, [outcome[0].reason])
        request.state.events_rejected = 1
        return _error(
            422,
            "; ".join(f"{e.field}: {e.message}" for e in outcome),
            errors=[e.as_dict() for e in outcome],
        )
    await admission.admit([outcome], [], 1)
    await _durable_append(request, admission, [outcome])
    record_events(1, ())
    request.state.events_accepted = 1
    return _json(200, {"success": True, "accepted": 1, "rejected": []})


def _single_route(message_type: str) -> None:
    async def endpoint(request: Request, admission: AdmissionDep) -> Response:
        return await _single(request, message_type, admission)

    endpoint.__name__ = message_type
    router.add_api_route(
        f"/{message_type}",
        endpoint,
        methods=["POST"],
        summary=f"Send one {message_type} message",
        responses=_ERROR_RESPONSES,
        openapi_extra={
            "parameters": API_KEY_PARAMETERS,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _MESSAGE_SCHEMA}},
            },
        },
    )


for _type in ("track", "identify", "page", "screen", "alias", "group"):
    _single_route(_type)
