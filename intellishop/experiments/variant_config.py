"""What a variant's ``config`` means on the email and price surfaces, checked when the
experiment is defined (so a typo is a 422 naming ``variants.1.config.subject``, not a campaign
that fails for half of its recipients weeks later).

Email (read by the automation worker for a rule that names the experiment):

- ``subject``, ``heading``, ``body``: replace the rule's text (strings);
- ``template``: one of the built-in templates (``abandoned_cart``, ``generic``, ...);
- ``recommendations``: how many recommended products to embed (0-12);
- ``holdout``: ``true`` sends nothing to the variant's recipients (they are still exposed, so
  the experiment measures what the campaign adds over sending nothing).

Price (read by ``GET /v1/prices/{product_id}``):

- ``price_multiplier``: shown price = catalog price x multiplier, rounded to cents (default 1);
- ``product_ids`` / ``categories`` (the control's config): the products the experiment covers;
  none given, every product. A product outside them gets the catalog price and no exposure.

Keys not listed are left alone (notes, or keys of another surface), so only their values are
checked, never their presence.
"""

from __future__ import annotations

from typing import Any

from intellishop.automation.rules import EMAIL_TEMPLATES

#: Email keys a variant may set and the text limits of the rule's own fields.
_EMAIL_TEXT_LIMITS = {"subject": 200, "heading": 200, "body": 5000}
#: Multipliers outside this range are almost certainly a typo (95 for 0.95).
MIN_PRICE_MULTIPLIER = 0.01
MAX_PRICE_MULTIPLIER = 10.0


def email_config_problem(config: dict[str, Any]) -> tuple[str, str] | None:
    """(config key, what is wrong) for the first bad email setting, or None."""
    for key, limit in _EMAIL_TEXT_LIMITS.items():
        if key in config:
            value = config[key]
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                return key, f"must be a non-empty string of at most {limit} characters"
    template = config.get("template")
    if "template" in config and (not isinstance(template, str) or template not in EMAIL_TEMPLATES):
        return "template", f"must be one of {', '.join(sorted(EMAIL_TEMPLATES))}"
    if "recommendations" in config:
        count = config["recommendations"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 12:
            return "recommendations", "must be a whole number from 0 to 12"
    if "holdout" in config and not isinstance(config["holdout"], bool):
        return "holdout", "must be true or false"
    return None


def price_config_problem(config: dict[str, Any]) -> tuple[str, str] | None:
    """(config key, what is wrong) for the first bad price setting, or None."""
    if "price_multiplier" in config:
        value = config["price_multiplier"]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not MIN_PRICE_MULTIPLIER <= value <= MAX_PRICE_MULTIPLIER
        ):
            return (
                "price_multiplier",
                f"must be a number from {MIN_PRICE_MULTIPLIER} to {MAX_PRICE_MULTIPLIER}"
                " (0.95 is 5% off)",
            )
    for key in ("product_ids", "categories"):
        if key in config:
            value = config[key]
            if (
                not isinstance(value, list)
                or not value
                or len(value) > 10_000
                or not all(isinstance(item, str) and item for item in value)
            ):
                return key, "must be a non-empty list of ids (strings)"
    return None


def price_multiplier(config: dict[str, Any]) -> float:
    """The variant's multiplier (1.0 when it sets none: usually the control)."""
    value = config.get("price_multiplier", 1.0)
    return float(value)
