"""Liveness of the API (no authentication: load balancers and ``make demo`` poll it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import CatalogDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API is up")
async def healthz(settings: SettingsDep, catalog: CatalogDep) -> dict[str, Any]:
    return {
        "status": "ok",
        "service": "api",
        "profile": settings.profile.value,
        "tenants_loaded": len(catalog.loaded()),
    }
