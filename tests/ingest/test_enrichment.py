"""Enrichment at ingest: country, device, bot flag, UTM, client IP and the IP opt-in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.enrichment import ContextEnricher, client_ip
from ingest.enrichment.geo import country_for_ip
from ingest.enrichment.user_agent import describe_user_agent
from ingest.enrichment.utm import campaign_from_url
from ingest.event_log import SqliteEventLog
from ingest.loader import LOADER_CONSUMER
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("81.2.69.160", "GB"),
        ("2a00:1450:4001::1", "DE"),
        ("10.0.0.1", None),
        ("127.0.0.1", None),
        ("::1", None),
        ("not-an-ip", None),
        ("999.1.1.1", None),
        ("", None),
        ("1" * 100, None),
    ],
)
def test_country_for_ip(ip: str, country: str | None) -> None:
    assert country_for_ip(ip) == country


@pytest.mark.parametrize(
    ("user_agent", "device_type", "browser", "os", "is_bot"),
    [
        (IPHONE, "mobile", "Mobile Safari", "iOS", False),
        (IPAD, "tablet", "Mobile Safari", "iOS", False),
        (ANDROID_PHONE, "mobile", "Chrome", "Android", False),
        (ANDROID_TABLET, "tablet", "Chrome", "Android", False),
        (WINDOWS_CHROME, "desktop", "Chrome", "Windows", False),
        (GOOGLEBOT, "bot", "Googlebot", None, True),
        (GPTBOT, "bot", "GPTBot", None, True),
        (HEADLESS, "bot", "HeadlessChrome", "Linux", True),
        ("curl/8.4.0", "bot", "curl", None, True),
        ("python-requests/2.31.0", "bot", "Python Requests", None, True),
    ],
)
def test_user_agent(
    user_agent: str, device_type: str, browser: str | None, os: str | None, is_bot: bool
) -> None:
    info = describe_user_agent(user_agent)
    assert (info.device_type, info.browser, info.os, info.is_bot) == (
        device_type,
        browser,
        os,
        is_bot,
    )


def test_a_huge_user_agent_costs_no_more_than_a_normal_one() -> None:
    info = describe_user_agent(WINDOWS_CHROME + "x" * 1_000_000)
    assert info.device_type == "desktop"


def test_campaign_from_url() -> None:
    url = (
        "https://shop.example/sale?ref=x&utm_source=news%20letter&UTM_MEDIUM=e+mail"
        "&utm_campaign=black-friday&utm_term=shoes&utm_content=hero&utm_source=second#utm_id=1"
    )
    assert campaign_from_url(url) == {
        "source": "news letter",
        "medium": "e mail",
        "name": "black-friday",
        "term": "shoes",
        "content": "hero",
    }
    assert campaign_from_url("https://shop.example/?utm_source=") == {}
    assert campaign_from_url("https://shop.example/p/1") == {}


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # No trusted proxies: the header is the client's to forge, so it is ignored.
        ("203.0.113.9", "8.8.8.8", [], "203.0.113.9"),
        # A peer that is not a trusted proxy cannot choose the client IP either.
        ("203.0.113.9", "8.8.8.8", ["10.0.0.0/8"], "203.0.113.9"),
        # Behind a trusted proxy: the last hop that is not ours is the client.
        ("10.0.0.5", "8.8.8.8", ["10.0.0.0/8"], "8.8.8.8"),
        ("10.0.0.5", "1.2.3.4, 8.8.8.8, 10.0.0.7", ["10.0.0.0/8"], "8.8.8.8"),
        ("10.0.0.5", "10.0.0.8, 10.0.0.7", ["10.0.0.0/8"], "10.0.0.8"),
        ("10.0.0.5", None, ["10.0.0.0/8"], "10.0.0.5"),
        ("::1", "2a00:1450:4001::1", ["::1"], "2a00:1450:4001::1"),
    ],
)
def test_client_ip(peer: str, forwarded: str | None, trusted: list[str], expected: str) -> None:
    assert client_ip(peer, forwarded, trusted) == expected


def test_enricher_derives_fields_and_drops_the_ip_unless_opted_in() -> None:
    context: dict[str, Any] = {
        "ip": "81.2.69.160",
        "userAgent": IPHONE,
        "page": {"url": "https://shop.example/?utm_source=ig&utm_medium=social"},
    }
    enriched = ContextEnricher("8.8.8.8", store_ip=False)(context)
    assert "ip" not in enriched
    assert enriched["location"] == {"country": "GB"}  # context.ip wins over the request's
    assert enriched["campaign"] == {"source": "ig", "medium": "social"}
    assert enriched["intellishop"] == {
        "is_bot": False,
        "device_type": "mobile",
        "browser": "Mobile Safari",
        "os": "iOS",
    }
    assert context["ip"] == "81.2.69.160"  # the caller's dict is not changed

    kept = ContextEnricher("8.8.8.8", store_ip=True)({"userAgent": GOOGLEBOT})
    assert kept["ip"] == "8.8.8.8"
    assert kept["location"] == {"country": "US"}
    assert kept["intellishop"]["is_bot"] is True


def test_client_sent_country_and_campaign_are_kept() -> None:
    context = {
        "location": {"country": "FR", "city": "Lyon"},
        "campaign": {"name": "spring", "source": "google"},
        "page": {"url": "https://shop.example/?utm_source=other"},
    }
    enriched = ContextEnricher("8.8.8.8", store_ip=False)(context)
    assert enriched["location"] == {"country": "FR", "city": "Lyon"}
    assert enriched["campaign"] == {"name": "spring", "source": "google"}
    assert enriched["intellishop"] == {"is_bot": False}


def _stored_contexts(settings: Settings) -> list[dict[str, Any]]:
    entries = SqliteEventLog(settings.event_log_path).read(LOADER_CONSUMER, 100)
    return [json.loads(e.context) for entry in entries for e in entry.batch.events]


def test_collector_stores_enriched_context(settings: Settings) -> None:
    registry = TenantRegistry(settings.tenants_db_path)
    _, private_key = registry.create("Private Shop")
    _, ip_key = registry.create("IP Shop", store_ip=True)
    client = TestClient(create_app(settings))
    event = {
        "type": "track",
        "event": "Product Viewed",
        "userId": "u1",
        "properties": {"product_id": "p1"},
        "context": {"ip": "81.2.69.160", "userAgent": GOOGLEBOT},
    }
    assert client.post("/v1/track", json=event, auth=(private_key, "")).status_code == 200
    assert client.post("/v1/batch", json={"batch": [event]}, auth=(ip_key, "")).status_code == 200
    private, with_ip = _stored_contexts(settings)
    assert "ip" not in private
    assert with_ip["ip"] == "81.2.69.160"
    for context in (private, with_ip):
        assert context["location"]["country"] == "GB"
        assert context["intellishop"]["is_bot"] is True
        assert context["intellishop"]["device_type"] == "bot"


def test_forwarded_for_is_believed_only_from_trusted_proxies(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = TenantRegistry(settings.tenants_db_path).create("Shop", store_ip=True)
    event = {"type": "page", "anonymousId": "a1", "name": "Home"}
    headers = {"X-Forwarded-For": "81.2.69.160"}
    direct = TestClient(create_app(settings), client=("8.8.8.8", 5000))
    assert direct.post("/v1/page", json=event, headers=headers, auth=(key, "")).is_success
    monkeypatch.setenv("INTELLISHOP_TRUSTED_PROXIES", '["10.0.0.0/8"]')
    proxied_settings = Settings()
    assert proxied_settings.trusted_proxies == ["10.0.0.0/8"]
    proxied = TestClient(create_app(proxied_settings), client=("10.1.2.3", 5000))
    assert proxied.post("/v1/page", json=event, headers=headers, auth=(key, "")).is_success
    forged, real = _stored_contexts(settings)
    assert (forged["ip"], forged["location"]["country"]) == ("8.8.8.8", "US")
    assert (real["ip"], real["location"]["country"]) == ("81.2.69.160", "GB")


def test_the_collector_loads_geo_data_and_the_user_agent_parser_before_serving(
    data_dir: Path,
) -> None:
    """Both load on first use (0.1-0.2 s each), which a request would otherwise wait for with
    every request in flight. A fresh interpreter, so that no earlier test loaded them."""
    script = """
import sys
import ua_parser
from fastapi.testclient import TestClient
from ingest.app import create_app
from ingest.enrichment import geo

app = create_app()
assert geo._reader is None and "parser" not in vars(ua_parser), "loaded before start-up"
with TestClient(app):
    assert geo._reader is not None, "the geo data is not loaded"
    assert "parser" in vars(ua_parser), "the user-agent parser is not built"
print("loaded")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "loaded"
