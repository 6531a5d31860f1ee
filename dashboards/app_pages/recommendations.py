"""Recommendations explorer: what a given user is shown, by which algorithm, and why."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import queries
from dashboards.sidebar import select_shop

#: What each published algorithm means, in a merchant's words.
WHY = {
    "als": "People who interacted with the same products as this user also liked it "
    "(collaborative filtering).",
    "content": "It resembles what this user viewed or bought (category, brand, price).",
    "blend": "A mix of the other algorithms' lists, each weighted by how well it did.",
    "co_purchase": "Often bought together with this user's purchases.",
    "trending": "Popular right now: the user has too little history for a personal list.",
    "popular": "Best sellers overall: the user has too little history for a personal list.",
}

st.title("Recommendations")

shop, version = select_shop()
recommendations = queries.model_table(shop.tenant_id, version, "recommendations")
if recommendations is None or recommendations.is_empty():
    st.info(
        "No recommendations published yet: run the pipeline (`intellishop pipeline run`); "
        "they need product views by signed-in users."
    )
    st.stop()

users = queries.recommended_users(shop.tenant_id, version)
typed = st.text_input("User id", placeholder="Type a user id, or pick one below")
user_id = typed.strip() or st.selectbox("Users with recommendations", users, key="recs_user")
rows = recommendations.filter(pl.col("user_id") == user_id)
if rows.is_empty():
    st.warning(
        f"No personal recommendations for {user_id!r}: the API answers such users with "
        "what is trending."
    )
    st.stop()

names = queries.product_names(shop.tenant_id, version)
algorithms = sorted(rows["algorithm"].unique().to_list())
st.caption(
    f"{rows.height} recommendations for **{user_id}** from {len(algorithms)} algorithm(s). "
    "A higher score means a stronger match within one algorithm (scores of different "
    "algorithms are not comparable)."
)
for algorithm in algorithms:
    st.markdown(f"**{algorithm}**: {WHY.get(algorithm, 'A published algorithm.')}")
    shown = (
        rows.filter(pl.col("algorithm") == algorithm)
        .sort("rank")
        .with_columns(
            pl.col("product_id")
            .replace_strict(names, default=pl.col("product_id"))
            .alias("product")
        )
        .select("rank", "product", "product_id", "score")
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "rank": st.column_config.NumberColumn("Rank", format="%d"),
            "product": "Product",
            "product_id": "Product id",
            "score": st.column_config.NumberColumn("Score", format="%.3f"),
        },
    )
