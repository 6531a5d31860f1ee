"""Rule conditions: a field, an operator from a fixed list, a value. Never ``eval``.

A condition names a fact by a dotted path in one of two namespaces:

- ``event.*``: the trigger event (``event.properties.revenue``, ``event.context.location.country``,
  ``event.event``);
- ``customer.*``: what is known of the person (``customer.rfm_segment``, ``customer.recency_days``,
  ``customer.churn_probability``, ``customer.clv_12m``, ``customer.country``,
  ``customer.segments``, ``customer.traits.plan``, ...).

A missing fact never matches a comparison (only ``not_exists``), so a rule on churn probability
stays quiet until the scores are published rather than firing on a default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Operator = Literal[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "exists",
    "not_exists",
]

FIELD_PATTERN = re.compile(r"(event|customer)(\.[A-Za-z0-9_$-]{1,64}){1,6}")

_MISSING = object()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _ordered(check: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        left, right = _number(actual), _number(expected)
        if left is not None and right is not None:
            return check(left, right)
        if isinstance(actual, str) and isinstance(expected, str):
            return _str_compare(check, actual, expected)
        return False

    return compare


def _str_compare(check: Callable[[float, float], bool], left: str, right: str) -> bool:
    # Strings (ISO dates, codes) compare lexically: map the comparison onto -1/0/1.
    sign = (left > right) - (left < right)
    return check(float(sign), 0.0)


def _equal(actual: Any, expected: Any) -> bool:
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    return bool(actual == expected)


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return expected in actual
    if isinstance(actual, list):
        return any(_equal(item, expected) for item in actual)
    return False


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _equal,
    "ne": lambda a, e: not _equal(a, e),
    "gt": _ordered(lambda a, b: a > b),
    "gte": _ordered(lambda a, b: a >= b),
    "lt": _ordered(lambda a, b: a < b),
    "lte": _ordered(lambda a, b: a <= b),
    "in": lambda a, e: isinstance(e, list) and any(_equal(a, item) for item in e),
    "not_in": lambda a, e: isinstance(e, list) and not any(_equal(a, item) for item in e),
    "contains": _contains,
    "starts_with": lambda a, e: isinstance(a, str) and isinstance(e, str) and a.startswith(e),
}


class Condition(BaseModel):
    """One test on one fact, e.g. ``{"field": "customer.churn_probability", "op": "gt",
    "value": 0.6}``."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        description="`event.<path>` or `customer.<path>`, dotted.",
        examples=["event.properties.revenue", "customer.rfm_segment"],
    )
    op: Operator
    value: Any = None

    @field_validator("field")
    @classmethod
    def _check_field(cls, value: str) -> str:
        if not FIELD_PATTERN.fullmatch(value) or "__" in value:
            raise ValueError(
                "field must be 'event.<path>' or 'customer.<path>' (letters, digits, _ - $, no "
                f"'__'; at most 6 parts), got {value[:80]!r}"
            )
        return value

    @model_validator(mode="after")
    def _check_value(self) -> Condition:
        if self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or len(self.value) > 1000:
                raise ValueError(f"'{self.op}' takes a list of at most 1000 values")
        elif self.op in ("exists", "not_exists"):
            if self.value is not None:
                raise ValueError(f"'{self.op}' takes no value")
        elif self.op in ("gt", "gte", "lt", "lte"):
            if _number(self.value) is None and not isinstance(self.value, str):
                raise ValueError(f"'{self.op}' compares with a number or a string")
        elif isinstance(self.value, dict | list):
            raise ValueError(f"'{self.op}' compares with a single value, not a list or object")
        return self

    def holds(self, facts: Mapping[str, Any]) -> bool:
        """Whether the condition is true of ``facts`` (``{"event": {...}, "customer": {...}}``)."""
        actual = lookup(facts, self.field)
        if self.op == "exists":
            return actual is not _MISSING and actual is not None
        if self.op == "not_exists":
            return actual is _MISSING or actual is None
        if actual is _MISSING or actual is None:
            return False
        return _OPERATORS[self.op](actual, self.value)


def lookup(facts: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or a private sentinel when some part is missing."""
    current: Any = facts
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def all_hold(
    conditions: Sequence[Condition], facts: Mapping[str, Any], *, match: str = "all"
) -> bool:
    """``match="all"``: every condition holds (true when there are none); ``"any"``: one does."""
    if not conditions:
        return True
    if match == "any":
        return any(c.holds(facts) for c in conditions)
    return all(c.holds(facts) for c in conditions)
