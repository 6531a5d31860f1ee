"""Request dependencies of the collector: settings, the event log and the calling tenant.

They are coroutines on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, and
three thread hops per request cost more CPU than the rest of a small batch. None of them blocks
(the key cache answers from memory; a miss is one indexed SQLite read every few seconds).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from intellishop.settings import Settings
from intellishop.tenants import CachedTenantAuthenticator, Tenant, api_key_from_headers

from .event_log import EventLog
from .event_log.group_commit import GroupCommitter

_AUTH_HEADERS = {"WWW-Authenticate": 'Basic realm="intellishop"'}


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_event_log(request: Request) -> EventLog:
    log: EventLog = request.app.state.event_log
    return log


def appender_of(request: Request) -> GroupCommitter:
    """The group committer of the app's event log: what event routes await for a durable append.

    ``app.state.event_log`` stays the one source of truth: a committer is made for whatever log
    is there now (an operator or a test may swap it)."""
    state = request.app.state
    log: EventLog = state.event_log
    appender: GroupCommitter | None = getattr(state, "appender", None)
    if appender is None or appender.log is not log:
        appender = state.appender = GroupCommitter(log)
    return appender


#: How a request may carry its API key, for the OpenAPI schema of the routes that take one. The
#: values are read by hand in :func:`current_tenant`: FastAPI's injection of three optional
#: parameters cost more CPU than authenticating the key.
API_KEY_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "Authorization",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "HTTP Basic with the key as user and an empty password (Segment's way), "
        "or 'Bearer <key>'.",
    },
    {
        "name": "X-API-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "The API key.",
    },
    {
        "name": "key",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The API key, for browsers (navigator.sendBeacon cannot set headers). "
        "Prefer a header elsewhere: query strings end up in logs.",
    },
]


async def current_tenant(request: Request) -> Tenant:
    """The calling tenant, from the key in a header or the query string (see
    :data:`API_KEY_PARAMETERS`); 401 when there is none or it is invalid, revoked or disabled."""
    headers = request.headers
    query_key = request.query_params.get("key") if request.scope.get("query_string") else None
    api_key = api_key_from_headers(
        headers.get("authorization"), headers.get("x-api-key"), query_key
    )
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
