"""One metric over time, by day, week or month, broken down and filtered: a chart's query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from ..analytics import TableNotPublishedError
from ..cache import ResponseCache
from ..deps import AnalyticsTenant, DateRangeQuery, PublishedIndex, query_error
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

router = APIRouter(prefix="/v1/analytics/query", tags=["analytics"])


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
    filters: list[tuple[str, str]] = []
    for text in filter_ or []:
        name, sep, value = text.partition(":")
        if not sep or name not in DIMENSIONS or not value or len(value) > 256:
            raise query_error(
                "filter",
                f"filter {text[:80]!r} must be dimension:value with a dimension among "
                f"{', '.join(DIMENSIONS)}",
                text,
            )
        filters.append((name, value))
    query = AnalyticsQuery(
        metric=metric,
        granularity=granularity,
        start=dates.start,
        end=dates.end,
        breakdown=breakdown,
        filters=tuple(filters),
    )
    cache: ResponseCache = request.app.state.response_cache
    key = f"{tenant.tenant_id}:{index.version}:query:{query.cache_key()}"
    cached = await run_in_threadpool(cache.get, key) if cache.blocking else cache.get(key)
    if cached is not None:
        return Response(cached, media_type="application/json", headers={"X-Cache": "hit"})
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
