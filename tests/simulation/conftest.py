"""One simulated shop shared by the simulation tests (generated once: about a second)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from intellishop.simulation import CRAWLER_MARKERS, SimulationConfig, generate_events

#: 45 days ending a week after Black Friday 2024 (29 Nov): the seasonal peak is inside.
SHOP_END = date(2024, 12, 6)
SHOP = SimulationConfig(seed=3, days=45, customers=300, end=SHOP_END)


@pytest.fixture(scope="session")
def shop_events() -> list[dict[str, Any]]:
    return list(generate_events(SHOP))


def is_bot(message: dict[str, Any]) -> bool:
    agent = message.get("context", {}).get("userAgent", "")
    return any(marker in agent for marker in CRAWLER_MARKERS)


def tracks(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "track" and e["event"] == name]


def session_starts(events: list[dict[str, Any]], domain: str = "shop.example.com") -> int:
    """Human visits: page views whose referrer is not the shop itself (a landing page)."""
    return sum(
        1
        for e in events
        if e["type"] == "page"
        and not is_bot(e)
        and not e["properties"]["referrer"].startswith(f"https://{domain}")
    )
