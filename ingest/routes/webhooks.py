"""Shopify and WooCommerce webhooks, landing as canonical Segment events in the event log.

``POST /webhooks/shopify/{tenant_id}`` and ``POST /webhooks/woocommerce/{tenant_id}``. The
tenant in the path only says whose secret to check the signature with: a body signed with any
other tenant's secret is refused, so a shop can post only into its own tenant.

Answers are chosen for platforms that retry whatever is not 2xx (Shopify for 48 hours,
WooCommerce until it disables the webhook): a bad or missing signature is 401 (nothing stored);
a topic we do not map is 202 with a message (retrying would not help); a body that does not
parse is 400 naming the field; 200 means the events are durable in the event log. Redelivery is
harmless: message ids are derived from the platform object, so a webhook delivered twice lands
once downstream.

Events are enriched like collector events, from what the payload says about the shopper (see
:mod:`ingest.platforms.client`): country, device, bot flag; the IP only for tenants that opted
in. The request's own IP is the platform's server, so it is never used.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from intellishop.events import LoggedBatch, LoggedEvent
from intellishop.tenants import TenantRegistry

from ..deps import EventLogDep, SettingsDep
from ..platforms import shopify, woocommerce
from ..platforms.canonical import PayloadError
from ..platforms.client import ClientInfo, enrich_events, shopify_client, woocommerce_client
from ..platforms.connections import PlatformConnections, signature_is_valid

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

#: Largest webhook body taken: Shopify orders with hundreds of lines stay well under this.
MAX_WEBHOOK_BYTES = 2 * 1024 * 1024

_WOOCOMMERCE_PING = re.compile(rb"webhook_id=\d+")

Mapper = Callable[..., list[LoggedEvent]]


@functools.lru_cache(maxsize=8)
def _connections(path: Path) -> PlatformConnections:
    """One per database file: opening it creates the tables, which a request need not repeat."""
    return PlatformConnections(path)


async def _read_limited(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status_code: int, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse(
        {"success": 200 <= status_code < 300, "detail": detail, **extra}, status_code=status_code
    )


async def _receive(
    request: Request,
    settings: SettingsDep,
    log: EventLogDep,
    *,
    platform: str,
    tenant_id: str,
    topic: str | None,
    signature: str | None,
    webhook_id: str | None,
    topics: frozenset[str],
    mapper: Mapper,
    client_of: Callable[[bytes], ClientInfo],
) -> JSONResponse:
    body = await _read_limited(request)
    if body is None:
        return _answer(413, f"webhook body is larger than {MAX_WEBHOOK_BYTES} bytes")
    if platform == woocommerce.PLATFORM and _WOOCOMMERCE_PING.fullmatch(body):
        # WooCommerce pings a new webhook's URL, unsigned, and refuses to save the webhook
        # unless the ping gets a 2xx. Nothing is stored.
        return _answer(200, "ping acknowledged")
    connections = _connections(settings.tenants_db_path)
    secret = await anyio.to_thread.run_sync(connections.webhook_secret, tenant_id, platform)
    if secret is None or not signature_is_valid(secret, body, signature):
        # One answer for every case (unknown tenant, not connected, bad signature): the
        # endpoint does not tell a stranger which tenants exist.
        return _answer(401, f"{platform} webhook signature missing or invalid for this tenant")
    if not topic or topic not in topics:
        return _answer(
            202,
            f"topic {topic!r} is not mapped; ignored (mapped: {', '.join(sorted(topics))})",
            ignored=True,
        )
    try:
        events = mapper(topic, body, received_at_us=time.time_ns() // 1000, webhook_id=webhook_id)
    except PayloadError as exc:
        return _answer(400, f"malformed {topic} payload: {exc}", field=exc.field)
    if events:
        registry = TenantRegistry(settings.tenants_db_path)
        tenant = await anyio.to_thread.run_sync(registry.get, tenant_id)
        store_ip = tenant.store_ip if tenant is not None else False
        events = enrich_events(events, client_of(body), store_ip)
        batch = LoggedBatch(tenant_id=tenant_id, events=events)
        await anyio.to_thread.run_sync(log.append, batch)
    return _answer(
        200,
        "stored",
        events=[event.event or event.type for event in events],
        message_ids=[event.message_id for event in events],
    )


@router.post("/shopify/{tenant_id}", summary="Receive a Shopify webhook (HMAC-verified)")
async def shopify_webhook(
    tenant_id: str,
    request: Request,
    settings: SettingsDep,
    log: EventLogDep,
    x_shopify_topic: Annotated[str | None, Header()] = None,
    x_shopify_hmac_sha256: Annotated[str | None, Header()] = None,
    x_shopify_webhook_id: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    return await _receive(
        request,
        settings,
        log,
        platform=shopify.PLATFORM,
        tenant_id=tenant_id,
        topic=x_shopify_topic,
        signature=x_shopify_hmac_sha256,
        webhook_id=x_shopify_webhook_id,
        topics=shopify.TOPICS,
        mapper=shopify.shopify_events,
        client_of=shopify_client,
    )


@router.post("/woocommerce/{tenant_id}", summary="Receive a WooCommerce webhook (HMAC-verified)")
async def woocommerce_webhook(
    tenant_id: str,
    request: Request,
    settings: SettingsDep,
    log: EventLogDep,
    x_wc_webhook_topic: Annotated[str | None, Header()] = None,
    x_wc_webhook_signature: Annotated[str | None, Header()] = None,
    x_wc_webhook_id: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    return await _receive(
        request,
        settings,
        log,
        platform=woocommerce.PLATFORM,
        tenant_id=tenant_id,
        topic=x_wc_webhook_topic,
        signature=x_wc_webhook_signature,
        webhook_id=x_wc_webhook_id,
        topics=woocommerce.TOPICS,
        mapper=woocommerce.woocommerce_events,
        client_of=woocommerce_client,
    )
