"""Email experiments end to end: a rule names an experiment of surface email; the worker sends
each recipient their sticky variant (two subjects and templates) or nothing (holdout) through a
real SMTP server, logs exposures to the event log, and orders placed afterwards come out per
variant in the experiment's results, which pick the winner that every later email then uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import polars as pl

from ingest.event_log import SqliteEventLog
from intellishop.automation.worker import Worker
from intellishop.experiments import EXPOSURE_EVENT, Status, assign, evaluate, open_store

from .conftest import Shop, SmtpServer, identify, run_until, track

EXPERIMENT: dict[str, Any] = {
    "key": "cart-subject",
    "name": "Cart reminder: plain vs discount vs nothing",
    "surface": "email",
    "variants": [
        {"id": "plain", "weight": 1, "control": True, "config": {"subject": "Your cart waits"}},
        {
            "id": "discount",
            "weight": 1,
            "config": {
                "subject": "10% off your cart",
                "template": "generic",
                "heading": "A discount for you",
                "body": "Use code SAVE10 today.",
            },
        },
        {"id": "holdout", "weight": 1, "config": {"holdout": True}},
    ],
    "target_metric": "conversion",
    # A large mixture scale: a strong effect on a few dozen people is decisive at once.
    "tau_std": 1.0,
}


def cart_rule() -> dict[str, Any]:
    return {
        "name": "Cart reminder",
        "trigger_event": "Checkout Started",
        "experiment": "cart-subject",
        "conversion_window_days": 7,
        "actions": [
            {
                "type": "email",
                "subject": "Rule's own subject",
                "template": "abandoned_cart",
                "recommendations": 0,
            }
        ],
    }


def events_of(shop: Shop, name: str) -> list[tuple[str, Any]]:
    """(tenant, event) of every event called ``name`` in the event log, oldest first."""
    log = SqliteEventLog(shop.settings.event_log_path)
    try:
        entries = log.read("test-reader", 100_000)
    finally:
        log.close()
    return [
        (entry.batch.tenant_id, event)
        for entry in entries
        for event in entry.batch.events
        if event.event == name
    ]


def frames(shop: Shop) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The pipeline's two frames, built from the event log as the warehouse would."""
    exposures = [
        {
            "tenant_id": tenant,
            "experiment_id": json.loads(e.properties)["experiment_id"],
            "unit_id": e.user_id or e.anonymous_id,
            "variant_id": json.loads(e.properties)["variation_id"],
            "exposed_at": datetime.fromtimestamp(e.timestamp_us / 1e6, UTC),
            "window_days": float(json.loads(e.properties)["window_days"]),
        }
        for tenant, e in events_of(shop, EXPOSURE_EVENT)
    ]
    orders = [
        {
            "tenant_id": tenant,
            "unit_id": e.user_id,
            "ordered_at": datetime.fromtimestamp(e.timestamp_us / 1e6, UTC),
            "revenue": float(json.loads(e.properties)["revenue"]),
        }
        for tenant, e in events_of(shop, "Order Completed")
    ]
    return pl.DataFrame(exposures), pl.DataFrame(orders)


def test_two_variants_send_different_mail_holdout_sends_none_and_results_pick_a_winner(
    shop: Shop, smtp_server: SmtpServer, make_worker: Callable[..., Worker]
) -> None:
    auth = shop.auth(shop.key_a)
    created = shop.api.post("/v1/experiments", json=EXPERIMENT, headers=auth)
    assert created.status_code == 201, created.text
    assert shop.api.post("/v1/experiments/cart-subject/start", headers=auth).status_code == 200
    rule = shop.api.post("/v1/automations/rules", json=cart_rule(), headers=auth)
    assert rule.status_code == 201, rule.text
    assert rule.json()["spec"]["experiment"] == "cart-subject"

    users = [f"u{i:02d}" for i in range(45)]
    shop.send(shop.key_a, *(identify(u, f"{u}@example.com") for u in users))
    shop.send(shop.key_a, *(track("Checkout Started", u, cart_id=f"c-{u}") for u in users))
    experiment = open_store(shop.settings).get("shop-a", "cart-subject")
    arm = {u: assign(experiment, u).id for u in users}
    mailed = [u for u in users if arm[u] != "holdout"]
    assert 5 < len(mailed) < len(users)  # all three arms are populated

    worker = make_worker(smtp_port=smtp_server.port)
    run_until(worker, lambda: len(smtp_server.mailbox.messages) >= len(mailed))
    worker.run_once()  # nothing more may arrive: the holdout gets no mail
    messages = smtp_server.mailbox.messages
    assert len(messages) == len(mailed)
    subjects = {str(m["To"]).split("@")[0]: str(m["Subject"]) for m in messages}
    want = {"plain": "Your cart waits", "discount": "10% off your cart"}
    assert subjects == {u: want[arm[u]] for u in mailed}
    discount_mail = next(m for m in messages if m["Subject"] == "10% off your cart")
    assert "Use code SAVE10 today." in text_of(discount_mail)
    statuses = {person: status for _, _, person, status in shop_statuses(worker)}
    assert {u for u, s in statuses.items() if s == "holdout"} == {
        u for u in users if arm[u] == "holdout"
    }

    # Every person the rule fired for is exposed once, holdout included, in their variant.
    exposures, _ = frames(shop)
    assert exposures.height == len(users)
    assert dict(zip(exposures["unit_id"], exposures["variant_id"], strict=True)) == arm
    assert set(exposures["window_days"]) == {7.0}
    sent = [json.loads(e.properties) for _, e in events_of(shop, "Campaign Message Sent")]
    assert {(p["experiment"], p["variant"]) for p in sent} == {
        ("cart-subject", "plain"),
        ("cart-subject", "discount"),
    }

    # Orders after the send: every discount recipient buys, one plain one, no holdout.
    plain = [u for u in users if arm[u] == "plain"]
    buyers = [u for u in users if arm[u] == "discount"] + plain[:1]
    shop.send(
        shop.key_a, *(track("Order Completed", u, order_id=f"o-{u}", revenue=40.0) for u in buyers)
    )
    exposures, orders = frames(shop)
    store = open_store(shop.settings)
    results = evaluate(
        store, experiment, exposures, orders, as_of=datetime.now(UTC) + timedelta(minutes=1)
    )
    by_variant = {v["variant"]: v for v in results["variants"]}
    assert {k: v["units"] for k, v in by_variant.items()} == {
        k: sum(1 for u in users if arm[u] == k) for k in ("plain", "discount", "holdout")
    }
    assert by_variant["discount"]["converters"] == by_variant["discount"]["units"]
    assert by_variant["plain"]["converters"] == 1
    assert by_variant["holdout"]["converters"] == 0
    assert by_variant["discount"]["revenue"] == 40.0 * by_variant["discount"]["units"]
    assert "window_days" in results["attribution"]
    assert results["decision"]["action"] == "declare_winner"
    assert results["decision"]["winner"] == "discount"

    # The API shows the look; the decided winner now goes to everyone, without exposures.
    shown = shop.api.get("/v1/experiments/cart-subject/results", headers=auth).json()
    assert shown["status"] == Status.DECIDED.value and shown["decision"]["winner"] == "discount"
    late = next(u for u in users if arm[u] == "holdout")
    shop.send(shop.key_a, track("Checkout Started", late, cart_id="c-late"))
    before = len(messages)
    run_until(worker, lambda: len(smtp_server.mailbox.messages) > before)
    assert smtp_server.mailbox.messages[-1]["Subject"] == "10% off your cart"
    assert len(frames(shop)[0]) == len(users)  # no new exposure once decided


def text_of(message: Message) -> str:
    parts = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def shop_statuses(worker: Worker) -> list[tuple[str, str, str, str]]:
    return worker.store.scheduled_statuses("shop-a")


def test_other_tenants_experiment_is_ignored_and_a_bad_variant_is_a_422(
    shop: Shop, smtp_server: SmtpServer, make_worker: Callable[..., Worker]
) -> None:
    # Shop A's running experiment, and shop B's rule naming the same key: B's mail is B's own.
    auth_a, auth_b = shop.auth(shop.key_a), shop.auth(shop.key_b)
    assert shop.api.post("/v1/experiments", json=EXPERIMENT, headers=auth_a).status_code == 201
    assert shop.api.post("/v1/experiments/cart-subject/start", headers=auth_a).status_code == 200
    assert (
        shop.api.post("/v1/automations/rules", json=cart_rule(), headers=auth_b).status_code == 201
    )
    shop.send(shop.key_b, identify("bob", "bob@example.com"), track("Checkout Started", "bob"))
    worker = make_worker(smtp_port=smtp_server.port)
    run_until(worker, lambda: len(smtp_server.mailbox.messages) >= 1)
    assert smtp_server.mailbox.messages[0]["Subject"] == "Rule's own subject"
    assert events_of(shop, EXPOSURE_EVENT) == []

    bad = {**EXPERIMENT, "key": "bad-email"}
    bad["variants"] = [
        EXPERIMENT["variants"][0],
        {"id": "typo", "weight": 1, "config": {"template": "no_such_template"}},
    ]
    answer = shop.api.post("/v1/experiments", json=bad, headers=auth_a)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "variants", 1, "config", "template"]
    assert (
        shop.api.post(
            "/v1/automations/rules", json={**cart_rule(), "experiment": "Not A Key"}, headers=auth_a
        ).status_code
        == 422
    )
