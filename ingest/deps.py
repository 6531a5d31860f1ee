"""Request dependencies of the collector: settings, the event log and the calling tenant."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from intellishop.settings import Settings
from intellishop.tenants import Tenant, TenantRegistry, api_key_from_headers, hash_key

from .event_log import EventLog

#: How long a key's tenant is remembered: a revoked key stops working within this time.
AUTH_CACHE_SECONDS = 10.0


class TenantAuthenticator:
    """API key -> tenant, remembered briefly so a request costs no database read."""

    def __init__(self, registry: TenantRegistry) -> None:
        self.registry = registry
        self._cache: dict[str, tuple[float, Tenant | None]] = {}

    def __call__(self, api_key: str) -> Tenant | None:
        digest = hash_key(api_key)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached and cached[0] > now:
            return cached[1]
        tenant = self.registry.authenticate(api_key)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + AUTH_CACHE_SECONDS, tenant)
        return tenant


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_event_log(request: Request) -> EventLog:
    log: EventLog = request.app.state.event_log
    return log


def current_tenant(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Tenant:
    api_key = api_key_from_headers(authorization, x_api_key)
    if api_key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API key: send it as HTTP Basic user (Segment style), "
            "'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": 'Basic realm="intellishop"'},
        )
    authenticate: TenantAuthenticator = request.app.state.authenticate
    tenant = authenticate(api_key)
    if tenant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="invalid, revoked or disabled API key",
            headers={"WWW-Authenticate": 'Basic realm="intellishop"'},
        )
    return tenant


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EventLogDep = Annotated[EventLog, Depends(get_event_log)]
CurrentTenant = Annotated[Tenant, Depends(current_tenant)]
