"""Where visits come from: traffic sources, UTM campaigns, and the crawlers that also come by.

Campaign tagging follows what analytics.js does: ``context.campaign`` is parsed from the
``utm_*`` parameters of the page's URL, so only the landing page's events carry it, and its
``referrer`` is the external site. Email visits exist only for people with an email address.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from intellishop.simulation.shoppers import pick

Landing = Literal["home", "category", "product", "search", "cart"]


@dataclass(frozen=True, slots=True)
class Visit:
    """How one visit arrives: the external referrer, the campaign (if tagged) and the landing."""

    medium: str  # direct, organic, cpc, paid_social, email, social, referral
    referrer: str
    campaign: dict[str, str] | None
    landing: Landing


SEARCH_ENGINES = (
    ("https://www.google.com/", 0.86),
    ("https://www.bing.com/", 0.09),
    ("https://duckduckgo.com/", 0.05),
)
SOCIAL_SITES = (
    ("https://www.instagram.com/", 0.35),
    ("https://l.facebook.com/", 0.25),
    ("https://www.pinterest.com/", 0.15),
    ("https://www.tiktok.com/", 0.15),
    ("https://www.reddit.com/", 0.10),
)
REFERRAL_SITES = (
    ("https://www.reddit.com/r/BuyItForLife/", 0.3),
    ("https://news.ycombinator.com/", 0.1),
    ("https://giftguide.example.org/best-gifts", 0.35),
    ("https://blog.example.net/reviews", 0.25),
)
#: Medium shares for anonymous visitors and for known customers (who open newsletters).
ANONYMOUS_MEDIA = (
    ("direct", 0.22),
    ("organic", 0.38),
    ("cpc", 0.14),
    ("paid_social", 0.07),
    ("social", 0.14),
    ("referral", 0.05),
)
CUSTOMER_MEDIA = (
    ("direct", 0.36),
    ("organic", 0.19),
    ("cpc", 0.08),
    ("paid_social", 0.04),
    ("email", 0.24),
    ("social", 0.06),
    ("referral", 0.03),
)


def choose_visit(
    rng: random.Random,
    *,
    day: date,
    deal_season: bool,
    has_email: bool,
    category_slug: str,
    staple_due: bool,
    cart_waiting: bool,
) -> Visit:
    """The source of one visit; campaigns are named the way marketing teams name them."""
    medium = pick(rng, CUSTOMER_MEDIA if has_email else ANONYMOUS_MEDIA)
    x = rng.random()
    if medium == "direct":
        return Visit("direct", "", None, "home" if x < 0.75 else "product")
    if medium == "organic":
        landing: Landing = "product" if x < 0.55 else "category" if x < 0.85 else "home"
        return Visit("organic", pick(rng, SEARCH_ENGINES), None, landing)
    if medium == "cpc":
        if deal_season and x < 0.5:
            name, landing = "black-friday-sale", "category"
        elif x < 0.7:
            name, landing = f"shopping-{category_slug}", "product"
        elif x < 0.85:
            name, landing = f"generic-{category_slug}", "category"
        else:
            name, landing = "brand-search", "home"
        campaign = {"source": "google", "medium": "cpc", "name": name}
        return Visit("cpc", "https://www.google.com/", campaign, landing)
    if medium == "paid_social":
        source, referrer = (
            ("facebook", "https://l.facebook.com/")
            if x < 0.6
            else ("instagram", "https://l.instagram.com/")
        )
        name = rng.choice(
            ("prospecting-lookalike", "retargeting-viewed", f"{category_slug}-carousel")
        )
        campaign = {"source": source, "medium": "paid_social", "name": name}
        return Visit("paid_social", referrer, campaign, "product")
    if medium == "email":
        if cart_waiting and x < 0.5:
            name, landing = "abandoned-cart", "cart"
        elif staple_due and x < 0.7:
            name, landing = "reorder-reminder", "product"
        elif deal_season and x < 0.6:
            name, landing = "black-friday-early-access", "category"
        else:
            monday = day - timedelta(days=day.weekday())
            name = f"weekly-newsletter-{monday.isoformat()}"
            landing = "category" if x < 0.8 else "home"
        campaign = {"source": "newsletter", "medium": "email", "name": name}
        return Visit("email", "", campaign, landing)
    if medium == "social":
        referrer = pick(rng, SOCIAL_SITES)
        if x < 0.35:
            source = referrer.split(".")[1] if referrer.count(".") >= 2 else "social"
            campaign = {"source": source, "medium": "social", "name": "creator-collab"}
            return Visit("social", referrer, campaign, "product")
        return Visit("social", referrer, None, "product" if x < 0.8 else "home")
    referrer = pick(rng, REFERRAL_SITES)
    return Visit("referral", referrer, None, "product" if x < 0.7 else "category")


@dataclass(frozen=True)
class Crawler:
    name: str
    user_agent: str
    ip_blocks: tuple[str, ...]
    #: Country of the blocks by IP geolocation (where the crawler's servers are).
    country: str
    weight: float


#: Real crawler user agents from their operators' published IP ranges.
CRAWLERS: tuple[Crawler, ...] = (
    Crawler(
        "Googlebot",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html) Chrome/131.0.6778.69 Safari/537.36",
        ("66.249.64.0/20", "66.249.72.0/22", "66.249.79.0/24"),
        "US",
        0.25,
    ),
    Crawler(
        "Googlebot Smartphone",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; "
        "Googlebot/2.1; +http://www.google.com/bot.html)",
        ("66.249.64.0/20", "66.249.72.0/22", "66.249.79.0/24"),
        "US",
        0.25,
    ),
    Crawler(
        "bingbot",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
        "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        ("157.55.39.0/24", "40.77.167.0/24", "207.46.13.0/24"),
        "US",
        0.2,
    ),
    Crawler(
        "AhrefsBot",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        ("54.36.148.0/23", "195.154.122.0/24"),
        "FR",
        0.18,
    ),
    Crawler(
        "SemrushBot",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        ("185.191.171.0/24",),
        "GB",
        0.12,
    ),
)
#: Substrings that mark a crawler's user agent (for tests and for a bot filter's ground truth).
CRAWLER_MARKERS = ("Googlebot", "bingbot", "AhrefsBot", "SemrushBot")
