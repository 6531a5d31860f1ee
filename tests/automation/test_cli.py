"""``intellishop automation``: rules list/pause, dead-letter list/replay, one worker pass."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from intellishop.automation.rules import RuleSpec
from intellishop.automation.store import AutomationStore
from intellishop.automation.worker import Worker
from intellishop.commands.automation import automation_app

from .conftest import WEBHOOK_SECRET, Receiver, Shop, run_until, track


def test_rules_and_dead_letters_from_the_command_line(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    store = AutomationStore.for_settings(shop.settings)
    spec = RuleSpec.model_validate(
        {
            "name": "To CRM",
            "trigger_event": "Order Completed",
            "actions": [{"type": "webhook", "url": receiver.url, "secret": WEBHOOK_SECRET}],
        }
    )
    rule = store.create_rule("shop-a", spec)
    runner = CliRunner()
    listed = runner.invoke(automation_app, ["rules", "list", "--tenant", "shop-a"])
    assert listed.exit_code == 0 and rule.rule_id in listed.output
    assert (
        rule.rule_id
        not in runner.invoke(automation_app, ["rules", "list", "--tenant", "shop-b"]).output
    )

    # Refused by default (loopback): a dead letter at once.
    refusing = make_worker(allow_private_targets=False)
    shop.send(shop.key_a, track("Order Completed", "u1", order_id="o1"))
    run_until(refusing, lambda: bool(store.dead_letters("shop-a")))
    dead = store.dead_letters("shop-a")[0]
    shown = runner.invoke(automation_app, ["dead-letter", "list", "--tenant", "shop-a"])
    assert shown.exit_code == 0 and "refused" in shown.output
    wrong_tenant = runner.invoke(
        automation_app, ["dead-letter", "replay", str(dead.id), "--tenant", "shop-b"]
    )
    assert wrong_tenant.exit_code == 2
    replayed = runner.invoke(automation_app, ["dead-letter", "replay", str(dead.id)])
    assert replayed.exit_code == 0 and "queued again" in replayed.output

    # Once the operator allows loopback, the replayed message goes out with its original key.
    allowing = make_worker(allow_private_targets=True)
    run_until(allowing, lambda: len(receiver.requests) == 1)
    assert receiver.requests[0].headers["Idempotency-Key"] == dead.idem_key

    paused = runner.invoke(automation_app, ["rules", "pause", "--tenant", "shop-a", rule.rule_id])
    assert paused.exit_code == 0
    assert store.get_rule("shop-a", rule.rule_id).spec.enabled is False  # type: ignore[union-attr]
    missing = runner.invoke(automation_app, ["rules", "pause", "--tenant", "shop-b", rule.rule_id])
    assert missing.exit_code == 2


def test_erasure_forgets_the_person_but_keeps_counts(
    shop: Shop, receiver: Receiver, make_worker: Callable[..., Worker]
) -> None:
    store = AutomationStore.for_settings(shop.settings)
    spec = RuleSpec.model_validate(
        {
            "name": "Later",
            "trigger_event": "Order Completed",
            "delay_seconds": 3600,
            "actions": [{"type": "webhook", "url": receiver.url, "secret": WEBHOOK_SECRET}],
        }
    )
    store.create_rule("shop-a", spec)
    worker = make_worker()
    shop.send(
        shop.key_a,
        {"type": "identify", "userId": "u1", "traits": {"email": "jo@example.com"}},
        track("Order Completed", "u1", order_id="o1"),
        track("Order Completed", "u2", order_id="o2"),
    )
    run_until(worker, lambda: len(store.scheduled_statuses("shop-a")) == 2)
    assert store.profile("shop-a", "u1")["email"] == "jo@example.com"
    assert store.erase_person("shop-a", ["u1"]) >= 2
    assert store.profile("shop-a", "u1") == {}
    statuses = sorted((p, s) for _, _, p, s in store.scheduled_statuses("shop-a"))
    assert statuses == [("erased", "cancelled"), ("u2", "pending")]
    assert store.erase_person("shop-b", ["u2"]) == 0  # another tenant's u2 is someone else
