"""The API application factory.

Run it with ``intellishop serve api``, which binds ``settings.host`` (127.0.0.1 unless set
otherwise), or ``uvicorn serving.app:create_app --factory --host 127.0.0.1``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from intellishop.artifacts import LocalArtifactStore, ServingStore
from intellishop.settings import Settings, get_settings
from intellishop.tenants import TenantRegistry

from .analytics import TableNotPublishedError
from .catalog import PublishedCatalog
from .deps import CachedTenantLookup
from .routes import (
    cohorts,
    customers,
    daily_metrics,
    funnel,
    health,
    product_performance,
    recommendations,
    segments,
    trending,
)

#: How often each tenant's ``CURRENT`` pointer is re-read: a publish is live within this time.
ARTIFACT_REFRESH_SECONDS = 1.0


def create_app(
    settings: Settings | None = None,
    *,
    store: ServingStore | None = None,
    refresh_seconds: float = ARTIFACT_REFRESH_SECONDS,
    auth_cache_seconds: float | None = None,
) -> FastAPI:
    """The API for ``settings`` (default: from the environment).

    ``store`` replaces the serving store (default: the local profile's versioned files under
    ``settings.artifacts_dir``); ``refresh_seconds`` and ``auth_cache_seconds`` exist so tests
    can see a re-publish or a revoked key at once.
    """
    settings = settings or get_settings()
    settings.ensure_dirs()
    app = FastAPI(
        title="IntelliShop API",
        version="1",
        summary="Recommendations, trending products and shop analytics, from the pipeline's "
        "published artifacts.",
    )
    app.state.settings = settings
    app.state.catalog = PublishedCatalog(
        store or LocalArtifactStore(settings.artifacts_dir, refresh_seconds=refresh_seconds)
    )
    registry = TenantRegistry(settings.tenants_db_path)
    app.state.tenant_lookup = (
        CachedTenantLookup(registry)
        if auth_cache_seconds is None
        else CachedTenantLookup(registry, ttl_seconds=auth_cache_seconds)
    )
    app.include_router(health.router)
    app.include_router(recommendations.router)
    app.include_router(trending.router)
    app.include_router(daily_metrics.router)
    app.include_router(funnel.router)
    app.include_router(product_performance.router)
    app.include_router(cohorts.router)
    app.include_router(customers.router)
    app.include_router(segments.router)
    app.add_exception_handler(TableNotPublishedError, _table_not_published)
    return app


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
