"""The API application factory.

Run it with ``intellishop serve api``, which binds ``settings.host`` (127.0.0.1 unless set
otherwise), or ``uvicorn serving.app:create_app --factory --host 127.0.0.1``.
"""

from __future__ import annotations

from fastapi import FastAPI

from intellishop.artifacts import LocalArtifactStore, ServingStore
from intellishop.settings import Settings, get_settings
from intellishop.tenants import TenantRegistry

from .catalog import PublishedCatalog
from .deps import CachedTenantLookup
from .routes import health, recommendations, trending

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
        summary="Recommendations and trending products, from the pipeline's published artifacts.",
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
    return app
