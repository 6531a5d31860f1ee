"""Entry point of the merchant dashboards: page config and navigation, nothing else.

Run with ``intellishop serve dashboards``. Pages live in ``app_pages/`` and read data only
through ``dashboards.queries``; the shop picker they share is ``dashboards.sidebar``.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="IntelliShop", page_icon="🛍️", layout="wide")

navigation = st.navigation(
    [
        st.Page("app_pages/overview.py", title="Overview", icon="📈", default=True),
        st.Page("app_pages/funnel.py", title="Funnel", icon="🔻", url_path="funnel"),
        st.Page("app_pages/customers.py", title="Customers", icon="👥", url_path="customers"),
        st.Page("app_pages/products.py", title="Products", icon="📦", url_path="products"),
    ]
)
navigation.run()
