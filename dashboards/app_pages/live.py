"""Live: who is on the shop now and what it sold today, refreshed every few seconds."""

from __future__ import annotations

from datetime import datetime

import altair as alt
import polars as pl
import streamlit as st

from dashboards import queries, theme
from dashboards.live import live_snapshot
from dashboards.sidebar import signed_in_user

#: How often the numbers refresh themselves (only this fragment re-runs, not the page).
REFRESH_SECONDS = 5

st.title("Live")
user = signed_in_user()
shop = queries.shop(user.tenant_id)


@st.fragment(run_every=REFRESH_SECONDS)
def live_numbers() -> None:
    """The live snapshot; runs again by itself every ``REFRESH_SECONDS``."""
    snapshot = live_snapshot(shop.tenant_id, shop.timezone, shop.currency)
    kpis = st.columns(4)
    kpis[0].metric(
        "Active users",
        f"{snapshot['active_users']:,}",
        border=True,
        help="People with an event in the last 5 minutes (bots left out).",
    )
    kpis[1].metric(
        "Revenue today",
        queries.format_money(snapshot["revenue_today"], shop.currency),
        border=True,
        help=f"Completed orders of {snapshot['day']} ({shop.timezone}).",
    )
    kpis[2].metric("Orders today", f"{snapshot['orders_today']:,}", border=True)
    kpis[3].metric(
        "Events per minute",
        f"{snapshot['events_per_minute']:,}",
        border=True,
        help="Events received in the last 60 seconds.",
    )
    series = snapshot["events_per_minute_series"]
    zone = queries.zone(shop.timezone)
    # Minutes as "HH:MM" in the shop's time zone: the browser's own zone plays no part.
    minutes = pl.DataFrame(
        {
            "minute": [
                datetime.fromisoformat(point["minute"]).astimezone(zone).strftime("%H:%M")
                for point in series
            ],
            "events": [int(point["events"]) for point in series],
        },
        schema={"minute": pl.String, "events": pl.Int64},
    )
    figure = (
        alt.Chart(minutes)
        .mark_bar(color=theme.VISITS)
        .encode(
            x=alt.X("minute:O", sort=None, title=f"Minute ({shop.timezone})"),
            y=alt.Y("events:Q", title="Events (count)", axis=alt.Axis(format=",d", tickMinStep=1)),
            tooltip=[
                alt.Tooltip("minute:O", title="Minute"),
                alt.Tooltip("events:Q", title="Events", format=",d"),
            ],
        )
    )
    title = "Events per minute, last 15 minutes"
    st.altair_chart(theme.style(figure, title, height=300), width="stretch")
    st.subheader("Latest orders")
    orders = snapshot["latest_orders"]
    if not orders:
        st.caption(
            "No orders yet today. Orders appear here within seconds of reaching the collector."
        )
    else:
        st.dataframe(
            [
                {
                    "time": datetime.fromisoformat(o["at"])
                    .astimezone(queries.zone(shop.timezone))
                    .strftime("%H:%M:%S"),
                    "order": o["order_id"],
                    "customer": o["user_id"] if user.sees_people else "(hidden)",
                    "revenue": queries.format_money(o["revenue"], o["currency"]),
                    "products": o["products"],
                }
                for o in orders
            ],
            hide_index=True,
        )
    st.caption(f"As of {snapshot['as_of'][11:19]} UTC; refreshes every {REFRESH_SECONDS} s.")


live_numbers()
