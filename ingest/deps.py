"""Request dependencies of the collector: settings, the event log and the calling tenant.

They are coroutines on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, and
three thread hops per request cost more CPU than the rest of a small batch. None of them blocks
(the key cache answers from memory; a miss is one indexed SQLite read every few seconds).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status

from intellishop.settings import Settings
from intellishop.tenants import CachedTenantAuthenticator, Tenant, api_key_from_headers

from .event_log import EventLog

_AUTH_HEADERS = {"WWW-Authenticate": 'Basic realm="intellishop"'}


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_event_log(request: Request) -> EventLog:
    log: EventLog = request.app.state.event_log
    return log


async def current_tenant(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
    key: Annotated[
        str | None,
        Query(
            description="The API key, for browsers (navigator.sendBeacon cannot set headers). "
            "Prefer a header elsewhere: query strings end up in logs.",
        ),
    ] = None,
) -> Tenant:
    api_key = api_key_from_headers(authorization, x_api_key, key)
    if api_key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API key: send it as HTTP Basic user (Segment style), "
            "'Authorization: Bearer <key>', 'X-API-Key: <key>' or '?key=<key>'",
            headers=_AUTH_HEADERS,
        )
    authenticate: CachedTenantAuthenticator = request.app.state.authenticate
    tenant = authenticate(api_key)
    if tenant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="invalid, revoked or disabled API key",
            headers=_AUTH_HEADERS,
        )
    return tenant


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EventLogDep = Annotated[EventLog, Depends(get_event_log)]
CurrentTenant = Annotated[Tenant, Depends(current_tenant)]
