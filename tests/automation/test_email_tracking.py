"""Email to a real SMTP server (aiosmtpd) with recommended products, then opens, clicks,
conversions and revenue through the tracking endpoints, and the performance API."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message

import pyarrow as pa

from ingest.event_log import SqliteEventLog
from intellishop.artifacts import LocalArtifactStore
from intellishop.automation.signing import make_token
from intellishop.automation.worker import Worker
from intellishop.settings import Settings

from .conftest import Shop, SmtpServer, identify, run_until, track


def publish(settings: Settings, tenant_id: str, *, recommended_for: str | None) -> None:
    products = pa.table(
        {
            "product_id": ["p1", "p2", "p3"],
            "name": ["Trail <script>alert(1)</script> Shoe", "Rain Jacket", "Wool Socks"],
            "category": ["Footwear", "Outerwear", "Socks"],
            "brand": ["A", "B", "C"],
            "price": [89.0, 120.0, 12.5],
        }
    )
    trending = pa.table(
        {
            "product_id": ["p3", "p2"],
            "category": ["Socks", "Outerwear"],
            "score": [2.0, 1.0],
            "rank": [1, 2],
            "category_rank": [1, 1],
        }
    )
    users = [recommended_for] * 2 if recommended_for else []
    recommendations = pa.table(
        {
            "user_id": pa.array(users, pa.string()),
            "product_id": ["p1", "p2"][: len(users)],
            "score": pa.array([0.9, 0.5][: len(users)], pa.float64()),
            "rank": pa.array([1, 2][: len(users)], pa.int64()),
            "algorithm": ["als"] * len(users),
        }
    )
    LocalArtifactStore(settings.artifacts_dir).publish(
        tenant_id, {"products": products, "trending": trending, "recommendations": recommendations}
    )


def email_rule() -> dict[str, object]:
    return {
        "name": "Thanks + recommendations",
        "trigger_event": "Order Completed",
        "actions": [
            {
                "type": "email",
                "subject": "Thanks for your order",
                "template": "post_purchase",
                "recommendations": 2,
                "product_url": "https://shop.example/p/{product_id}",
                "links": {"account": "https://shop.example/account"},
            }
        ],
        "conversion_window_days": 7,
    }


def html_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


def order(user: str, order_id: str, revenue: float) -> dict[str, object]:
    return track(
        "Order Completed",
        user,
        order_id=order_id,
        revenue=revenue,
        products=[{"product_id": "p9", "price": revenue, "quantity": 1}],
    )


def test_email_with_recommendations_then_open_click_conversion(
    shop: Shop, smtp_server: SmtpServer, make_worker: Callable[..., Worker]
) -> None:
    publish(shop.settings, "shop-a", recommended_for="u1")
    auth = shop.auth(shop.key_a)
    rule = shop.api.post("/v1/automations/rules", json=email_rule(), headers=auth).json()
    worker = make_worker(smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    shop.send(shop.key_a, identify("u1", "jo@example.com"), order("u1", "o1", 40.0))
    run_until(worker, lambda: len(smtp_server.mailbox.messages) >= 1)
    message = smtp_server.mailbox.messages[0]
    assert message["To"] == "jo@example.com" and message["Subject"] == "Thanks for your order"
    assert message["X-IntelliShop-Idempotency-Key"].startswith(rule["rule_id"])
    html = html_of(message)
    # Recommended products from the published table (not trending), names escaped.
    assert "Rain Jacket" in html and "Wool Socks" not in html
    assert "<script>" not in html and "&lt;script&gt;" in html

    pixel = re.search(r'src="http://testserver(/t/o/[^"]+)"', html)
    links = re.findall(r'href="http://testserver(/t/c/[^"]+)"', html)
    assert pixel and len(links) == 3  # two products and the account link
    opened = shop.api.get(pixel.group(1))
    assert opened.status_code == 200 and opened.headers["content-type"] == "image/gif"
    clicked = shop.api.get(links[0], follow_redirects=False)
    assert clicked.status_code == 302
    assert clicked.headers["location"] == "https://shop.example/p/p1"
    account = shop.api.get(links[2], follow_redirects=False)
    assert account.headers["location"] == "https://shop.example/account"

    # The order after the click is attributed to the campaign, with its revenue (it also
    # triggers the rule again: a second email).
    shop.send(shop.key_a, order("u1", "o2", 150.0))
    run_until(worker, lambda: len(smtp_server.mailbox.messages) >= 2)
    perf = shop.api.get("/v1/automations/performance", headers=auth).json()["campaigns"]
    assert perf == [
        {
            "rule_id": rule["rule_id"],
            "rule_name": "Thanks + recommendations",
            "channel": "email",
            "sent": 2,
            "delivered": 2,
            "failed": 0,
            "opened": 1,
            "clicked": 1,
            "converted": 1,
            "revenue": 150.0,
        }
    ]
    assert (
        shop.api.get("/v1/automations/performance", headers=shop.auth(shop.key_b)).json()[
            "campaigns"
        ]
        == []
    )

    # The tracking events are in the tenant's event log, for the warehouse.
    entries = SqliteEventLog(shop.settings.event_log_path).read("test-reader", 1000)
    names = [(e.batch.tenant_id, ev.event) for e in entries for ev in e.batch.events]
    for name in ("Campaign Message Sent", "Email Opened", "Email Link Clicked"):
        assert ("shop-a", name) in names, name


def test_trending_products_when_nobody_recommended(
    shop: Shop, smtp_server: SmtpServer, make_worker: Callable[..., Worker]
) -> None:
    publish(shop.settings, "shop-a", recommended_for=None)
    shop.api.post("/v1/automations/rules", json=email_rule(), headers=shop.auth(shop.key_a))
    worker = make_worker(smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    shop.send(shop.key_a, identify("u7", "kim@example.com"), order("u7", "o1", 40.0))
    run_until(worker, lambda: len(smtp_server.mailbox.messages) >= 1)
    html = html_of(smtp_server.mailbox.messages[0])
    assert "Wool Socks" in html and "Rain Jacket" in html and "Shoe" not in html


def test_no_open_redirect_and_forged_tokens(
    shop: Shop, smtp_server: SmtpServer, make_worker: Callable[..., Worker]
) -> None:
    shop.api.post("/v1/automations/rules", json=email_rule(), headers=shop.auth(shop.key_a))
    worker = make_worker(smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    shop.send(shop.key_a, identify("u1", "jo@example.com"), order("u1", "o1", 40.0))
    run_until(worker, lambda: len(smtp_server.mailbox.messages) >= 1)
    links = re.findall(
        r'href="http://testserver/t/c/([^"]+)"', html_of(smtp_server.mailbox.messages[0])
    )
    token = links[0]
    payload, _signature = token.split(".")
    # A token for a link number the message never registered, signed with another key.
    forged = make_token("not-the-server-key", 1, 0)
    unregistered = make_token(worker.config.tracking_secret, 1, 99)
    for bad in (forged, unregistered, payload + ".AAAA", "x", token + "x"):
        response = shop.api.get(f"/t/c/{bad}", follow_redirects=False)
        assert response.status_code == 404, bad
    # There is no way to pass a target URL at all.
    response = shop.api.get(f"/t/c/{token}?url=https://evil.example", follow_redirects=False)
    assert response.headers["location"] != "https://evil.example"
    # A forged pixel still answers an image but counts nothing.
    assert shop.api.get(f"/t/o/{forged}").status_code == 200
    perf = shop.api.get("/v1/automations/performance", headers=shop.auth(shop.key_a)).json()
    assert perf["campaigns"][0]["opened"] == 0


def test_email_needs_an_address(
    shop: Shop, smtp_server: SmtpServer, make_worker: Callable[..., Worker]
) -> None:
    shop.api.post("/v1/automations/rules", json=email_rule(), headers=shop.auth(shop.key_a))
    worker = make_worker(smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    shop.send(shop.key_a, order("nobody", "o1", 40.0))
    report = run_until(worker, lambda: True)
    for _ in range(3):
        worker.run_once()
    assert report.fired == 1 and smtp_server.mailbox.messages == []
