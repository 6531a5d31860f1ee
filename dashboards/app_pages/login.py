"""Sign in: the tenant, email and password of an ``intellishop users`` account."""

from __future__ import annotations

import streamlit as st

from dashboards.auth import sign_in

st.title("Sign in to IntelliShop")
st.caption(
    "Use the shop id and the account your shop's owner created with "
    "`intellishop users create <shop> <email> --role viewer|analyst|owner`."
)
with st.form("sign_in"):
    tenant_id = st.text_input("Shop id", placeholder="demo-outdoor")
    email = st.text_input("Email", placeholder="you@example.com")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Sign in", type="primary")
if submitted:
    if not tenant_id or not email or not password:
        st.error("Fill in the shop id, email and password.")
    elif sign_in(tenant_id, email, password) is None:
        # One message for every failure: it must not tell which shops or emails exist.
        st.error("Wrong shop id, email or password, or the account is disabled.")
    else:
        st.rerun()
