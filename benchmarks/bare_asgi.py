"""The HTTP floor for ``benchmarks/ingest.py``: an ASGI app that only reads the body and answers.

Served by the same uvicorn command as the collector (uvloop, httptools, one worker) and sent the
same 100-event bodies, its server CPU per request is what HTTP alone costs the collector: the
part of the collector's CPU per event that no change to its own code can remove.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

ANSWER = b'{"success":true,"accepted":100,"rejected":[],"errors":[]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]


async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Read every body chunk, then answer 200 with a collector-sized JSON body."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


def create_app() -> ASGIApp:
    """uvicorn's ``--factory`` entry point (the collector's command is reused as it is)."""
    return bare_app
