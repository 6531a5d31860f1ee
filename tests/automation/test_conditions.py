"""The condition model: a whitelist of operators on named facts, never code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from intellishop.automation.conditions import Condition, all_hold
from intellishop.automation.config import AutomationConfig
from intellishop.automation.rules import QuietHours
from intellishop.settings import Settings

FACTS = {
    "event": {
        "properties": {"revenue": 120.5, "coupon": "SPRING", "tags": ["sale", "new"]},
        "context": {"location": {"country": "DE"}},
    },
    "customer": {
        "rfm_segment": "champions",
        "churn_probability": 0.72,
        "clv_12m": 340.0,
        "segments": ["vip"],
        "recency_days": 12,
        "flag": None,
    },
}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("event.properties.revenue", "gte", 120.5, True),
        ("event.properties.revenue", "gt", 120.5, False),
        ("event.properties.revenue", "lt", 200, True),
        ("event.properties.coupon", "eq", "SPRING", True),
        ("event.properties.coupon", "ne", "SPRING", False),
        ("event.properties.coupon", "starts_with", "SPR", True),
        ("event.properties.tags", "contains", "sale", True),
        ("event.context.location.country", "in", ["DE", "AT"], True),
        ("event.context.location.country", "not_in", ["DE", "AT"], False),
        ("customer.rfm_segment", "eq", "champions", True),
        ("customer.churn_probability", "gt", 0.7, True),
        ("customer.clv_12m", "lte", 100, False),
        ("customer.segments", "contains", "vip", True),
        ("customer.missing", "eq", None, False),
        ("customer.missing", "gt", 0, False),
        ("customer.missing", "not_exists", None, True),
        ("customer.flag", "exists", None, False),
        ("customer.rfm_segment", "gt", 5, False),  # a string is not compared with a number
    ],
)
def test_operators(field: str, op: str, value: object, expected: bool) -> None:
    assert Condition(field=field, op=op, value=value).holds(FACTS) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "body",
    [
        {"field": "event.x", "op": "__eq__", "value": 1},
        {"field": "event.x", "op": "eval", "value": "1"},
        {"field": "os.system", "op": "eq", "value": 1},
        {"field": "event.__class__.__init__.__globals__", "op": "eq", "value": 1},
        {"field": "event", "op": "eq", "value": 1},
        {"field": "event.x", "op": "in", "value": "DE"},
        {"field": "event.x", "op": "exists", "value": 3},
        {"field": "event.x", "op": "eq", "value": {"$gt": 1}},
        {"field": "event.x", "op": "eq", "value": 1, "extra": True},
    ],
)
def test_unsafe_or_malformed_conditions_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(body)


def test_dunder_paths_cannot_reach_python_attributes() -> None:
    # Lookups go through mappings only: attribute names never resolve to objects.
    condition = Condition(field="customer.keys", op="exists")
    assert condition.holds(FACTS) is False


def test_all_and_any() -> None:
    yes = Condition(field="customer.rfm_segment", op="eq", value="champions")
    no = Condition(field="customer.rfm_segment", op="eq", value="lost")
    assert all_hold([], FACTS)
    assert not all_hold([yes, no], FACTS)
    assert all_hold([yes, no], FACTS, match="any")


def test_quiet_hours_wrap_midnight_in_the_tenants_zone() -> None:
    quiet = QuietHours(start="22:00", end="07:00")
    # 21:30 UTC is 22:30 in Berlin (winter): quiet until 07:00 Berlin = 06:00 UTC next day.
    late = datetime(2026, 1, 10, 21, 30, tzinfo=UTC)
    assert quiet.release_time(late, "Europe/Berlin") == datetime(2026, 1, 11, 6, 0, tzinfo=UTC)
    # The same instant is 16:30 in New York: not quiet.
    assert quiet.release_time(late, "America/New_York") is None
    early = datetime(2026, 1, 11, 3, 0, tzinfo=UTC)  # 04:00 Berlin
    assert quiet.release_time(early, "Europe/Berlin") == datetime(2026, 1, 11, 6, 0, tzinfo=UTC)
    with pytest.raises(ValidationError):
        QuietHours(start="22:00", end="22:00")


def test_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTELLISHOP_AUTOMATION_ALLOW_PRIVATE_TARGETS", "true")
    monkeypatch.setenv("INTELLISHOP_AUTOMATION_POLL_SECONDS", "0.5")
    monkeypatch.setenv("INTELLISHOP_AUTOMATION_SMTP_PORT", "2525")
    config = AutomationConfig.from_settings(Settings())
    assert config.allow_private_targets is True and config.poll_seconds == 0.5
    assert config.smtp_port == 2525 and len(config.tracking_secret) == 64
    monkeypatch.delenv("INTELLISHOP_AUTOMATION_ALLOW_PRIVATE_TARGETS")
    assert AutomationConfig.from_settings(Settings()).allow_private_targets is False
