"""The collector: a FastAPI app that takes shop events and appends them to the event log.

Run it with ``intellishop serve collector`` (``uvicorn ingest.app:create_app --factory``).
"""

from __future__ import annotations

from fastapi import FastAPI

from intellishop.settings import Settings, get_settings
from intellishop.tenants import CachedTenantAuthenticator, TenantRegistry

from .cors import TenantCorsMiddleware
from .event_log import open_event_log
from .event_log.group_commit import GroupCommitter
from .limits import install_tenant_limits, open_tenant_limits
from .logging import configure_access_log
from .metrics import RequestObservationMiddleware
from .metrics import router as metrics_router
from .routes import admin, events, health
from .routes import privacy as privacy_routes
from .routes import sdk as sdk_routes
from .routes import webhooks as webhook_routes


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
    app.state.appender = GroupCommitter(app.state.event_log)
    app.state.authenticate = CachedTenantAuthenticator(TenantRegistry(settings.tenants_db_path))
    install_tenant_limits(app, open_tenant_limits(settings))
    app.add_middleware(TenantCorsMiddleware)
    app.include_router(health.router)
    app.include_router(events.router)
    app.include_router(admin.router)
    app.include_router(metrics_router)
    app.add_middleware(RequestObservationMiddleware)
    configure_access_log()
    app.include_router(sdk_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(privacy_routes.router)
    return app
