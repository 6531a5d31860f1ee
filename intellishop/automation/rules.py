"""What a tenant writes: an automation rule (trigger, conditions, timing, actions).

The same pydantic models validate API bodies (so a bad rule is a 422 naming the field) and the
JSON the store keeps, so a stored rule is always one the API would accept.

Triggers are Segment event names (``Checkout Started``) or the worker's own trigger events:
``Win-back Due`` (a scheduled scan of customers), ``Price Dropped`` and ``Back In Stock`` (the
catalog changed for a product the person viewed). See :mod:`intellishop.automation.flows`.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .conditions import Condition

#: Trigger events the worker makes itself (not sent by shops).
WIN_BACK_DUE = "Win-back Due"
PRICE_DROPPED = "Price Dropped"
BACK_IN_STOCK = "Back In Stock"
SYNTHETIC_TRIGGERS = frozenset({WIN_BACK_DUE, PRICE_DROPPED, BACK_IN_STOCK})

#: Built-in email templates (``intellishop/automation/templates/<name>.html``).
EMAIL_TEMPLATES = (
    "generic",
    "abandoned_cart",
    "browse_abandonment",
    "post_purchase",
    "win_back",
    "price_drop",
    "back_in_stock",
)

_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_EVENT_NAME = Annotated[str, Field(min_length=1, max_length=200)]
MAX_DELAY_SECONDS = 90 * 86_400


def check_http_url(value: str) -> str:
    """An absolute http(s) URL with a host and no user info (which would hide the real host)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an absolute http:// or https:// URL, got {value[:100]!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    if len(value) > 2000:
        raise ValueError("must be at most 2000 characters")
    return value


class WebhookAction(BaseModel):
    """POST the trigger, signed with HMAC-SHA256 (see ``docs/automation.md``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["webhook"] = "webhook"
    url: str = Field(description="http(s) URL; private and loopback addresses are refused.")
    secret: str = Field(
        min_length=16, max_length=256, description="Signing key shared with the receiver."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        # Addresses are checked when delivering (DNS may change; the operator may allow some).
        return check_http_url(value)


class EmailAction(BaseModel):
    """An email to the person (address from their identify traits), rendered by Jinja2."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["email"] = "email"
    subject: str = Field(min_length=1, max_length=200)
    template: Literal[
        "generic",
        "abandoned_cart",
        "browse_abandonment",
        "post_purchase",
        "win_back",
        "price_drop",
        "back_in_stock",
    ] = "generic"
    heading: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, max_length=5000, description="Plain text; escaped.")
    recommendations: int = Field(
        default=4, ge=0, le=12, description="Recommended products embedded in the email."
    )
    links: dict[str, str] = Field(
        default_factory=dict,
        description="Named links (e.g. cta -> https://shop.example/cart); the only targets, "
        "with the product links, that the click redirect will send a reader to.",
    )
    product_url: str | None = Field(
        default=None,
        description="Link of a product, with {product_id} in it, e.g. "
        "https://shop.example/p/{product_id}.",
    )

    @field_validator("links")
    @classmethod
    def _links(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 20:
            raise ValueError("at most 20 links")
        for name, url in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name):
                raise ValueError(f"link name {name[:40]!r}: letters, digits, _ and - only")
            check_http_url(url)
        return value

    @field_validator("product_url")
    @classmethod
    def _product_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "{product_id}" not in value:
            raise ValueError("must contain {product_id}")
        check_http_url(value.replace("{product_id}", "p"))
        return value


class AddToSegmentAction(BaseModel):
    """Put the person in a named audience (read back at ``/v1/automations/segments``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["add_to_segment"] = "add_to_segment"
    segment: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")


Action = Annotated[WebhookAction | EmailAction | AddToSegmentAction, Field(discriminator="type")]


class FrequencyCap(BaseModel):
    """At most ``max_actions`` firings of the rule per person per ``window_seconds``."""

    model_config = ConfigDict(extra="forbid")

    max_actions: int = Field(ge=1, le=1000)
    window_seconds: int = Field(ge=60, le=366 * 86_400)


class QuietHours(BaseModel):
    """Local times (tenant's time zone) during which nothing is sent; may wrap midnight."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(description="HH:MM", examples=["21:00"])
    end: str = Field(description="HH:MM", examples=["08:00"])

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError(f"must be HH:MM (24 h), got {value[:20]!r}")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self

    def release_time(self, moment: datetime, timezone: str) -> datetime | None:
        """When quiet hours that contain ``moment`` end (aware, UTC); None if not quiet then."""
        local = moment.astimezone(ZoneInfo(timezone))
        start, end = time.fromisoformat(self.start), time.fromisoformat(self.end)
        now = local.time().replace(tzinfo=None)
        wraps = start > end
        quiet = (start <= now or now < end) if wraps else (start <= now < end)
        if not quiet:
            return None
        day = local.date()
        if wraps and now >= start:
            day = day + timedelta(days=1)
        release = datetime.combine(day, end, tzinfo=ZoneInfo(timezone))
        return release.astimezone(moment.tzinfo)


class RuleSpec(BaseModel):
    """An automation rule as a tenant writes it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    trigger_event: _EVENT_NAME = Field(
        description="Segment event name, or Win-back Due / Price Dropped / Back In Stock."
    )
    conditions: list[Condition] = Field(default_factory=list, max_length=50)
    match: Literal["all", "any"] = "all"
    delay_seconds: int = Field(default=0, ge=0, le=MAX_DELAY_SECONDS)
    cancel_on: list[_EVENT_NAME] = Field(
        default_factory=list,
        max_length=10,
        description="Events by the same person, after the trigger, that cancel a pending action "
        "(e.g. Order Completed cancels an abandoned-cart reminder).",
    )
    frequency_cap: FrequencyCap | None = None
    quiet_hours: QuietHours | None = None
    actions: list[Action] = Field(min_length=1, max_length=5)
    enabled: bool = True
    conversion_window_days: int = Field(default=7, ge=1, le=90)
    experiment: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="Key of an experiment on the email surface: while it runs, each recipient "
        "gets their sticky variant's subject/template/heading/body/recommendations (or nothing, "
        "for a holdout variant) and the exposure is logged; once decided, everyone gets the "
        "winner's. See docs/experiments.md.",
    )
    #: Options of the worker's own triggers (win-back: rescan_days; price drop: viewed_days).
    options: dict[str, float] = Field(default_factory=dict, max_length=10)

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, float]) -> dict[str, float]:
        allowed = {"rescan_days", "viewed_days", "min_drop_percent"}
        unknown = set(value) - allowed
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; allowed: {sorted(allowed)}")
        if any(v < 0 or v > 3650 for v in value.values()):
            raise ValueError("options must be between 0 and 3650")
        return value


class Rule(BaseModel):
    """A stored rule: the spec plus its identity."""

    rule_id: str
    tenant_id: str
    spec: RuleSpec
    created_at: datetime
    updated_at: datetime
