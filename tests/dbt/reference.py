"""An independent computation of the core marts in polars, straight from Segment messages.

Written from the rules in docs/warehouse.md, not from the SQL: staging (crawlers by user agent,
device class, traffic source), identity stitching (latest link wins, applied retroactively),
visits (30 minutes of inactivity), orders (first Order Completed per order id, refunds take
back their share of the total, cancellations everything), then daily metrics, the funnel,
RFM customers and cohorts in each tenant's time zone. tests/dbt/test_simulated.py compares
the dbt marts with these frames.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

SESSION_TIMEOUT_MS = 30 * 60 * 1000
FUNNEL_KEYS = ["tenant_id", "metric_date", "device_type", "traffic_source", "country"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def events_frame(messages: list[tuple[str, dict[str, Any]]]) -> pl.DataFrame:
    """One row per (tenant, message) with the fields the marts need."""
    rows = []
    for tenant_id, message in messages:
        properties = message.get("properties") or {}
        context = message.get("context") or {}
        agent = context.get("userAgent")
        lowered = (agent or "").lower()
        page = context.get("page") or {}
        is_page = message["type"] == "page"
        if agent is None:
            device = None
        elif "ipad" in lowered or "tablet" in lowered:
            device = "tablet"
        elif "mobi" in lowered or "android" in lowered:
            device = "mobile"
        else:
            device = "desktop"
        revenue = _number(properties.get("revenue"))
        total = _number(properties.get("total"))
        rows.append(
            {
                "tenant_id": tenant_id,
                "message_id": message["messageId"],
                "type": message["type"],
                "event": message.get("event"),
                "user_id": message.get("userId"),
                "anonymous_id": message.get("anonymousId"),
                "previous_id": message.get("previousId"),
                "occurred_at": _moment(message["timestamp"]),
                "order_id": properties.get("order_id"),
                "revenue": revenue if revenue is not None else total,
                "order_total": total,
                "country": (context.get("location") or {}).get("country"),
                "referrer": properties.get("referrer", page.get("referrer"))
                if is_page
                else page.get("referrer"),
                "utm_source": (context.get("campaign") or {}).get("source"),
                "device_type": device,
                "is_bot": any(word in lowered for word in ("bot", "crawler", "spider")),
            }
        )
    return pl.DataFrame(rows).with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC"))


def stitched(events: pl.DataFrame) -> pl.DataFrame:
    """Events with actor_id: own user id, else the latest user their device was linked to."""
    links = pl.concat(
        [
            events.filter(
                pl.col("anonymous_id").is_not_null() & pl.col("user_id").is_not_null()
            ).select("tenant_id", "anonymous_id", "user_id", "occurred_at"),
            events.filter(
                (pl.col("type") == "alias")
                & pl.col("previous_id").is_not_null()
                & pl.col("user_id").is_not_null()
            ).select(
                "tenant_id", pl.col("previous_id").alias("anonymous_id"), "user_id", "occurred_at"
            ),
        ]
    )
    latest = (
        links.sort(["occurred_at", "user_id"], descending=[True, False])
        .unique(["tenant_id", "anonymous_id"], keep="first", maintain_order=True)
        .select("tenant_id", "anonymous_id", pl.col("user_id").alias("linked_user_id"))
    )
    return (
        events.join(latest, on=["tenant_id", "anonymous_id"], how="left")
        .with_columns(
            resolved_user_id=pl.coalesce("user_id", "linked_user_id"),
            actor_id=pl.coalesce("user_id", "linked_user_id", "anonymous_id"),
        )
        .drop("linked_user_id")
    )


def local_date(column: str, timezones: dict[str, str]) -> pl.Expr:
    """The tenant-local calendar day of a UTC instant column."""
    expression: pl.Expr | None = None
    for tenant_id, zone in timezones.items():
        day = pl.col(column).dt.convert_time_zone(zone).dt.date()
        expression = (
            pl.when(pl.col("tenant_id") == tenant_id).then(day)
            if expression is None
            else expression.when(pl.col("tenant_id") == tenant_id).then(day)  # type: ignore[attr-defined]
        )
    assert expression is not None
    return expression.otherwise(pl.col(column).dt.date())  # type: ignore[attr-defined, no-any-return]


def sessions(events: pl.DataFrame) -> pl.DataFrame:
    """Visits: a person's device-side human events with gaps under 30 minutes."""
    visits = (
        events.filter(~pl.col("is_bot") & pl.col("anonymous_id").is_not_null())
        .sort(["tenant_id", "actor_id", "occurred_at", "message_id"])
        .with_columns(
            gap=pl.col("occurred_at").diff().over(["tenant_id", "actor_id"]).dt.total_milliseconds()
        )
        .with_columns(
            start=(pl.col("gap").is_null() | (pl.col("gap") >= SESSION_TIMEOUT_MS)).cast(pl.Int64)
        )
        .with_columns(session_number=pl.col("start").cum_sum().over(["tenant_id", "actor_id"]))
    )
    return visits.group_by(["tenant_id", "actor_id", "session_number"], maintain_order=True).agg(
        started_at=pl.col("occurred_at").first(),
        referrer=pl.col("referrer").first(),
        utm_source=pl.col("utm_source").first(),
        country=pl.col("country").first(),
        device_type=pl.col("device_type").first(),
        viewed=(pl.col("event") == "Product Viewed").any(),
        added=(pl.col("event") == "Product Added").any(),
        checked_out=(pl.col("event") == "Checkout Started").any(),
        ordered=(pl.col("event") == "Order Completed").any(),
    )


def orders(events: pl.DataFrame) -> pl.DataFrame:
    """One row per order: first Order Completed; refunds and cancellations take back."""
    completed = (
        events.filter((pl.col("event") == "Order Completed") & pl.col("order_id").is_not_null())
        .sort(["occurred_at", "message_id"])
        .unique(["tenant_id", "order_id"], keep="first", maintain_order=True)
    )
    refunds = (
        events.filter((pl.col("event") == "Order Refunded") & pl.col("order_id").is_not_null())
        .group_by(["tenant_id", "order_id"])
        .agg(refunded=pl.coalesce("order_total", "revenue").sum(), refund_count=pl.len())
    )
    cancelled = (
        events.filter((pl.col("event") == "Order Cancelled") & pl.col("order_id").is_not_null())
        .select("tenant_id", "order_id")
        .unique()
        .with_columns(cancelled=pl.lit(True))
    )
    base = pl.coalesce("order_total", "revenue", pl.lit(0.0))
    return (
        completed.join(refunds, on=["tenant_id", "order_id"], how="left")
        .join(cancelled, on=["tenant_id", "order_id"], how="left")
        .with_columns(
            refunded_share=pl.when(pl.col("cancelled").fill_null(False))
            .then(1.0)
            .when(pl.col("refunded").is_null())
            .then(0.0)
            .when(base <= 0)
            .then(1.0)
            .when(pl.col("refunded") >= base)
            .then(1.0)
            .otherwise(pl.col("refunded") / base),
            gross_revenue=pl.col("revenue").fill_null(0.0),
            refund_count=pl.col("refund_count").fill_null(0),
        )
        .with_columns(
            net_revenue=(pl.col("gross_revenue") * (1 - pl.col("refunded_share"))).round(4),
            customer_id=pl.coalesce("resolved_user_id", "actor_id"),
        )
        .select(
            "tenant_id",
            "order_id",
            "customer_id",
            "occurred_at",
            "gross_revenue",
            "net_revenue",
            "refunded_share",
            "refund_count",
        )
    )


def daily_metrics(
    visits: pl.DataFrame, placed: pl.DataFrame, timezones: dict[str, str]
) -> pl.DataFrame:
    by_visit = (
        visits.with_columns(metric_date=local_date("started_at", timezones))
        .group_by(["tenant_id", "metric_date"])
        .agg(sessions=pl.len(), visitors=pl.col("actor_id").n_unique())
    )
    dated = placed.with_columns(metric_date=local_date("occurred_at", timezones))
    firsts = dated.group_by(["tenant_id", "customer_id"]).agg(
        first_date=pl.col("metric_date").min()
    )
    by_order = (
        dated.join(firsts, on=["tenant_id", "customer_id"])
        .group_by(["tenant_id", "metric_date"])
        .agg(
            orders=pl.len(),
            revenue=pl.col("net_revenue").sum(),
            new_customers=pl.col("customer_id")
            .filter(pl.col("metric_date") == pl.col("first_date"))
            .n_unique(),
        )
    )
    return (
        by_visit.join(by_order, on=["tenant_id", "metric_date"], how="full", coalesce=True)
        .with_columns(
            pl.col("sessions", "visitors", "orders", "new_customers").fill_null(0),
            pl.col("revenue").fill_null(0.0),
        )
        .with_columns(
            conversion_rate=pl.when(pl.col("sessions") > 0).then(
                pl.col("orders") / pl.col("sessions")
            )
        )
        .select(
            "tenant_id",
            "metric_date",
            "sessions",
            "visitors",
            "orders",
            "revenue",
            "new_customers",
            "conversion_rate",
        )
    )


def funnel_daily(visits: pl.DataFrame, timezones: dict[str, str]) -> pl.DataFrame:
    direct = pl.col("referrer").is_null() | (pl.col("referrer") == "")
    return (
        visits.with_columns(
            metric_date=local_date("started_at", timezones),
            device_type=pl.col("device_type").fill_null("unknown"),
            traffic_source=pl.coalesce(
                "utm_source",
                pl.when(direct).then(pl.lit("(direct)")).otherwise(pl.lit("(referral)")),
            ),
            country=pl.col("country").fill_null("unknown"),
        )
        .group_by(FUNNEL_KEYS)
        .agg(
            sessions=pl.len(),
            viewed_sessions=pl.col("viewed").sum(),
            added_sessions=pl.col("added").sum(),
            checkout_sessions=pl.col("checked_out").sum(),
            ordered_sessions=pl.col("ordered").sum(),
            dropped_after_view_sessions=(pl.col("viewed") & ~pl.col("added")).sum(),
        )
    )


def _ntile(rank: pl.Expr, count: pl.Expr, buckets: int = 5) -> pl.Expr:
    """SQL's ntile(buckets) of the 0-based `rank` among `count` rows."""
    size = count // buckets
    big = count % buckets
    cut = big * (size + 1)
    return (
        pl.when(rank < cut)
        .then(rank // (size + 1) + 1)
        .otherwise((rank - cut) // pl.max_horizontal(size, 1) + big + 1)
    )


def _segment(row: dict[str, Any]) -> str:
    r, f, m, n = row["recency_score"], row["frequency_score"], row["monetary_score"], row["orders"]
    if r >= 4 and f >= 4 and m >= 4 and n >= 2:
        return "Champions"
    if r <= 2 and f >= 4 and m >= 4 and n >= 2:
        return "Can't Lose Them"
    if r >= 3 and f >= 3 and n >= 2:
        return "Loyal"
    if r <= 2 and n >= 2:
        return "At Risk"
    if r >= 4 and n == 1:
        return "New"
    if r >= 4:
        return "Potential Loyalists"
    return {3: "Promising", 2: "Hibernating"}.get(r, "Lost")


def customers(placed: pl.DataFrame) -> pl.DataFrame:
    kept = placed.filter(pl.col("refunded_share") < 1)
    per = kept.group_by(["tenant_id", "customer_id"]).agg(
        orders=pl.len(),
        net_revenue=pl.col("net_revenue").sum().round(4),
        last_order_at=pl.col("occurred_at").max(),
    )
    as_of = kept.group_by("tenant_id").agg(as_of=pl.col("occurred_at").max())
    count = pl.len().over("tenant_id")

    def score(columns: list[str]) -> pl.Expr:
        rank = pl.struct(columns).rank("ordinal").over("tenant_id") - 1
        return _ntile(rank.cast(pl.Int64), count.cast(pl.Int64))

    scored = (
        per.join(as_of, on="tenant_id")
        .with_columns(
            recency_days=(
                pl.col("as_of").dt.date() - pl.col("last_order_at").dt.date()
            ).dt.total_days(),
        )
        .sort(["tenant_id", "customer_id"])
        .with_columns(
            recency_score=score(["last_order_at", "customer_id"]),
            frequency_score=score(["orders", "net_revenue", "customer_id"]),
            monetary_score=score(["net_revenue", "customer_id"]),
        )
    )
    return scored.with_columns(
        rfm_segment=pl.struct(
            "recency_score", "frequency_score", "monetary_score", "orders"
        ).map_elements(_segment, return_dtype=pl.String)
    ).select(
        "tenant_id",
        "customer_id",
        "orders",
        "net_revenue",
        "recency_days",
        "recency_score",
        "frequency_score",
        "monetary_score",
        "rfm_segment",
    )


def cohort_retention(placed: pl.DataFrame, timezones: dict[str, str]) -> pl.DataFrame:
    kept = placed.filter(pl.col("refunded_share") < 1).with_columns(
        order_date=local_date("occurred_at", timezones)
    )
    kept = kept.join(
        kept.group_by(["tenant_id", "customer_id"]).agg(first_date=pl.col("order_date").min()),
        on=["tenant_id", "customer_id"],
    )
    frames = []
    for grain, every in (("month", "1mo"), ("week", "1w")):
        start = pl.col("first_date").dt.truncate(every)
        period = pl.col("order_date").dt.truncate(every)
        number = (
            (period.dt.year() - start.dt.year()) * 12 + period.dt.month() - start.dt.month()
            if grain == "month"
            else (period - start).dt.total_days() // 7
        )
        frames.append(
            kept.with_columns(
                cohort_grain=pl.lit(grain),
                cohort_start=start,
                period_number=number.cast(pl.Int64),
            )
        )
    periods = (
        pl.concat(frames)
        .group_by(["tenant_id", "cohort_grain", "cohort_start", "period_number"])
        .agg(
            active_customers=pl.col("customer_id").n_unique(),
            net_revenue=pl.col("net_revenue").sum(),
        )
    )
    sizes = periods.filter(pl.col("period_number") == 0).select(
        "tenant_id",
        "cohort_grain",
        "cohort_start",
        pl.col("active_customers").alias("cohort_customers"),
    )
    return periods.join(sizes, on=["tenant_id", "cohort_grain", "cohort_start"]).with_columns(
        customer_retention=pl.col("active_customers") / pl.col("cohort_customers")
    )


def raw_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
