"""The shop picker in the sidebar, shared by every page.

Streamlit forgets a widget's value when a page without it runs, and widgets on different pages
are different widgets; the chosen shop is therefore also kept under its own session key, so
switching pages keeps the shop.
"""

from __future__ import annotations

import streamlit as st

from dashboards import queries

EMPTY_STATE = (
    "**Nothing published yet.** The dashboards show what the pipeline publishes. "
    "Run `make demo` for a demo shop with simulated traffic, or send events to the collector "
    "and run `intellishop pipeline run`, then reload this page."
)

#: Session key of the chosen shop, kept across pages (the widget's own key is per page).
CHOSEN_SHOP_KEY = "chosen_tenant_id"


def select_shop() -> tuple[queries.Shop, str]:
    """The shop chosen in the sidebar and its live artifact version.

    Shows the empty state and stops the page when nothing is published.
    """
    shops = queries.published_shops()
    if not shops:
        st.info(EMPTY_STATE)
        st.stop()
    by_id = {shop.tenant_id: shop for shop in shops}
    options = list(by_id)
    chosen = st.session_state.get(CHOSEN_SHOP_KEY)
    tenant_id = st.sidebar.selectbox(
        "Shop",
        options,
        index=options.index(chosen) if chosen in options else 0,
        format_func=lambda tid: f"{by_id[tid].name} ({tid})",
        key="tenant_id",
    )
    st.session_state[CHOSEN_SHOP_KEY] = tenant_id
    shop = by_id[tenant_id]
    published = queries.current_version(shop.tenant_id)
    if published is None:  # unpublished between listing and now
        st.info(EMPTY_STATE)
        st.stop()
    version, published_at = published
    st.sidebar.caption(
        f"Data published {published_at[:16].replace('T', ' ')} UTC · version {version}"
    )
    return shop, version
