"""The API application factory.

Run it with ``intellishop serve api``, which binds ``settings.host`` (127.0.0.1 unless set
otherwise), or ``uvicorn serving.app:create_app --factory --host 127.0.0.1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from intellishop.artifacts import ServingStore, open_serving_store
from intellishop.experiments import AlgorithmChooser
from intellishop.settings import Profile, Settings, get_settings
from intellishop.tenants import TenantRegistry

from .analytics import TableNotPublishedError
from .auth import Authenticator, jwt_secret
from .cache import ResponseCache, open_response_cache
from .catalog import PublishedCatalog
from .live.hub import LiveHub
from .metrics import RequestMetricsMiddleware, install_metrics
from .metrics import router as metrics_router
from .routes import (
    analytics_query,
    auth,
    automations,
    cohorts,
    customers,
    daily_metrics,
    experiments,
    exports,
    forecasts,
    frequently_bought_together,
    funnel,
    health,
    live,
    prices,
    product_performance,
    recommendations,
    segments,
    similar,
    tracking,
    trending,
)
from .served_events import EventAppender, ServedEventLog

#: How often each tenant's ``CURRENT`` pointer is re-read: a publish is live within this time.
ARTIFACT_REFRESH_SECONDS = 1.0

_DETAIL = {
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"detail": {"type": "string"}}}
        }
    }
}
#: Answers every route may give, documented once (each says why in ``detail``).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A request body that cannot be parsed at all.", **_DETAIL},
    401: {"description": "Missing, invalid or revoked key; bad or expired token.", **_DETAIL},
    403: {"description": "The key or role may not read this route.", **_DETAIL},
    503: {"description": "Nothing (or not this table) published yet; see Retry-After.", **_DETAIL},
}


def create_app(
    settings: Settings | None = None,
    *,
    store: ServingStore | None = None,
    refresh_seconds: float = ARTIFACT_REFRESH_SECONDS,
    auth_cache_seconds: float | None = None,
    response_cache: ResponseCache | None = None,
) -> FastAPI:
    """The API for ``settings`` (default: from the environment).

    ``store`` replaces the serving store (default: the profile's, see
    ``intellishop.artifacts.open_serving_store``); ``refresh_seconds`` and
    ``auth_cache_seconds`` exist so tests can see a re-publish or a revoked key at once.
    """
    settings = settings or get_settings()
    settings.ensure_dirs()
    if store is None:
        # Locally the pointer is a file re-read every ``refresh_seconds``; in prod pub/sub
        # announces publishes, and the pointer is re-read every few seconds as a fallback.
        store = open_serving_store(
            settings,
            listen=True,
            refresh_seconds=refresh_seconds if settings.profile is Profile.LOCAL else None,
        )
    served_events = ServedEventLog(lambda: _open_event_log(settings))
    hub = LiveHub(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.stop()
        served_events.close()
        experiment_log = getattr(_app.state, "experiment_event_log", None)
        if experiment_log is not None:
            experiment_log.close()
        close = getattr(store, "close", None)
        if close is not None:
            close()

    app = FastAPI(
        title="IntelliShop API",
        version="1",
        summary="Recommendations, similar products, customer scores, forecasts, shop analytics "
        "and live numbers, from the pipeline's published artifacts and the event log.",
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
    )
    app.state.settings = settings
    app.state.catalog = PublishedCatalog(store)
    registry = TenantRegistry(settings.tenants_db_path)
    app.state.authenticator = Authenticator(
        registry, secret=jwt_secret(settings), key_cache_seconds=auth_cache_seconds
    )
    app.state.tenant_lookup = app.state.authenticator.keys
    app.state.served_events = served_events
    app.state.response_cache = response_cache or open_response_cache(settings)
    app.state.live_hub = hub
    #: Routes users of a running recommendation experiment to their variant's algorithm.
    app.state.choose_algorithm = AlgorithmChooser(settings, served_events.put)
    for module in (
        health,
        auth,
        recommendations,
        similar,
        frequently_bought_together,
        trending,
        customers,
        segments,
        daily_metrics,
        funnel,
        product_performance,
        cohorts,
        analytics_query,
        forecasts,
        live,
        exports,
        experiments,
        prices,
        automations,
        tracking,
    ):
        app.include_router(module.router)
    app.include_router(metrics_router)
    install_metrics(settings, store)
    app.add_middleware(RequestMetricsMiddleware)
    app.add_exception_handler(TableNotPublishedError, _table_not_published)
    return app


def _open_event_log(settings: Settings) -> EventAppender:
    """The profile's event log, opened on first use (the served-events thread's own)."""
    from ingest.event_log import open_event_log

    return open_event_log(settings)


async def _table_not_published(request: Request, exc: Exception) -> JSONResponse:
    """A version published before a table existed: the same 503 as nothing published."""
    assert isinstance(exc, TableNotPublishedError)
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={
            "detail": f"no {exc.table} table published yet for tenant {exc.tenant_id!r} "
            f"(version {exc.version}): run the pipeline (`intellishop pipeline run`, or "
            "`make demo`)"
        },
        headers={"Retry-After": "60"},
    )
