"""Entry point of the merchant dashboards: page config, sign-in and navigation, nothing else.

Run with ``intellishop serve dashboards``. Until someone signs in, the only page is the sign-in
page; afterwards the pages their role allows (person-level pages for analysts and owners).
Pages live in ``app_pages/`` and read data only through ``dashboards.queries``; what they share
in the sidebar is ``dashboards.sidebar``.
"""

from __future__ import annotations

import importlib
import logging
import threading

import streamlit as st

from dashboards import live
from dashboards.auth import current_user, sign_out

#: Slow first imports (scipy for experiments; matplotlib and fpdf2 for reports), loaded in the
#: background when the server starts, so the first visitor of those pages does not wait.
WARM_UP_MODULES = ("intellishop.experiments", "intellishop.reports.pdf")

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Once per process, on a background thread: import the slow modules and fold the event
    log's last day for the Live page (seconds after a busy day)."""
    try:  # made here: the script thread is the one with Streamlit's runtime
        reader: live.LiveReader | None = live.shared_reader()
    except Exception:  # e.g. Redis down: the Live page says so when it is opened
        log.exception("opening the event log for the Live page failed")
        reader = None

    def load() -> None:
        for name in WARM_UP_MODULES:
            importlib.import_module(name)
        if reader is None:
            return
        try:
            live.warm_live(reader)
        except Exception:  # the page folds on its first visit instead
            log.exception("warming the Live page's reader failed")

    thread = threading.Thread(target=load, name="warm-up", daemon=True)
    thread.start()
    return thread


st.set_page_config(page_title="IntelliShop", page_icon="🛍️", layout="wide")
warm_up()

user = current_user()
if user is None:
    navigation = st.navigation([st.Page("app_pages/login.py", title="Sign in", icon="🔑")])
else:
    analytics = [
        st.Page("app_pages/overview.py", title="Overview", icon="📈", default=True),
        st.Page("app_pages/live.py", title="Live", icon="⚡", url_path="live"),
        st.Page("app_pages/funnel.py", title="Funnel", icon="🔻", url_path="funnel"),
        st.Page("app_pages/cohorts.py", title="Cohorts", icon="🧮", url_path="cohorts"),
        st.Page("app_pages/geography.py", title="Geography", icon="🌍", url_path="geography"),
    ]
    customers = [
        st.Page("app_pages/customers.py", title="Customers", icon="👥", url_path="customers"),
        st.Page("app_pages/segments.py", title="Segments", icon="🧩", url_path="segments"),
    ]
    if user.sees_people:
        customers.append(
            st.Page(
                "app_pages/customer_profile.py",
                title="Customer profile",
                icon="🪪",
                url_path="customer-profile",
            )
        )
    catalogue = [
        st.Page("app_pages/products.py", title="Products", icon="📦", url_path="products"),
        st.Page(
            "app_pages/recommendations.py",
            title="Recommendations",
            icon="🎯",
            url_path="recommendations",
        ),
    ]
    actions = [
        st.Page("app_pages/experiments.py", title="Experiments", icon="🧪", url_path="experiments"),
        st.Page("app_pages/automations.py", title="Automations", icon="🤖", url_path="automations"),
        st.Page("app_pages/reports.py", title="Reports", icon="📄", url_path="reports"),
    ]
    navigation = st.navigation(
        {
            "Shop": analytics,
            "Customers": customers,
            "Catalogue": catalogue,
            "Act": actions,
        },
        expanded=True,  # every page listed: no "View more" to find Reports behind
    )
    st.sidebar.caption(f"Signed in as **{user.email}** ({user.role}) · shop `{user.tenant_id}`")
    if st.sidebar.button("Sign out", key="sign_out"):
        sign_out()
        st.rerun()
navigation.run()
