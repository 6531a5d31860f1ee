"""Customers: RFM segments (size, revenue, a typical customer), the RFM grid and behavioural
segments. Cohorts have their own page."""

from __future__ import annotations

import polars as pl
import streamlit as st
from plotly import graph_objects as go
from plotly.subplots import make_subplots

from dashboards import queries, theme
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

st.subheader("RFM grid")
full = queries.model_table(shop.tenant_id, version, "customers")
if full is None or full.is_empty() or not {"recency_score", "frequency_score"} <= set(full.columns):
    st.info("No RFM scores published yet: run the pipeline (`intellishop pipeline run`).")
else:
    grid = queries.rfm_grid(full)
    heat = go.Figure(
        go.Heatmap(
            z=grid,
            x=[str(f) for f in range(1, 6)],
            y=[str(r) for r in range(1, 6)],
            text=[[f"{v:,}" for v in row] for row in grid],
            texttemplate="%{text}",
            colorscale=theme.SCALE,
            hovertemplate="Recency %{y}, frequency %{x}: %{z:,} customers<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    heat.update_xaxes(title_text="Frequency score (5 = most orders)", type="category")
    heat.update_yaxes(title_text="Recency score (5 = most recent)", type="category")
    st.plotly_chart(theme.style(heat, "Customers by recency and frequency score"), width="stretch")

st.subheader("Behavioural segments")
behavioural = queries.model_table(shop.tenant_id, version, "behavioural_segments")
if behavioural is None or behavioural.is_empty():
    st.caption(
        "No behavioural segments published yet: they come with the pipeline's dbt models "
        "(`intellishop pipeline run`)."
    )
else:
    segment_column = next(
        (c for c in ("segment", "behavioural_segment", "segment_name") if c in behavioural.columns),
        None,
    )
    if segment_column is None:
        st.dataframe(behavioural.head(200), hide_index=True)
    else:
        sizes = behavioural.group_by(segment_column).len("people").sort("people", descending=True)
        st.dataframe(sizes, hide_index=True)
