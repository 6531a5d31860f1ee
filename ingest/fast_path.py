"""The collection routes' way around FastAPI's request handler.

Every ``/v1/*`` collection endpoint takes the request and one dependency,
:func:`~ingest.limits.admit_request` (key, rate limit), and reads its body itself. FastAPI's
request handler around such an endpoint (dependency solving, endpoint introspection, its exit
stacks and telemetry spans) cost about as much CPU per request as validating a dozen events.
:class:`AdmittedRoute` calls the same dependency and the same endpoint directly instead, inside
the same exception handling Starlette gives a route (so a 401 or a 429 raised by the
dependency, a limit reached by the endpoint, anything else, is answered by the app's own
handlers, byte for byte). Routing, the middleware (CORS, metrics with the route template, the
access log) and the OpenAPI schema are unchanged: only the handler the route runs differs.

It takes FastAPI's own path when a test overrides a dependency (``app.dependency_overrides``),
and refuses at start-up a route that takes anything else (another dependency, a parameter), so
a dependency added later cannot be skipped silently.

:class:`AdmittedRouteDispatch` finds these routes by a dict lookup instead of FastAPI's router,
which tries the app's routes in turn through its included routers and rewrites the scope at
each level: 4 % of the collector's instructions per event with 100-event batches
(docs/benchmarks.md). Only an exact path (no root path) and a method the route takes; anything
else, and every request while a dependency is overridden, goes to the router as before.
``tests/ingest/test_fast_path.py`` sends the same requests through both paths and compares the
answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import admit_request

#: An :class:`AdmittedRoute` endpoint: called with the request and its
#: :class:`~ingest.limits.EventAdmission`, by their parameter names; returns the response.
AdmittedEndpoint = Callable[..., Awaitable[Response]]


class AdmittedRoute(APIRoute):
    """An ``APIRoute`` for an endpoint ``(request, admission: AdmissionDep) -> Response`` that
    runs it without FastAPI's request handler (see the module doc)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        dependant = self.dependant
        calls = [dependency.call for dependency in dependant.dependencies]
        others = (
            dependant.path_params,
            dependant.query_params,
            dependant.header_params,
            dependant.cookie_params,
            dependant.body_params,
            dependant.websocket_param_name,
            dependant.http_connection_param_name,
            dependant.response_param_name,
            dependant.background_tasks_param_name,
            dependant.security_scopes_param_name,
        )
        if calls != [admit_request] or dependant.request_param_name is None or any(others):
            raise TypeError(
                f"{path}: an AdmittedRoute endpoint takes the request and AdmissionDep only "
                "(anything else needs FastAPI's own handler: use APIRoute)"
            )
        self._admitted_endpoint: AdmittedEndpoint = endpoint
        self._request_name: str = dependant.request_param_name
        self._admission_name = str(dependant.dependencies[0].name)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.methods and scope["method"] not in self.methods) or getattr(
            scope.get("app"), "dependency_overrides", None
        ):
            await super().handle(scope, receive, send)
            return
        request = Request(scope, receive, send)

        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            arguments: dict[str, Any] = {self._request_name: request}
            arguments[self._admission_name] = await admit_request(request)
            response = await self._admitted_endpoint(**arguments)
            await response(scope, receive, send)

        await wrap_app_handling_exceptions(answer, request)(scope, receive, send)


class AdmittedRouteDispatch:
    """The app router's entry: requests for an :class:`AdmittedRoute` go to it directly, the
    rest to the router (see the module doc)."""

    def __init__(self, app: FastAPI, routes: Iterable[BaseRoute]) -> None:
        self._app = app
        self._router_app: ASGIApp = app.router.middleware_stack
        self._routes = {route.path: route for route in routes if isinstance(route, AdmittedRoute)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._routes.get(scope["path"]) if scope["type"] == "http" else None
        if (
            route is None
            or scope.get("root_path")
            or scope["method"] not in (route.methods or ())
            or self._app.dependency_overrides
        ):
            await self._router_app(scope, receive, send)
            return
        # What the router's match would add to the scope (no path parameters here).
        scope.setdefault("router", self._app.router)
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        scope["route"] = route
        await route.handle(scope, receive, send)


def dispatch_admitted_routes(app: FastAPI, routes: Iterable[BaseRoute]) -> None:
    """Send the requests for ``routes``' :class:`AdmittedRoute` paths past ``app``'s router."""
    app.router.middleware_stack = AdmittedRouteDispatch(app, routes)
