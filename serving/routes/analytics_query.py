"""One metric over time, by day, week or month, broken down and filtered: a chart's query."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from starlette.types import Scope

from intellishop.tenants import Tenant

from ..analytics import TableNotPublishedError
from ..auth import Access
from ..cache import ResponseCache
from ..catalog import VersionIndex
from ..deps import AnalyticsTenant, DateRangeQuery, PublishedIndex, date_range, query_error
from ..fast_path import FastPathRoute, QueryArgs, fast_index, fast_path, fast_principal
from ..query import (
    DIMENSIONS,
    AnalyticsQuery,
    Dimension,
    Granularity,
    MartMissingError,
    Metric,
    QueryError,
    run_query,
)
from ..schemas import AnalyticsQueryResult

router = APIRouter(prefix="/v1/analytics/query", tags=["analytics"], route_class=FastPathRoute)


@router.get(
    "",
    summary="A metric over time, by period, breakdown and filters",
    description="Sums the published marts (`daily_metrics`, `geo_daily`, `funnel_daily`) per "
    "`granularity` period, optionally per value of one `breakdown` dimension, for the rows "
    "matching every `filter` (`dimension:value`, repeatable). Metric and dimension names are a "
    "fixed list; a combination no published table holds is a 422 naming the field. Answers "
    "are cached per published version (a publish makes them fresh at once).",
    response_model=AnalyticsQueryResult,
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"description": "Mart not published yet."}},
)
async def analytics_query(
    request: Request,
    tenant: AnalyticsTenant,
    index: PublishedIndex,
    dates: DateRangeQuery,
    metric: Annotated[Metric, Query(description="What to measure.")],
    granularity: Annotated[Granularity, Query(description="day, week or month.")] = "day",
    breakdown: Annotated[
        Dimension | None, Query(description="One row per value of this dimension and period.")
    ] = None,
    filter_: Annotated[
        list[str] | None,
        Query(
            alias="filter",
            max_length=10,
            description="`dimension:value`, e.g. `country:US`; repeat for several (all must "
            "match). Dimensions: " + ", ".join(DIMENSIONS) + ".",
        ),
    ] = None,
) -> Response:
    filters = parse_filters(filter_ or [])
    query = AnalyticsQuery(
        metric=metric,
        granularity=granularity,
        start=dates.start,
        end=dates.end,
        breakdown=breakdown,
        filters=tuple(filters),
    )
    cache: ResponseCache = request.app.state.response_cache
    key = cache_key(tenant, index, query)
    cached = await cached_answer(cache, key)
    if cached is not None:
        return cache_hit(cached)
    try:
        # Polars work on a miss: off the event loop, which keeps serving cached answers.
        answer = await run_in_threadpool(run_query, index.query_tables, query)
    except QueryError as error:
        raise query_error(error.field, str(error), None) from None
    except MartMissingError as error:
        raise TableNotPublishedError(tenant.tenant_id, index.version, error.table) from None
    body = AnalyticsQueryResult(
        tenant_id=tenant.tenant_id,
        model_version=index.version,
        metric=metric,
        granularity=granularity,
        start=dates.start,
        end=dates.end,
        breakdown=breakdown,
        filters=dict(filters),
        **answer,
    ).model_dump_json()
    if cache.blocking:
        await run_in_threadpool(cache.set, key, body.encode())
    else:
        cache.set(key, body.encode())
    return Response(body, media_type="application/json", headers={"X-Cache": "miss"})


def parse_filters(texts: list[str]) -> list[tuple[str, str]]:
    """``dimension:value`` texts as pairs; a 422 naming ``filter`` for a malformed one."""
    filters: list[tuple[str, str]] = []
    for text in texts:
        name, sep, value = text.partition(":")
        if not sep or name not in DIMENSIONS or not value or len(value) > 256:
            raise query_error(
                "filter",
                f"filter {text[:80]!r} must be dimension:value with a dimension among "
                f"{', '.join(DIMENSIONS)}",
                text,
            )
        filters.append((name, value))
    return filters


def cache_key(tenant: Tenant, index: VersionIndex, query: AnalyticsQuery) -> str:
    """Per tenant *and published version*: a publish makes every answer fresh at once."""
    return f"{tenant.tenant_id}:{index.version}:query:{query.cache_key()}"


async def cached_answer(cache: ResponseCache, key: str) -> bytes | None:
    """From memory when this process has it; else from the cache (a thread if it may wait)."""
    cached = cache.get_now(key)
    if cached is None:
        cached = await run_in_threadpool(cache.get, key) if cache.blocking else cache.get(key)
    return cached


def cache_hit(body: bytes) -> Response:
    return Response(body, media_type="application/json", headers={"X-Cache": "hit"})


_METRICS = frozenset(get_args(Metric))
_GRANULARITIES = frozenset(get_args(Granularity))
_DIMENSIONS = frozenset(DIMENSIONS)


@fast_path(analytics_query)
async def analytics_query_fast(scope: Scope) -> Response | None:
    """A cached answer to an ordinary query; a miss or anything unusual goes to FastAPI."""
    args = QueryArgs(scope)
    metric = args.choice("metric", _METRICS)
    granularity = args.choice("granularity", _GRANULARITIES) or "day"
    breakdown = args.choice("breakdown", _DIMENSIONS)
    texts = args.texts("filter", 10)
    start, end = args.text("start"), args.text("end")
    if not args.ok or metric is None:
        return None
    try:
        dates = await date_range(start, end)
        filters = parse_filters(texts or [])
    except RequestValidationError:
        return None
    principal = fast_principal(scope, Access.ANALYTICS)
    if principal is None:
        return None
    index = fast_index(scope, principal)
    if index is None:
        return None
    query = AnalyticsQuery(
        metric=metric,  # type: ignore[arg-type]  # checked against Metric's values above
        granularity=granularity,  # type: ignore[arg-type]
        start=dates.start,
        end=dates.end,
        breakdown=breakdown,  # type: ignore[arg-type]
        filters=tuple(filters),
    )
    cache: ResponseCache = scope["app"].state.response_cache
    key = cache_key(principal.tenant, index, query)
    cached = await cached_answer(cache, key)
    return cache_hit(cached) if cached is not None else None
