"""Products: the best sellers with their interest, conversion and returns, and sales by country."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboards import queries
from dashboards.sidebar import select_shop

TOP_PRODUCTS = 50

st.title("Products")

shop, version = select_shop()

st.subheader("Top products by revenue")
performance = queries.product_performance(shop.tenant_id, version)
if performance.is_empty():
    st.info(
        "No product performance published for this shop yet: it appears after a pipeline run "
        "that sees product views or orders (`intellishop pipeline run`)."
    )
else:
    top = queries.top_products(performance, n=TOP_PRODUCTS)
    st.dataframe(
        top.with_columns(
            (pl.col("add_to_cart_rate") * 100).round(1),
            (pl.col("return_rate") * 100).round(1),
        ),
        hide_index=True,
        column_config={
            "product": st.column_config.TextColumn("Product", width="medium"),
            "category": "Category",
            "revenue": st.column_config.NumberColumn(
                f"Revenue ({shop.currency})",
                format="accounting",
                help="Units sold at the price on the order, before refunds.",
            ),
            "views": st.column_config.NumberColumn("Views", format="localized"),
            "add_to_cart_rate": st.column_config.NumberColumn(
                "Add-to-cart rate", format="%.1f%%", help="Cart adds per product view."
            ),
            "units_sold": st.column_config.NumberColumn("Units sold", format="localized"),
            "return_rate": st.column_config.NumberColumn(
                "Return rate", format="%.1f%%", help="Units refunded per unit sold."
            ),
        },
    )
    st.caption(
        f"The {min(TOP_PRODUCTS, performance.height)} of {performance.height:,} products with "
        "the most revenue since tracking began; click a column header to sort."
    )

st.subheader("Revenue by country")
geo = queries.geo_daily(shop.tenant_id, version)
by_country = queries.revenue_by_country(geo)
selling = by_country.filter(pl.col("net_revenue") != 0)
if selling.is_empty():
    st.info(
        "No sales by country published for this shop yet: they appear after a pipeline run "
        "that sees a completed order."
    )
else:
    span = queries.date_span(geo["metric_date"])
    period = f", {span[0]:%d %b %Y} to {span[1]:%d %b %Y}" if span else ""
    shown = selling.head(15)
    figure = go.Figure(
        go.Bar(
            x=shown["net_revenue"].to_list(),
            y=shown["country"].to_list(),
            orientation="h",
            text=[queries.format_money(v, shop.currency) for v in shown["net_revenue"].to_list()],
            textposition="auto",
            customdata=list(
                zip(shown["orders"].to_list(), shown["sessions"].to_list(), strict=True)
            ),
            hovertemplate="%{y}: %{x:,.2f} "
            + shop.currency
            + "<br>%{customdata[0]:,} orders, %{customdata[1]:,} visits<extra></extra>",
            marker={"color": "#2ca02c"},
        )
    )
    figure.update_yaxes(autorange="reversed", type="category", title_text="Country (ISO code)")
    figure.update_xaxes(title_text=f"Net revenue ({shop.currency})", tickformat=",.0f")
    figure.update_layout(
        title=f"Net revenue by country{period}",
        height=max(300, 32 * shown.height + 140),
        margin={"t": 60, "b": 40, "l": 120},
    )
    st.plotly_chart(figure, width="stretch")
    notes = ["Country from the visitor's IP address at the time of the order; net of refunds."]
    if selling.height > shown.height:
        notes.append(f"The top {shown.height} of {selling.height} countries with sales.")
    without_sales = by_country.filter(pl.col("net_revenue") == 0)["country"].to_list()
    if without_sales:
        notes.append(f"Visits but no sales from: {', '.join(without_sales)}.")
    st.caption(" ".join(notes))
