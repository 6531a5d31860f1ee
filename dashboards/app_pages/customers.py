"""Customers: RFM segments (size, revenue, a typical customer), the RFM grid and behavioural
segments. Cohorts have their own page."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

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
    revenue = f"Net revenue ({shop.currency})"
    # Both measures as shares of their totals on one axis, side by side per segment: a
    # segment's weight in revenue against its weight in customers is the comparison wanted.
    bars = pl.concat(
        [
            segments.select(
                "segment",
                pl.lit("Customers").alias("measure"),
                (pl.col("customer_share") * 100).alias("share"),
                pl.col("customers").cast(pl.Float64).alias("amount"),
                pl.format("{} ({}%)", "customers", (pl.col("customer_share") * 100).round(1)).alias(
                    "label"
                ),
            ),
            segments.select(
                "segment",
                pl.lit(revenue).alias("measure"),
                (pl.col("revenue_share") * 100).alias("share"),
                pl.col("net_revenue").cast(pl.Float64).alias("amount"),
                pl.col("net_revenue")
                .map_elements(lambda v: queries.format_money(v, shop.currency), pl.String)
                .alias("label"),
            ),
        ]
    )
    measures = theme.series_scale(["Customers", revenue], [theme.VISITS, theme.REVENUE])
    base = alt.Chart(bars).encode(
        y=alt.Y("segment:N", sort=names, title=None),
        yOffset=alt.YOffset("measure:N", sort=["Customers", revenue]),
        x=alt.X(
            "share:Q",
            title="Share of all customers / of net revenue (%)",
            # Room on the right for the longest bar's label.
            scale=alt.Scale(
                domainMax=1.5 * float(bars.select(pl.col("share").max()).item() or 0.0)
            ),
        ),
        tooltip=[
            alt.Tooltip("segment:N", title="Segment"),
            alt.Tooltip("measure:N", title="Measure"),
            alt.Tooltip("label:N", title="Amount"),
            alt.Tooltip("share:Q", title="Share (%)", format=".1f"),
        ],
    )
    figure = theme.labelled_bars(
        base,
        base.mark_bar().encode(color=alt.Color("measure:N", scale=measures, title=None)),
        "label",
    )
    title = f"Segment sizes and their net revenue ({shop.currency})"
    st.altair_chart(
        theme.style(figure, title, height=max(320, 48 * len(names) + 160)), width="stretch"
    )
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
    cells = pl.DataFrame(
        [
            {"recency": recency, "frequency": frequency, "customers": count, "text": f"{count:,}"}
            for recency, row in enumerate(grid, start=1)
            for frequency, count in enumerate(row, start=1)
        ]
    )
    heat = theme.heatmap(
        alt.Chart(cells).encode(
            tooltip=[
                alt.Tooltip("recency:O", title="Recency score"),
                alt.Tooltip("frequency:O", title="Frequency score"),
                alt.Tooltip("customers:Q", title="Customers", format=",d"),
            ]
        ),
        x=alt.X(
            "frequency:O", title="Frequency score (5 = most orders)", axis=alt.Axis(labelAngle=0)
        ),
        y=alt.Y("recency:O", sort="descending", title="Recency score (5 = most recent)"),
        value="customers",
        text="text",
        domain=None,
        legend=alt.Legend(title="Customers", format=",d"),
    )
    st.altair_chart(theme.style(heat, "Customers by recency and frequency score"), width="stretch")

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
