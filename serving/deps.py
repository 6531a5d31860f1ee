"""Request dependencies of the API: settings, the calling tenant and its published artifacts.

Use the ``Annotated`` aliases (``CurrentTenant``, ``PublishedIndex``, ...) in route signatures;
``PublishedIndex`` depends on ``CurrentTenant``, so a bad key is a 401 before anything is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError

from intellishop.settings import Settings
from intellishop.tenants import CachedTenantAuthenticator, Tenant, api_key_from_headers

from .analytics import AnalyticsIndex
from .catalog import PublishedCatalog, VersionIndex

#: The one cached authenticator of every service (see :mod:`intellishop.tenants`), kept under its
#: old name for ``serving.app``. A revoked key or disabled tenant stops working within the TTL.
CachedTenantLookup = CachedTenantAuthenticator

_AUTH_HEADERS = {"WWW-Authenticate": 'Basic realm="intellishop"'}


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
    grant = lookup.grant(api_key)
    if grant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="invalid, revoked or disabled API key",
            headers=_AUTH_HEADERS,
        )
    if not grant.may_read:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="this is a write key (events only, the kind put in web pages): "
            "read the API with a full key",
        )
    return grant.tenant


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


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive calendar days in the tenant's time zone; None is open-ended."""

    start: date | None
    end: date | None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _query_error(field: str, message: str, value: str | None) -> RequestValidationError:
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
        raise _query_error(
            field, f"{field} must be a calendar date as YYYY-MM-DD, got {value!r}", value
        ) from None


def date_range(
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
        raise _query_error("start", f"start ({first}) is after end ({last})", start)
    return DateRange(first, last)


DateRangeQuery = Annotated[DateRange, Depends(date_range)]


def published_analytics(index: PublishedIndex) -> AnalyticsIndex:
    return index.analytics


PublishedAnalytics = Annotated[AnalyticsIndex, Depends(published_analytics)]
