"""Products: the best sellers with their interest, conversion and returns, and sales by country."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import queries, theme
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
    shown = selling.head(15).with_columns(
        pl.col("net_revenue")
        .map_elements(lambda v: queries.format_money(v, shop.currency), pl.String)
        .alias("label")
    )
    revenue = f"Net revenue ({shop.currency})"
    base = alt.Chart(shown).encode(
        y=alt.Y("country:N", sort=None, title="Country (ISO code)"),
        x=alt.X(
            "net_revenue:Q",
            title=revenue,
            axis=alt.Axis(format=",.0f"),
            # Room on the right for the longest bar's label.
            scale=alt.Scale(
                domainMax=1.3 * float(shown.select(pl.col("net_revenue").max()).item() or 0.0)
            ),
        ),
        tooltip=[
            alt.Tooltip("country:N", title="Country"),
            alt.Tooltip("net_revenue:Q", title=revenue, format=",.2f"),
            alt.Tooltip("orders:Q", title="Orders", format=",d"),
            alt.Tooltip("sessions:Q", title="Visits", format=",d"),
        ],
    )
    figure = theme.labelled_bars(base, base.mark_bar(color=theme.REVENUE), "label")
    title = f"Net revenue by country{period}"
    st.altair_chart(
        theme.style(figure, title, height=max(300, 32 * shown.height + 140)), width="stretch"
    )
    notes = ["Country from the visitor's IP address at the time of the order; net of refunds."]
    if selling.height > shown.height:
        notes.append(f"The top {shown.height} of {selling.height} countries with sales.")
    without_sales = by_country.filter(pl.col("net_revenue") == 0)["country"].to_list()
    if without_sales:
        notes.append(f"Visits but no sales from: {', '.join(without_sales)}.")
    st.caption(" ".join(notes))

st.subheader("Demand forecast")
forecast = queries.model_table(shop.tenant_id, version, "demand_forecast")
names = queries.product_names(shop.tenant_id, version)
if forecast is None or forecast.is_empty():
    st.info(
        "No demand forecast yet: run the pipeline (`intellishop pipeline run`); the forecast "
        "needs a few weeks of orders."
    )
else:
    forecast = forecast.with_columns(pl.col("forecast_date").cast(pl.Date)).sort("forecast_date")
    totals = forecast.group_by("product_id").agg(pl.col("yhat").sum()).sort("yhat", descending=True)
    choices = totals["product_id"].to_list()
    product_id = st.selectbox(
        "Product",
        choices,
        format_func=lambda pid: f"{names.get(pid, pid)} ({pid})",
        help="Products with the most forecast demand first.",
        key="forecast_product",
    )
    rows = forecast.filter(pl.col("product_id") == product_id)
    lines = theme.series_scale(["Forecast", "Likely range"], [theme.VISITS, theme.BAND])
    day = alt.X("utcyearmonthdate(forecast_date):T", title=f"Day ({shop.timezone})")
    base = alt.Chart(rows.select("forecast_date", "yhat", "yhat_lower", "yhat_upper")).encode(
        x=day,
        tooltip=[
            alt.Tooltip("utcyearmonthdate(forecast_date):T", title="Day", format="%a %d %b"),
            alt.Tooltip("yhat:Q", title="Forecast (units)", format=",.1f"),
            alt.Tooltip("yhat_lower:Q", title="Low (units)", format=",.1f"),
            alt.Tooltip("yhat_upper:Q", title="High (units)", format=",.1f"),
        ],
    )
    area = base.mark_area().encode(
        y=alt.Y("yhat_lower:Q", title="Units per day"), y2="yhat_upper:Q"
    )
    line = base.mark_line(point=True).encode(y="yhat:Q")
    band = alt.LayerChart(
        layer=[
            theme.as_series(area, "Likely range", lines),
            theme.as_series(line, "Forecast", lines),
        ]
    )
    title = f"Forecast daily demand of {names.get(product_id, product_id)} (units)"
    st.altair_chart(theme.style(band, title, height=340), width="stretch")
    st.caption(
        f"{rows['yhat'].sum():,.1f} units expected over {rows.height} days; the band is the "
        "model's prediction interval."
    )

st.subheader("Reorder suggestions")
reorder = queries.model_table(shop.tenant_id, version, "reorder_suggestions")
if reorder is None or reorder.is_empty():
    st.info("No reorder suggestions yet: they come with the demand forecast (run the pipeline).")
else:
    st.dataframe(
        reorder.with_columns(
            pl.col("product_id")
            .replace_strict(names, default=pl.col("product_id"))
            .alias("product")
        )
        .sort("suggested_order_qty", descending=True)
        .select(
            "product",
            "suggested_order_qty",
            "reorder_point",
            "safety_stock",
            "daily_demand_mean",
            "lead_time_days",
            "service_level",
        ),
        hide_index=True,
        column_config={
            "product": "Product",
            "suggested_order_qty": st.column_config.NumberColumn("Order (units)", format="%.0f"),
            "reorder_point": st.column_config.NumberColumn(
                "Reorder at (units)", format="%.1f", help="Reorder when stock falls to this."
            ),
            "safety_stock": st.column_config.NumberColumn("Safety stock", format="%.1f"),
            "daily_demand_mean": st.column_config.NumberColumn("Units/day", format="%.2f"),
            "lead_time_days": st.column_config.NumberColumn("Lead time (days)", format="%.0f"),
            "service_level": st.column_config.NumberColumn(
                "Service level", format="percent", help="Chance of not running out."
            ),
        },
    )
