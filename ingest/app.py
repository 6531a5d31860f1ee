"""The collector: a FastAPI app that takes shop events and appends them to the event log.

Run it with ``intellishop serve collector`` (``uvicorn ingest.app:create_app --factory``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from intellishop.settings import Settings, get_settings
from intellishop.tenants import CachedTenantAuthenticator, TenantRegistry

from .cors import TenantCorsMiddleware
from .enrichment import warm_up
from .event_log import open_event_log
from .event_log.group_commit import GroupCommitter
from .fast_path import dispatch_admitted_routes
from .limits import install_tenant_limits, open_tenant_limits
from .logging import configure_access_log
from .metrics import RequestObservationMiddleware
from .metrics import router as metrics_router
from .routes import admin, events, health
from .routes import privacy as privacy_routes
from .routes import sdk as sdk_routes
from .routes import webhooks as webhook_routes

#: The collector's threshold for a collection of the youngest objects (Python's default: 700).
YOUNG_GC_THRESHOLD = 7000
#: FastAPI's native OpenTelemetry, off: the collector reports through Prometheus (``/metrics``)
#: and its structured request log. Left on, FastAPI asks OpenTelemetry for configured tracer,
#: meter and logger providers on every request, finding none: the largest piece of a one-event
#: request (what a browser sends) that did nothing. With it off (and the quota month and the
#: rejection tally trimmed), a one-event request costs 29 µs less (docs/benchmarks.md).
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


@contextlib.asynccontextmanager
async def collector_gc(_app: FastAPI) -> AsyncIterator[None]:
    """While the collector serves: the enrichment data loaded (``warm_up``), its start-up
    objects out of the cyclic GC's sight, and a young collection only after 7000 more new
    containers than freed ones (not 700); the GC as it was once it stops.

    A 100-event batch allocates thousands of containers and 16 batches are in flight, so with
    Python's defaults the collector ran a young collection every six or seven requests, each
    walking the in-flight batches, and every ~100k events a full one walking the ~110k objects
    of the imports and the app too: 119 ms of GC in the 1.86 s of CPU for 100k events of
    ``benchmarks/ingest.py``; 2 ms with this (one young collection). Frozen objects are still
    freed by reference counting; only cycles among them wait until ``unfreeze``. A request's
    objects die with it by reference count, so the higher threshold does not hold memory.
    """
    warm_up()  # before the freeze: the parser's and the geo data's objects are frozen too
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.ensure_dirs()
    app = FastAPI(
        lifespan=collector_gc,
        title="IntelliShop collector",
        version="1",
        summary="Segment-compatible event collection: track, identify, page, alias, batch.",
        telemetry=NO_OPENTELEMETRY,
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
    dispatch_admitted_routes(app, events.router.routes)
    return app
