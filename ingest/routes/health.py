"""Liveness and readiness of the collector."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The collector is up and can reach its event log")
async def healthz(settings: SettingsDep) -> dict[str, Any]:
    return {"status": "ok", "service": "collector", "profile": settings.profile.value}
