"""Knobs of the automation worker and its delivery, with production defaults.

Operators set them through the one ``Settings`` object (``INTELLISHOP_AUTOMATION_*``); the
rest keep the defaults below. Tests build an
:class:`AutomationConfig` directly with short delays: nothing here sleeps for real minutes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, fields, replace
from typing import Any

from intellishop.settings import Settings

#: How many times a failed delivery is retried before it goes to the dead-letter list.
MAX_RETRIES = 3


@dataclass(frozen=True, slots=True)
class AutomationConfig:
    """Timing, safety and addressing of the automation worker."""

    #: Seconds between polls of the event log and of due actions (the 1-minute bound needs < 60).
    poll_seconds: float = 1.0
    #: Event-log entries read per poll.
    read_limit: int = 500
    #: First retry after this many seconds; then x2 each time, with +-50 % jitter.
    backoff_base_seconds: float = 30.0
    #: A delivery claimed by a worker that died is taken over after this many seconds.
    lease_seconds: float = 30.0
    #: HTTP timeout of one webhook call.
    webhook_timeout_seconds: float = 10.0
    #: Webhooks may reach private, loopback and link-local addresses (an operator's choice only).
    allow_private_targets: bool = False
    #: How often win-back rules and the catalog (price drop, back in stock) are evaluated.
    scan_seconds: float = 3600.0
    #: SMTP server of outgoing email.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    email_from: str = "IntelliShop <no-reply@intellishop.local>"
    #: Public base URL of the serving API, used in tracking pixels and click links.
    tracking_base_url: str = "http://127.0.0.1:8001"
    #: Key of the signed tracking tokens (derived from the admin token unless set).
    tracking_secret: str = field(default="", repr=False)
    #: Deliveries sent at once (a slow receiver does not hold up the others).
    delivery_threads: int = 8

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> AutomationConfig:
        """Defaults, then ``settings.automation_<name>`` where present, then ``overrides``."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            value = getattr(settings, f"automation_{item.name}", None)
            if value is not None:
                values[item.name] = value
        if "tracking_base_url" not in values:
            values["tracking_base_url"] = f"http://{settings.host}:{settings.api_port}"
        config = replace(cls(), **values)
        config = replace(config, **overrides)
        if not config.tracking_secret:
            # A key of its own per installation without another secret to manage: the admin
            # token is already required to be secret in prod.
            derived = hmac.new(
                settings.admin_token.encode(), b"intellishop-automation-tracking", hashlib.sha256
            ).hexdigest()
            config = replace(config, tracking_secret=derived)
        return config
