"""Operator API for tenants and their keys: ``/admin/v1/tenants...`` on the collector.

Authenticated by ``Authorization: Bearer <INTELLISHOP_ADMIN_TOKEN>`` only (compared in constant
time); tenant API keys never work here, so a shop cannot act on itself or any other shop through
this API. While the token is the shipped placeholder (possible in the local profile only, the
prod profile refuses to start with it) the API answers 503: a publicly known token opens nothing.

Changes made here take effect at once in this process (its key cache is dropped) and within the
authentication cache TTL in every other collector or API worker.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from intellishop.plans import DEFAULT_PLAN, PLANS
from intellishop.settings import DEFAULT_ADMIN_TOKEN
from intellishop.tenants import (
    MAX_NAME_LENGTH,
    ApiKeyInfo,
    CachedTenantAuthenticator,
    Tenant,
    TenantError,
    TenantRegistry,
    UnknownTenantError,
    key_id_of,
)

from ..deps import SettingsDep


def require_admin(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    if settings.admin_token == DEFAULT_ADMIN_TOKEN:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the admin API is off until INTELLISHOP_ADMIN_TOKEN is set to a secret",
        )
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), settings.admin_token.encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="admin API: send 'Authorization: Bearer <INTELLISHOP_ADMIN_TOKEN>'",
            headers={"WWW-Authenticate": 'Bearer realm="intellishop-admin"'},
        )


router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_admin)])

_PLAN_DESCRIPTION = f"One of {', '.join(PLANS)}."


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    tenant_id: str | None = Field(default=None, max_length=63, description="Default: from name.")
    timezone: str = Field(default="UTC", max_length=64)
    currency: str = Field(default="USD", max_length=3)
    plan: str = Field(default=DEFAULT_PLAN, max_length=32, description=_PLAN_DESCRIPTION)
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)
    store_ip: bool = False


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_LENGTH)
    timezone: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=3)
    plan: str | None = Field(default=None, max_length=32, description=_PLAN_DESCRIPTION)
    allowed_origins: list[str] | None = Field(default=None, max_length=50)
    store_ip: bool | None = None
    disabled: bool | None = None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str = Field(
        default="full",
        max_length=16,
        description="'full' (events and the API) or 'write' (events only: for web pages).",
    )


class KeyRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: float = Field(
        default=0, ge=0, le=30 * 86400, description="How long the old key keeps working."
    )


def _registry(request: Request) -> TenantRegistry:
    authenticate: CachedTenantAuthenticator = request.app.state.authenticate
    return authenticate.registry


def _changed(request: Request) -> None:
    authenticate: CachedTenantAuthenticator = request.app.state.authenticate
    authenticate.forget()


Registry = Annotated[TenantRegistry, Depends(_registry)]


def _tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant_id": tenant.tenant_id,
        "name": tenant.name,
        "timezone": tenant.timezone,
        "currency": tenant.currency,
        "created_at": tenant.created_at,
        "disabled": tenant.disabled,
        "plan": tenant.plan,
        "allowed_origins": list(tenant.allowed_origins),
        "store_ip": tenant.store_ip,
    }


def _key_json(key: ApiKeyInfo) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "prefix": key.prefix,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
        "active": key.active(),
        "scope": key.scope,
    }


def _refused(exc: TenantError) -> HTTPException:
    if isinstance(exc, UnknownTenantError):
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc))
    if "already exists" in str(exc):
        return HTTPException(status.HTTP_409_CONFLICT, detail=str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc))


@router.get("/tenants", summary="List tenants")
def list_tenants(registry: Registry) -> list[dict[str, Any]]:
    return [_tenant_json(tenant) for tenant in registry.list()]


@router.post("/tenants", status_code=201, summary="Create a tenant and its first API key")
def create_tenant(body: TenantCreate, registry: Registry) -> dict[str, Any]:
    try:
        tenant, api_key = registry.create(**body.model_dump())
    except TenantError as exc:
        raise _refused(exc) from exc
    return {"tenant": _tenant_json(tenant), "api_key": api_key}


@router.get("/tenants/{tenant_id}", summary="One tenant, with its keys (never the keys)")
def show_tenant(tenant_id: str, registry: Registry) -> dict[str, Any]:
    try:
        tenant = registry.require(tenant_id)
        keys = registry.list_keys(tenant_id)
    except TenantError as exc:
        raise _refused(exc) from exc
    return {**_tenant_json(tenant), "keys": [_key_json(key) for key in keys]}


@router.patch("/tenants/{tenant_id}", summary="Change plan, timezone, origins, ...")
def update_tenant(
    tenant_id: str, body: TenantUpdate, registry: Registry, request: Request
) -> dict[str, Any]:
    try:
        tenant = registry.update(tenant_id, **body.model_dump(exclude_unset=True))
    except TenantError as exc:
        raise _refused(exc) from exc
    _changed(request)
    return _tenant_json(tenant)


def _set_disabled(
    tenant_id: str, disabled: bool, registry: TenantRegistry, request: Request
) -> dict[str, Any]:
    try:
        tenant = registry.set_disabled(tenant_id, disabled)
    except TenantError as exc:
        raise _refused(exc) from exc
    _changed(request)
    return _tenant_json(tenant)


@router.post("/tenants/{tenant_id}/disable", summary="Disable a tenant: its keys stop working")
def disable_tenant(tenant_id: str, registry: Registry, request: Request) -> dict[str, Any]:
    return _set_disabled(tenant_id, True, registry, request)


@router.post("/tenants/{tenant_id}/enable", summary="Enable a disabled tenant again")
def enable_tenant(tenant_id: str, registry: Registry, request: Request) -> dict[str, Any]:
    return _set_disabled(tenant_id, False, registry, request)


@router.get("/tenants/{tenant_id}/keys", summary="A tenant's keys: prefix and dates only")
def list_keys(tenant_id: str, registry: Registry) -> list[dict[str, Any]]:
    try:
        return [_key_json(key) for key in registry.list_keys(tenant_id)]
    except TenantError as exc:
        raise _refused(exc) from exc


@router.post("/tenants/{tenant_id}/keys", status_code=201, summary="Issue a new API key")
def create_key(tenant_id: str, registry: Registry, body: KeyCreate | None = None) -> dict[str, Any]:
    try:
        api_key = registry.create_key(tenant_id, scope=body.scope if body else "full")
    except TenantError as exc:
        raise _refused(exc) from exc
    key = _find(registry, tenant_id, api_key)
    return {"api_key": api_key, "key": _key_json(key) if key else None}


def _find(registry: TenantRegistry, tenant_id: str, api_key: str) -> ApiKeyInfo | None:
    key_id = key_id_of(api_key)
    return next((key for key in registry.list_keys(tenant_id) if key.key_id == key_id), None)


@router.post(
    "/tenants/{tenant_id}/keys/{key_id}/rotate",
    status_code=201,
    summary="A new key; the old one is revoked after the grace period",
)
def rotate_key(
    tenant_id: str,
    key_id: str,
    registry: Registry,
    request: Request,
    body: KeyRotation | None = None,
) -> dict[str, Any]:
    grace = body.grace_seconds if body else 0.0
    try:
        api_key, old = registry.rotate_key(tenant_id, key_id, grace_seconds=grace)
        new = _find(registry, tenant_id, api_key)
    except TenantError as exc:
        raise _refused(exc) from exc
    _changed(request)
    return {"api_key": api_key, "key": _key_json(new) if new else None, "old": _key_json(old)}


@router.delete("/tenants/{tenant_id}/keys/{key_id}", summary="Revoke a key now")
def revoke_key(tenant_id: str, key_id: str, registry: Registry, request: Request) -> dict[str, Any]:
    try:
        key = registry.revoke_key(tenant_id, key_id)
    except TenantError as exc:
        raise _refused(exc) from exc
    _changed(request)
    return _key_json(key)
