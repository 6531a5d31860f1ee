"""Delivery channels of the outbox: signed webhooks and SMTP email."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one delivery attempt came to. ``permanent`` failures skip the remaining retries."""

    ok: bool
    error: str = ""
    permanent: bool = False
