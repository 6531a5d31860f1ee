"""Geography: where visits, orders and revenue come from, on a world map by country."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import queries, theme
from dashboards.countries import iso3
from dashboards.sidebar import date_range, select_shop
from dashboards.world_map import world_map

MEASURES = {
    "net_revenue": "Net revenue",
    "orders": "Orders",
    "sessions": "Visits",
}

st.title("Geography")

shop, version = select_shop()
geo = queries.geo_daily(shop.tenant_id, version)
default = queries.default_date_range(geo["metric_date"])
span = queries.date_span(geo["metric_date"])
if default is None or span is None:
    st.info(
        "No visits by country published for this shop yet: they appear after a pipeline run "
        "that sees visits (`intellishop pipeline run`)."
    )
    st.stop()
start, end = date_range(span[0], span[1], default, f"Days ({shop.timezone})")
measure = st.segmented_control(
    "Show",
    list(MEASURES),
    default="net_revenue",
    format_func=MEASURES.__getitem__,
    key="geo_measure",
)
measure = measure or "net_revenue"
by_country = queries.revenue_by_country(geo, start, end).with_columns(
    pl.col("country").map_elements(iso3, return_dtype=pl.String).alias("iso3")
)
mapped = by_country.filter(pl.col("iso3").is_not_null())
money = measure == "net_revenue"
shown = f"{MEASURES[measure]} ({shop.currency})" if money else MEASURES[measure]
figure = world_map(
    queries.country_outlines(),
    dict(zip(mapped["iso3"].to_list(), mapped[measure].cast(float).to_list(), strict=True)),
    dict(zip(mapped["iso3"].to_list(), mapped["country"].to_list(), strict=True)),
    shown,
    ",.2f" if money else ",.0f",
)
st.altair_chart(
    theme.style(figure, f"{shown} by country, {start:%d %b} to {end:%d %b %Y}", height=400),
    width="stretch",
)
st.dataframe(
    by_country.drop("iso3"),
    hide_index=True,
    column_config={
        "country": "Country (ISO code)",
        "net_revenue": st.column_config.NumberColumn(
            f"Net revenue ({shop.currency})", format="accounting"
        ),
        "orders": st.column_config.NumberColumn("Orders", format="localized"),
        "sessions": st.column_config.NumberColumn("Visits", format="localized"),
    },
)
unknown = by_country.filter(pl.col("iso3").is_null())["country"].to_list()
note = "Country from the visitor's IP address; net revenue is after refunds."
if unknown:
    note += f" Not on the map: {', '.join(unknown)}."
st.caption(note)
