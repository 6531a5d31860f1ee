"""CORS for the collector's event routes, per tenant: browsers send events from shop sites.

Which origins may send with a key is the tenant's ``allowed_origins`` list (exact
``scheme://host[:port]`` values; no wildcard). The tenant is known from the key, which a browser
sends as ``X-API-Key`` or, with ``navigator.sendBeacon`` (no custom headers), as ``?key=``.

The choices, and why:

- **Preflight** (``OPTIONS`` with ``Access-Control-Request-Method``): a preflight carries no
  headers of the real request, so when the key travels in ``X-API-Key`` the tenant is unknown. It
  is then answered permissively: 204 echoing the Origin, for ``POST`` and the headers the SDKs use.
  That only lets the browser *ask*; the actual request is checked below. When the key is in the
  query string (the preflight's URL has it too), the preflight is checked against the tenant's
  list already, and a disallowed origin gets a 403.
- **Actual request with an Origin**: when the key names a tenant and the Origin is not in its
  list, the answer is a 403 with a message saying so, and the request never reaches the route:
  nothing is stored, even for ``sendBeacon`` "simple" requests whose response the browser
  ignores. When the Origin is allowed, the response echoes it in ``Access-Control-Allow-Origin``
  (never ``*``) with ``Vary: Origin`` and exposes ``Retry-After`` for 429s. No
  ``Access-Control-Allow-Credentials``: the collector uses no cookies.
- **No or unknown key**: passed to the route, which answers 401 (no CORS headers).
- **No Origin header** (servers, Segment's libraries, curl): not a browser; no CORS check.

The Origin header is a browser's promise, not a secret: anything outside a browser can send any
Origin. The check stops *other web sites* from using a shop's key in their visitors' browsers;
the key itself is what authenticates. A key in a web page is public, so pages should carry a
``write`` key (events only; the API refuses it): see :mod:`intellishop.tenants`.

Only ``/v1/*`` is covered; the admin API and everything else get no CORS headers, so browsers
cannot call them from another origin.
"""

from __future__ import annotations

import anyio
import msgspec
from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intellishop.tenants import (
    CachedTenantAuthenticator,
    Tenant,
    TenantError,
    api_key_from_headers,
    normalize_origin,
)

EVENT_PATH_PREFIX = "/v1/"
ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type, Content-Encoding, X-API-Key, Authorization"
PREFLIGHT_MAX_AGE_SECONDS = 600


class TenantCorsMiddleware:
    """Answers preflights and enforces each tenant's allowed origins on ``/v1/*`` (see module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(EVENT_PATH_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
        tenant = await self._tenant(scope, headers, preflight)
        allowed = _origin_allowed(origin, tenant) if tenant is not None else None
        if preflight:
            if allowed is False or _normalized(origin) is None:
                await _forbidden(origin, send)
            else:
                await _preflight_ok(origin, send)
            return
        if allowed is False:
            await _forbidden(origin, send)
            return
        if allowed is None:  # no or unknown key: the route answers 401
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers["Access-Control-Allow-Origin"] = origin
                response_headers["Access-Control-Expose-Headers"] = "Retry-After"
                response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _tenant(self, scope: Scope, headers: Headers, preflight: bool) -> Tenant | None:
        query_key = QueryParams(scope.get("query_string", b"")).get("key")
        if preflight:  # only the query string is the real request's
            api_key = query_key.strip() if query_key else None
        else:
            api_key = api_key_from_headers(
                headers.get("authorization"), headers.get("x-api-key"), query_key
            )
        if not api_key:
            return None
        authenticate: CachedTenantAuthenticator = scope["app"].state.authenticate
        return await anyio.to_thread.run_sync(authenticate, api_key)


def _normalized(origin: str) -> str | None:
    try:
        return normalize_origin(origin)
    except TenantError:
        return None  # "null" (sandboxed frames, file://) and anything malformed


def _origin_allowed(origin: str, tenant: Tenant) -> bool:
    normalized = _normalized(origin)
    return normalized is not None and normalized in tenant.allowed_origins


async def _preflight_ok(origin: str, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_SECONDS).encode()),
                (b"vary", b"Origin"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _forbidden(origin: str, send: Send) -> None:
    body = msgspec.json.encode(
        {
            "success": False,
            "detail": f"origin {origin[:200]!r} may not send events with this API key: add it "
            "to the tenant's allowed origins (`intellishop tenants update <tenant> "
            "--origin <origin>` or the admin API)",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"vary", b"Origin"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
