"""HMAC-SHA256 signatures: outbound webhooks, and the tokens of tracking links and pixels.

Webhooks. Each POST carries ``X-IntelliShop-Signature: t=<unix seconds>,v1=<hex>`` where
``hex = HMAC_SHA256(secret, "<t>." + raw body)``. A receiver recomputes it over the raw bytes,
compares in constant time and refuses a ``t`` older than a few minutes (replays). The timestamp
is inside the signed text, so it cannot be changed without breaking the signature.

Tracking tokens. ``<payload>.<signature>``, both base64url, where the payload is the compact JSON
``[delivery id, link number]`` (link -1 for the open pixel). The token says *which registered
link*, never *where to*: the redirect target comes from the store, so a forged or altered token
cannot send a reader anywhere (no open redirect).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

SIGNATURE_HEADER = "X-IntelliShop-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Receivers should refuse signatures older than this (seconds).
DEFAULT_TOLERANCE_SECONDS = 300


def sign_webhook(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify_webhook(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does: the signature matches and is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - t) > tolerance_seconds:
        return False
    expected = sign_webhook(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: str, delivery_id: int, link_no: int) -> str:
    """A signed token for the open pixel (``link_no=-1``) or one registered link."""
    payload = _b64(json.dumps([delivery_id, link_no], separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:16]
    return f"{payload}.{_b64(signature)}"


def read_token(secret: str, token: str) -> tuple[int, int] | None:
    """(delivery id, link number) of a genuine token; None for anything else."""
    if len(token) > 200 or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:16]
    try:
        if not hmac.compare_digest(_unb64(signature), expected):
            return None
        value = json.loads(_unb64(payload))
    except (ValueError, json.JSONDecodeError):
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return None
    return int(value[0]), int(value[1])
