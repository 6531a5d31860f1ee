"""Cohorts: of the customers who first ordered in a month (or week), how many came back, and
what they spent, period by period."""

from __future__ import annotations

import plotly.graph_objects as go
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
if by_revenue:
    values = grid.retention
    text = [
        ["" if v is None else queries.format_money(v, shop.currency) for v in r] for r in values
    ]
    colorbar: dict[str, object] = {"title": {"text": shop.currency}}
    hover = "Cohort %{y}<br>" + grid.grain.capitalize() + " %{x}: %{z:,.2f} " + shop.currency
    title = f"Net revenue ({shop.currency}) of each {grid.grain}'s new customers"
    bounds: dict[str, float] = {}
else:
    values = [[None if v is None else v * 100 for v in row] for row in grid.retention]
    text = [["" if v is None else f"{v:.0f}%" for v in row] for row in values]
    colorbar = {"title": {"text": "Retained"}, "ticksuffix": "%"}
    hover = "Cohort %{y}<br>" + grid.grain.capitalize() + " %{x}: %{z:.1f}% ordered"
    title = f"Share of each {grid.grain}'s new customers ordering again"
    bounds = {"zmin": 0, "zmax": 100}
heatmap = go.Figure(
    go.Heatmap(
        z=values,
        x=[str(p) for p in grid.periods],
        y=rows,
        text=text,
        texttemplate="%{text}",
        colorscale=theme.SCALE,
        colorbar=colorbar,
        hovertemplate=hover + "<extra></extra>",
        xgap=2,
        ygap=2,
        **bounds,
    )
)
heatmap.update_yaxes(autorange="reversed", type="category", title_text="Cohort (customers)")
heatmap.update_xaxes(type="category", title_text=f"{grid.grain.capitalize()}s since first order")
st.plotly_chart(theme.style(heatmap, title, height=max(320, 28 * len(rows) + 140)), width="stretch")
st.caption(
    f"Cohorts by the {grid.grain} of the first order, in the shop's time zone "
    f"({shop.timezone}). Empty cells are {grid.grain}s a cohort has not reached yet."
)
