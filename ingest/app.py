"""The collector: a FastAPI app that takes shop events and appends them to the event log.

Run it with ``intellishop serve collector`` (``uvicorn ingest.app:create_app --factory``).
"""

from __future__ import annotations

from fastapi import FastAPI

from intellishop.settings import Settings, get_settings
from intellishop.tenants import TenantRegistry

from .deps import TenantAuthenticator
from .event_log import open_event_log
from .routes import events, health


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.ensure_dirs()
    app = FastAPI(
        title="IntelliShop collector",
        version="1",
        summary="Segment-compatible event collection: track, identify, page, alias, batch.",
    )
    app.state.settings = settings
    app.state.event_log = open_event_log(settings)
    app.state.authenticate = TenantAuthenticator(TenantRegistry(settings.tenants_db_path))
    app.include_router(health.router)
    app.include_router(events.router)
    return app
