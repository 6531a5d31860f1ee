"""What every page shares in the sidebar: the signed-in user's shop and the date range.

The shop is the signed-in user's tenant: nothing on a page can pick another one. Streamlit
forgets a widget's value when a page without it runs, and widgets on different pages are
different widgets; the date range is therefore also kept under its own session key, so it stays
the same across pages.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboards import queries
from dashboards.auth import SignedIn, current_user

EMPTY_STATE = (
    "**Nothing published yet.** The dashboards show what the pipeline publishes. "
    "Run `make demo` for a demo shop with simulated traffic, or send events to the collector "
    "and run `intellishop pipeline run`, then reload this page."
)

#: Session key of the chosen date range (first day, last day), kept across pages.
DATE_RANGE_KEY = "chosen_date_range"


def signed_in_user() -> SignedIn:
    """The signed-in user; a page reached without one (it cannot be: navigation) stops."""
    user = current_user()
    if user is None:
        st.warning("Sign in first.")
        st.stop()
    return user


def select_shop() -> tuple[queries.Shop, str]:
    """The signed-in user's shop and its live artifact version.

    Shows the empty state and stops the page when nothing is published for it.
    """
    user = signed_in_user()
    shop = queries.shop(user.tenant_id)
    published = queries.current_version(shop.tenant_id)
    if published is None:
        st.info(EMPTY_STATE)
        st.stop()
    version, published_at = published
    st.sidebar.caption(
        f"**{shop.name}** · {shop.currency} · {shop.timezone}  \n"
        f"Data published {published_at[:16].replace('T', ' ')} UTC · version {version}"
    )
    return shop, version


def date_range(
    first: date, last: date, default: tuple[date, date], label: str
) -> tuple[date, date]:
    """The date range of the sidebar, shared by every page, clamped to ``first``..``last``.

    Stops the page while only the first day of a new range is picked.
    """
    stored = st.session_state.get(DATE_RANGE_KEY)
    value = default
    if isinstance(stored, tuple) and len(stored) == 2:
        start, end = max(stored[0], first), min(stored[1], last)
        value = (start, end) if start <= end else default
    picked = st.sidebar.date_input(
        label,
        value=value,
        min_value=first,
        max_value=last,
        help="Kept when you switch pages. The last 30 days with data by default.",
    )
    if isinstance(picked, tuple) and len(picked) == 2:
        if (picked[0], picked[1]) != value:  # a choice, not a page's default: keep it
            st.session_state[DATE_RANGE_KEY] = (picked[0], picked[1])
        return picked[0], picked[1]
    st.caption("Pick the last day of the range in the sidebar.")
    st.stop()
