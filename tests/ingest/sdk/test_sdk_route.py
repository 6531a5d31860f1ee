"""`/sdk/v1/intellishop.js`: the tracker, a JavaScript type, caching and ETag revalidation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.sdk import BROWSER_TRACKER_PATH
from intellishop.settings import Settings

URL = "/sdk/v1/intellishop.js"


def test_serves_the_tracker_with_cache_headers_and_etag(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get(URL, headers={"Origin": "https://shop.example"})
        assert response.status_code == 200
        assert response.content == BROWSER_TRACKER_PATH.read_bytes()
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "max-age=3600" in response.headers["cache-control"]
        etag = response.headers["etag"]
        assert etag.startswith('"') and len(etag) == 34

        again = client.get(URL, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        weak = client.get(URL, headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        stale = client.get(URL, headers={"If-None-Match": '"an-older-version"'})
        assert stale.status_code == 200 and stale.content == response.content

        head = client.head(URL)
        assert head.status_code == 200 and head.headers["etag"] == etag


def test_documented_snippet_is_the_tested_one() -> None:
    """docs/sdk.md shows the exact snippet that the browser tests load the tracker with."""
    docs = (BROWSER_TRACKER_PATH.parents[3] / "docs" / "sdk.md").read_text()
    snippet = (BROWSER_TRACKER_PATH.parent / "snippet.html").read_text()
    assert snippet.strip() in docs
