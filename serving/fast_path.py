"""A cheaper way through FastAPI for the well-formed requests of the hot routes.

Recommendations, similar products and cached analytics answers are called on every shop page
view. Profiling one worker showed FastAPI's dependency solving (seven dependencies and six
query parameters re-analysed per request) costing more CPU than the recommendation itself.
A route built with :class:`FastPathRoute` first offers the request to a *fast handler*: a plain
function of the ASGI scope that parses the few parameters by hand and returns the response, or
``None`` whenever the request is anything but ordinary (a missing or bad key, a parameter out
of range or repeated, an empty value, a pointer to re-read, dependency overrides in tests...).
``None`` hands the request to the FastAPI endpoint unchanged, so every error answer, every 422
body and the OpenAPI schema stay FastAPI's own; the fast handler only ever produces the 200 the
endpoint would have produced, through the same functions. It must decide before doing anything
with side effects (logging a served list, an experiment exposure), so a fallback never doubles
them. Routing, middleware and metrics (the route template label) are unchanged: the fast
handler runs where FastAPI's request handler would.

A fast handler does what its endpoint's dependencies do, by hand: a dependency added to such a
route (or to ``include_router`` of its router) must be added to its fast handler too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .auth import Access, Authenticator, Principal
from .catalog import PublishedCatalog, VersionIndex
from .deps import check_access, principal_for

#: Takes the scope of a matched request; returns its response, or None to let FastAPI answer.
FastHandler = Callable[[Scope], Coroutine[Any, Any, Response | None]]

_FAST_HANDLERS: dict[Callable[..., Any], FastHandler] = {}


def fast_path(endpoint: Callable[..., Any]) -> Callable[[FastHandler], FastHandler]:
    """Register the decorated function as ``endpoint``'s fast handler (see the module doc)."""

    def register(handler: FastHandler) -> FastHandler:
        _FAST_HANDLERS[endpoint] = handler
        return handler

    return register


class FastPathRoute(APIRoute):
    """An ``APIRoute`` that tries its endpoint's fast handler before FastAPI's own handler."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = _FAST_HANDLERS.get(self.endpoint)
        if (
            handler is not None
            and scope.get("method") == "GET"
            and not getattr(scope.get("app"), "dependency_overrides", None)
        ):
            response = await handler(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await super().handle(scope, receive, send)


class QueryArgs:
    """A request's query string, read the way Starlette reads it, refusing the unusual.

    ``ok`` turns False (and the caller hands the request to FastAPI) for a repeated single
    parameter, an empty value, a string out of its length bounds or a number out of range,
    so only requests FastAPI would accept as they are get answered here.
    """

    def __init__(self, scope: Scope) -> None:
        self.ok = True
        self._values: dict[str, list[str]] = {}
        query = scope.get("query_string", b"")
        if query:
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                self._values.setdefault(name, []).append(value)

    def text(
        self, name: str, *, max_length: int = 256, pattern: re.Pattern[str] | None = None
    ) -> str | None:
        values = self._values.get(name)
        if values is None:
            return None
        if len(values) != 1 or not 1 <= len(values[0]) <= max_length:
            self.ok = False
            return None
        if pattern is not None and pattern.fullmatch(values[0]) is None:
            self.ok = False
            return None
        return values[0]

    def choice(self, name: str, allowed: frozenset[str]) -> str | None:
        value = self.text(name)
        if value is not None and value not in allowed:
            self.ok = False
            return None
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.text(name, max_length=4, pattern=_DIGITS)
        if value is None:
            return default
        number = int(value)
        if not low <= number <= high:
            self.ok = False
        return number

    def texts(self, name: str, max_items: int) -> list[str] | None:
        values = self._values.get(name)
        if values is None:
            return None
        if len(values) > max_items or not all(values):
            self.ok = False
            return None
        return values


_DIGITS = re.compile(r"[1-9][0-9]{0,3}")  # "010", "+1", " 1": FastAPI decides
_CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")


def credential_headers(scope: Scope) -> tuple[str | None, str | None] | None:
    """(Authorization, X-API-Key) as FastAPI's ``Header()`` reads them; None if one repeats
    or is empty (FastAPI's reading of those is left to FastAPI)."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _CREDENTIAL_HEADERS:
            if name in found or not value:
                return None
            found[name] = value.decode("latin-1")
    return found.get(b"authorization"), found.get(b"x-api-key")


def fast_principal(scope: Scope, access: Access) -> Principal | None:
    """The caller when its credential is good and holds ``access``; None for anything else."""
    from intellishop.tenants import api_key_from_headers

    headers = credential_headers(scope)
    if headers is None:
        return None
    authenticator: Authenticator = scope["app"].state.authenticator
    try:
        principal = principal_for(authenticator, api_key_from_headers(*headers))
        check_access(principal, access)
    except HTTPException:
        return None
    return principal


def fast_index(scope: Scope, principal: Principal) -> VersionIndex | None:
    """The tenant's index when it is in memory and known fresh (no file or Redis read)."""
    catalog: PublishedCatalog = scope["app"].state.catalog
    return catalog.current_if_fresh(principal.tenant.tenant_id)
