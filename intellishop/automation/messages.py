"""Turning a fired action into the message the outbox stores: a webhook body or an email.

Rendering happens once, when the action fires, so retries and replays send the same message
and the links it may redirect to are registered with it (see :mod:`.signing`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .config import AutomationConfig
from .delivery.email import render_html, render_text
from .experiments import EmailArm
from .facts import PublishedFacts
from .rules import EmailAction, Rule, WebhookAction
from .signing import make_token
from .store import ScheduledAction

#: Heading and text of each built-in template when the rule gives none.
DEFAULT_COPY: dict[str, tuple[str, str]] = {
    "generic": ("Hello from the shop", ""),
    "abandoned_cart": ("You left something in your cart", "Your cart is waiting for you."),
    "browse_abandonment": ("Still thinking it over?", "Here is what you were looking at."),
    "post_purchase": ("Thank you for your order", "You might also like these."),
    "win_back": ("We miss you", "Here is what is new since your last visit."),
    "price_drop": ("A price just dropped", "Something you viewed costs less now."),
    "back_in_stock": ("Back in stock", "Something you viewed is available again."),
}


def _price_text(price: Any) -> str:
    return f"{float(price):.2f}" if isinstance(price, int | float) else ""


def render_message(
    rule: Rule,
    index: int,
    action: ScheduledAction,
    customer: dict[str, Any],
    delivery_id: int,
    facts: PublishedFacts,
    config: AutomationConfig,
    arm: EmailArm | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """(outbox payload, registered link URLs) of action ``index`` of ``rule``.

    With ``arm`` (the person's variant of the rule's email experiment), the variant's email
    settings replace the rule's, and the message's ``meta`` names the experiment and variant.
    """
    spec = rule.spec.actions[index]
    trigger = {k: v for k, v in action.trigger.items() if k != "person_ids"}
    meta = {
        "rule_name": rule.spec.name,
        "person_id": action.person_id,
        "user_id": trigger.get("user_id"),
        "anonymous_id": trigger.get("anonymous_id"),
        **(arm.meta() if arm is not None else {}),
    }
    if isinstance(spec, WebhookAction):
        body = {
            "id": f"{action.idem_key}:{index}",
            "type": "automation.action",
            "tenant_id": rule.tenant_id,
            "rule": {"id": rule.rule_id, "name": rule.spec.name},
            "person_id": action.person_id,
            "trigger": trigger,
            "customer": customer,
            "recommendations": facts.recommended_products(rule.tenant_id, action.person_id, 4),
            "created_at": datetime.now(UTC).isoformat(),
        }
        return {"url": spec.url, "secret": spec.secret, "body": body, "meta": meta}, []
    assert isinstance(spec, EmailAction)
    if arm is not None and arm.overrides:
        # Validated like a rule's own fields: a bad variant fails loudly, not half-rendered.
        spec = EmailAction.model_validate({**spec.model_dump(), **arm.overrides})
    return _email(rule, spec, action, trigger, customer, delivery_id, facts, config, meta)


def _email(
    rule: Rule,
    spec: EmailAction,
    action: ScheduledAction,
    trigger: dict[str, Any],
    customer: dict[str, Any],
    delivery_id: int,
    facts: PublishedFacts,
    config: AutomationConfig,
    meta: dict[str, Any],
) -> tuple[dict[str, Any], list[str]]:
    base = config.tracking_base_url.rstrip("/")
    secret = config.tracking_secret
    registered: list[str] = []

    def tracked(url: str) -> str:
        registered.append(url)
        return f"{base}/t/c/{make_token(secret, delivery_id, len(registered) - 1)}"

    products = []
    for item in facts.recommended_products(rule.tenant_id, action.person_id, spec.recommendations):
        target = (
            spec.product_url.replace("{product_id}", item["product_id"])
            if spec.product_url
            else None
        )
        products.append(
            {
                **item,
                "price_text": _price_text(item.get("price")),
                "url": tracked(target) if target else None,
            }
        )
    links = {name: tracked(url) for name, url in spec.links.items()}
    heading, body = DEFAULT_COPY[spec.template]
    context = {
        "subject": spec.subject,
        "heading": spec.heading or heading,
        "body": spec.body if spec.body is not None else body,
        "products": products,
        "links": links,
        "trigger": trigger,
        "customer": customer,
        "pixel_url": f"{base}/t/o/{make_token(secret, delivery_id, -1)}",
    }
    payload = {
        "to": customer["email"],
        "subject": spec.subject,
        "html": render_html(spec.template, context),
        "text": render_text(context),
        "products": [p["product_id"] for p in products],
        "meta": meta,
    }
    return payload, registered
