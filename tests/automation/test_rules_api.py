"""Rules through the API: create, list, update, pause, delete; 422s that name the field; each
tenant sees only its own; write keys are refused."""

from __future__ import annotations

from typing import Any

from intellishop.tenants import TenantRegistry

from .conftest import WEBHOOK_SECRET, Shop


def rule_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Big spender thanks",
        "trigger_event": "Order Completed",
        "conditions": [{"field": "event.properties.revenue", "op": "gte", "value": 100}],
        "actions": [
            {"type": "webhook", "url": "https://hooks.example.com/x", "secret": WEBHOOK_SECRET}
        ],
    }
    body.update(overrides)
    return body


def test_crud_pause_and_secret_redaction(shop: Shop) -> None:
    api, auth = shop.api, shop.auth(shop.key_a)
    created = api.post("/v1/automations/rules", json=rule_body(), headers=auth)
    assert created.status_code == 201, created.text
    rule = created.json()
    rule_id = rule["rule_id"]
    assert rule["tenant_id"] == "shop-a" and rule["enabled"] is True
    assert rule["spec"]["actions"][0]["secret"] == "<redacted>"
    assert WEBHOOK_SECRET not in created.text

    listed = api.get("/v1/automations/rules", headers=auth).json()
    assert [r["rule_id"] for r in listed["rules"]] == [rule_id]

    paused = api.post(f"/v1/automations/rules/{rule_id}/pause", headers=auth).json()
    assert paused["enabled"] is False
    resumed = api.post(f"/v1/automations/rules/{rule_id}/resume", headers=auth).json()
    assert resumed["enabled"] is True

    patched = api.patch(
        f"/v1/automations/rules/{rule_id}", json={"delay_seconds": 600}, headers=auth
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["spec"]["delay_seconds"] == 600
    # The secret survived the patch (kept, not replaced by the redaction marker).
    from intellishop.automation.store import AutomationStore

    stored = AutomationStore.for_settings(shop.settings).get_rule("shop-a", rule_id)
    assert stored is not None and stored.spec.actions[0].secret == WEBHOOK_SECRET  # type: ignore[union-attr]

    replaced = api.put(
        f"/v1/automations/rules/{rule_id}", json=rule_body(name="Renamed"), headers=auth
    )
    assert replaced.json()["spec"]["name"] == "Renamed"

    assert api.delete(f"/v1/automations/rules/{rule_id}", headers=auth).status_code == 204
    assert api.get(f"/v1/automations/rules/{rule_id}", headers=auth).status_code == 404


def test_bad_rules_are_422_naming_the_field(shop: Shop) -> None:
    api, auth = shop.api, shop.auth(shop.key_a)
    cases = [
        (rule_body(conditions=[{"field": "event.x", "op": "eval", "value": 1}]), "op"),
        (rule_body(conditions=[{"field": "__import__('os')", "op": "eq", "value": 1}]), "field"),
        (rule_body(delay_seconds=-5), "delay_seconds"),
        (
            rule_body(actions=[{"type": "webhook", "url": "ftp://x.example", "secret": "s" * 16}]),
            "url",
        ),
        (
            rule_body(actions=[{"type": "webhook", "url": "https://x.example", "secret": "short"}]),
            "secret",
        ),
        (rule_body(quiet_hours={"start": "25:00", "end": "08:00"}), "start"),
        (rule_body(actions=[]), "actions"),
        (rule_body(frequency_cap={"max_actions": 0, "window_seconds": 3600}), "max_actions"),
    ]
    for body, field in cases:
        response = api.post("/v1/automations/rules", json=body, headers=auth)
        assert response.status_code == 422, (field, response.text)
        locations = [error["loc"] for error in response.json()["detail"]]
        assert any(field in loc for loc in locations), (field, locations)
    rule_id = api.post("/v1/automations/rules", json=rule_body(), headers=auth).json()["rule_id"]
    patched = api.patch(
        f"/v1/automations/rules/{rule_id}", json={"delay_seconds": "soon"}, headers=auth
    )
    assert patched.status_code == 422
    assert patched.json()["detail"][0]["loc"] == ["body", "delay_seconds"]


def test_tenants_see_only_their_own_rules(shop: Shop) -> None:
    api = shop.api
    rule_id = api.post(
        "/v1/automations/rules", json=rule_body(), headers=shop.auth(shop.key_a)
    ).json()["rule_id"]
    other = shop.auth(shop.key_b)
    assert api.get("/v1/automations/rules", headers=other).json()["rules"] == []
    assert api.get(f"/v1/automations/rules/{rule_id}", headers=other).status_code == 404
    assert api.post(f"/v1/automations/rules/{rule_id}/pause", headers=other).status_code == 404
    assert (
        api.put(f"/v1/automations/rules/{rule_id}", json=rule_body(), headers=other).status_code
        == 404
    )
    assert api.delete(f"/v1/automations/rules/{rule_id}", headers=other).status_code == 404
    still = api.get(f"/v1/automations/rules/{rule_id}", headers=shop.auth(shop.key_a)).json()
    assert still["enabled"] is True
    assert api.get("/v1/automations/rules", headers=shop.auth(shop.write_key_a)).status_code == 403
    public_key = TenantRegistry(shop.settings.tenants_db_path).create_key("shop-a", scope="public")
    for path in (
        "/v1/automations/rules",
        "/v1/automations/dead-letters",
        "/v1/automations/performance",
    ):
        assert api.get(path, headers=shop.auth(public_key)).status_code == 403, path
    assert (
        api.post(
            "/v1/automations/rules", json=rule_body(), headers=shop.auth(public_key)
        ).status_code
        == 403
    )
    assert api.get("/v1/automations/rules").status_code == 401


def test_built_in_flows_switch_on_as_rules(shop: Shop) -> None:
    api, auth = shop.api, shop.auth(shop.key_a)
    flows = api.get("/v1/automations/flows", headers=auth).json()["flows"]
    assert {f["name"] for f in flows} == {
        "abandoned_cart",
        "browse_abandonment",
        "post_purchase",
        "win_back",
        "price_drop",
        "back_in_stock",
    }
    created = api.post(
        "/v1/automations/flows/abandoned_cart",
        json={"minutes": 30, "links": {"cart": "https://shop.example/cart"}},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    spec = created.json()["spec"]
    assert spec["trigger_event"] == "Checkout Started"
    assert spec["delay_seconds"] == 1800 and spec["cancel_on"] == ["Order Completed"]
    assert api.post("/v1/automations/flows/nope", headers=auth).status_code == 404
    bad = api.post("/v1/automations/flows/win_back", json={"churn_threshold": 2}, headers=auth)
    assert bad.status_code == 422 and "churn_threshold" in bad.json()["detail"][0]["loc"]
