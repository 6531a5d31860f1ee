"""Campaign tracking: the open pixel and click redirects of automation emails.

No API key here (a mail client fetches these); the signed token is the credential. A click
token names a link the message registered when it was rendered, and the target URL is read from
the store: a token cannot name a URL, so this is no open redirect. Each open and click is counted
for the campaign and written to the tenant's event log (``Email Opened``, ``Email Link
Clicked``), so the warehouse sees them like any other event.
"""

from __future__ import annotations

import base64
import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.responses import RedirectResponse

from ingest.event_log import EventLog, open_event_log
from intellishop.automation.config import AutomationConfig
from intellishop.automation.signing import read_token
from intellishop.automation.store import AutomationStore, Delivery, now_us
from intellishop.automation.worker import append_tracking_event

from .automations import automation_store

router = APIRouter(prefix="/t", tags=["tracking"], include_in_schema=True)

#: The smallest transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_CACHE = {"Cache-Control": "no-store, max-age=0", "Referrer-Policy": "no-referrer"}

Token = Annotated[str, Path(max_length=200)]


def _config(request: Request) -> AutomationConfig:
    config: AutomationConfig | None = getattr(request.app.state, "automation_config", None)
    if config is None:
        config = AutomationConfig.from_settings(request.app.state.settings)
        request.app.state.automation_config = config
    return config


def _event_log(request: Request) -> EventLog:
    found: EventLog | None = getattr(request.app.state, "automation_event_log", None)
    if found is None:
        found = open_event_log(request.app.state.settings)
        request.app.state.automation_event_log = found
    return found


def _store(request: Request) -> AutomationStore:
    return automation_store(request, request.app.state.settings)


def _record(request: Request, delivery: Delivery, kind: str, event: str, link_no: int) -> None:
    at = now_us()
    _store(request).record_event(
        delivery.tenant_id, delivery.rule_id, delivery.id, delivery.person_id, kind, 0.0, at
    )
    properties: dict[str, object] = {"rule_id": delivery.rule_id, "delivery_id": delivery.id}
    if link_no >= 0:
        properties["link_no"] = link_no
    append_tracking_event(
        _event_log(request),
        delivery.tenant_id,
        event,
        delivery.payload.get("meta", {}),
        properties,
        message_id=f"ist-{uuid.uuid4().hex}",
        at_us=at,
    )


@router.get("/o/{token}", summary="Open pixel (1x1 GIF)", response_class=Response)
def open_pixel(token: Token, request: Request) -> Response:
    read = read_token(_config(request).tracking_secret, token.removesuffix(".gif"))
    if read is not None and read[1] == -1:
        delivery = _store(request).delivery(read[0])
        if delivery is not None:
            _record(request, delivery, "opened", "Email Opened", -1)
    # Always the image: a broken image in a customer's mailbox helps nobody.
    return Response(PIXEL, media_type="image/gif", headers=_NO_CACHE)


@router.get(
    "/c/{token}",
    summary="Tracked link: redirects to the URL the message registered",
    status_code=status.HTTP_302_FOUND,
    responses={status.HTTP_404_NOT_FOUND: {"description": "Unknown or forged token."}},
)
def click(token: Token, request: Request) -> RedirectResponse:
    read = read_token(_config(request).tracking_secret, token)
    url = None
    delivery = None
    if read is not None and read[1] >= 0:
        store = _store(request)
        delivery = store.delivery(read[0])
        url = store.link_url(read[0], read[1]) if delivery is not None else None
    if delivery is None or url is None or read is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="unknown link")
    _record(request, delivery, "clicked", "Email Link Clicked", read[1])
    return RedirectResponse(url, status_code=status.HTTP_302_FOUND, headers=_NO_CACHE)
