"""Automations: the shop's rules with what their campaigns achieved, and a simple rule builder
for analysts and owners (the full rule language is in the API and ``intellishop automation``)."""

from __future__ import annotations

import pydantic
import streamlit as st

from dashboards import queries
from dashboards.sidebar import signed_in_user
from intellishop.automation.conditions import Condition
from intellishop.automation.rules import AddToSegmentAction, EmailAction, RuleSpec
from intellishop.automation.store import AutomationStore
from intellishop.reports import MerchantStore
from intellishop.settings import get_settings

TRIGGERS = (
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Product Viewed",
    "Signed Up",
    "Win-back Due",
    "Price Dropped",
    "Back In Stock",
)

st.title("Automations")
user = signed_in_user()
shop = queries.shop(user.tenant_id)
settings = get_settings()


@st.cache_resource
def automation_store(target: str) -> AutomationStore:
    """One store per process (it holds a connection)."""
    return AutomationStore.for_settings(settings)


store = automation_store(str(settings.data_dir))
rules = store.list_rules(shop.tenant_id)
performance = {(p["rule_id"], p["channel"]): p for p in store.performance(shop.tenant_id)}

st.subheader("Rules and campaign results")
if not rules:
    st.info(
        "No automation rules yet."
        + (
            " Build one below, or add the built-in flows (abandoned cart, win-back, ...) with "
            "`intellishop automation flows`."
            if user.can_build
            else " Analysts and owners can create them."
        )
    )
else:
    rows = []
    for rule in rules:
        channels = [p for (rid, _), p in performance.items() if rid == rule.rule_id]
        sent = sum(p["sent"] for p in channels)
        rows.append(
            {
                "rule": rule.spec.name,
                "trigger": rule.spec.trigger_event,
                "enabled": rule.spec.enabled,
                "actions": ", ".join(a.type for a in rule.spec.actions),
                "sent": sent,
                "opened": sum(p["opened"] for p in channels),
                "clicked": sum(p["clicked"] for p in channels),
                "converted": sum(p["converted"] for p in channels),
                "revenue": sum(p["revenue"] for p in channels),
            }
        )
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "revenue": st.column_config.NumberColumn(
                f"Attributed revenue ({shop.currency})",
                format="%.2f",
                help="Orders within the rule's conversion window after a message.",
            )
        },
    )

if user.can_build:
    st.subheader("Rule builder")
    saved_segments = [s.name for s in MerchantStore.for_settings(settings).segments(shop.tenant_id)]
    with st.form("rule_builder"):
        name = st.text_input("Rule name", placeholder="Cart reminder for VIPs")
        trigger = st.selectbox("When", TRIGGERS)
        audience = st.selectbox(
            "Only for people in the saved segment",
            ["(everyone)", *saved_segments],
            help="Segments saved on the Segments page.",
        )
        delay_hours = st.number_input("Wait (hours)", min_value=0, max_value=24 * 30, value=1)
        cancel = st.checkbox("Cancel if they order meanwhile", value=True)
        action = st.radio("Then", ["Send an email", "Add to an audience"], horizontal=True)
        subject = st.text_input("Email subject", value="You left something behind")
        audience_name = st.text_input("Audience name", value="engaged")
        submitted = st.form_submit_button("Create rule", type="primary")
    if submitted:
        conditions = []
        if audience != "(everyone)":
            conditions.append(Condition(field="customer.segments", op="contains", value=audience))
        try:
            spec = RuleSpec(
                name=name or f"{trigger} rule",
                trigger_event=trigger,
                conditions=conditions,
                delay_seconds=int(delay_hours) * 3600,
                cancel_on=["Order Completed"] if cancel and trigger != "Order Completed" else [],
                actions=[
                    EmailAction(subject=subject)
                    if action == "Send an email"
                    else AddToSegmentAction(segment=audience_name)
                ],
            )
        except pydantic.ValidationError as error:
            st.error("; ".join(str(e["msg"]) for e in error.errors()))
        else:
            store.create_rule(shop.tenant_id, spec)
            st.success(f"Created {spec.name!r}; the automation worker picks it up at once.")
            st.rerun()
