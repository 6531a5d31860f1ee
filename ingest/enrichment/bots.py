"""Is this user agent a crawler? Bots are kept and flagged, never dropped.

Two sources, both offline: the crawler patterns maintained in uap-core (ua-parser's regexes mark
every known crawler with the device family ``Spider``; the data is the ``ua-parser-builtins``
package, updated with each release), and the generic tokens below for the automation that
uap-core does not call a spider (HTTP libraries, headless browsers, monitoring probes).
"""

from __future__ import annotations

import re

#: Tokens of automated clients, matched case-insensitively anywhere in the user agent.
GENERIC_BOT_TOKENS: tuple[str, ...] = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "scrape",
    "headless",
    "phantomjs",
    "puppeteer",
    "playwright",
    "selenium",
    "lighthouse",
    "pingdom",
    "uptime",
    "monitor",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww",
    "wget",
    "curl/",
    "httpclient",
    "facebookexternalhit",
    "feedfetcher",
    "mediapartners",
)

_GENERIC = re.compile("|".join(re.escape(token) for token in GENERIC_BOT_TOKENS), re.IGNORECASE)

#: The device family uap-core gives every crawler it knows.
SPIDER_FAMILY = "Spider"


def looks_automated(user_agent: str, device_family: str | None) -> bool:
    """True for crawlers (uap-core's list) and other automated clients (the generic tokens)."""
    return device_family == SPIDER_FAMILY or _GENERIC.search(user_agent) is not None
