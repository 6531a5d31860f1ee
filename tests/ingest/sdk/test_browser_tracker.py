"""The browser tracker in real headless Chromium against the real collector process.

The shop page is served by a tiny http.server on another port, so every event crosses origins
the way it does on a real shop (the shop's origin is in the tenant's allowed origins). The
tracker is loaded with the documented snippet from the collector's ``/sdk/v1/intellishop.js``;
the outage tests load a self-hosted copy from the shop instead, since the collector is down.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.sdk import BROWSER_TRACKER_PATH
from intellishop.chromium import CHROMIUM

from .conftest import ReceivedEvent, RunningCollector, free_port

pytestmark = pytest.mark.e2e

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(
            "CI needs Debian's chromium for the browser tests (make test installs it)"
        )
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

SNIPPET = (BROWSER_TRACKER_PATH.parent / "snippet.html").read_text()

SHOP_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Trail Shop</title>
<script>
  window.TEST_OPTIONS = Object.assign(
    {writeKey: "__KEY__", flushAt: 10, retryBaseMs: 100, retryMaxMs: 600},
    JSON.parse(new URLSearchParams(location.search).get("opts") || "{}"));
</script>
__LOADER__
</head><body><h1>Trail Shop</h1></body></html>
"""
SELF_HOSTED = """<script src="/intellishop.js"></script>
<script>intellishop.init(Object.assign({host: "__COLLECTOR__"}, window.TEST_OPTIONS));</script>"""


RECORD_BEACONS = """
if (navigator.sendBeacon) {
  const original = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    const ok = original(url, data);
    try {
      const log = JSON.parse(sessionStorage.getItem("test_beacons") || "[]");
      log.push({url: String(url), ok});
      sessionStorage.setItem("test_beacons", JSON.stringify(log));
    } catch (_) {}
    return ok;
  };
}
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory, shop_origin: str, collector: RunningCollector
) -> Iterator[str]:
    """The shop's site: /shop.html (snippet from the collector), /self.html (self-hosted copy)."""
    root = tmp_path_factory.mktemp("shop")
    snippet = SNIPPET.replace("https://collector.example.com", collector.url).replace(
        "isk_YOUR_WRITE_KEY", collector.key
    )
    snippet = snippet.replace("intellishop.init({", "intellishop.init({...window.TEST_OPTIONS, ")
    for name, loader in (("shop.html", snippet), ("self.html", SELF_HOSTED)):
        page = SHOP_PAGE.replace("__LOADER__", loader)
        page = page.replace("__KEY__", collector.key).replace("__COLLECTOR__", collector.url)
        (root / name).write_text(page)
    shutil.copy(BROWSER_TRACKER_PATH, root / "intellishop.js")
    port = int(shop_origin.rsplit(":", 1)[1])
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield shop_origin
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _browser_log(page: Any) -> None:
    """The page's console and failed requests, printed (pytest shows them when a test fails)."""
    page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    page.on(
        "requestfailed",
        lambda request: print(f"request failed: {request.method} {request.url} {request.failure}"),
    )


def _open(page: Any, url: str) -> None:
    page.set_default_timeout(15_000)
    page.goto(url)
    page.wait_for_function("() => !Array.isArray(window.intellishop) && !!intellishop.options")


def _user(page: Any) -> dict[str, Any]:
    user: dict[str, Any] = page.evaluate("() => intellishop.user()")
    return user


def _ids(events: list[ReceivedEvent]) -> Counter[str]:
    return Counter(event.message_id for event in events)


def _has(ids: list[str]) -> Any:
    return lambda events: set(ids) <= set(_ids(events))


def test_page_view_events_and_context_arrive(
    page: Any, shop: str, collector: RunningCollector
) -> None:
    opts = json.dumps({"trackHistory": True})
    _open(
        page,
        f"{shop}/shop.html?utm_source=newsletter&utm_campaign=spring&utm_medium=email&opts={opts}",
    )
    anonymous_id = _user(page)["anonymousId"]
    events = collector.wait_for(
        lambda evs: any(e.type == "page" and e.anonymous_id == anonymous_id for e in evs)
    )
    view = next(e for e in events if e.type == "page" and e.anonymous_id == anonymous_id)
    assert view.tenant_id == "sdk-shop"
    assert view.properties["title"] == "Trail Shop"
    assert view.properties["path"] == "/shop.html"
    assert view.context["campaign"] == {
        "source": "newsletter",
        "name": "spring",
        "medium": "email",
    }
    assert view.context["library"]["name"] == "intellishop.js"
    assert "Chrome" in view.context["userAgent"]
    assert view.context["screen"]["width"] > 0 and view.context["locale"]

    ids = page.evaluate(
        """() => [
        intellishop.productViewed({product_id: "p_42", name: "Trail Shoe", price: 89}),
        intellishop.productAdded({product_id: "p_42", price: 89, quantity: 1}),
        intellishop.checkoutStarted({order_id: "o_1", value: 89}),
        intellishop.orderCompleted({order_id: "o_1", revenue: 89, currency: "USD",
                                    products: [{product_id: "p_42", price: 89, quantity: 1}]}),
        intellishop.track("Size Guide Opened", {product_id: "p_42"}),
      ]"""
    )
    events = collector.wait_for(_has(ids))
    by_id = {e.message_id: e for e in events}
    assert [by_id[i].event for i in ids] == [
        "Product Viewed",
        "Product Added",
        "Checkout Started",
        "Order Completed",
        "Size Guide Opened",
    ]
    order = by_id[ids[3]]
    assert order.properties["products"][0]["product_id"] == "p_42"
    assert order.anonymous_id == anonymous_id
    assert max(_ids(events)[i] for i in ids) == 1

    # A single-page app changing the URL: trackHistory sends the virtual page view.
    page.evaluate("() => history.pushState({}, '', '/products/p_42')")
    events = collector.wait_for(
        lambda evs: any(
            e.type == "page"
            and e.properties.get("path") == "/products/p_42"
            and e.anonymous_id == anonymous_id
            for e in evs
        )
    )


def test_anonymous_id_survives_reloads_and_identify_links_it(
    page: Any, shop: str, collector: RunningCollector
) -> None:
    _open(page, f"{shop}/shop.html")
    anonymous_id = _user(page)["anonymousId"]
    page.reload()
    page.wait_for_function("() => !Array.isArray(window.intellishop) && !!intellishop.options")
    assert _user(page)["anonymousId"] == anonymous_id
    # localStorage lost (cleared by the visitor or a privacy tool): the cookie keeps the id.
    page.evaluate("() => localStorage.clear()")
    page.reload()
    page.wait_for_function("() => !Array.isArray(window.intellishop) && !!intellishop.options")
    assert _user(page)["anonymousId"] == anonymous_id

    identify_id, track_id = page.evaluate(
        """() => [intellishop.identify("u_77", {email: "sam@example.com"}),
                  intellishop.track("Signed In")]"""
    )
    events = collector.wait_for(_has([identify_id, track_id]))
    by_id = {e.message_id: e for e in events}
    identify, signed_in = by_id[identify_id], by_id[track_id]
    assert (identify.type, identify.user_id, identify.anonymous_id) == (
        "identify",
        "u_77",
        anonymous_id,
    )
    assert identify.traits == {"email": "sam@example.com"}
    assert (signed_in.user_id, signed_in.anonymous_id) == ("u_77", anonymous_id)
    views = [e for e in events if e.type == "page" and e.anonymous_id == anonymous_id]
    assert len(views) == 3, "one page view per load, all with the same anonymous id"

    alias_id = page.evaluate("() => intellishop.alias('u_78')")
    page.evaluate("() => intellishop.reset()")
    after = _user(page)
    assert after["userId"] is None and after["anonymousId"] != anonymous_id
    after_id = page.evaluate("() => intellishop.track('Browsed')")
    events = collector.wait_for(_has([alias_id, after_id]))
    by_id = {e.message_id: e for e in events}
    assert (by_id[alias_id].previous_id, by_id[alias_id].user_id) == ("u_77", "u_78")
    assert by_id[after_id].user_id is None
    assert by_id[after_id].anonymous_id == after["anonymousId"]


def test_page_hide_sends_the_queue_with_send_beacon(
    page: Any, shop: str, collector: RunningCollector
) -> None:
    posts: list[str] = []

    def record_post(request: Any) -> None:
        if request.method == "POST":
            posts.append(request.url)

    page.on("request", record_post)
    # Beacons leave as the page unloads, unseen by Playwright: the page records its own.
    page.add_init_script(RECORD_BEACONS)
    # A long interval and a large batch size: nothing is sent until the page goes away.
    opts = json.dumps({"flushInterval": 600_000, "flushAt": 100})
    _open(page, f"{shop}/shop.html?opts={opts}")
    ids = page.evaluate(
        """() => [intellishop.cartViewed({cart_id: "c_1"}),
                  intellishop.productRemoved({product_id: "p_1"}),
                  intellishop.track("Wishlist Opened")]"""
    )
    page.wait_for_timeout(300)
    assert not set(ids) & set(_ids(collector.events())), "sent before the page was hidden"
    assert posts == []
    page.goto("about:blank")
    events = collector.wait_for(_has(ids))
    assert all(_ids(events)[i] == 1 for i in ids)
    assert posts == [], "the events went with send_beacon, not fetch"
    page.go_back()
    beacons = page.evaluate("() => JSON.parse(sessionStorage.getItem('test_beacons') || '[]')")
    assert beacons and all(b["ok"] for b in beacons), beacons
    assert all(b["url"] == f"{collector.url}/v1/batch?key={collector.key}" for b in beacons)


def test_events_tracked_during_an_outage_survive_a_reload_and_arrive_once(
    page: Any, shop: str, collector: RunningCollector
) -> None:
    _open(page, f"{shop}/self.html")  # the tracker from the shop: the collector will be down
    anonymous_id = _user(page)["anonymousId"]
    collector.wait_for(lambda evs: any(e.anonymous_id == anonymous_id for e in evs))
    collector.stop()
    try:
        before = page.evaluate(
            "() => [1, 2, 3, 4, 5].map((n) => intellishop.track('Product Clicked', {n}))"
        )
        page.wait_for_function("() => intellishop.attempt >= 2")  # retried, still failing
        stored = page.evaluate(
            """() => Object.keys(localStorage).filter((k) => k.startsWith('intellishop_queue:'))
                 .flatMap((k) => JSON.parse(localStorage.getItem(k)).q.map((m) => m.messageId))"""
        )
        assert set(before) <= set(stored), "the queue is not persisted"
        page.reload()
        page.wait_for_function("() => !Array.isArray(window.intellishop) && !!intellishop.options")
        queued = page.evaluate("() => intellishop.queue.map((m) => m.messageId)")
        assert set(before) <= set(queued), "the reload lost queued events"
        after = page.evaluate("() => [intellishop.track('Offline After Reload')]")
        page.wait_for_function("() => intellishop.attempt >= 1")
    finally:
        collector.start()
    ids = before + after
    events = collector.wait_for(_has(ids))
    counts = _ids(events)
    assert [counts[i] for i in ids] == [1] * len(ids), "lost or duplicated"
    page.wait_for_function("() => intellishop.queue.length === 0")


def test_a_closed_tabs_queue_is_adopted_by_the_next_page(
    page: Any, shop: str, collector: RunningCollector
) -> None:
    _open(page, f"{shop}/shop.html")
    anonymous_id = _user(page)["anonymousId"]
    orphan_id = "0b0b0b0b-0000-4000-8000-000000000001"
    live_id = "0b0b0b0b-0000-4000-8000-000000000002"
    page.evaluate(
        """([orphan, live, anon]) => {
          const message = (id, event) => ({type: "track", event, messageId: id, anonymousId: anon,
                                           timestamp: new Date().toISOString()});
          localStorage.setItem("intellishop_queue:closed-tab",
            JSON.stringify({t: Date.now() - 120000, q: [message(orphan, "Left Behind")]}));
          localStorage.setItem("intellishop_queue:live-tab",
            JSON.stringify({t: Date.now(), q: [message(live, "Still Mine")]}));
        }""",
        [orphan_id, live_id, anonymous_id],
    )
    page.reload()
    events = collector.wait_for(_has([orphan_id]))
    assert _ids(events)[orphan_id] == 1 and live_id not in _ids(events)
    keys = page.evaluate("() => Object.keys(localStorage)")
    assert "intellishop_queue:closed-tab" not in keys and "intellishop_queue:live-tab" in keys


def test_retry_policy_against_scripted_answers(page: Any) -> None:
    """429 waits for Retry-After, 5xx retries, other 4xx drop the batch, 413 halves it."""
    origin = f"http://127.0.0.1:{free_port()}"  # nothing listens: Playwright answers
    tracker = BROWSER_TRACKER_PATH.read_text()
    html = (
        "<!doctype html><title>Policy</title><script>"
        + tracker
        + "</script><script>intellishop.init({writeKey: 'isk_x', flushAt: 1, flushInterval: 10,"
        " trackPages: false, retryBaseMs: 50, retryMaxMs: 200});</script>"
    )
    answers: list[tuple[int, dict[str, str]]] = []
    calls: list[tuple[float, list[str], int]] = []

    def collector(route: Any) -> None:
        request = route.request
        if request.url.endswith("/shop.html"):
            route.fulfill(status=200, content_type="text/html", body=html)
            return
        assert request.headers["authorization"].startswith("Basic ")
        events = [m["event"] for m in json.loads(request.post_data)["batch"]]
        status, headers = answers.pop(0) if answers else (200, {})
        calls.append((time.monotonic(), events, status))
        route.fulfill(status=status, headers=headers, json={"success": status < 300})

    page.route(f"{origin}/**", collector)
    _open(page, f"{origin}/shop.html")

    answers.extend([(429, {"Retry-After": "1"}), (503, {})])
    page.evaluate("() => intellishop.track('A')")
    page.wait_for_function("() => intellishop.queue.length === 0 && !intellishop.inflight")
    assert [(events, status) for _, events, status in calls] == [
        (["A"], 429),
        (["A"], 503),
        (["A"], 200),
    ]
    assert calls[1][0] - calls[0][0] >= 1.0, "Retry-After was not respected"

    calls.clear()
    answers.append((400, {}))
    page.evaluate("() => intellishop.track('Bad')")
    page.wait_for_function("() => intellishop.queue.length === 0 && !intellishop.inflight")
    page.wait_for_timeout(300)
    assert [(events, status) for _, events, status in calls] == [(["Bad"], 400)]

    calls.clear()
    answers.append((413, {}))
    page.evaluate(
        """() => { intellishop.options.flushAt = 4;
                   ['W', 'X', 'Y', 'Z'].forEach((e) => intellishop.track(e)); }"""
    )
    page.wait_for_function("() => intellishop.queue.length === 0 && !intellishop.inflight")
    assert [(events, status) for _, events, status in calls] == [
        (["W", "X", "Y", "Z"], 413),
        (["W", "X"], 200),
        (["Y", "Z"], 200),
    ]
