"""Hand-made and seeded synthetic frames shaped like int_product_interactions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from ml_assets.recommend.interactions import INTERACTION_SCHEMA

AS_OF = datetime(2025, 3, 1, 12, 0)


def interactions(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows with defaults: tenant "t1", a view of quantity 1 at AS_OF, actor = user."""
    filled = []
    for row in rows:
        full: dict[str, Any] = {
            "tenant_id": "t1",
            "user_id": None,
            "category": "c1",
            "event": "Product Viewed",
            "quantity": 1,
            "occurred_at": AS_OF,
            **row,
        }
        full.setdefault("actor_id", full["user_id"] or "anon")
        filled.append(full)
    return pl.DataFrame(filled, schema=INTERACTION_SCHEMA)


@dataclass(frozen=True)
class SyntheticShop:
    """Seeded shoppers with a favourite category, for hold-out evaluation."""

    seed: int = 7
    tenant_id: str = "shop"
    users: int = 400
    categories: int = 8
    products_per_category: int = 25
    days: int = 60
    sessions_per_user: float = 10.0
    favourite_share: float = 0.75
    revisit_share: float = 0.2
    start: datetime = datetime(2025, 1, 1)

    def frame(self) -> pl.DataFrame:
        rng = random.Random(self.seed)
        cats = [f"cat{c}" for c in range(self.categories)]
        # Uneven category sizes of demand and a long tail within each category.
        cat_weight = [1.0 / (c + 1) ** 0.7 for c in range(self.categories)]
        item_weight = [1.0 / (i + 1) ** 1.1 for i in range(self.products_per_category)]
        rows: list[dict[str, Any]] = []
        for u in range(self.users):
            user = f"{self.tenant_id}-u{u}"
            favourite = rng.choices(range(self.categories), cat_weight)[0]
            touched: list[tuple[str, str]] = []
            for _ in range(max(1, round(rng.expovariate(1 / self.sessions_per_user)))):
                when = self.start + timedelta(seconds=rng.uniform(0, self.days * 86400))
                if touched and rng.random() < self.revisit_share:
                    product, category = rng.choice(touched)
                else:
                    c = (
                        favourite
                        if rng.random() < self.favourite_share
                        else rng.choices(range(self.categories), cat_weight)[0]
                    )
                    i = rng.choices(range(self.products_per_category), item_weight)[0]
                    product, category = f"{self.tenant_id}-p{c}-{i}", cats[c]
                    touched.append((product, category))
                events = ["Product Viewed"]
                if rng.random() < 0.3:
                    events.append("Product Added")
                    if rng.random() < 0.4:
                        events += ["Checkout Started", "Order Completed"]
                anonymous = rng.random() < 0.2
                for k, event in enumerate(events):
                    rows.append(
                        {
                            "tenant_id": self.tenant_id,
                            "actor_id": user,
                            "user_id": None if anonymous else user,
                            "product_id": product,
                            "category": category,
                            "event": event,
                            "quantity": 1,
                            "occurred_at": when + timedelta(minutes=k),
                        }
                    )
        return pl.DataFrame(rows, schema=INTERACTION_SCHEMA)
