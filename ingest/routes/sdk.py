"""The browser tracker, served by the collector so a shop needs one host for both.

``/sdk/v1/intellishop.js``: ``v1`` is the tracker's major version (its API); fixes within it
replace the file. Browsers and CDNs keep it an hour, then revalidate with ``If-None-Match``
(a 304 costs no body); the ETag is the content's hash, so a new file is picked up on the first
revalidation. Served to any origin: it is public code, and CORP lets pages with COEP load it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from fastapi import APIRouter, Request, Response

from ..sdk import BROWSER_TRACKER_PATH

router = APIRouter(prefix="/sdk/v1", tags=["sdk"])

#: Fresh for an hour, then revalidated; a stale copy may be used for a day while revalidating.
CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=86400"
MEDIA_TYPE = "text/javascript; charset=utf-8"


@dataclass(frozen=True)
class StaticScript:
    body: bytes
    etag: str


@lru_cache(maxsize=1)
def browser_tracker() -> StaticScript:
    """The tracker's bytes and strong ETag, read once per process."""
    body = BROWSER_TRACKER_PATH.read_bytes()
    return StaticScript(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


@router.get(
    "/intellishop.js",
    summary="The browser tracker (JavaScript, no dependencies)",
    response_class=Response,
)
def intellishop_js(request: Request) -> Response:
    script = browser_tracker()
    headers = {
        "ETag": script.etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if _etag_matches(request.headers.get("if-none-match"), script.etag):
        return Response(status_code=304, headers=headers)
    return Response(script.body, media_type=MEDIA_TYPE, headers=headers)


# HEAD answers like GET (caches and CDNs check freshness with it); one documented operation.
router.add_api_route(
    "/intellishop.js",
    intellishop_js,
    methods=["HEAD"],
    response_class=Response,
    include_in_schema=False,
)
