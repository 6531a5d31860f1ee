"""Request dependencies of the API: settings, the calling tenant and its published artifacts.

Use the ``Annotated`` aliases (``CurrentTenant``, ``PublishedIndex``, ...) in route signatures;
``PublishedIndex`` depends on ``CurrentTenant``, so a bad key is a 401 before anything is read.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from intellishop.settings import Settings
from intellishop.tenants import Tenant, TenantRegistry, api_key_from_headers, hash_key

from .catalog import PublishedCatalog, VersionIndex

#: How long a key's tenant is remembered: a revoked key or disabled tenant stops working
#: within this time, and a request costs no database read in between.
AUTH_CACHE_SECONDS = 5.0
_AUTH_CACHE_MAX_KEYS = 10_000

_AUTH_HEADERS = {"WWW-Authenticate": 'Basic realm="intellishop"'}


class CachedTenantLookup:
    """API key -> enabled tenant, remembered for a few seconds (by the key's hash, not the key)."""

    def __init__(self, registry: TenantRegistry, ttl_seconds: float = AUTH_CACHE_SECONDS) -> None:
        self.registry = registry
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[float, Tenant | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, api_key: str) -> Tenant | None:
        digest = hash_key(api_key)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        tenant = self.registry.authenticate(api_key)
        with self._lock:
            if len(self._cache) >= _AUTH_CACHE_MAX_KEYS:  # forged keys must not grow it forever
                self._cache.clear()
            self._cache[digest] = (now + self.ttl_seconds, tenant)
        return tenant


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_catalog(request: Request) -> PublishedCatalog:
    catalog: PublishedCatalog = request.app.state.catalog
    return catalog


def current_tenant(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Tenant:
    api_key = api_key_from_headers(authorization, x_api_key)
    if api_key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API key: send it as the HTTP Basic user name, "
            "'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers=_AUTH_HEADERS,
        )
    lookup: CachedTenantLookup = request.app.state.tenant_lookup
    tenant = lookup(api_key)
    if tenant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="invalid, revoked or disabled API key",
            headers=_AUTH_HEADERS,
        )
    return tenant


CurrentTenant = Annotated[Tenant, Depends(current_tenant)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CatalogDep = Annotated[PublishedCatalog, Depends(get_catalog)]


def published_index(tenant: CurrentTenant, catalog: CatalogDep) -> VersionIndex:
    index = catalog.current(tenant.tenant_id)
    if index is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no artifacts published yet for tenant {tenant.tenant_id!r}: run the "
            "pipeline (`intellishop pipeline run`, or `make demo`)",
            headers={"Retry-After": "60"},
        )
    return index


PublishedIndex = Annotated[VersionIndex, Depends(published_index)]
