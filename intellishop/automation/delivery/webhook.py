"""Outbound webhooks: signed, idempotent, and never aimed at the shop's own network.

Tenants choose webhook URLs, so a URL is attacker-controlled input (SSRF). Before each call the
host is resolved and *every* address must be public (not private, loopback, link-local,
multicast, reserved or unspecified; IPv4-mapped IPv6 is unwrapped) unless the operator allows
private targets. The request then goes to the checked address itself (the ``Host`` header and
TLS SNI keep the name), so a DNS answer that changes between check and connect (rebinding)
cannot redirect it. Redirects are not followed: a 3xx is a failed delivery.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign_webhook
from . import Outcome

USER_AGENT = "IntelliShop-Webhooks/1"


class RefusedTargetError(ValueError):
    """The URL resolves to an address webhooks may not reach."""


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_multicast
            or ip.is_reserved
            or ip.is_unspecified
        )
        and ip.is_global
    )


def resolve_target(url: str, *, allow_private: bool) -> str:
    """The address to connect to for ``url``; refuses when any resolved address is not public."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise RefusedTargetError(f"not an http(s) URL: {url[:100]!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ConnectionError(f"cannot resolve {host!r}: {error}") from error
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise ConnectionError(f"{host!r} has no address")
    if not allow_private:
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise RefusedTargetError(
                f"{host} resolves to a private, loopback or link-local address ({refused[0]}); "
                "webhooks may only reach public addresses"
            )
    return addresses[0]


def webhook_client() -> httpx.Client:
    """The HTTP client of webhook calls: no redirects, no proxy settings from the environment."""
    return httpx.Client(follow_redirects=False, trust_env=False)


def _pinned_url(url: str, address: str) -> str:
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def send_webhook(
    url: str,
    secret: str,
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    allow_private: bool,
    timeout: float,
    client: httpx.Client | None = None,
) -> Outcome:
    """POST ``payload`` as JSON, signed; one attempt.

    Pass a long-lived ``client`` (see :func:`webhook_client`): making one costs an SSL context,
    more than the call itself on loopback."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    try:
        address = resolve_target(url, allow_private=allow_private)
    except RefusedTargetError as error:
        return Outcome(False, f"refused: {error}", permanent=True)
    except ConnectionError as error:
        return Outcome(False, str(error))
    parts = urlsplit(url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": parts.netloc,
        SIGNATURE_HEADER: sign_webhook(secret, body),
        IDEMPOTENCY_HEADER: idempotency_key,
    }
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    own = client is None
    http = webhook_client() if client is None else client
    try:
        response = http.post(
            _pinned_url(url, address),
            content=body,
            headers=headers,
            extensions=extensions,
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        return Outcome(False, f"{type(error).__name__}: {error}")
    finally:
        if own:
            http.close()
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(True)
    if 300 <= status < 400:
        return Outcome(False, f"HTTP {status}: redirects are not followed")
    permanent = 400 <= status < 500 and status not in (408, 409, 425, 429)
    return Outcome(False, f"HTTP {status}: {response.text[:200]}", permanent=permanent)
