"""``/v1/live``: the tenant's live numbers over a WebSocket, pushed as events arrive."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from intellishop.tenants import api_key_from_headers

from ..auth import Access, Authenticator
from ..deps import check_access, principal_for
from ..live.hub import LiveHub

router = APIRouter(tags=["live"])

#: A snapshot is sent at least this often, so "active users" decays on screen without events.
HEARTBEAT_SECONDS = 5.0
#: WebSocket close codes: 4000 + the HTTP status that would have been answered.
CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN = 4401, 4403


@router.websocket("/v1/live")
async def live(websocket: WebSocket) -> None:
    """Snapshot on connect, then a new snapshot whenever the tenant's events arrive.

    Browsers cannot set headers on a WebSocket, so the credential may come as ``?key=`` (an
    API key) or ``?token=`` (a dashboard JWT) as well as the usual headers. Needs analytics
    access (the secret key or any dashboard user; a public key is refused with close code
    4403, a bad credential with 4401). Each message is the complete snapshot (see
    ``serving.live.metrics``): a reconnecting client needs nothing but the next message.
    """
    await websocket.accept()
    credential = api_key_from_headers(
        websocket.headers.get("authorization"),
        websocket.headers.get("x-api-key"),
        websocket.query_params.get("token") or websocket.query_params.get("key"),
    )
    authenticator: Authenticator = websocket.app.state.authenticator
    try:
        tenant = check_access(principal_for(authenticator, credential), Access.ANALYTICS)
    except HTTPException as error:
        await websocket.send_json(
            {"type": "error", "status": error.status_code, "detail": error.detail}
        )
        code = CLOSE_UNAUTHORIZED if error.status_code == 401 else CLOSE_FORBIDDEN
        await websocket.close(code=code, reason=str(error.detail)[:120])
        return
    hub: LiveHub = websocket.app.state.live_hub
    wakeup = await hub.subscribe(tenant)
    receiver = asyncio.create_task(_until_disconnect(websocket))
    try:
        await websocket.send_json(hub.snapshot(tenant.tenant_id))
        while not receiver.done():
            waiter = asyncio.create_task(wakeup.wait())
            done, _ = await asyncio.wait(
                {waiter, receiver}, timeout=HEARTBEAT_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            if receiver in done:
                break
            wakeup.clear()
            await websocket.send_json(hub.snapshot(tenant.tenant_id))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unsubscribe(tenant.tenant_id, wakeup)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _until_disconnect(websocket: WebSocket) -> None:
    """Consume (and ignore) client messages until the client goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
