"""Bodies of the recommendation and trending answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Product(BaseModel):
    product_id: str
    name: str | None = Field(description="Null when the product is missing from the catalogue.")
    category: str | None
    price: float | None = Field(description="In the tenant's currency.")
    score: float = Field(description="Higher is better; comparable only within one response.")
    rank: int = Field(description="1 = first.")
    algorithm: str = Field(description="What produced this item.")


class Recommendations(BaseModel):
    tenant_id: str
    user_id: str
    algorithm: str = Field(
        description="What produced the list: the published recommender's algorithms joined "
        "with '+' (e.g. 'repurchase+trending_affinity'), or 'cold_start_trending' / "
        "'cold_start_popular' for a user without a personal list.",
    )
    cold_start: bool = Field(description="True when the user has no personal list yet.")
    model_version: str = Field(description="The published artifact version that answered.")
    recommendation_id: str = Field(
        description="Unique per response (uuid4 hex): send it back with click and order events "
        "to attribute them to this list.",
    )
    items: list[Product]


class Trending(BaseModel):
    tenant_id: str
    category: str | None
    model_version: str
    items: list[Product]
