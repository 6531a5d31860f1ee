"""Enrichment at ingest: country from the IP, device from the user agent, bot flag, UTM.

What is derived is written into the stored ``context`` (Segment's own places where one exists):

- ``context.location.country``: ISO country code from the client IP, unless the client sent one;
- ``context.campaign``: the ``utm_*`` parameters of ``context.page.url`` when the client sent no
  campaign (see :mod:`.utm`);
- ``context.intellishop``: ``{is_bot, device_type, browser, os}`` from ``context.userAgent``
  (our namespace: Segment's ``context.device.type`` means the SDK platform, "ios"/"android").

The raw IP is personal data: ``context.ip`` is removed before the event is stored unless the
tenant opted in (``Tenant.store_ip``), in which case the request's IP is kept there when the client
sent none. The country is stored either way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import msgspec

from . import geo, user_agent
from .context_view import UNSET, ContextView, LocationView, PageView, encode_view
from .geo import country_for_ip
from .user_agent import MAX_USER_AGENT_CHARS, describe_user_agent
from .utm import campaign_from_url, campaign_of

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def _networks(trusted_proxies: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in trusted_proxies)


def _is_trusted(ip: str, networks: Sequence[IpNetwork]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def warm_up() -> None:
    """Load the geo data and the user-agent parser before serving, not inside a request.

    Each loads on first use (0.1-0.2 s apiece), inside whichever request first needed it, and
    every request in flight waited with it: ``benchmarks/ingest.py`` saw 16 requests take
    110-230 ms at once, in one run 66k events in, when the first user agent was parsed.
    """
    geo.load()
    user_agent.load()


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[str]
) -> str | None:
    """The visitor's IP: the peer, or X-Forwarded-For's last hop not run by a trusted proxy.

    X-Forwarded-For is read only when the peer itself is a trusted proxy; anyone can write the
    header, so otherwise it would let a client choose its own country. Hops are read right to
    left, since each proxy appends the address it saw.
    """
    if peer is None or not forwarded_for or not trusted_proxies:
        return peer
    networks = _networks(tuple(trusted_proxies))
    if not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def device_of(user_agent: str) -> dict[str, Any]:
    """``context.intellishop`` for a user agent, cached by the user-agent string.

    A shop's traffic repeats a few thousand user agents, so the dict is built once per agent
    and shared by every event that carries it: callers encode it and must not change it. The
    key is the parsed prefix only, so hostile megabyte-long agents cannot bloat the cache.
    """
    return _device_of(user_agent[:MAX_USER_AGENT_CHARS])


@lru_cache(maxsize=8192)
def _device_of(user_agent: str) -> dict[str, Any]:
    info = describe_user_agent(user_agent)
    return {
        "is_bot": info.is_bot,
        "device_type": info.device_type,
        "browser": info.browser,
        "os": info.os,
    }


_NO_USER_AGENT: dict[str, Any] = {"is_bot": False}


_NO_USER_AGENT_JSON = msgspec.Raw(msgspec.json.encode(_NO_USER_AGENT))


@lru_cache(maxsize=8192)
def _device_json(user_agent: str) -> msgspec.Raw:
    """:func:`device_of` as JSON, for the parsed prefix of a user agent."""
    return msgspec.Raw(msgspec.json.encode(_device_of(user_agent)))


@dataclass(frozen=True, slots=True)
class ContextEnricher:
    """Enriches the contexts of one request's events (the request IP and tenant rule are fixed)."""

    request_ip: str | None
    store_ip: bool

    def __call__(self, context: dict[str, Any]) -> dict[str, Any]:
        """A new context with the derived fields; the given dict is not changed."""
        enriched = self.in_place(dict(context))
        enriched["intellishop"] = dict(enriched["intellishop"])
        return enriched

    def in_place(self, enriched: dict[str, Any]) -> dict[str, Any]:
        """Add the derived fields to ``enriched`` itself and return it (the collector's path:
        each event's context is decoded for it alone, so copying it would be wasted work).
        ``enriched["intellishop"]`` is shared between events of one user agent: encode it,
        do not change it."""
        sent_ip = enriched.pop("ip", None)
        ip = sent_ip if isinstance(sent_ip, str) and sent_ip else self.request_ip
        if self.store_ip and ip:
            enriched["ip"] = ip

        location = enriched.get("location")
        if not (isinstance(location, dict) and location.get("country")):
            country = country_for_ip(ip) if ip else None
            if country is not None:
                enriched["location"] = (
                    {**location, "country": country}
                    if isinstance(location, dict)
                    else {"country": country}
                )

        campaign = campaign_of(enriched)
        if campaign is not None:
            enriched["campaign"] = campaign

        user_agent = enriched.get("userAgent")
        if isinstance(user_agent, str) and user_agent:
            enriched["intellishop"] = device_of(user_agent)
        else:
            enriched["intellishop"] = _NO_USER_AGENT
        return enriched

    def view_json(self, view: ContextView) -> bytes:
        """:meth:`in_place` done on a :class:`ContextView` (changed, not copied), encoded: the
        context to store, as JSON.

        The collector's path (:func:`ingest.validation.validate_batch` decodes contexts into
        views): it means what :meth:`in_place`'s dict encodes to, members in the view's order.
        Decoded values have exact types, so ``type(...) is`` stands for ``isinstance`` here.
        """
        sent_ip = view.ip
        ip = sent_ip if type(sent_ip) is str and sent_ip else self.request_ip
        view.ip = ip if self.store_ip and ip else UNSET

        location = view.location
        if not (type(location) is LocationView and location.country):
            country = country_for_ip(ip) if ip else None
            if country is not None:
                if type(location) is LocationView:
                    location.country = country
                else:
                    view.location = LocationView(country=country)

        campaign = view.campaign
        if not (type(campaign) is dict and campaign):
            page = view.page
            url = page.url if type(page) is PageView else None
            if type(url) is str and "utm_" in url:
                derived = campaign_from_url(url)
                if derived:
                    view.campaign = derived

        user_agent = view.userAgent
        if type(user_agent) is str and user_agent:
            view.intellishop = _device_json(user_agent[:MAX_USER_AGENT_CHARS])
        else:
            view.intellishop = _NO_USER_AGENT_JSON
        return encode_view(view)


__all__ = [
    "ContextEnricher",
    "client_ip",
    "country_for_ip",
    "describe_user_agent",
    "device_of",
]
