"""Customer profile: one person's RFM segment, churn risk, lifetime value, orders and what
they are recommended. Person-level data: analysts and owners only (see streamlit_app)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import queries
from dashboards.sidebar import select_shop, signed_in_user

st.title("Customer profile")

if not signed_in_user().sees_people:  # the navigation hides the page; a direct link must not work
    st.warning("Customer profiles are for analysts and owners.")
    st.stop()
shop, version = select_shop()
person = st.text_input("User id or customer id", key="profile_person")
if not person.strip():
    st.caption("Type a user id (as your shop sends it) or a customer id from the Customers page.")
    st.stop()
profile = queries.customer_profile(shop.tenant_id, version, person)
if profile is None:
    st.warning(f"Nobody called {person.strip()!r} in the published data of this shop.")
    st.stop()

st.subheader(profile.user_id)
cards = st.columns(4)
rfm = profile.rfm or {}
scores = profile.scores or {}
cards[0].metric("RFM segment", str(rfm.get("rfm_segment") or queries.MISSING), border=True)
cards[1].metric(
    "Net revenue",
    queries.format_money(rfm.get("net_revenue"), shop.currency),  # type: ignore[arg-type]
    border=True,
    help=f"{rfm.get('orders') or 0} orders so far, after refunds.",
)
churn = scores.get("churn_probability")
cards[2].metric(
    "Churn probability",
    queries.MISSING if churn is None else f"{float(churn):.0%}",  # type: ignore[arg-type]
    border=True,
    help="Chance this customer does not order again (the churn model).",
)
cards[3].metric(
    "Predicted 12-month value",
    queries.format_money(scores.get("clv_12m"), shop.currency),  # type: ignore[arg-type]
    border=True,
    help="Expected spend over the next 12 months (the CLV model).",
)
if rfm:
    st.caption(
        f"RFM code {rfm.get('rfm_code')}: recency {rfm.get('recency_score')}, frequency "
        f"{rfm.get('frequency_score')}, spend {rfm.get('monetary_score')} (5 is best); last "
        f"order {rfm.get('recency_days')} days before the shop's latest."
    )
if profile.orders is not None:
    st.markdown("**Orders**")
    st.dataframe(profile.orders.drop("user_id"), hide_index=True)
st.markdown("**Recommended to them**")
if profile.recommendations is None:
    st.caption("No personal recommendations: the API shows this person what is trending.")
else:
    names = queries.product_names(shop.tenant_id, version)
    st.dataframe(
        profile.recommendations.sort("algorithm", "rank")
        .with_columns(
            pl.col("product_id")
            .replace_strict(names, default=pl.col("product_id"))
            .alias("product")
        )
        .select("algorithm", "rank", "product", "score"),
        hide_index=True,
    )
