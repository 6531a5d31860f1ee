"""Customers: RFM segments (size, revenue, a typical customer) and cohort retention."""

from __future__ import annotations

import polars as pl
import streamlit as st
from plotly import graph_objects as go
from plotly.subplots import make_subplots

from dashboards import queries
from dashboards.sidebar import select_shop

st.title("Customers")

shop, version = select_shop()

st.subheader("RFM segments")
customers = queries.customers(shop.tenant_id, version)
if customers.is_empty():
    st.info(
        "No customers published for this shop yet: segments appear after a pipeline run that "
        "sees a completed order (`intellishop pipeline run`)."
    )
else:
    segments = queries.segment_summary(customers)
    names = segments["segment"].to_list()
    figure = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("Customers", f"Net revenue ({shop.currency})"),
    )
    figure.add_bar(
        y=names,
        x=segments["customers"].to_list(),
        orientation="h",
        name="Customers",
        text=[f"{count:,}" for count in segments["customers"].to_list()],
        textposition="auto",
        marker={"color": "#1f77b4"},
        hovertemplate="%{y}: %{x:,} customers<extra></extra>",
        row=1,
        col=1,
    )
    figure.add_bar(
        y=names,
        x=segments["net_revenue"].to_list(),
        orientation="h",
        name="Net revenue",
        text=[queries.format_money(v, shop.currency) for v in segments["net_revenue"].to_list()],
        textposition="auto",
        marker={"color": "#2ca02c"},
        hovertemplate="%{y}: %{x:,.2f} " + shop.currency + "<extra></extra>",
        row=1,
        col=2,
    )
    figure.update_yaxes(autorange="reversed", row=1, col=1)
    figure.update_xaxes(tickformat=",d", row=1, col=1)
    figure.update_xaxes(tickformat=",.0f", row=1, col=2)
    figure.update_layout(
        title="Segment sizes and their revenue",
        showlegend=False,
        height=max(320, 48 * len(names) + 120),
        margin={"t": 90, "b": 30, "l": 150},
    )
    st.plotly_chart(figure, width="stretch")
    st.dataframe(
        segments.select(
            "segment",
            "customers",
            (pl.col("customer_share") * 100).round(1),
            "avg_orders",
            "avg_net_revenue",
            "avg_recency_days",
            (pl.col("revenue_share") * 100).round(1),
        ),
        hide_index=True,
        column_config={
            "segment": "Segment",
            "customers": st.column_config.NumberColumn("Customers", format="localized"),
            "customer_share": st.column_config.NumberColumn("Of customers", format="%.1f%%"),
            "avg_orders": st.column_config.NumberColumn("Avg orders", format="%.2f"),
            "avg_net_revenue": st.column_config.NumberColumn(
                f"Avg net revenue ({shop.currency})", format="accounting"
            ),
            "avg_recency_days": st.column_config.NumberColumn(
                "Avg recency (days)",
                format="%.1f",
                help="Days from a customer's last order to the shop's latest order.",
            ),
            "revenue_share": st.column_config.NumberColumn("Of net revenue", format="%.1f%%"),
        },
    )
    st.caption(
        f"{customers.height:,} customers who bought, scored 1..5 on recency, frequency and "
        "spend within this shop; net revenue is after refunds."
    )

st.subheader("Cohort retention")
cohorts = queries.cohort_retention(shop.tenant_id, version)
if cohorts.is_empty():
    st.info(
        "No cohorts published for this shop yet: they appear after a pipeline run that sees "
        "a completed order."
    )
else:
    grain = st.segmented_control(
        "Cohorts by",
        ["month", "week"],
        default="month",
        format_func=lambda g: {"month": "Month", "week": "Week"}[g],
        key="cohort_grain",
    )
    grid = queries.retention_grid(cohorts, grain or "month")
    if not grid.cohorts:
        st.info(f"No {grain}ly cohorts published for this shop.")
    else:
        label = "%Y-%m" if grid.grain == "month" else "%Y-%m-%d"
        rows = [
            f"{start:{label}} ({size:,})"
            for start, size in zip(grid.cohorts, grid.sizes, strict=True)
        ]
        percent = [[None if v is None else v * 100 for v in row] for row in grid.retention]
        text = [["" if v is None else f"{v:.0f}%" for v in row] for row in percent]
        heatmap = go.Figure(
            go.Heatmap(
                z=percent,
                x=[str(p) for p in grid.periods],
                y=rows,
                text=text,
                texttemplate="%{text}",
                colorscale="Blues",
                zmin=0,
                zmax=100,
                colorbar={"title": {"text": "Retained"}, "ticksuffix": "%"},
                hovertemplate="Cohort %{y}<br>"
                + grid.grain.capitalize()
                + " %{x}: %{z:.1f}% ordered<extra></extra>",
                xgap=2,
                ygap=2,
            )
        )
        heatmap.update_yaxes(autorange="reversed", type="category", title_text="Cohort (customers)")
        heatmap.update_xaxes(
            type="category", title_text=f"{grid.grain.capitalize()}s since first order"
        )
        heatmap.update_layout(
            title=f"Share of each {grid.grain}'s new customers ordering again",
            height=max(320, 28 * len(rows) + 140),
            margin={"t": 60, "b": 40},
        )
        st.plotly_chart(heatmap, width="stretch")
        st.caption(
            f"Cohorts by the {grid.grain} of the first order, in the shop's time zone "
            f"({shop.timezone}). Empty cells are {grid.grain}s a cohort has not reached yet."
        )
