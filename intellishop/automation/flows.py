"""Built-in flows: rule templates a tenant switches on with a few parameters.

Each template returns an ordinary :class:`RuleSpec`, so a switched-on flow is a rule like any
other (listed, edited, paused, deleted through the same API). The templates only encode the
shape of each flow:

- ``abandoned_cart``: Checkout Started (or Product Added) with no Order Completed by the same
  person within N minutes; the order cancels the pending reminder.
- ``browse_abandonment``: Product Viewed with no Product Added or order within N minutes.
- ``post_purchase``: N hours after Order Completed, recommended products (the published
  recommendations, trending products when the person has none).
- ``win_back``: the scheduled scan of published customers: no purchase in X days, or churn
  probability above a threshold; at most once per ``rescan_days`` per person.
- ``price_drop`` / ``back_in_stock``: the catalog changed for a product the person viewed in
  the last ``viewed_days`` days.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .conditions import Condition
from .rules import (
    BACK_IN_STOCK,
    PRICE_DROPPED,
    WIN_BACK_DUE,
    Action,
    EmailAction,
    FrequencyCap,
    QuietHours,
    RuleSpec,
)


class FlowParams(BaseModel):
    """What a tenant chooses when switching a flow on (each flow reads the fields it needs)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    actions: list[Action] = Field(
        default_factory=list,
        max_length=5,
        description="Default: one email with this flow's template.",
    )
    subject: str | None = Field(default=None, max_length=200)
    links: dict[str, str] = Field(default_factory=dict)
    product_url: str | None = None
    minutes: int = Field(default=60, ge=1, le=30 * 24 * 60, description="Abandonment wait.")
    hours: int = Field(default=72, ge=0, le=90 * 24, description="Post-purchase wait.")
    trigger: Literal["Checkout Started", "Product Added"] = "Checkout Started"
    inactive_days: int = Field(default=90, ge=1, le=3650)
    churn_threshold: float | None = Field(default=None, gt=0, lt=1)
    rescan_days: int = Field(default=30, ge=1, le=365)
    viewed_days: int = Field(default=30, ge=1, le=365)
    min_drop_percent: float = Field(default=0, ge=0, le=100)
    quiet_hours: QuietHours | None = None
    frequency_cap: FrequencyCap | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _links_checked(self) -> FlowParams:
        # The email action's own validators check links and product_url.
        if self.links or self.product_url:
            EmailAction(subject="x", links=self.links, product_url=self.product_url)
        return self


def _email(params: FlowParams, template: str, subject: str) -> list[Any]:
    if params.actions:
        return list(params.actions)
    return [
        EmailAction.model_validate(
            {
                "subject": params.subject or subject,
                "template": template,
                "links": params.links,
                "product_url": params.product_url,
            }
        )
    ]


def _spec(params: FlowParams, default_name: str, **fields: Any) -> RuleSpec:
    fields.setdefault("frequency_cap", params.frequency_cap)
    return RuleSpec(
        name=params.name or default_name,
        quiet_hours=params.quiet_hours,
        enabled=params.enabled,
        **fields,
    )


def abandoned_cart(params: FlowParams) -> RuleSpec:
    """Checkout Started or Product Added, no Order Completed within `minutes`."""
    return _spec(
        params,
        "Abandoned cart",
        trigger_event=params.trigger,
        delay_seconds=params.minutes * 60,
        cancel_on=["Order Completed"],
        actions=_email(params, "abandoned_cart", "You left something in your cart"),
        frequency_cap=params.frequency_cap or FrequencyCap(max_actions=1, window_seconds=86_400),
    )


def browse_abandonment(params: FlowParams) -> RuleSpec:
    """Product Viewed, nothing added or bought within `minutes`."""
    return _spec(
        params,
        "Browse abandonment",
        trigger_event="Product Viewed",
        delay_seconds=params.minutes * 60,
        cancel_on=["Product Added", "Checkout Started", "Order Completed"],
        actions=_email(params, "browse_abandonment", "Still thinking it over?"),
        frequency_cap=params.frequency_cap
        or FrequencyCap(max_actions=1, window_seconds=7 * 86_400),
    )


def post_purchase(params: FlowParams) -> RuleSpec:
    """`hours` after Order Completed: recommended products (trending as fallback)."""
    return _spec(
        params,
        "Post-purchase follow-up",
        trigger_event="Order Completed",
        delay_seconds=params.hours * 3600,
        actions=_email(params, "post_purchase", "Thank you for your order"),
    )


def win_back(params: FlowParams) -> RuleSpec:
    """No purchase in `inactive_days`, or churn probability >= `churn_threshold`."""
    conditions = [Condition(field="customer.recency_days", op="gte", value=params.inactive_days)]
    if params.churn_threshold is not None:
        conditions.append(
            Condition(field="customer.churn_probability", op="gte", value=params.churn_threshold)
        )
    return _spec(
        params,
        "Win-back",
        trigger_event=WIN_BACK_DUE,
        conditions=conditions,
        match="any",
        cancel_on=["Order Completed"],
        options={"rescan_days": params.rescan_days},
        actions=_email(params, "win_back", "We miss you"),
    )


def price_drop(params: FlowParams) -> RuleSpec:
    """A product the person viewed in `viewed_days` got cheaper in the catalog."""
    return _spec(
        params,
        "Price drop",
        trigger_event=PRICE_DROPPED,
        options={"viewed_days": params.viewed_days, "min_drop_percent": params.min_drop_percent},
        actions=_email(params, "price_drop", "A price just dropped"),
    )


def back_in_stock(params: FlowParams) -> RuleSpec:
    """A product the person viewed in `viewed_days` is in stock again."""
    return _spec(
        params,
        "Back in stock",
        trigger_event=BACK_IN_STOCK,
        options={"viewed_days": params.viewed_days},
        actions=_email(params, "back_in_stock", "Back in stock"),
    )


FLOWS: dict[str, Callable[[FlowParams], RuleSpec]] = {
    "abandoned_cart": abandoned_cart,
    "browse_abandonment": browse_abandonment,
    "post_purchase": post_purchase,
    "win_back": win_back,
    "price_drop": price_drop,
    "back_in_stock": back_in_stock,
}

FLOW_DESCRIPTIONS: dict[str, str] = {
    name: (function.__doc__ or "").strip() for name, function in FLOWS.items()
}
