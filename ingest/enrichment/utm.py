"""UTM campaign parameters, from ``context.campaign`` or the page URL's query string.

Segment's libraries put the parsed ``utm_*`` parameters in ``context.campaign`` as ``source``,
``medium``, ``name`` (from utm_campaign), ``term`` and ``content``. Server-side senders and
hand-written clients often send only ``context.page.url``; the same fields are taken from its
query string then, so attribution does not depend on which library a shop uses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

#: Query parameter -> ``context.campaign`` key (Segment's names).
UTM_PARAMETERS: dict[str, str] = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
}
MAX_URL_CHARS = 4096
MAX_VALUE_CHARS = 255


def campaign_from_url(url: str) -> dict[str, str]:
    """The UTM parameters of a URL as Segment's campaign fields (empty when there are none).

    A hand-rolled query scan, cached per URL: ``urllib.parse`` costs more than the rest of an
    event's validation, and a session sends its landing URL many times.
    """
    if "utm_" not in url or len(url) > MAX_URL_CHARS:
        return {}
    return dict(_campaign_from_url(url))


@lru_cache(maxsize=4096)
def _campaign_from_url(url: str) -> tuple[tuple[str, str], ...]:
    query = url.partition("?")[2].partition("#")[0]
    campaign: dict[str, str] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        name = UTM_PARAMETERS.get(key)
        if name is None and ("%" in key or key[:4].lower() == "utm_"):
            name = UTM_PARAMETERS.get(unquote_plus(key).lower())
        if name is not None and value and name not in campaign:
            if "%" in value or "+" in value:
                value = unquote_plus(value)
            campaign[name] = value[:MAX_VALUE_CHARS]
    return tuple(campaign.items())


def campaign_of(context: dict[str, Any]) -> dict[str, Any] | None:
    """The campaign to store: the client's ``context.campaign`` if it sent one, else the URL's."""
    campaign = context.get("campaign")
    if isinstance(campaign, dict) and campaign:
        return campaign
    page = context.get("page")
    url = page.get("url") if isinstance(page, dict) else None
    if isinstance(url, str):
        return campaign_from_url(url) or None
    return None
