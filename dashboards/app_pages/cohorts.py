"""Cohorts: of the customers who first ordered in a month (or week), how many came back, and
what they spent, period by period."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import queries, theme
from dashboards.sidebar import select_shop

st.title("Cohorts")

shop, version = select_shop()
cohorts = queries.cohort_retention(shop.tenant_id, version)
if cohorts.is_empty():
    st.info(
        "No cohorts published for this shop yet: they appear after a pipeline run that sees "
        "a completed order (`intellishop pipeline run`)."
    )
    st.stop()

grain_column, measure_column = st.columns(2)
grain = grain_column.segmented_control(
    "Cohorts by",
    ["month", "week"],
    default="month",
    format_func=lambda g: {"month": "Month", "week": "Week"}[g],
    key="cohort_grain",
)
measure = measure_column.segmented_control(
    "Show",
    ["customers", "revenue"],
    default="customers",
    format_func=lambda m: {"customers": "Customers retained", "revenue": "Net revenue"}[m],
    key="cohort_measure",
)
grain = grain or "month"
by_revenue = measure == "revenue"
grid = queries.retention_grid(cohorts, grain, "net_revenue" if by_revenue else "customer_retention")
if not grid.cohorts:
    st.info(f"No {grain}ly cohorts published for this shop.")
    st.stop()

label = "%Y-%m" if grid.grain == "month" else "%Y-%m-%d"
rows = [f"{start:{label}} ({size:,})" for start, size in zip(grid.cohorts, grid.sizes, strict=True)]
period_name = f"{grid.grain.capitalize()}s since first order"


def cell_text(value: float) -> str:
    """What a cell shows: the money, or a whole percentage."""
    return queries.format_money(value, shop.currency) if by_revenue else f"{value:.0f}%"


if by_revenue:
    scale = 1.0
    shown = alt.Tooltip("value:Q", title=f"Net revenue ({shop.currency})", format=",.2f")
    legend = alt.Legend(title=shop.currency, format=",.0f")
    title = f"Net revenue ({shop.currency}) of each {grid.grain}'s new customers"
    domain = None
else:
    scale = 100.0
    shown = alt.Tooltip("value:Q", title="Ordered again (%)", format=".1f")
    legend = alt.Legend(title="Retained (%)", format=".0f")
    title = f"Share of each {grid.grain}'s new customers ordering again"
    domain = [0.0, 100.0]
# One row per cell the cohort has reached; an empty cell is a period it has not reached yet.
cells = pl.DataFrame(
    [
        {"cohort": row, "period": period, "value": value * scale, "text": cell_text(value * scale)}
        for row, values in zip(rows, grid.retention, strict=True)
        for period, value in zip(grid.periods, values, strict=True)
        if value is not None
    ],
    schema={"cohort": pl.String, "period": pl.Int64, "value": pl.Float64, "text": pl.String},
)
heatmap = theme.heatmap(
    alt.Chart(cells).encode(
        tooltip=[
            alt.Tooltip("cohort:N", title="Cohort (customers)"),
            alt.Tooltip("period:O", title=period_name),
            shown,
        ]
    ),
    x=alt.X("period:O", title=period_name, axis=alt.Axis(labelAngle=0)),
    y=alt.Y("cohort:N", sort=rows, title="Cohort (customers)"),
    value="value",
    text="text",
    domain=domain,
    legend=legend,
)
st.altair_chart(theme.style(heatmap, title, height=max(320, 28 * len(rows) + 160)), width="stretch")
st.caption(
    f"Cohorts by the {grid.grain} of the first order, in the shop's time zone "
    f"({shop.timezone}). Empty cells are {grid.grain}s a cohort has not reached yet."
)
