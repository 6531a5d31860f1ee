"""Who visits the simulated shop: countries, devices and the people with their habits.

Shopper kinds, and why each exists:

- ``anonymous``: visitors who never sign up (most traffic); they browse, sometimes fill a cart,
  and leave. They are what makes session->order conversion 2-4 % instead of 30 %.
- ``browser``: people with an account who never buy (wishlists, newsletters).
- ``one_time``: buy once, then drift away.
- ``loyal``: come back often and re-order staples (coffee, pet food, shampoo) on a cycle.
- ``churner``: buy actively for a few weeks, then stop coming: the churn model's positives.

Customers have one to three devices. A device has its own ``anonymousId`` (a browser cookie),
so a returning customer on a new phone starts anonymous and is stitched at login.
IP blocks are large ISP ranges checked against an offline IP-to-country database, so
geolocation of a simulated IP agrees with ``context.location.country``.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
import unicodedata
from bisect import bisect
from dataclasses import dataclass
from typing import Literal

ShopperKind = Literal["anonymous", "browser", "one_time", "loyal", "churner"]
DeviceKind = Literal["desktop", "mobile", "tablet"]

#: Share of each kind among customers (people who have an account).
CUSTOMER_KINDS: tuple[tuple[ShopperKind, float], ...] = (
    ("browser", 0.15),
    ("one_time", 0.40),
    ("loyal", 0.20),
    ("churner", 0.25),
)


@dataclass(frozen=True)
class Country:
    code: str
    weight: float
    #: (IANA zone, UTC offset in hours ignoring DST, share of the country's shoppers)
    zones: tuple[tuple[str, int, float], ...]
    locales: tuple[tuple[str, float], ...]
    ip_blocks: tuple[str, ...]
    names: str
    tax_rate: float


COUNTRIES: tuple[Country, ...] = (
    Country(
        "US", 0.42,
        (("America/New_York", -5, 0.47), ("America/Chicago", -6, 0.29),
         ("America/Denver", -7, 0.07), ("America/Los_Angeles", -8, 0.17)),
        (("en-US", 0.93), ("es-US", 0.07)),
        ("73.0.0.0/10", "73.128.0.0/10", "71.160.0.0/11", "108.192.0.0/11", "99.0.0.0/11",
         "76.96.0.0/11", "68.32.0.0/11", "174.192.0.0/11", "24.0.0.0/12", "98.192.0.0/10",
         "50.128.0.0/10"),
        "en", 0.0725,
    ),
    Country(
        "GB", 0.12, (("Europe/London", 0, 1.0),), (("en-GB", 1.0),),
        ("86.128.0.0/10", "82.0.0.0/11", "90.192.0.0/11", "2.24.0.0/13", "5.64.0.0/13",
         "31.48.0.0/13", "109.144.0.0/12", "81.96.0.0/12", "217.32.0.0/12"),
        "en", 0.20,
    ),
    Country(
        "DE", 0.10, (("Europe/Berlin", 1, 1.0),), (("de-DE", 0.95), ("en-US", 0.05)),
        ("79.192.0.0/10", "87.128.0.0/10", "91.0.0.0/10", "84.128.0.0/10", "93.192.0.0/10",
         "95.88.0.0/14", "188.96.0.0/12", "80.128.0.0/11", "217.224.0.0/11"),
        "de", 0.19,
    ),
    Country(
        "CA", 0.07,
        (("America/Toronto", -5, 0.6), ("America/Winnipeg", -6, 0.08),
         ("America/Edmonton", -7, 0.12), ("America/Vancouver", -8, 0.2)),
        (("en-CA", 0.78), ("fr-CA", 0.22)),
        ("70.24.0.0/13", "70.48.0.0/13", "142.112.0.0/12", "99.224.0.0/11", "174.112.0.0/13",
         "184.144.0.0/13", "76.64.0.0/13"),
        "en", 0.13,
    ),
    Country(
        "FR", 0.06, (("Europe/Paris", 1, 1.0),), (("fr-FR", 1.0),),
        ("86.192.0.0/10", "82.64.0.0/14", "88.160.0.0/11", "176.128.0.0/11"),
        "fr", 0.20,
    ),
    Country(
        "AU", 0.05, (("Australia/Sydney", 10, 0.8), ("Australia/Perth", 8, 0.2)),
        (("en-AU", 1.0),),
        ("1.120.0.0/13", "101.160.0.0/11", "110.140.0.0/14", "120.144.0.0/12", "58.160.0.0/12",
         "49.176.0.0/12", "144.130.0.0/16"),
        "en", 0.10,
    ),
    Country(
        "NL", 0.04, (("Europe/Amsterdam", 1, 1.0),), (("nl-NL", 0.9), ("en-GB", 0.1)),
        ("77.160.0.0/12", "83.80.0.0/14", "94.208.0.0/13", "62.194.0.0/15"),
        "nl", 0.21,
    ),
    Country(
        "ES", 0.035, (("Europe/Madrid", 1, 1.0),), (("es-ES", 1.0),),
        ("83.32.0.0/11", "88.0.0.0/11", "79.144.0.0/12", "81.32.0.0/12", "80.24.0.0/13"),
        "es", 0.21,
    ),
    Country(
        "IT", 0.035, (("Europe/Rome", 1, 1.0),), (("it-IT", 1.0),),
        ("79.0.0.0/10", "87.0.0.0/11", "93.32.0.0/11", "95.224.0.0/11", "2.32.0.0/12"),
        "it", 0.22,
    ),
    Country(
        "SE", 0.02, (("Europe/Stockholm", 1, 1.0),), (("sv-SE", 0.9), ("en-US", 0.1)),
        ("81.224.0.0/12", "90.224.0.0/12", "78.64.0.0/12", "83.248.0.0/13"),
        "sv", 0.25,
    ),
    Country(
        "IE", 0.02, (("Europe/Dublin", 0, 1.0),), (("en-IE", 1.0),),
        ("86.40.0.0/13", "109.76.0.0/14", "89.100.0.0/15", "79.97.0.0/16"),
        "en", 0.23,
    ),
)  # fmt: skip

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah",
           "Isabella", "Lucas", "Mia", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn",
           "Jack", "Grace", "Aiden", "Chloe", "Henry", "Zoe"),
    "de": ("Lukas", "Anna", "Leon", "Mia", "Finn", "Emilia", "Paul", "Hannah", "Jonas", "Lea",
           "Felix", "Lena", "Maximilian", "Marie", "Elias", "Sophie"),
    "fr": ("Gabriel", "Louise", "Raphaël", "Jade", "Léo", "Ambre", "Louis", "Alice", "Arthur",
           "Chloé", "Jules", "Léa", "Hugo", "Manon"),
    "nl": ("Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Levi", "Sophie", "Finn", "Mila",
           "Milan", "Anna"),
    "es": ("Hugo", "Lucía", "Martín", "Sofía", "Mateo", "Martina", "Leo", "María", "Daniel",
           "Julia", "Pablo", "Paula"),
    "it": ("Leonardo", "Sofia", "Francesco", "Aurora", "Alessandro", "Giulia", "Lorenzo",
           "Ginevra", "Mattia", "Beatrice", "Andrea", "Alice"),
    "sv": ("William", "Alice", "Liam", "Maja", "Noah", "Elsa", "Hugo", "Astrid", "Lucas",
           "Wilma", "Oliver", "Freja"),
}  # fmt: skip
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
           "Taylor", "Clark", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green",
           "Baker", "Adams", "Nelson", "Murphy", "Campbell"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel"),
    "nl": ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser",
           "Smit", "Meijer", "de Boer", "Mulder"),
    "es": ("García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Martín"),
    "it": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco"),
    "sv": ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
           "Persson", "Svensson", "Gustafsson"),
}  # fmt: skip
#: Reserved documentation domains (RFC 2606): simulated addresses can never reach anyone.
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

#: Real browsers' user agents, by device kind, with their share within that kind.
USER_AGENTS: dict[DeviceKind, tuple[tuple[str, float], ...]] = {
    "desktop": (
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Safari/537.36", 0.38),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/130.0.0.0 Safari/537.36", 0.15),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/18.1 Safari/605.1.15", 0.14),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 0.14),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0", 0.10),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", 0.04),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/130.0.0.0 Safari/537.36", 0.05),
    ),
    "mobile": (
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 0.32),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 0.12),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", 0.06),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Mobile Safari/537.36", 0.30),
        ("Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
         "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", 0.12),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/130.0.6723.107 Mobile Safari/537.36", 0.08),
    ),
    "tablet": (
        ("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.6 Mobile/15E148 Safari/604.1", 0.55),
        ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Safari/537.36", 0.30),
        ("Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Silk/130.3.1 like Chrome/130.0.6723.102 Safari/537.36", 0.15),
    ),
}  # fmt: skip
DEVICE_KINDS: tuple[tuple[DeviceKind, float], ...] = (
    ("mobile", 0.58),
    ("desktop", 0.35),
    ("tablet", 0.07),
)
#: How much more a visit on this device converts than the average (desktop buys, mobile looks).
DEVICE_CONVERSION: dict[DeviceKind, float] = {"desktop": 1.45, "mobile": 0.75, "tablet": 1.0}


_PICK_TABLES: dict[int, tuple[object, list[str], list[float]]] = {}


def pick(
    rng: random.Random, weighted: tuple[tuple[str, float], ...] | list[tuple[str, float]]
) -> str:
    """One item of ``(item, weight)`` pairs, by weight (cumulative weights cached per table)."""
    table = _PICK_TABLES.get(id(weighted))
    if table is None or table[0] is not weighted:
        table = (
            weighted,
            [i for i, _ in weighted],
            list(itertools.accumulate(w for _, w in weighted)),
        )
        _PICK_TABLES[id(weighted)] = table
    _, items, cum = table
    return items[min(bisect(cum, rng.random() * cum[-1]), len(items) - 1)]


class IpPool:
    """Random public host addresses inside a set of CIDR blocks (never .0 or .255)."""

    def __init__(self, blocks: tuple[str, ...]) -> None:
        self._blocks = []
        for block in blocks:
            net = ipaddress.IPv4Network(block)
            self._blocks.append((int(net.network_address), net.num_addresses))

    def draw(self, rng: random.Random) -> str:
        base, size = self._blocks[rng.randrange(len(self._blocks))]
        value = base + rng.randrange(size)
        if value & 0xFF in (0, 255):
            value = (value & ~0xFF) | rng.randint(1, 254)
        return f"{value >> 24}.{(value >> 16) & 0xFF}.{(value >> 8) & 0xFF}.{value & 0xFF}"


class Device:
    """A browser on one device: its cookie (``anonymous_id``), login state and cart."""

    __slots__ = ("anonymous_id", "cart", "cart_id", "ip", "kind", "logged_in", "user_agent")

    def __init__(
        self, kind: DeviceKind, user_agent: str, anonymous_id: str, ip: str, cart_id: str
    ) -> None:
        self.kind: DeviceKind = kind
        self.user_agent = user_agent
        self.anonymous_id = anonymous_id
        self.ip = ip
        self.logged_in = False
        #: product index -> quantity; survives between visits (abandoned carts come back).
        self.cart: dict[int, int] = {}
        self.cart_id = cart_id


class Shopper:
    """One person, with the habits the session walker reads and the state it updates."""

    __slots__ = (
        "buy_propensity",
        "country",
        "created_at_ms",
        "devices",
        "email",
        "favourites",
        "first_name",
        "index",
        "kind",
        "last_name",
        "last_staple_ms",
        "locale",
        "orders",
        "signed_up",
        "staple_cycle_days",
        "staples",
        "user_id",
        "utc_offset_s",
        "zone",
    )

    def __init__(self, index: int, kind: ShopperKind, country: Country) -> None:
        self.index = index
        self.kind: ShopperKind = kind
        self.country = country
        self.zone = ""
        self.utc_offset_s = 0
        self.locale = ""
        self.user_id: str | None = None
        self.first_name = ""
        self.last_name = ""
        self.email = ""
        #: When the account was created (epoch ms), or None while the person has no account.
        self.created_at_ms: int | None = None
        self.signed_up = False
        self.devices: list[Device] = []
        #: Category indexes this person browses most.
        self.favourites: list[int] = []
        #: Product indexes re-ordered on a cycle (loyal customers only).
        self.staples: list[int] = []
        self.staple_cycle_days = 30.0
        self.last_staple_ms: int | None = None
        self.buy_propensity = 1.0
        self.orders = 0

    @property
    def is_customer(self) -> bool:
        return self.kind != "anonymous"


def email_for(rng: random.Random, first: str, last: str) -> str:
    def ascii_part(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(ch for ch in plain.lower() if ch.isalnum())

    style = rng.random()
    local = f"{ascii_part(first)}.{ascii_part(last)}"
    if style < 0.35:
        local += str(rng.randint(1, 99))
    elif style < 0.5:
        local = f"{ascii_part(first)[0]}{ascii_part(last)}"
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"
