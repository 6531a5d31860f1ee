"""Segments: build a customer segment from RFM, orders, spend, churn risk and value, preview
who is in it, and save it for the automation to target. Viewers see saved segments only."""

from __future__ import annotations

import streamlit as st

from dashboards import queries
from dashboards.sidebar import select_shop, signed_in_user
from intellishop.reports import MerchantStore, MerchantStoreError, SegmentDefinition
from intellishop.reports.segments import segment_members
from intellishop.settings import get_settings

st.title("Segments")

user = signed_in_user()
shop, version = select_shop()
customers = queries.model_table(shop.tenant_id, version, "customers")
if customers is None or customers.is_empty():
    st.info(
        "No customers published for this shop yet: segments need a pipeline run that sees "
        "a completed order (`intellishop pipeline run`)."
    )
    st.stop()
scores = queries.model_table(shop.tenant_id, version, "customer_scores")
store = MerchantStore.for_settings(get_settings())


def show_members(definition: SegmentDefinition) -> None:
    members = segment_members(definition, customers, scores)
    revenue = float(members["net_revenue"].sum()) if members.height else 0.0
    left, right = st.columns(2)
    left.metric("Customers in the segment", f"{members.height:,}", border=True)
    right.metric("Their net revenue", queries.format_money(revenue, shop.currency), border=True)
    if user.sees_people:
        st.dataframe(members.head(200), hide_index=True)


saved = store.segments(shop.tenant_id)
st.subheader("Saved segments")
if not saved:
    st.caption(
        "No saved segments yet."
        + (" Build one below." if user.can_build else " Analysts and owners can build them.")
    )
for segment in saved:
    with st.expander(
        f"{segment.name}" + (f": {segment.description}" if segment.description else "")
    ):
        show_members(segment)
        if user.can_build and st.button("Delete", key=f"delete_{segment.name}"):
            store.delete_segment(shop.tenant_id, segment.name)
            st.rerun()

if user.can_build:
    st.subheader("Segment builder")
    names = sorted(customers["rfm_segment"].drop_nulls().unique().to_list())
    with st.form("segment_builder"):
        name = st.text_input("Name", placeholder="VIPs at risk")
        description = st.text_input("Description (optional)")
        rfm = st.multiselect("RFM segments", names, placeholder="Any")
        first, second = st.columns(2)
        min_orders = first.number_input("At least this many orders", min_value=0, value=0)
        min_revenue = second.number_input(
            f"At least this net revenue ({shop.currency})", min_value=0.0, value=0.0
        )
        max_recency = first.number_input(
            "Ordered within the last (days, 0 = any)", min_value=0, value=0
        )
        churn = second.slider(
            "Churn probability at least (0 = any)",
            0.0,
            1.0,
            0.0,
            0.05,
            disabled=scores is None,
            help="Needs the churn model's scores.",
        )
        clv = first.number_input(
            f"Predicted 12-month value at least ({shop.currency}, 0 = any)",
            min_value=0.0,
            value=0.0,
            disabled=scores is None,
        )
        preview = st.form_submit_button("Preview")
        save = st.form_submit_button("Save segment", type="primary")
    if preview or save:
        try:
            definition = SegmentDefinition(
                name=name or "preview",
                description=description,
                rfm_segments=tuple(rfm),
                min_orders=int(min_orders) or None,
                min_net_revenue=float(min_revenue) or None,
                max_recency_days=int(max_recency) or None,
                min_churn_probability=float(churn) or None,
                min_clv_12m=float(clv) or None,
            )
        except MerchantStoreError as error:
            st.error(str(error))
        else:
            show_members(definition)
            if save:
                if not name:
                    st.error("Give the segment a name to save it.")
                else:
                    store.save_segment(shop.tenant_id, definition)
                    st.success(f"Saved {definition.name!r}: automation rules can now target it.")
