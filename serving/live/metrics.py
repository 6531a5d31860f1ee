"""One tenant's live numbers, folded from its events as they arrive.

- ``active_users``: distinct people (user id, else anonymous id) with an event received in the
  last ``ACTIVE_SECONDS`` (5 minutes), by the collector's clock (``received_at``), which a
  client with a wrong clock cannot move;
- ``orders_today`` / ``revenue_today``: ``Order Completed`` events whose (skew-corrected) time
  falls on today's date in the tenant's time zone, each order id counted once (a retried
  event does not double the revenue); revenue is ``properties.revenue``, else ``total``, else
  the sum of the products' price x quantity;
- ``events_per_minute``: events received in the last 60 seconds, and a series of the last
  ``SERIES_MINUTES`` whole minutes;
- ``latest_orders``: the ``LATEST_ORDERS`` most recent orders.

Crawler traffic (``context.intellishop.is_bot``) and the API's own "Recommendations Served"
events are not shop activity and are left out of every number.
"""

from __future__ import annotations

import collections
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from intellishop.events import LoggedEvent

ACTIVE_SECONDS = 300
SERIES_MINUTES = 15
LATEST_ORDERS = 10
ORDER_EVENT = "Order Completed"
_MINUTE_US = 60_000_000
_BOT_MARKER = b'"is_bot":true'
_SERVING_MARKER = b"intellishop-serving"
_json = msgspec.json.Decoder()


def order_revenue(properties: dict[str, Any]) -> float:
    """What the order is worth, the way the e-commerce spec allows it to be sent."""
    for name in ("revenue", "total"):
        value = properties.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    total = 0.0
    for product in properties.get("products") or []:
        if isinstance(product, dict):
            try:
                total += float(product.get("price") or 0) * float(product.get("quantity") or 1)
            except (TypeError, ValueError):
                continue
    return total


class TenantLive:
    """The live numbers of one tenant (not thread-safe: the hub's event loop owns it)."""

    def __init__(self, tenant_id: str, timezone: str, currency: str) -> None:
        self.tenant_id = tenant_id
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.currency = currency
        self._last_seen: dict[str, int] = {}
        self._orders: dict[date, tuple[int, float]] = {}
        self._order_ids: dict[date, set[str]] = {}
        self._minutes: collections.OrderedDict[int, int] = collections.OrderedDict()
        self._latest: collections.deque[dict[str, Any]] = collections.deque(maxlen=LATEST_ORDERS)
        #: Increases with every change: a client can tell two snapshots apart.
        self.sequence = 0

    def _day(self, micros: int) -> date:
        return datetime.fromtimestamp(micros / 1e6, tz=UTC).astimezone(self.zone).date()

    def apply(self, event: LoggedEvent) -> bool:
        """Fold one event in; False when it is not shop activity (bots, the API's own)."""
        context = event.context
        if _BOT_MARKER in context.replace(b" ", b"") or _SERVING_MARKER in context:
            return False
        actor = event.user_id or event.anonymous_id
        if actor is not None:
            seen = self._last_seen.get(actor, 0)
            self._last_seen[actor] = max(seen, event.received_at_us)
        minute = event.received_at_us // _MINUTE_US
        self._minutes[minute] = self._minutes.get(minute, 0) + 1
        if event.event == ORDER_EVENT and event.type == "track":
            self._apply_order(event)
        self.sequence += 1
        return True

    def _apply_order(self, event: LoggedEvent) -> None:
        try:
            properties = _json.decode(event.properties)
        except msgspec.DecodeError:
            return
        if not isinstance(properties, dict):
            return
        order_id = str(properties.get("order_id") or event.message_id)
        day = self._day(event.timestamp_us)
        seen = self._order_ids.setdefault(day, set())
        if order_id in seen:
            return
        seen.add(order_id)
        revenue = order_revenue(properties)
        count, total = self._orders.get(day, (0, 0.0))
        self._orders[day] = (count + 1, total + revenue)
        self._latest.appendleft(
            {
                "order_id": order_id,
                "user_id": event.user_id or event.anonymous_id,
                "revenue": round(revenue, 4),
                "currency": str(properties.get("currency") or self.currency),
                "products": len(properties.get("products") or []),
                "at": datetime.fromtimestamp(event.timestamp_us / 1e6, tz=UTC).isoformat(),
            }
        )

    def prune(self, now_us: int) -> None:
        """Forget what no snapshot can show any more (old actors, minutes and days)."""
        cutoff = now_us - ACTIVE_SECONDS * 1_000_000
        if len(self._last_seen) > 1000 or any(t < cutoff for t in self._last_seen.values()):
            self._last_seen = {a: t for a, t in self._last_seen.items() if t >= cutoff}
        oldest_minute = now_us // _MINUTE_US - SERIES_MINUTES
        while self._minutes and next(iter(self._minutes)) < oldest_minute:
            self._minutes.popitem(last=False)
        today = self._day(now_us)
        for day in [d for d in self._orders if (today - d).days > 1]:
            self._orders.pop(day, None)
            self._order_ids.pop(day, None)

    def snapshot(self, now_us: int) -> dict[str, Any]:
        self.prune(now_us)
        cutoff = now_us - ACTIVE_SECONDS * 1_000_000
        today = self._day(now_us)
        orders, revenue = self._orders.get(today, (0, 0.0))
        this_minute = now_us // _MINUTE_US
        series = [
            {
                "minute": datetime.fromtimestamp(m * 60, tz=UTC).isoformat(),
                "events": self._minutes.get(m, 0),
            }
            for m in range(this_minute - SERIES_MINUTES + 1, this_minute + 1)
        ]
        # Events in the last 60 s: this minute's count plus the prorated previous minute.
        into_minute = (now_us % _MINUTE_US) / _MINUTE_US
        last_60s = self._minutes.get(this_minute, 0) + round(
            self._minutes.get(this_minute - 1, 0) * (1 - into_minute)
        )
        return {
            "type": "snapshot",
            "tenant_id": self.tenant_id,
            "sequence": self.sequence,
            "as_of": datetime.fromtimestamp(now_us / 1e6, tz=UTC).isoformat(),
            "timezone": self.timezone,
            "day": today.isoformat(),
            "currency": self.currency,
            "active_users": sum(1 for t in self._last_seen.values() if t >= cutoff),
            "orders_today": orders,
            "revenue_today": round(revenue, 4),
            "events_per_minute": last_60s,
            "events_per_minute_series": series,
            "latest_orders": list(self._latest),
        }
