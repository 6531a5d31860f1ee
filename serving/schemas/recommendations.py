"""Bodies of the recommendation, similar-product, bought-together and trending answers."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from .published import MODEL_VERSION_EXAMPLE, ProductAnswer, product_answer_example, with_examples

_ITEM_EXAMPLE: JsonDict = {
    "product_id": "p_42",
    "name": "Trail Shoe",
    "category": "Footwear",
    "price": 89.0,
    "score": 0.93,
    "rank": 1,
    "algorithm": "als",
}


class Product(BaseModel):
    model_config = with_examples(_ITEM_EXAMPLE)

    product_id: str
    name: str | None = Field(description="Null when the product is missing from the catalogue.")
    category: str | None
    price: float | None = Field(description="In the tenant's currency.")
    score: float = Field(description="Higher is better; comparable only within one response.")
    rank: int = Field(description="1 = first.")
    algorithm: str = Field(description="What produced this item.")


class Recommendations(BaseModel):
    model_config = with_examples(
        {
            "tenant_id": "acme",
            "user_id": "u_1",
            "algorithm": "blend",
            "cold_start": False,
            "model_version": MODEL_VERSION_EXAMPLE,
            "recommendation_id": "5f0c6b1e0d4a4e8f9a7b2c3d4e5f6a7b",
            "items": [_ITEM_EXAMPLE],
        }
    )

    tenant_id: str
    user_id: str
    algorithm: str = Field(
        description="What produced the user's personal items: the published recommenders "
        "joined with '+' (e.g. 'blend', 'als', 'repurchase+trending_affinity'); for a user "
        "without a personal list, the cold-start source of the first item: "
        "'cold_start_similar', 'cold_start_trending' or 'cold_start_popular'.",
    )
    cold_start: bool = Field(description="True when the user has no personal list yet.")
    model_version: str = Field(description="The published artifact version that answered.")
    recommendation_id: str = Field(
        description="Unique per response (uuid4 hex): send it back with click and order events "
        "(property `recommendation_id`) to attribute them to this list.",
    )
    items: list[Product] = Field(
        description="Best first; personal items, then cold-start items topping up a short list."
    )


class SimilarProducts(BaseModel):
    # Not a ProductAnswer: its algorithm and fallback come before model_version in the body.
    model_config = with_examples(
        {
            "tenant_id": "acme",
            "product_id": "p_42",
            "algorithm": "als",
            "fallback": False,
            "model_version": MODEL_VERSION_EXAMPLE,
            "recommendation_id": "0b6f3c1e0d4a4e8f9a7b2c3d4e5f6a7b",
            "items": [{**_ITEM_EXAMPLE, "product_id": "p_7"}],
        }
    )

    tenant_id: str
    product_id: str
    algorithm: str = Field(
        description="als, co_purchase or content ('+'-joined when mixed), or "
        "'category_trending' when no similar products are published for this product."
    )
    fallback: bool = Field(
        description="True when the items are the category's trending products instead."
    )
    model_version: str
    recommendation_id: str = Field(description="As for recommendations: quote it in events.")
    items: list[Product]


class BoughtTogetherItem(Product):
    orders_together: int = Field(description="Orders that had both products.")
    confidence: float = Field(description="P(other product | this product) among orders.")
    lift: float = Field(description="confidence / P(other product): above 1 is an affinity.")


class FrequentlyBoughtTogether(ProductAnswer):
    model_config = with_examples(
        product_answer_example(
            recommendation_id="9a6f3c1e0d4a4e8f9a7b2c3d4e5f6a7b",
            items=[
                {
                    **_ITEM_EXAMPLE,
                    "product_id": "p_9",
                    "algorithm": "co_purchase",
                    "orders_together": 31,
                    "confidence": 0.22,
                    "lift": 3.4,
                }
            ],
        )
    )

    recommendation_id: str = Field(description="As for recommendations: quote it in events.")
    items: list[BoughtTogetherItem] = Field(description="Highest rank first.")


class Trending(BaseModel):
    model_config = with_examples(
        {
            "tenant_id": "acme",
            "category": "Footwear",
            "model_version": MODEL_VERSION_EXAMPLE,
            "items": [{**_ITEM_EXAMPLE, "algorithm": "trending"}],
        }
    )

    tenant_id: str
    category: str | None
    model_version: str
    items: list[Product]
