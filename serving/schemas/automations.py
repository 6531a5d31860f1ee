"""Bodies of ``/v1/automations``: rules, flows, the outbox and campaign performance.

Rule bodies are :class:`intellishop.automation.rules.RuleSpec` itself (one model for the API and
the store). Webhook secrets are write-only: answers show ``"secret": "<redacted>"``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from intellishop.automation.rules import Rule
from intellishop.automation.store import Delivery

REDACTED = "<redacted>"


def redact_spec(spec: dict[str, Any]) -> dict[str, Any]:
    actions = [
        {**a, "secret": REDACTED} if a.get("type") == "webhook" else a
        for a in spec.get("actions", [])
    ]
    return {**spec, "actions": actions}


class RuleOut(BaseModel):
    rule_id: str
    tenant_id: str
    created_at: datetime
    updated_at: datetime
    enabled: bool
    spec: dict[str, Any] = Field(description="The rule as written; webhook secrets redacted.")

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        return cls(
            rule_id=rule.rule_id,
            tenant_id=rule.tenant_id,
            created_at=rule.created_at,
            updated_at=rule.updated_at,
            enabled=rule.spec.enabled,
            spec=redact_spec(rule.spec.model_dump(mode="json")),
        )


class RuleList(BaseModel):
    tenant_id: str
    rules: list[RuleOut]


class FlowInfo(BaseModel):
    name: str
    description: str
    example: dict[str, Any] = Field(description="The rule it creates with default parameters.")


class FlowList(BaseModel):
    flows: list[FlowInfo]


class DeliveryOut(BaseModel):
    id: int
    rule_id: str
    channel: str
    person_id: str
    idempotency_key: str
    status: str = Field(description="pending, sending, delivered or dead (the dead-letter list).")
    attempts: int
    replays: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        def when(micros: int | None) -> datetime | None:
            return None if micros is None else datetime.fromtimestamp(micros / 1e6, UTC)

        created = when(delivery.created_at_us)
        assert created is not None
        return cls(
            id=delivery.id,
            rule_id=delivery.rule_id,
            channel=delivery.kind,
            person_id=delivery.person_id,
            idempotency_key=delivery.idem_key,
            status=delivery.status,
            attempts=delivery.attempts,
            replays=delivery.replays,
            last_error=delivery.last_error,
            created_at=created,
            delivered_at=when(delivery.delivered_at_us),
        )


class DeliveryList(BaseModel):
    tenant_id: str
    deliveries: list[DeliveryOut]


class CampaignRow(BaseModel):
    rule_id: str
    rule_name: str | None = Field(description="Null once the rule was deleted.")
    channel: str
    sent: int = Field(description="Messages queued for sending.")
    delivered: int
    failed: int = Field(description="Messages on the dead-letter list.")
    opened: int = Field(description="Messages opened at least once (the pixel).")
    clicked: int = Field(description="Messages with at least one tracked click.")
    converted: int = Field(description="Orders attributed (last open/click within the window).")
    revenue: float = Field(description="Revenue of the attributed orders.")


class CampaignPerformance(BaseModel):
    tenant_id: str
    campaigns: list[CampaignRow]


class SegmentMembers(BaseModel):
    tenant_id: str
    segment: str
    members: list[str]
