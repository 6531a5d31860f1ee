"""What a simulation run is: the knobs, and the time window they resolve to.

Everything the simulator produces is a function of :class:`SimulationConfig` alone: the same
config (with an explicit ``end``) gives the same events, byte for byte, on any machine. With
``end=None`` the window ends today (UTC) and events later than the moment of generation are
left out, so a demo never holds events from the future; the events that are produced are still
the same for every run on the same day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DAY_MS = 86_400_000


@dataclass(frozen=True)
class SimulationConfig:
    """Knobs of one simulated shop. Defaults give a believable mid-size shop in about 2 s."""

    seed: int = 42
    #: Days of history, ending with ``end`` (inclusive).
    days: int = 60
    #: People who have (or will create) an account and ``identify`` at some point: browsers who
    #: never buy, one-time buyers, loyal repeat buyers and churners.
    customers: int = 500
    #: Catalog size (spread over the categories by their traffic share).
    products: int = 300
    #: Last simulated day (UTC); ``None`` means today (UTC), cut at the moment of generation.
    end: date | None = None
    #: Visitors who never sign up, per customer. Most shop traffic is anonymous: this ratio is
    #: what brings session->order conversion down to the usual 2-4 %.
    anonymous_visitors_per_customer: float = 30.0
    #: Share of all events that come from crawlers (Googlebot, bingbot, AhrefsBot, ...).
    bot_share: float = 0.02
    #: Share of orders refunded (fully or partly) 2-14 days after the purchase.
    refund_rate: float = 0.045
    #: ISO 4217 currency of every price and order.
    currency: str = "USD"
    shop_name: str = "Acme Store"
    shop_domain: str = "shop.example.com"

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.products < 20:
            raise ValueError("products must be at least 20 (a few per category)")
        if self.anonymous_visitors_per_customer < 0:
            raise ValueError("anonymous_visitors_per_customer must not be negative")
        if not 0 <= self.bot_share < 0.5:
            raise ValueError("bot_share must be in [0, 0.5)")
        if not 0 <= self.refund_rate <= 1:
            raise ValueError("refund_rate must be in [0, 1]")

    def window(self, now: datetime | None = None) -> Window:
        """The UTC time window this config simulates (``now`` only matters when ``end`` is None)."""
        now = now or datetime.now(UTC)
        last = self.end or now.date()
        first = last - timedelta(days=self.days - 1)
        start_ms = _epoch_ms(first)
        end_ms = _epoch_ms(last) + DAY_MS
        cutoff_ms = end_ms if self.end is not None else min(end_ms, int(now.timestamp() * 1000))
        return Window(
            first=first, days=self.days, start_ms=start_ms, end_ms=end_ms, cutoff_ms=cutoff_ms
        )


@dataclass(frozen=True)
class Window:
    """Simulated days ``[first, first + days)`` in UTC; no event at or after ``cutoff_ms``."""

    first: date
    days: int
    start_ms: int
    end_ms: int
    cutoff_ms: int

    def day(self, index: int) -> date:
        return self.first + timedelta(days=index)


def _epoch_ms(day: date) -> int:
    return (day - date(1970, 1, 1)).days * DAY_MS
