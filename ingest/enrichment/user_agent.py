"""User agent -> device type, browser and OS, with ua-parser (uap-core's regexes, offline).

Parsing one user agent costs about half a millisecond; a shop's traffic repeats a few thousand
distinct user agents, so answers are cached (LRU) and the steady-state cost is a dict lookup.
Only the first :data:`MAX_USER_AGENT_CHARS` characters are parsed, so a hostile megabyte-long
header costs no more than a real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from ua_parser import parse

from .bots import looks_automated

DeviceType = Literal["desktop", "mobile", "tablet", "bot"]
MAX_USER_AGENT_CHARS = 512

_TABLET_DEVICES = ("ipad", "tablet", "kindle", "nexus 7", "nexus 9", "nexus 10", "playbook")
_MOBILE_OSES = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Tizen"})


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """What a user agent says about the visitor's device; browser and OS are family names."""

    device_type: DeviceType
    browser: str | None
    os: str | None
    is_bot: bool


def load() -> None:
    """Build ua-parser's matchers now (see :func:`ingest.enrichment.warm_up`): its first
    ``parse`` compiles them, 0.1-0.2 s."""
    parse("")


def describe_user_agent(user_agent: str) -> UserAgentInfo:
    """Device type, browser and OS of a user agent string (cached)."""
    return _describe(user_agent[:MAX_USER_AGENT_CHARS])


@lru_cache(maxsize=8192)
def _describe(user_agent: str) -> UserAgentInfo:
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    os_family = result.os.family if result.os else None
    device_family = result.device.family if result.device else None
    is_bot = looks_automated(user_agent, device_family)
    return UserAgentInfo(
        device_type=_device_type(user_agent, os_family, device_family, is_bot),
        browser=browser if browser != "Other" else None,
        os=os_family if os_family != "Other" else None,
        is_bot=is_bot,
    )


def _device_type(
    user_agent: str, os_family: str | None, device_family: str | None, is_bot: bool
) -> DeviceType:
    if is_bot:
        return "bot"
    lowered = user_agent.lower()
    family = (device_family or "").lower()
    if any(marker in family or marker in lowered for marker in _TABLET_DEVICES):
        return "tablet"
    if os_family == "Android":
        # Android phones say "Mobile"; Android tablets do not (Google's own guidance).
        return "mobile" if "mobile" in lowered else "tablet"
    if os_family in _MOBILE_OSES or "mobi" in lowered:
        return "mobile"
    return "desktop"
