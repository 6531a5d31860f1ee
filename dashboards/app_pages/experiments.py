"""Experiments: the shop's A/B tests, each variant's results and the decision taken.

Read-only: experiments are created and started with ``intellishop experiments`` or the API;
the pipeline evaluates them daily and records the decision this page shows.
"""

from __future__ import annotations

import streamlit as st

from dashboards import queries
from dashboards.sidebar import signed_in_user
from intellishop.experiments import open_store
from intellishop.settings import get_settings

ACTIONS = {
    "declare_winner": "Winner declared",
    "continue": "Keep running",
    "stop_harm": "Stopped: a variant did harm",
    "stop_futility": "Stopped: no difference found",
}

st.title("Experiments")
user = signed_in_user()
shop = queries.shop(user.tenant_id)
store = open_store(get_settings())
experiments = store.list_experiments(shop.tenant_id)
if not experiments:
    st.info(
        "No experiments yet. Create one with `intellishop experiments create` (for example "
        "two recommendation algorithms against each other), then start it; results appear "
        "here after the next pipeline run."
    )
    st.stop()

st.dataframe(
    [
        {
            "experiment": e.name,
            "key": e.key,
            "status": e.status.value,
            "surface": e.surface.value,
            "target": e.target_metric.value,
            "variants": ", ".join(v.name for v in e.variants),
            "started": e.started_at.date().isoformat() if e.started_at else "",
        }
        for e in experiments
    ],
    hide_index=True,
)
chosen = st.selectbox(
    "Experiment",
    [e.key for e in experiments],
    format_func=lambda key: next(e.name for e in experiments if e.key == key),
    key="experiment_key",
)
experiment = next(e for e in experiments if e.key == chosen)
results = store.latest_evaluation(shop.tenant_id, experiment.key)
decision = store.decision(shop.tenant_id, experiment.key)
if decision is not None:
    winner = decision.winner or queries.MISSING
    st.success(
        f"Decision: **{decision.outcome}**, winner {winner} ({decision.decided_at:%d %b %Y})."
    )
if results is None:
    st.info("Not evaluated yet: the pipeline evaluates running experiments once a day.")
    st.stop()
automatic = results.get("decision") or {}
st.markdown(
    f"**{ACTIONS.get(str(automatic.get('action')), str(automatic.get('action')))}** after "
    f"{float(results.get('days_running') or 0):.1f} days: "
    + "; ".join(str(r) for r in automatic.get("reasons") or [])
)
variants = results.get("variants") or []
st.dataframe(
    [
        {
            "variant": v.get("name"),
            "control": v.get("control"),
            "users": v.get("units"),
            "conversion": v.get("conversion_rate"),
            "orders": v.get("orders"),
            "revenue": v.get("revenue"),
            "revenue_per_user": v.get("revenue_per_user"),
        }
        for v in variants
    ],
    hide_index=True,
    column_config={
        "conversion": st.column_config.NumberColumn("Conversion", format="percent"),
        "revenue": st.column_config.NumberColumn(f"Revenue ({shop.currency})", format="%.2f"),
        "revenue_per_user": st.column_config.NumberColumn(
            f"Revenue per user ({shop.currency})", format="%.2f"
        ),
    },
)
comparisons = results.get("comparisons") or []
if comparisons:
    st.markdown("**Against the control**")
    st.dataframe(
        [
            {
                "variant": c.get("variant"),
                "metric": c.get("metric"),
                "role": c.get("role"),
                "difference": c.get("difference"),
                "significant": (c.get("sequential") or {}).get("significant"),
            }
            for c in comparisons
        ],
        hide_index=True,
    )
