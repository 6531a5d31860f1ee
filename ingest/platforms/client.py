"""What a platform webhook says about the shopper's client: IP, user agent, country.

Webhook requests come from Shopify's or WooCommerce's servers, so the request's own IP and user
agent say nothing about the shopper. The payloads do: Shopify orders carry ``browser_ip`` and
``client_details`` (``browser_ip``, ``user_agent``), WooCommerce orders ``customer_ip_address``
and ``customer_user_agent``, and both carry shipping and billing addresses with a country
code. Their events are enriched from that, exactly like collector events
(:class:`ingest.enrichment.ContextEnricher`): ``context.location.country`` (from the shipping
address, else the billing address, else the IP), ``context.intellishop`` (device, browser, OS,
bot flag) from the user agent, and the IP kept in ``context.ip`` only for tenants that opted in
(``store_ip``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from intellishop.events import LoggedEvent

from ..enrichment import ContextEnricher


class _ShopifyAddress(msgspec.Struct):
    country_code: str | None = None


class _ShopifyClientDetails(msgspec.Struct):
    browser_ip: str | None = None
    user_agent: str | None = None


class _ShopifyCustomer(msgspec.Struct):
    default_address: _ShopifyAddress | None = None


class _ShopifyClientView(msgspec.Struct):
    """The client fields of a Shopify order, checkout or customer payload (others ignored)."""

    browser_ip: str | None = None
    client_details: _ShopifyClientDetails | None = None
    shipping_address: _ShopifyAddress | None = None
    billing_address: _ShopifyAddress | None = None
    default_address: _ShopifyAddress | None = None
    customer: _ShopifyCustomer | None = None


class _WooAddress(msgspec.Struct):
    country: str | None = None


class _WooClientView(msgspec.Struct):
    """The client fields of a WooCommerce order or customer payload (others ignored)."""

    customer_ip_address: str | None = None
    customer_user_agent: str | None = None
    shipping: _WooAddress | None = None
    billing: _WooAddress | None = None


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """The shopper's IP, user agent and country code, where the payload has them."""

    ip: str | None = None
    user_agent: str | None = None
    country: str | None = None


def _country(*codes: str | None) -> str | None:
    """The first well-formed ISO 3166 alpha-2 code, upper case."""
    for code in codes:
        if code and len(code.strip()) == 2 and code.strip().isalpha():
            return code.strip().upper()
    return None


def _text(value: str | None) -> str | None:
    return value.strip() or None if value else None


_shopify_view = msgspec.json.Decoder(_ShopifyClientView)
_woo_view = msgspec.json.Decoder(_WooClientView)


def shopify_client(body: bytes) -> ClientInfo:
    """Client info of a Shopify payload; an unexpected shape gives an empty one, never an error
    (the mapping already accepted the payload; enrichment must not cost the shop its event)."""
    try:
        view = _shopify_view.decode(body)
    except msgspec.DecodeError:
        return ClientInfo()
    details = view.client_details or _ShopifyClientDetails()
    customer_address = view.customer.default_address if view.customer else None
    return ClientInfo(
        ip=_text(details.browser_ip) or _text(view.browser_ip),
        user_agent=_text(details.user_agent),
        country=_country(
            *(
                address.country_code if address else None
                for address in (
                    view.shipping_address,
                    view.billing_address,
                    view.default_address,
                    customer_address,
                )
            )
        ),
    )


def woocommerce_client(body: bytes) -> ClientInfo:
    """Client info of a WooCommerce payload (see :func:`shopify_client`)."""
    try:
        view = _woo_view.decode(body)
    except msgspec.DecodeError:
        return ClientInfo()
    return ClientInfo(
        ip=_text(view.customer_ip_address),
        user_agent=_text(view.customer_user_agent),
        country=_country(
            view.shipping.country if view.shipping else None,
            view.billing.country if view.billing else None,
        ),
    )


_context_decoder = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


def enrich_events(
    events: list[LoggedEvent], client: ClientInfo, store_ip: bool
) -> list[LoggedEvent]:
    """The events with their contexts enriched from ``client`` like collector events."""
    enricher = ContextEnricher(request_ip=None, store_ip=store_ip)
    enriched: list[LoggedEvent] = []
    for event in events:
        context = _context_decoder.decode(event.context)
        if client.ip:
            context["ip"] = client.ip
        if client.user_agent:
            context["userAgent"] = client.user_agent
        if client.country:
            location = context.get("location")
            context["location"] = {
                **(location if isinstance(location, dict) else {}),
                "country": client.country,
            }
        context = enricher(context)
        enriched.append(msgspec.structs.replace(event, context=_encoder.encode(context)))
    return enriched
