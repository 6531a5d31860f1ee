"""The session walker: people visit, browse, fill carts, check out, come back, and get refunds.

Planning is vectorised (numpy): who visits on which day and at what time follows each person's
habits, the weekday and the season. Walking is sequential (``random.Random``): sessions run in
start order so state carries forward (carts survive between visits, a login stitches the
device's ``anonymousId`` to the ``userId``, a loyal customer re-orders when a staple runs out).
Events go through a heap and come out in ascending timestamp order, refunds days later.

Funnel rates the defaults produce (measured, see the tests): Product Added / Product Viewed
about 8-12 %, orders per human session 2-4 %, about 4 % of orders refunded, 2 % bot events.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np

from intellishop.simulation.catalog import (
    CATEGORIES,
    CATEGORY_INDEX,
    PopularityModel,
    Product,
    build_catalog,
)
from intellishop.simulation.config import DAY_MS, SimulationConfig
from intellishop.simulation.shoppers import (
    COUNTRIES,
    CUSTOMER_KINDS,
    DEVICE_CONVERSION,
    DEVICE_KINDS,
    FIRST_NAMES,
    LAST_NAMES,
    USER_AGENTS,
    Country,
    Device,
    DeviceKind,
    IpPool,
    Shopper,
    ShopperKind,
    email_for,
    pick,
)
from intellishop.simulation.timeline import (
    HOUR_WEIGHTS,
    TimestampFormatter,
    buying_mood,
    day_factors,
    seasonal_factor,
)
from intellishop.simulation.traffic import CRAWLERS, Visit, choose_visit

Message = dict[str, Any]

LIBRARY = {"name": "analytics.js", "version": "next-1.76.0"}
SERVER_LIBRARY = {"name": "analytics-python", "version": "2.3.3"}
MINUTE_MS = 60_000
#: A person's visits closer than this are one visit (the later plan is dropped).
SESSION_GAP_MS = 30 * MINUTE_MS

#: Visits per active day, by kind (times a per-person spread, the weekday and the season).
VISIT_RATE: dict[ShopperKind, float] = {
    "browser": 0.09,
    "one_time": 0.07,
    "loyal": 0.26,
    "churner": 0.30,
    "anonymous": 0.0,
}
#: Chance that a visit is meant to buy, by kind (before device, season and personal spread).
BUY_INTENT: dict[ShopperKind, float] = {
    "browser": 0.0,
    "one_time": 0.40,
    "loyal": 0.20,
    "churner": 0.30,
    "anonymous": 0.0,
}
#: Share of customers whose account predates the window (the rest arrive during it).
EXISTING_CUSTOMER_SHARE = 0.4
#: Average events of a human visit and of a crawl, to plan bots at ``bot_share`` of all events.
EVENTS_PER_HUMAN_SESSION = 6.6
EVENTS_PER_CRAWL = 31.0

PAYMENT_METHODS = (
    ("credit_card", 0.55),
    ("paypal", 0.2),
    ("apple_pay", 0.12),
    ("google_pay", 0.08),
    ("klarna", 0.05),
)
REFUND_REASONS = (
    ("changed_mind", 0.3),
    ("wrong_size", 0.2),
    ("damaged", 0.2),
    ("not_as_described", 0.15),
    ("late_delivery", 0.15),
)


class _Session:
    """Mutable state of one visit while it is walked."""

    __slots__ = (
        "anonymous_id",
        "campaign",
        "country",
        "day",
        "device",
        "ip",
        "locale",
        "page",
        "referrer",
        "shopper",
        "t",
        "user_agent",
        "user_id",
        "zone",
    )

    def __init__(self, shopper: Shopper | None, device: Device | None, t: int, day: int) -> None:
        self.shopper = shopper
        self.device = device
        self.t = t
        self.day = day
        self.anonymous_id = ""
        self.user_id: str | None = None
        self.ip = ""
        self.user_agent = ""
        self.locale = ""
        self.zone = ""
        self.country = ""
        self.page: dict[str, str] = {}
        self.referrer = ""
        self.campaign: dict[str, str] | None = None


class ShopSimulator:
    """Generates one shop's events for a :class:`SimulationConfig`; see :meth:`events`."""

    def __init__(self, config: SimulationConfig, *, now: datetime | None = None) -> None:
        self.config = config
        self.window = config.window(now or datetime.now(UTC))
        self.catalog: list[Product] = build_catalog(config)
        self.popularity = PopularityModel(self.catalog, self.window)
        self.rng = random.Random(f"{config.seed}:sessions")  # noqa: S311 - not secrets
        self.plan_rng = np.random.default_rng([config.seed, 0x5E55])
        self.fmt = TimestampFormatter()
        self.base_url = f"https://{config.shop_domain}"
        self.day_factor = day_factors(self.window)
        days = [self.window.day(d) for d in range(self.window.days)]
        self.mood = [buying_mood(d) for d in days]
        self.deal_season = [seasonal_factor(d) > 1.3 for d in days]
        self.ip_pools = {c.code: IpPool(c.ip_blocks) for c in COUNTRIES}
        self.crawler_pools = [IpPool(c.ip_blocks) for c in CRAWLERS]
        self.staple_categories = [i for i, c in enumerate(CATEGORIES) if c.staple]
        self.category_weights = [(str(i), c.weight) for i, c in enumerate(CATEGORIES)]
        #: 4096 log-normal factors (sigma 0.6) in milliseconds per second of median wait.
        self._spread = [1000 * math.exp(0.6 * self.rng.gauss(0.0, 1.0)) for _ in range(4096)]
        self._heap: list[tuple[int, int, Message]] = []
        self._seq = 0
        self._orders = 0
        self._busy_until: dict[int, int] = {}
        self.shoppers: list[Shopper] = []

    # ------------------------------------------------------------------ public

    def events(self) -> Iterator[Message]:
        """Every message of the window in ascending ``timestamp`` order (ties: creation order).

        One pass only: walking the sessions changes the simulated people (carts, logins).
        """
        starts, who = self._plan()
        heap = self._heap
        cutoff = self.window.cutoff_ms
        for start, index in zip(starts.tolist(), who.tolist(), strict=True):
            while heap and heap[0][0] <= start:
                yield heapq.heappop(heap)[2]
            if start >= cutoff:
                break
            if index < 0:
                self._crawl(start)
            else:
                self._visit(self.shoppers[index], start)
        while heap:
            yield heapq.heappop(heap)[2]

    # ---------------------------------------------------------------- planning

    def _plan(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Start time (epoch ms) and shopper index of every visit, sorted; crawls have index -1."""
        config, window, gen = self.config, self.window, self.plan_rng
        days = window.days
        factor = np.asarray(self.day_factor)
        day_p = factor / factor.sum()

        customers = config.customers
        anonymous = round(customers * config.anonymous_visitors_per_customer)
        first_day = np.zeros(customers, dtype=np.int64)
        last_day = np.full(customers, days, dtype=np.int64)
        rates = np.zeros(customers)
        for i in range(customers):
            shopper = self._new_customer(i)
            self.shoppers.append(shopper)
            rates[i] = VISIT_RATE[shopper.kind] * self.rng.lognormvariate(0.0, 0.45)
            if shopper.created_at_ms is None:  # arrives during the window
                first_day[i] = int(gen.choice(days, p=day_p))
            if shopper.kind == "churner":
                last_day[i] = first_day[i] + int(gen.integers(10, 43))
        for j in range(anonymous):
            self.shoppers.append(self._new_anonymous(customers + j))

        # Customers: a Poisson number of visits per active day; a newcomer's first day has one.
        day_index = np.arange(days)
        active = (day_index[None, :] >= first_day[:, None]) & (
            day_index[None, :] < last_day[:, None]
        )
        counts = gen.poisson(rates[:, None] * factor[None, :]) * active
        new = np.nonzero(first_day > 0)[0]
        counts[new, first_day[new]] = np.maximum(counts[new, first_day[new]], 1)
        c_who, c_day = np.nonzero(counts)
        repeat = counts[c_who, c_day]
        c_who = np.repeat(c_who, repeat)
        c_day = np.repeat(c_day, repeat)

        # Anonymous visitors: arrive on a day, come back a few times over the next weeks. Some
        # arrived in the two weeks before the window (no warm-up dip on the first days); the
        # visitors-per-customer ratio counts those who visit inside the window.
        lead = min(14, days)
        arrival_p = np.concatenate([np.full(lead, factor[0]), factor])
        arrival_p /= arrival_p.sum()
        arrival = gen.choice(days + lead, size=anonymous, p=arrival_p) - lead
        visits = np.minimum(gen.geometric(0.55, size=anonymous), 6)
        gaps = np.ceil(gen.exponential(4.0, size=(anonymous, 5))).astype(np.int64)
        offsets = np.concatenate([np.zeros((anonymous, 1), np.int64), np.cumsum(gaps, axis=1)], 1)
        a_days = arrival[:, None] + offsets
        keep = (np.arange(6)[None, :] < visits[:, None]) & (a_days >= 0) & (a_days < days)
        # Return visits follow the weekly rhythm too: thin them by the day's traffic.
        chance = factor[np.clip(a_days, 0, days - 1)] / factor.max()
        keep[:, 1:] &= gen.random((anonymous, 5)) < chance[:, 1:]
        a_who, a_k = np.nonzero(keep)
        a_day = a_days[a_who, a_k]
        a_who = a_who + customers

        who = np.concatenate([c_who, a_who]).astype(np.int64)
        day = np.concatenate([c_day, a_day]).astype(np.int64)
        offset_s = np.asarray([s.utc_offset_s for s in self.shoppers], dtype=np.int64)
        hour_p = np.asarray(HOUR_WEIGHTS) / sum(HOUR_WEIGHTS)
        local_s = gen.choice(24, size=len(who), p=hour_p) * 3600 + gen.integers(0, 3600, len(who))
        utc_s = (local_s - offset_s[who]) % 86_400
        starts = window.start_ms + day * DAY_MS + utc_s * 1000 + gen.integers(0, 1000, len(who))

        # Crawlers: round the clock, enough visits for bot_share of all events.
        share = config.bot_share
        crawls = round(share / (1 - share) * len(who) * EVENTS_PER_HUMAN_SESSION / EVENTS_PER_CRAWL)
        crawl_starts = gen.integers(window.start_ms, window.end_ms, size=crawls)
        starts = np.concatenate([starts, crawl_starts])
        who = np.concatenate([who, np.full(crawls, -1, dtype=np.int64)])
        order = np.lexsort((who, starts))
        return starts[order], who[order]

    def _person(self, index: int, kind: ShopperKind) -> Shopper:
        rng = self.rng
        country = _pick_country(rng)
        shopper = Shopper(index, kind, country)
        zone = _pick_zone(rng, country)
        shopper.zone, shopper.utc_offset_s = zone[0], zone[1] * 3600
        shopper.locale = pick(rng, country.locales)
        return shopper

    def _device(self, country: Country, kind: DeviceKind | None = None) -> Device:
        rng = self.rng
        kind = kind or _pick_device_kind(rng)
        return Device(
            kind,
            pick(rng, USER_AGENTS[kind]),
            self._uuid(),
            self.ip_pools[country.code].draw(rng),
            self._cart_id(),
        )

    def _new_anonymous(self, index: int) -> Shopper:
        shopper = self._person(index, "anonymous")
        shopper.devices.append(self._device(shopper.country))
        shopper.favourites = [int(pick(self.rng, self.category_weights))]
        return shopper

    def _new_customer(self, index: int) -> Shopper:
        rng = self.rng
        shopper = self._person(index, pick(rng, CUSTOMER_KINDS))  # type: ignore[arg-type]
        country = shopper.country
        # Random like a real shop's ids, so two simulated shops never share a user id.
        shopper.user_id = f"usr_{rng.getrandbits(40):010x}"
        shopper.first_name = rng.choice(FIRST_NAMES[country.names])
        shopper.last_name = rng.choice(LAST_NAMES[country.names])
        shopper.email = email_for(rng, shopper.first_name, shopper.last_name)
        shopper.buy_propensity = rng.lognormvariate(0.0, 0.3)
        devices = 1 + (rng.random() < 0.45) + (rng.random() < 0.15)
        first = self._device(country)
        shopper.devices.append(first)
        for _ in range(devices - 1):
            other: DeviceKind = "desktop" if first.kind != "desktop" else "mobile"
            shopper.devices.append(self._device(country, other if rng.random() < 0.7 else None))
        favourites = {int(pick(rng, self.category_weights)) for _ in range(rng.randint(1, 3))}
        shopper.favourites = sorted(favourites)
        if rng.random() < EXISTING_CUSTOMER_SHARE:
            shopper.signed_up = True
            shopper.created_at_ms = self.window.start_ms - int(rng.uniform(20, 900) * DAY_MS)
            first.logged_in = rng.random() < 0.6
        if shopper.kind == "loyal":
            for _ in range(rng.randint(1, 3)):
                category = rng.choice(self.staple_categories)
                if rng.random() < 0.6:
                    staple_favs = [f for f in shopper.favourites if f in self.staple_categories]
                    category = staple_favs[0] if staple_favs else category
                product = self.popularity.sample_in(rng, 0, category)
                if product not in shopper.staples:
                    shopper.staples.append(product)
            shopper.staple_cycle_days = rng.uniform(14, 35)
            if shopper.signed_up:
                ago = rng.uniform(0, shopper.staple_cycle_days)
                shopper.last_staple_ms = self.window.start_ms - int(ago * DAY_MS)
        return shopper

    # --------------------------------------------------------------- messages

    def _uuid(self) -> str:
        x = self.rng.getrandbits(128)
        h = f"{x:032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[x & 3]}{h[17:20]}-{h[20:]}"

    def _cart_id(self) -> str:
        return f"cart_{self.rng.getrandbits(64):016x}"

    def _emit(self, t: int, message: Message) -> None:
        if t < self.window.cutoff_ms:
            heapq.heappush(self._heap, (t, self._seq, message))
            self._seq += 1

    def _message(self, s: _Session, kind: str) -> Message:
        context: dict[str, Any] = {
            "ip": s.ip,
            "userAgent": s.user_agent,
            "locale": s.locale,
            "timezone": s.zone,
            "library": dict(LIBRARY),
            "location": {"country": s.country},
            "page": dict(s.page),
        }
        if s.campaign is not None:
            context["campaign"] = dict(s.campaign)
        message: Message = {
            "type": kind,
            "messageId": self._uuid(),
            "anonymousId": s.anonymous_id,
            "timestamp": self.fmt(s.t),
            "context": context,
        }
        if s.user_id is not None:
            message["userId"] = s.user_id
        return message

    def _page(self, s: _Session, name: str, path: str, title: str, query: str = "") -> None:
        """A page load: the page call, and the page every later call of this page carries."""
        if s.page:  # leaving the landing page: its utm tags stay behind
            s.campaign = None
        elif s.campaign is not None:  # the landing URL carries the campaign's utm tags
            c = s.campaign
            utm = f"utm_source={c['source']}&utm_medium={c['medium']}&utm_campaign={c['name']}"
            query = f"{query}&{utm}" if query else f"?{utm}"
        url = f"{self.base_url}{path}{query}"
        s.page = {"path": path, "referrer": s.referrer, "search": query, "title": title, "url": url}
        message = self._message(s, "page")
        message["name"] = name
        message["properties"] = dict(s.page)
        self._emit(s.t, message)
        s.referrer = url

    def _track(self, s: _Session, event: str, properties: dict[str, Any]) -> None:
        message = self._message(s, "track")
        message["event"] = event
        message["properties"] = properties
        self._emit(s.t, message)

    def _identify(self, s: _Session, shopper: Shopper) -> None:
        """Login or sign-up: from here on this device's events carry the ``userId`` too."""
        assert shopper.user_id is not None
        if shopper.created_at_ms is None:
            shopper.created_at_ms = s.t
            shopper.signed_up = True
        s.user_id = shopper.user_id
        if s.device is not None:
            s.device.logged_in = True
        message = self._message(s, "identify")
        message["traits"] = {
            "email": shopper.email,
            "first_name": shopper.first_name,
            "last_name": shopper.last_name,
            "country": shopper.country.code,
            "created_at": self.fmt(shopper.created_at_ms),
        }
        self._emit(s.t, message)

    def _wait(self, s: _Session, median_s: float) -> None:
        """Time passes: reading a page, typing a card number (log-normal, in seconds).

        The log-normal factors come from a table drawn once from the seeded generator: one
        ``getrandbits`` per wait instead of a Gaussian draw.
        """
        s.t += int(median_s * self._spread[self.rng.getrandbits(12)]) + 200

    # ------------------------------------------------------------------ visits

    def _visit(self, shopper: Shopper, start: int) -> None:
        rng = self.rng
        if start < self._busy_until.get(shopper.index, 0):
            return
        if shopper.kind == "one_time" and shopper.orders > 0 and rng.random() < 0.65:
            return  # bought once; rarely comes back
        day = (start - self.window.start_ms) // DAY_MS
        devices = shopper.devices
        device = devices[0] if len(devices) == 1 or rng.random() < 0.7 else rng.choice(devices)
        if rng.random() < 0.03:  # cleared cookies: a new anonymousId, logged out
            device.anonymous_id = self._uuid()
            device.logged_in = False
        if device.kind == "mobile" and rng.random() < 0.5:
            device.ip = self.ip_pools[shopper.country.code].draw(rng)

        s = _Session(shopper, device, start, day)
        s.anonymous_id = device.anonymous_id
        s.ip, s.user_agent = device.ip, device.user_agent
        s.locale, s.zone, s.country = shopper.locale, shopper.zone, shopper.country.code

        # What this visit is for.
        staple_due = bool(shopper.staples) and (
            shopper.last_staple_ms is None
            or start - shopper.last_staple_ms > shopper.staple_cycle_days * DAY_MS
        )
        can_buy = _can_buy(shopper)
        buy_chance = (
            (BUY_INTENT[shopper.kind] if can_buy else 0.0)
            * shopper.buy_propensity
            * self.mood[day]
            * DEVICE_CONVERSION[device.kind]
        )
        staple_run = staple_due and rng.random() < 0.75
        buying = staple_run or rng.random() < buy_chance
        if device.cart and shopper.is_customer and rng.random() < 0.3 * min(1.0, buy_chance * 3):
            buying = True  # came back for the abandoned cart
        if shopper.favourites and rng.random() < (0.6 if shopper.is_customer else 0.35):
            category = rng.choice(shopper.favourites)
        else:
            category = CATEGORY_INDEX[self.catalog[self.popularity.sample(rng, day)].category]

        visit = choose_visit(
            rng,
            day=self.window.day(day),
            deal_season=self.deal_season[day],
            has_email=shopper.signed_up,
            category_slug=CATEGORIES[category].slug,
            staple_due=staple_due,
            cart_waiting=bool(device.cart),
        )
        s.referrer = visit.referrer
        s.campaign = visit.campaign
        if visit.landing == "cart" and can_buy and rng.random() < 0.5:
            buying = True  # the abandoned-cart email worked
        target = rng.choice(shopper.staples) if staple_run else None
        logged_in = device.logged_in and shopper.user_id is not None
        if logged_in:  # the login cookie: every call carries the userId from the start
            s.user_id = shopper.user_id
        self._land(s, visit, category, target)

        if logged_in:
            self._identify(s, shopper)  # analytics.js re-identifies a logged-in visitor
        elif shopper.signed_up and rng.random() < 0.25:
            self._login(s, shopper, "Log In", "/account/login")
        elif (
            shopper.is_customer
            and not shopper.signed_up
            and ((shopper.kind == "browser" and rng.random() < 0.5) or rng.random() < 0.08)
        ):
            self._login(s, shopper, "Sign Up", "/account/signup")

        if visit.landing != "cart":
            self._browse(s, category, buying, target)
        self._maybe_checkout(s, buying)
        self._busy_until[shopper.index] = s.t + SESSION_GAP_MS

    def _login(self, s: _Session, shopper: Shopper, name: str, path: str) -> None:
        self._wait(s, 8)
        self._page(s, name, path, f"{name} | {self.config.shop_name}")
        self._wait(s, 20)
        self._identify(s, shopper)

    def _land(self, s: _Session, visit: Visit, category: int, target: int | None) -> None:
        if visit.landing == "product" or target is not None:
            product = (
                target
                if target is not None
                else self.popularity.sample_in(self.rng, s.day, category)
            )
            self._view_product(s, product)
        elif visit.landing == "category":
            self._view_list(s, category)
        elif visit.landing == "cart" and s.device is not None and s.device.cart:
            self._view_cart(s)
        else:
            self._page(s, "Home", "/", self.config.shop_name)

    def _browse(self, s: _Session, category: int, buying: bool, target: int | None) -> None:
        """Pages after the landing: lists, searches, products; adds to cart and wishlist."""
        rng, device, shopper = self.rng, s.device, s.shopper
        assert device is not None and shopper is not None
        conversion = DEVICE_CONVERSION[device.kind]
        if buying:
            wanted = 1 + (rng.random() < 0.35) + (rng.random() < 0.12)
            views = 2 + int(rng.expovariate(1 / 3.0))
            if target is not None:
                self._add(s, target, rng.randint(1, 3))
                wanted -= 1
                views = int(rng.expovariate(1 / 1.5))
        else:
            wanted = 0
            views = 0 if rng.random() < 0.38 else 1 + int(rng.expovariate(1 / 2.6))
        last_list: list[int] = []
        last_product = target if target is not None else -1
        for _ in range(views):
            y = rng.random()
            if last_list and y < 0.7:  # a product from the list or results just seen
                product = rng.choice(last_list[:6])
                last_list = [] if rng.random() < 0.5 else last_list
            elif (x := rng.random()) < 0.2:
                last_list = self._view_list(s, category)
                continue
            elif x < 0.3:
                last_list = self._search(s, category)
                continue
            elif y < 0.85:
                product = self.popularity.sample_in(rng, s.day, category)
            elif y < 0.95 and CATEGORIES[category].related:
                related = CATEGORY_INDEX[rng.choice(CATEGORIES[category].related)]
                product = self.popularity.sample_in(rng, s.day, related)
            else:
                product = self.popularity.sample(rng, s.day)
            if product == last_product:
                product = self.popularity.sample_in(rng, s.day, category)
            last_product = product
            self._view_product(s, product)
            if wanted > 0 and rng.random() < 0.5:
                self._add(s, product, 1 if rng.random() < 0.9 else 2)
                wanted -= 1
            elif not buying and rng.random() < 0.09 * conversion:
                self._add(s, product, 1)
            elif s.user_id is not None and rng.random() < 0.04:
                self._wait(s, 3)
                self._track(
                    s,
                    "Product Added to Wishlist",
                    {**self.catalog[product].properties, "wishlist_id": f"wl_{shopper.index}",
                     "wishlist_name": "Favourites"},
                )  # fmt: skip
        if wanted > 0 and buying:  # still looking: add the category's favourite
            product = self.popularity.sample_in(rng, s.day, category)
            self._view_product(s, product)
            self._add(s, product, 1)

    def _view_product(self, s: _Session, product_index: int) -> None:
        product = self.catalog[product_index]
        self._wait(s, 12)
        self._page(
            s,
            "Product",
            product.url[len(self.base_url) :],
            f"{product.name} | {self.config.shop_name}",
        )
        s.t += 150 + self.rng.randrange(600)
        self._track(s, "Product Viewed", dict(product.properties))
        self._wait(s, 30)

    def _view_list(self, s: _Session, category: int) -> list[int]:
        cat = CATEGORIES[category]
        top = self.popularity.top(s.day, category, 12)
        start = 0 if self.rng.random() < 0.8 else min(4, max(len(top) - 8, 0))
        shown = top[start : start + 8]
        self._wait(s, 8)
        self._page(s, "Category", f"/c/{cat.slug}", f"{cat.name} | {self.config.shop_name}")
        s.t += 120 + self.rng.randrange(500)
        self._track(
            s,
            "Product List Viewed",
            {
                "list_id": cat.slug,
                "category": cat.name,
                "products": [
                    _list_item(self.catalog[p], position)
                    for position, p in enumerate(shown, start + 1)
                ],
            },
        )
        self._wait(s, 15)
        return shown

    def _search(self, s: _Session, category: int) -> list[int]:
        rng = self.rng
        found = self.popularity.sample_in(rng, s.day, category)
        product = self.catalog[found]
        words = product.name.split()
        query = (product.brand if rng.random() < 0.25 else " ".join(words[-2:])).lower()
        self._wait(s, 10)
        self._track(s, "Products Searched", {"query": query})
        s.t += 300 + rng.randrange(900)
        encoded = query.replace("&", "%26").replace(" ", "+")
        self._page(
            s, "Search", "/search", f"Search: {query} | {self.config.shop_name}", f"?q={encoded}"
        )
        members = self.popularity.by_category[category]
        hits = [i for i in members if query in self.catalog[i].name.lower()][:8]
        self._wait(s, 12)
        return hits or [found]

    def _cart_products(self, device: Device) -> list[dict[str, Any]]:
        return [
            {**self.catalog[p].properties, "quantity": q, "position": position}
            for position, (p, q) in enumerate(device.cart.items(), 1)
        ]

    def _add(self, s: _Session, product_index: int, quantity: int) -> None:
        device = s.device
        assert device is not None
        self._wait(s, 6)
        device.cart[product_index] = device.cart.get(product_index, 0) + quantity
        self._track(
            s,
            "Product Added",
            {
                **self.catalog[product_index].properties,
                "quantity": quantity,
                "cart_id": device.cart_id,
            },
        )

    def _view_cart(self, s: _Session) -> None:
        device = s.device
        assert device is not None
        self._wait(s, 5)
        self._page(s, "Cart", "/cart", f"Your cart | {self.config.shop_name}")
        s.t += 150 + self.rng.randrange(400)
        self._track(
            s, "Cart Viewed", {"cart_id": device.cart_id, "products": self._cart_products(device)}
        )
        if (len(device.cart) > 1 and self.rng.random() < 0.15) or self.rng.random() < 0.04:
            self._wait(s, 10)
            product_index = next(iter(device.cart))
            quantity = device.cart.pop(product_index)
            self._track(
                s,
                "Product Removed",
                {
                    **self.catalog[product_index].properties,
                    "quantity": quantity,
                    "cart_id": device.cart_id,
                },
            )

    def _maybe_checkout(self, s: _Session, buying: bool) -> None:
        """Cart -> checkout -> payment -> order, each step with its own drop-off."""
        rng, device, shopper = self.rng, s.device, s.shopper
        assert device is not None and shopper is not None
        if not device.cart:
            return
        go = 0.85 if buying else 0.15
        if s.page.get("path") != "/cart":
            if rng.random() < (go if buying else 0.3):
                self._view_cart(s)
            elif not buying:
                return
        if not device.cart or rng.random() >= go:
            return
        if s.user_id is None and shopper.is_customer and (buying or rng.random() < 0.5):
            signed_up = shopper.signed_up
            self._login(
                s,
                shopper,
                "Log In" if signed_up else "Sign Up",
                "/account/login" if signed_up else "/account/signup",
            )

        self._orders += 1
        order_id = f"ord_{100_000 + self._orders}"
        checkout_id = f"chk_{rng.getrandbits(64):016x}"
        day = s.day
        items = list(device.cart.items())
        items_cents = sum(self.catalog[p].price_cents * q for p, q in items)
        coupon, discount, free_shipping = self._coupon(shopper, day, items_cents)
        subtotal = items_cents - discount
        shipping = (
            0 if free_shipping or subtotal >= 5_000 else (599 if s.country == "US" else 1_299)
        )
        tax = round(subtotal * shopper.country.tax_rate)
        total = subtotal + shipping + tax
        products = self._cart_products(device)
        money = {
            "total": total / 100,
            "subtotal": subtotal / 100,
            "revenue": subtotal / 100,
            "shipping": shipping / 100,
            "tax": tax / 100,
            "discount": discount / 100,
            "currency": self.config.currency,
        }

        self._wait(s, 6)
        self._page(s, "Checkout", "/checkout", f"Checkout | {self.config.shop_name}")
        s.t += 150 + rng.randrange(400)
        self._track(
            s,
            "Checkout Started",
            {"order_id": order_id, "checkout_id": checkout_id, "cart_id": device.cart_id,
             "value": subtotal / 100, **money, "products": products,
             **({"coupon": coupon} if coupon else {})},
        )  # fmt: skip
        if coupon:
            self._wait(s, 15)
            self._track(
                s,
                "Coupon Applied",
                {"order_id": order_id, "cart_id": device.cart_id, "coupon_id": coupon,
                 "coupon_name": coupon, "discount": discount / 100},
            )  # fmt: skip
        if not _can_buy(shopper) or s.user_id is None or rng.random() >= (0.75 if buying else 0.4):
            return  # abandoned at the address form
        self._wait(s, 60)
        self._page(s, "Payment", "/checkout/payment", f"Payment | {self.config.shop_name}")
        self._wait(s, 40)
        self._track(
            s,
            "Payment Info Entered",
            {"checkout_id": checkout_id, "order_id": order_id, "step": 2,
             "payment_method": pick(rng, PAYMENT_METHODS),
             "shipping_method": "express" if rng.random() < 0.15 else "standard"},
        )  # fmt: skip
        if rng.random() >= 0.92:
            return  # card declined, changed their mind
        self._wait(s, 8)
        completed = {
            "order_id": order_id,
            "checkout_id": checkout_id,
            "affiliation": self.config.shop_name,
            **money,
            "products": products,
        }
        if coupon:
            completed["coupon"] = coupon
        self._track(s, "Order Completed", completed)
        s.t += 400 + rng.randrange(800)
        self._page(
            s,
            "Order Confirmation",
            f"/checkout/confirmation/{order_id}",
            f"Thank you | {self.config.shop_name}",
        )
        self._wait(s, 20)

        shopper.orders += 1
        if any(p in shopper.staples for p, _ in items):
            shopper.last_staple_ms = s.t
        if rng.random() < self.config.refund_rate:
            self._refund(s, completed, items, items_cents, discount, tax)
        device.cart = {}
        device.cart_id = self._cart_id()

    def _coupon(self, shopper: Shopper, day: int, items_cents: int) -> tuple[str | None, int, bool]:
        rng = self.rng
        deal = self.deal_season[day]
        if rng.random() >= (0.3 if deal else 0.1):
            return None, 0, False
        if deal:
            return "BLACKFRIDAY25", items_cents * 25 // 100, False
        created = shopper.created_at_ms
        if shopper.orders == 0 and created is not None and created > self.window.start_ms:
            return "WELCOME10", items_cents // 10, False
        if items_cents >= 7_500:
            return "SAVE15", items_cents * 15 // 100, False
        return "FREESHIP", 0, True

    def _refund(
        self,
        s: _Session,
        order: dict[str, Any],
        items: list[tuple[int, int]],
        items_cents: int,
        discount: int,
        tax: int,
    ) -> None:
        """The shop's backend refunds 2-14 days later: a server-side call, userId only."""
        rng, shopper = self.rng, s.shopper
        assert shopper is not None and shopper.user_id is not None
        t = s.t + int(rng.uniform(2, 14) * DAY_MS)
        properties: dict[str, Any] = {
            "order_id": order["order_id"],
            "currency": order["currency"],
            "reason": pick(rng, REFUND_REASONS),
        }
        if len(items) > 1 and rng.random() < 0.5:
            product_index, quantity = rng.choice(items)
            line = self.catalog[product_index].price_cents * quantity
            paid = line - discount * line // items_cents
            amount = paid + (tax * paid // max(items_cents - discount, 1))
            properties["total"] = min(amount, round(order["total"] * 100)) / 100
            properties["products"] = [
                {**self.catalog[product_index].properties, "quantity": quantity}
            ]
        else:
            properties["total"] = order["total"]
            properties["products"] = order["products"]
        message: Message = {
            "type": "track",
            "event": "Order Refunded",
            "messageId": self._uuid(),
            "userId": shopper.user_id,
            "timestamp": self.fmt(t),
            "context": {"library": dict(SERVER_LIBRARY)},
            "properties": properties,
        }
        self._emit(t, message)

    # ------------------------------------------------------------------ crawls

    def _crawl(self, start: int) -> None:
        """A crawler walks category and product pages seconds apart, with a fresh cookie."""
        rng = self.rng
        index = _pick_index(rng, [c.weight for c in CRAWLERS])
        crawler = CRAWLERS[index]
        s = _Session(None, None, start, (start - self.window.start_ms) // DAY_MS)
        s.anonymous_id = self._uuid()
        s.ip = self.crawler_pools[index].draw(rng)
        s.user_agent = crawler.user_agent
        s.locale, s.zone, s.country = "en-US", "UTC", crawler.country
        pages = rng.randint(4, 26)
        self._page(s, "Home", "/", self.config.shop_name)
        for _ in range(pages):
            s.t += 500 + int(rng.expovariate(1 / 2500))
            if rng.random() < 0.25:
                category = rng.randrange(len(CATEGORIES))
                cat = CATEGORIES[category]
                self._page(s, "Category", f"/c/{cat.slug}", f"{cat.name} | {self.config.shop_name}")
                s.t += 100 + rng.randrange(300)
                top = self.popularity.top(s.day, category, 12)[:8]
                self._track(
                    s,
                    "Product List Viewed",
                    {"list_id": cat.slug, "category": cat.name,
                     "products": [_list_item(self.catalog[p], i) for i, p in enumerate(top, 1)]},
                )  # fmt: skip
            else:  # crawlers follow links evenly, not by popularity
                product = self.catalog[rng.randrange(len(self.catalog))]
                self._page(
                    s,
                    "Product",
                    product.url[len(self.base_url) :],
                    f"{product.name} | {self.config.shop_name}",
                )
                s.t += 100 + rng.randrange(300)
                self._track(s, "Product Viewed", dict(product.properties))


def _can_buy(shopper: Shopper) -> bool:
    """Anonymous visitors and account-only browsers never buy; one-time buyers buy once."""
    if shopper.kind in ("anonymous", "browser"):
        return False
    return not (shopper.kind == "one_time" and shopper.orders > 0)


def _list_item(product: Product, position: int) -> dict[str, Any]:
    return {
        "product_id": product.product_id,
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "brand": product.brand,
        "price": product.price,
        "position": position,
    }


def _pick_index(rng: random.Random, weights: list[float]) -> int:
    x = rng.random() * sum(weights)
    for index, weight in enumerate(weights):
        x -= weight
        if x < 0:
            return index
    return len(weights) - 1


_COUNTRY_WEIGHTS = [c.weight for c in COUNTRIES]
_DEVICE_WEIGHTS = [w for _, w in DEVICE_KINDS]


def _pick_country(rng: random.Random) -> Country:
    return COUNTRIES[_pick_index(rng, _COUNTRY_WEIGHTS)]


def _pick_zone(rng: random.Random, country: Country) -> tuple[str, int, float]:
    return country.zones[_pick_index(rng, [w for _, _, w in country.zones])]


def _pick_device_kind(rng: random.Random) -> DeviceKind:
    return DEVICE_KINDS[_pick_index(rng, _DEVICE_WEIGHTS)][0]


def generate_events(config: SimulationConfig, *, now: datetime | None = None) -> Iterator[Message]:
    """Segment messages of one simulated shop, ascending by ``timestamp``, generated lazily.

    Deterministic: the same config (with an explicit ``end``) yields the same messages, message
    ids included, so re-sending a simulation is deduplicated by the collector. ``now`` is only
    read when ``config.end`` is None (the window then ends now).
    """
    return ShopSimulator(config, now=now).events()
