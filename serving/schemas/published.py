"""What the answers read from a published artifact share, and how their examples are written.

Every such answer names the tenant and the artifact version that produced it, so a client can
tell a stale answer from a fresh one; answers about one product name it too. Keeping the fields
in one base keeps their names, order and descriptions the same across the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

#: The artifact version the OpenAPI examples quote (a publish at 02:00 UTC on 1 January 2026).
MODEL_VERSION_EXAMPLE = "20260101T020000000000Z"


def with_examples(*examples: JsonDict) -> ConfigDict:
    """A model configuration that documents these example bodies in the OpenAPI schema."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def product_answer_example(product_id: str = "p_42", **fields: Any) -> JsonDict:
    """An example body of a `ProductAnswer`: acme's product `product_id`, then `fields`."""
    return {
        "tenant_id": "acme",
        "product_id": product_id,
        "model_version": MODEL_VERSION_EXAMPLE,
        **fields,
    }


class ProductAnswer(BaseModel):
    """An answer about one product of one tenant, read from one published artifact version."""

    tenant_id: str
    product_id: str
    model_version: str = Field(description="The published artifact version that answered.")
