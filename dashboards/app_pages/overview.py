"""Overview: the latest day's KPIs, daily revenue and orders, and what is trending."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import queries, theme
from dashboards.sidebar import date_range, select_shop

st.title("Overview")  # no emoji: headless browsers without an emoji font show a box

shop, version = select_shop()

daily = queries.daily_metrics(shop.tenant_id, version)
summary = queries.latest_day(daily, shop)
if summary is None:
    st.info(
        "No daily metrics published for this shop yet: they appear after the first pipeline "
        "run that sees an order or a session (`intellishop pipeline run`)."
    )
else:
    heading = f"{summary.day:%A %d %B %Y}" + (" (today so far)" if summary.is_today else "")
    st.subheader(heading)
    if not summary.previous_day:
        compared = "No figures for the day before, so no changes are shown. "
    elif summary.is_today:
        compared = (
            f"The day is not over: average order value and conversion are compared with "
            f"{summary.previous_day:%A %d %B}, totals are not. "
        )
    else:
        compared = f"Changes are against {summary.previous_day:%A %d %B}. "
    st.caption(f"{compared}Days are counted in the shop's time zone, {shop.timezone}.")
    for column, kpi in zip(st.columns(len(summary.kpis)), summary.kpis, strict=True):
        column.metric(kpi.label, kpi.value, kpi.delta, help=kpi.help, border=True)

    st.subheader("Selected period")
    first_day, last_day = queries.date_span(daily["metric_date"]) or (summary.day, summary.day)
    default = queries.default_date_range(daily["metric_date"]) or (first_day, last_day)
    start, end = date_range(first_day, last_day, default, f"Days ({shop.timezone})")
    before_start, before_end = queries.previous_period(start, end)
    now = queries.period_totals(daily, start, end)
    before = queries.period_totals(daily, before_start, before_end)
    has_before = not daily.filter(
        pl.col("metric_date").is_between(before_start, before_end)
    ).is_empty()
    period_kpis = [
        ("Revenue", queries.format_money(now.revenue, shop.currency), now.revenue, before.revenue),
        ("Orders", f"{now.orders:,}", now.orders, before.orders),
        ("Average order value", queries.format_money(now.aov, shop.currency), now.aov, before.aov),
        ("Sessions", f"{now.sessions:,}", now.sessions, before.sessions),
    ]
    for column, (label, shown, value, earlier) in zip(
        st.columns(len(period_kpis)), period_kpis, strict=True
    ):
        column.metric(
            f"{label} (period)",
            shown,
            queries.change(value, earlier) if has_before else None,
            border=True,
            help=f"{start:%d %b} to {end:%d %b %Y} against {before_start:%d %b} to "
            f"{before_end:%d %b %Y}.",
        )
    daily = daily.filter(pl.col("metric_date").is_between(start, end))
    revenue = f"Revenue ({shop.currency})"
    series = theme.series_scale([revenue, "Orders"], [theme.REVENUE, theme.ORDERS])
    day = alt.X("utcyearmonthdate(metric_date):T", title=f"Day ({shop.timezone})")
    tooltip = [
        alt.Tooltip("utcyearmonthdate(metric_date):T", title="Day", format="%a %d %b %Y"),
        alt.Tooltip("revenue:Q", title=revenue, format=",.2f"),
        alt.Tooltip("orders:Q", title="Orders", format=",d"),
    ]
    base = alt.Chart(daily.select("metric_date", "revenue", "orders")).encode(
        x=day, tooltip=tooltip
    )
    bars = base.mark_bar().encode(y=alt.Y("revenue:Q", title=revenue, axis=alt.Axis(format=",.0f")))
    line = base.mark_line(point=True).encode(
        x=day.copy().bandPosition(0.5),  # a day's point in the middle of its bar
        y=alt.Y(
            "orders:Q",
            title="Orders (count)",
            axis=alt.Axis(format=",d", grid=False, tickMinStep=1),
        ),
    )
    layers = [theme.as_series(bars, revenue, series), theme.as_series(line, "Orders", series)]
    figure = alt.LayerChart(layer=layers).resolve_scale(y="independent")
    title = f"Daily revenue ({shop.currency}) and orders"
    st.altair_chart(theme.style(figure, title), width="stretch")

st.subheader("Trending products")
trending = queries.top_trending(shop.tenant_id, version, n=10)
if trending.is_empty():
    st.caption("Nothing is trending yet: product views and orders make products trend.")
else:
    st.dataframe(
        trending.with_columns(pl.col("score").round(1)),
        hide_index=True,
        column_config={
            "rank": st.column_config.NumberColumn("Rank", format="%d"),
            "product": "Product",
            "category": "Category",
            "price": st.column_config.NumberColumn(f"Price ({shop.currency})", format="%.2f"),
            "score": st.column_config.NumberColumn(
                "Trend score",
                help="Recent interest, in fresh product views (older activity counts less).",
            ),
        },
    )
