"""Request dependencies of the API: settings, the calling tenant and its published artifacts.

Use the ``Annotated`` aliases (``CurrentTenant``, ``PublishedIndex``, ...) in route signatures;
``PublishedIndex`` depends on the caller's principal, so a bad key is a 401 before anything is
read. Each route names the access it needs with one tenant alias (``PublicTenant``,
``AnalyticsTenant``, ``CustomersTenant``, ``AdminTenant``): a public key or a viewer asking for
more gets a 403.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from intellishop.settings import Settings
from intellishop.tenants import CachedTenantAuthenticator, Tenant, api_key_from_headers

from .analytics import AnalyticsIndex
from .auth import Access, Authenticator, Principal
from .catalog import PublishedCatalog, VersionIndex
from .served_events import ServedEventLog

# Dependencies are ``async def``: they only read memory (or hand slow work to a thread), and a
# sync dependency would cost every request a thread-pool round trip per dependency.

#: The one cached authenticator of every service (see :mod:`intellishop.tenants`), kept under its
#: old name for ``serving.app``. A revoked key or disabled tenant stops working within the TTL.
CachedTenantLookup = CachedTenantAuthenticator

_AUTH_HEADERS = {"WWW-Authenticate": 'Basic realm="intellishop"'}


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_catalog(request: Request) -> PublishedCatalog:
    catalog: PublishedCatalog = request.app.state.catalog
    return catalog


def principal_for(authenticator: Authenticator, credential: str | None) -> Principal:
    """The caller behind a key or token, or the 401/403 that says what is wrong."""
    if credential is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API key: send it as the HTTP Basic user name, "
            "'Authorization: Bearer <key or token>' or 'X-API-Key: <key>'",
            headers=_AUTH_HEADERS,
        )
    principal = authenticator.resolve(credential)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="invalid, revoked or disabled API key, or an expired or outdated token",
            headers=_AUTH_HEADERS,
        )
    if not principal.access:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="this is a write key (events only, the kind put in web pages): "
            "read the API with a secret (full) key, or a public key for recommendations",
        )
    return principal


async def current_principal(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    return principal_for(authenticator, api_key_from_headers(authorization, x_api_key))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def check_access(principal: Principal, access: Access) -> Tenant:
    """The principal's tenant if it holds ``access``; else a 403 naming what is missing."""
    if not principal.may(access):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"{principal.subject} may not read this ({access.value} access needed): "
            + _ACCESS_HINT[access],
        )
    return principal.tenant


_ACCESS_HINT = {
    Access.PUBLIC: "use a public or secret key",
    Access.ANALYTICS: "use the secret key, or sign in as a viewer, analyst or owner",
    Access.CUSTOMERS: "use the secret key, or sign in as an analyst or owner",
    Access.ADMIN: "use the secret key, or sign in as an owner",
}


async def public_tenant(principal: CurrentPrincipal) -> Tenant:
    return check_access(principal, Access.PUBLIC)


async def analytics_tenant(principal: CurrentPrincipal) -> Tenant:
    return check_access(principal, Access.ANALYTICS)


async def customers_tenant(principal: CurrentPrincipal) -> Tenant:
    return check_access(principal, Access.CUSTOMERS)


async def admin_tenant(principal: CurrentPrincipal) -> Tenant:
    return check_access(principal, Access.ADMIN)


#: Recommendations, trending, similar products: a public (browser) key is enough.
PublicTenant = Annotated[Tenant, Depends(public_tenant)]
#: Aggregate analytics: the secret key or any signed-in dashboard user.
AnalyticsTenant = Annotated[Tenant, Depends(analytics_tenant)]
#: Person-level data: the secret key, an analyst or an owner.
CustomersTenant = Annotated[Tenant, Depends(customers_tenant)]
#: Managing the tenant: the secret key or an owner.
AdminTenant = Annotated[Tenant, Depends(admin_tenant)]
#: The default for a new route: person-level access (pick a narrower alias on purpose).
CurrentTenant = CustomersTenant
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CatalogDep = Annotated[PublishedCatalog, Depends(get_catalog)]


async def published_index(principal: CurrentPrincipal, catalog: CatalogDep) -> VersionIndex:
    """The caller's tenant's live published version (a 503 until the first publish).

    The usual case (the version in memory is current) answers on the event loop; re-reading
    the pointer or indexing a new version goes to a worker thread, so a publish never blocks
    the loop while other requests wait.
    """
    tenant = principal.tenant
    index = catalog.current_if_fresh(tenant.tenant_id)
    if index is None:
        index = await run_in_threadpool(catalog.current, tenant.tenant_id)
    if index is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no artifacts published yet for tenant {tenant.tenant_id!r}: run the "
            "pipeline (`intellishop pipeline run`, or `make demo`)",
            headers={"Retry-After": "60"},
        )
    return index


PublishedIndex = Annotated[VersionIndex, Depends(published_index)]


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive calendar days in the tenant's time zone; None is open-ended."""

    start: date | None
    end: date | None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def query_error(field: str, message: str, value: str | None) -> RequestValidationError:
    """A 422 shaped like FastAPI's own (``detail[0].loc == ["query", field]``)."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": message, "input": value}]
    )


def _parse_day(field: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise query_error(
            field, f"{field} must be a calendar date as YYYY-MM-DD, got {value!r}", value
        ) from None


async def date_range(
    start: Annotated[
        str | None,
        Query(
            description="First day, YYYY-MM-DD (default: the first published day).",
            examples=["2026-01-01"],
            json_schema_extra={"format": "date"},
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(
            description="Last day, inclusive, YYYY-MM-DD (default: the last published day).",
            examples=["2026-01-31"],
            json_schema_extra={"format": "date"},
        ),
    ] = None,
) -> DateRange:
    first, last = _parse_day("start", start), _parse_day("end", end)
    if first is not None and last is not None and first > last:
        raise query_error("start", f"start ({first}) is after end ({last})", start)
    return DateRange(first, last)


DateRangeQuery = Annotated[DateRange, Depends(date_range)]


async def published_analytics(index: PublishedIndex) -> AnalyticsIndex:
    return index.analytics


PublishedAnalytics = Annotated[AnalyticsIndex, Depends(published_analytics)]


async def get_served_events(request: Request) -> ServedEventLog:
    served: ServedEventLog = request.app.state.served_events
    return served


ServedEvents = Annotated[ServedEventLog, Depends(get_served_events)]


ProductIdPath = Annotated[str, Path(min_length=1, max_length=256, description="A product id.")]
