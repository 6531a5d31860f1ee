"""Entry point of the merchant dashboards: page config and navigation, nothing else.

Run with ``intellishop serve dashboards``. Pages live in ``app_pages/`` and read data only
through ``dashboards.queries``.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="IntelliShop", page_icon="🛍️", layout="wide")

navigation = st.navigation(
    [st.Page("app_pages/overview.py", title="Overview", icon="📈", default=True)]
)
navigation.run()
