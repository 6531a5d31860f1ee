"""Funnel: how many visits reach each purchase step, and where they drop off.

Visit counts are summed over the selected days, devices, sources and countries before any rate
is worked out (``queries.funnel_steps``): averaging the published per-row rates would weigh a
quiet day like a busy one.
"""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import queries, theme
from dashboards.sidebar import date_range, select_shop

#: One colour per step, blue shading to the green of the order (revenue's colour).
STEP_COLOURS = (theme.VISITS, "#4a90c2", "#76a9d0", theme.REVENUE)

st.title("Funnel")

shop, version = select_shop()
funnel = queries.funnel_daily(shop.tenant_id, version)
default_range = queries.default_date_range(funnel["metric_date"])
if default_range is None:
    st.info(
        "No funnel published for this shop yet: it appears after a pipeline run that sees "
        "visits (`intellishop pipeline run`)."
    )
    st.stop()

first_day, last_day = queries.date_span(funnel["metric_date"]) or default_range
start, end = date_range(first_day, last_day, default_range, f"Days ({shop.timezone})")
options = queries.funnel_filter_options(funnel)
device_column, source_column, country_column = st.columns(3)
devices = device_column.multiselect("Device", options["device_type"], placeholder="All")
sources = source_column.multiselect("Traffic source", options["traffic_source"], placeholder="All")
countries = country_column.multiselect("Country", options["country"], placeholder="All")

sessions, steps = queries.funnel_steps(
    funnel, start, end, devices=devices, sources=sources, countries=countries
)
if sessions == 0:
    st.info("No visits match these days and filters.")
    st.stop()

ordered = int(steps["visits"][-1])
viewed = int(steps["visits"][0])
kpis = st.columns(3)
kpis[0].metric("Visits", f"{sessions:,}", border=True, help="All visits in the selection.")
kpis[1].metric(
    "Visits with an order",
    f"{ordered:,}",
    border=True,
    help="Visits that reached Order Completed.",
)
kpis[2].metric(
    "Visit conversion",
    f"{ordered / sessions:.2%}",
    border=True,
    help="Visits with an order per visit.",
)

visits = steps["visits"].to_list()
step_text = [
    f"{count:,} visits · {rate:.1%} of {'all visits' if index == 0 else 'the step before'}"
    if rate is not None
    else f"{count:,} visits"
    for index, (count, rate) in enumerate(
        zip(visits, steps["step_conversion"].to_list(), strict=True)
    )
]
bars = steps.select(
    "step",
    "visits",
    pl.Series("label", step_text),
    # Inside a wide bar, beside a narrow one: the text must fit either way.
    (pl.col("visits") >= 0.5 * max(visits)).alias("inside"),
    (pl.col("overall_conversion") * 100).alias("of_viewers"),
)
base = alt.Chart(bars).encode(
    y=alt.Y("step:N", sort=None, title=None),  # the funnel's order, top to bottom
    x=alt.X("visits:Q", title="Visits", axis=alt.Axis(format=",d", tickMinStep=1)),
    tooltip=[
        alt.Tooltip("step:N", title="Step"),
        alt.Tooltip("visits:Q", title="Visits", format=",d"),
        alt.Tooltip("of_viewers:Q", title="Of product viewers (%)", format=".1f"),
    ],
)
steps_chart = base.mark_bar().encode(
    color=alt.Color("step:N", scale=alt.Scale(range=list(STEP_COLOURS)), sort=None, legend=None)
)
inside = (
    base.transform_filter("datum.inside")
    .mark_text(align="right", dx=-6, color="white", fontWeight="bold")
    .encode(text="label:N")
)
outside = (
    base.transform_filter("!datum.inside")
    .mark_text(align="left", dx=6, color=theme.INK)
    .encode(text="label:N")
)
title = f"Visits reaching each step, {start:%d %b %Y} to {end:%d %b %Y}"
st.altair_chart(
    theme.style(alt.LayerChart(layer=[steps_chart, inside, outside]), title, height=300),
    width="stretch",
)

st.dataframe(
    steps.with_columns(
        (pl.col("step_conversion") * 100).round(1),
        (pl.col("overall_conversion") * 100).round(1),
    ),
    hide_index=True,
    column_config={
        "step": "Step",
        "visits": st.column_config.NumberColumn("Visits", format="localized"),
        "step_conversion": st.column_config.NumberColumn(
            "Step conversion",
            format="%.1f%%",
            help="Visits reaching this step per visit reaching the step before "
            "(per visit for the first step).",
        ),
        "drop_off": st.column_config.NumberColumn(
            "Drop-off (visits)",
            format="localized",
            help="Visits that reached the step before but not this one.",
        ),
        "overall_conversion": st.column_config.NumberColumn(
            "Of product viewers",
            format="%.1f%%",
            help="Visits reaching this step per visit that viewed a product.",
        ),
    },
)
st.caption(
    f"{viewed:,} of {sessions:,} visits viewed a product. A visit counts at every step it "
    "reached; days are counted in the shop's time zone."
)
