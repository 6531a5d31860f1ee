"""``/v1/automations``: a tenant's rules, built-in flows, outbox, dead letters and performance.

Rules, flows and replays are administration (``AdminTenant``: the secret key, or a signed-in
owner); the outbox, dead letters and segment members are person-level (``CustomersTenant``);
performance is an aggregate (``AnalyticsTenant``). Write and public keys get a 403. Every query
is scoped to the calling tenant: another tenant's rule id is a 404, never a 403 that would
confirm it exists.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from intellishop.automation.flows import FLOW_DESCRIPTIONS, FLOWS, FlowParams
from intellishop.automation.rules import RuleSpec
from intellishop.automation.store import AutomationStore

from ..deps import AdminTenant, AnalyticsTenant, CustomersTenant, SettingsDep
from ..schemas.automations import (
    CampaignPerformance,
    CampaignRow,
    DeliveryList,
    DeliveryOut,
    FlowInfo,
    FlowList,
    RuleList,
    RuleOut,
    SegmentMembers,
    redact_spec,
)

router = APIRouter(
    prefix="/v1/automations",
    tags=["automations"],
    responses={404: {"description": "No such rule or delivery in this tenant."}},
)

RuleId = Annotated[str, Path(pattern=r"^rule_[0-9a-f]{16}$")]


def automation_store(request: Request, settings: SettingsDep) -> AutomationStore:
    """The app's one store, opened on first use (the app factory need not know about it)."""
    store: AutomationStore | None = getattr(request.app.state, "automation_store", None)
    if store is None:
        store = AutomationStore.for_settings(settings)
        request.app.state.automation_store = store
    return store


StoreDep = Annotated[AutomationStore, Depends(automation_store)]


def _not_found(tenant_id: str, rule_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND, detail=f"no rule {rule_id!r} in tenant {tenant_id!r}"
    )


@router.get("/rules", summary="The tenant's automation rules")
def list_rules(tenant: AdminTenant, store: StoreDep) -> RuleList:
    rules = store.list_rules(tenant.tenant_id)
    return RuleList(tenant_id=tenant.tenant_id, rules=[RuleOut.of(r) for r in rules])


@router.post("/rules", status_code=status.HTTP_201_CREATED, summary="Create a rule")
def create_rule(spec: RuleSpec, tenant: AdminTenant, store: StoreDep) -> RuleOut:
    return RuleOut.of(store.create_rule(tenant.tenant_id, spec))


@router.get("/rules/{rule_id}", summary="One rule")
def get_rule(rule_id: RuleId, tenant: AdminTenant, store: StoreDep) -> RuleOut:
    rule = store.get_rule(tenant.tenant_id, rule_id)
    if rule is None:
        raise _not_found(tenant.tenant_id, rule_id)
    return RuleOut.of(rule)


@router.put("/rules/{rule_id}", summary="Replace a rule")
def replace_rule(rule_id: RuleId, spec: RuleSpec, tenant: AdminTenant, store: StoreDep) -> RuleOut:
    rule = store.update_rule(tenant.tenant_id, rule_id, spec)
    if rule is None:
        raise _not_found(tenant.tenant_id, rule_id)
    return RuleOut.of(rule)


@router.patch(
    "/rules/{rule_id}",
    summary="Change some fields of a rule",
    description="Top-level fields of the body replace the rule's; the result is checked like a "
    "new rule (422 naming the field). Webhook secrets are kept unless `actions` is sent.",
)
def patch_rule(
    rule_id: RuleId,
    tenant: AdminTenant,
    store: StoreDep,
    changes: Annotated[dict[str, Any], Body()],
) -> RuleOut:
    rule = store.get_rule(tenant.tenant_id, rule_id)
    if rule is None:
        raise _not_found(tenant.tenant_id, rule_id)
    try:
        spec = RuleSpec.model_validate({**rule.spec.model_dump(), **changes})
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
    updated = store.update_rule(tenant.tenant_id, rule_id, spec)
    if updated is None:
        raise _not_found(tenant.tenant_id, rule_id)
    return RuleOut.of(updated)


@router.post("/rules/{rule_id}/pause", summary="Pause a rule (pending actions are skipped)")
def pause_rule(rule_id: RuleId, tenant: AdminTenant, store: StoreDep) -> RuleOut:
    rule = store.set_enabled(tenant.tenant_id, rule_id, False)
    if rule is None:
        raise _not_found(tenant.tenant_id, rule_id)
    return RuleOut.of(rule)


@router.post("/rules/{rule_id}/resume", summary="Switch a paused rule on again")
def resume_rule(rule_id: RuleId, tenant: AdminTenant, store: StoreDep) -> RuleOut:
    rule = store.set_enabled(tenant.tenant_id, rule_id, True)
    if rule is None:
        raise _not_found(tenant.tenant_id, rule_id)
    return RuleOut.of(rule)


@router.delete(
    "/rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a rule (its pending actions are cancelled; sent messages stay counted)",
)
def delete_rule(rule_id: RuleId, tenant: AdminTenant, store: StoreDep) -> Response:
    if not store.delete_rule(tenant.tenant_id, rule_id):
        raise _not_found(tenant.tenant_id, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/flows", summary="Built-in flows, ready to switch on")
def list_flows(tenant: AdminTenant) -> FlowList:
    return FlowList(
        flows=[
            FlowInfo(
                name=name,
                description=FLOW_DESCRIPTIONS[name],
                example=redact_spec(make(FlowParams()).model_dump(mode="json")),
            )
            for name, make in FLOWS.items()
        ]
    )


@router.post(
    "/flows/{flow}",
    status_code=status.HTTP_201_CREATED,
    summary="Switch a built-in flow on: creates an ordinary rule from its template",
)
def enable_flow(
    flow: Annotated[str, Path(max_length=64)],
    tenant: AdminTenant,
    store: StoreDep,
    params: Annotated[FlowParams | None, Body()] = None,
) -> RuleOut:
    make = FLOWS.get(flow)
    if make is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no built-in flow {flow[:64]!r}; there are: {', '.join(FLOWS)}",
        )
    return RuleOut.of(store.create_rule(tenant.tenant_id, make(params or FlowParams())))


@router.get("/deliveries", summary="Messages in the outbox (optionally of one status)")
def list_deliveries(
    tenant: CustomersTenant,
    store: StoreDep,
    status_: Annotated[
        str | None,
        Query(alias="status", pattern=r"^(pending|sending|delivered|dead)$"),
    ] = None,
) -> DeliveryList:
    rows = store.deliveries(tenant.tenant_id, status_)
    return DeliveryList(tenant_id=tenant.tenant_id, deliveries=[DeliveryOut.of(d) for d in rows])


@router.get("/dead-letters", summary="Messages that failed every retry")
def dead_letters(tenant: CustomersTenant, store: StoreDep) -> DeliveryList:
    rows = store.dead_letters(tenant.tenant_id)
    return DeliveryList(tenant_id=tenant.tenant_id, deliveries=[DeliveryOut.of(d) for d in rows])


@router.post(
    "/dead-letters/{delivery_id}/replay",
    summary="Send a dead letter again (same idempotency key, fresh retries)",
)
def replay(
    delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)], tenant: AdminTenant, store: StoreDep
) -> DeliveryOut:
    if not store.replay(delivery_id, tenant.tenant_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no dead letter {delivery_id} in tenant {tenant.tenant_id!r}",
        )
    delivery = store.delivery(delivery_id)
    assert delivery is not None
    return DeliveryOut.of(delivery)


@router.get("/performance", summary="Campaign performance per rule and channel")
def performance(tenant: AnalyticsTenant, store: StoreDep) -> CampaignPerformance:
    rows = store.performance(tenant.tenant_id)
    return CampaignPerformance(
        tenant_id=tenant.tenant_id, campaigns=[CampaignRow(**r) for r in rows]
    )


@router.get("/segments/{segment}", summary="People that add-to-segment actions put in a segment")
def segment_members(
    segment: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")],
    tenant: CustomersTenant,
    store: StoreDep,
) -> SegmentMembers:
    members = store.segment_members(tenant.tenant_id, segment)
    return SegmentMembers(tenant_id=tenant.tenant_id, segment=segment, members=members)
