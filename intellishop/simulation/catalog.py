"""The simulated shop's catalog, and how popular each product is on each day.

Popularity is Zipf-like (a few products take most of the views) and drifts: every product has
a trend over the window and some launch part-way through, so "trending this week" differs from
"popular over all time" the way it does in a real shop. The ground truth (``popularity``,
``trend``, ``launch``) is on each :class:`Product`, so evaluations can check the recommenders.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import unicodedata
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from intellishop.simulation.config import SimulationConfig, Window


@dataclass(frozen=True)
class Category:
    name: str
    code: str
    #: Share of the catalog and of the traffic.
    weight: float
    #: Median price and the spread of log-prices (a log-normal price distribution).
    median_price: float
    price_sigma: float
    brands: tuple[str, ...]
    nouns: tuple[str, ...]
    #: Consumables that loyal customers re-order on a cycle (coffee, pet food, shampoo).
    staple: bool = False
    #: Categories shoppers also browse in the same visit (cross-sell, "bought together").
    related: tuple[str, ...] = ()
    #: Demand by month, January first (toys in December, garden in spring); 1.0 = average.
    season: tuple[float, ...] = (1.0,) * 12

    @cached_property
    def slug(self) -> str:
        return slugify(self.name)


CATEGORIES: tuple[Category, ...] = (
    Category(
        "Electronics", "ELE", 0.13, 79.0, 0.85,
        ("Voltix", "Lumina", "Auralis", "Northwave", "Pixelcraft", "Kestrel Audio"),
        ("Wireless Earbuds", "Bluetooth Speaker", "Smartwatch", "USB-C Charger", "Power Bank",
         "Noise-Cancelling Headphones", "Action Camera", "E-Reader", "Webcam",
         "Mechanical Keyboard", "Wireless Mouse", "Portable SSD", "Fitness Tracker"),
        related=("Sports & Outdoors", "Home & Kitchen"),
        season=(0.85, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 0.95, 1.0, 1.05, 1.45, 1.5),
    ),
    Category(
        "Home & Kitchen", "HOM", 0.13, 34.0, 0.8,
        ("Hearthly", "Copper & Oak", "Nordhaus", "Casa Verde", "Kitchology"),
        ("Chef's Knife", "Cast Iron Skillet", "French Press", "Stand Mixer", "Cutting Board",
         "Dutch Oven", "Blender", "Toaster", "Storage Jar Set", "Linen Tablecloth",
         "Throw Blanket", "Scented Candle", "Bath Towel Set", "Pour-Over Kettle"),
        related=("Coffee & Tea", "Garden"),
    ),
    Category(
        "Clothing", "CLO", 0.12, 39.0, 0.6,
        ("Northbound", "Urban Thread", "Linea", "Fieldhouse", "Meridian Knit"),
        ("Merino Sweater", "Denim Jacket", "Organic Cotton T-Shirt", "Chino Trousers",
         "Rain Jacket", "Hoodie", "Flannel Shirt", "Puffer Vest", "Wool Scarf", "Leggings",
         "Beanie", "Linen Shirt"),
        related=("Shoes", "Sports & Outdoors"),
        season=(0.9, 0.85, 0.95, 1.0, 1.0, 0.9, 0.85, 0.95, 1.1, 1.2, 1.3, 1.2),
    ),
    Category(
        "Shoes", "SHO", 0.07, 85.0, 0.45,
        ("Stride Co.", "Trailmark", "Pavement", "Solent"),
        ("Running Shoes", "Trail Runners", "Leather Boots", "Canvas Sneakers", "Hiking Boots",
         "Slippers", "Sandals", "Loafers"),
        related=("Clothing", "Sports & Outdoors"),
    ),
    Category(
        "Beauty & Personal Care", "BEA", 0.10, 18.0, 0.6,
        ("Glow Theory", "Purely", "Botanica Lab", "Maison Lumiere"),
        ("Face Moisturizer", "Vitamin C Serum", "Shampoo", "Conditioner", "Body Wash",
         "Lip Balm", "Sunscreen SPF 50", "Hand Cream", "Facial Cleanser", "Beard Oil",
         "Night Cream"),
        staple=True,
        related=("Clothing",),
    ),
    Category(
        "Sports & Outdoors", "SPO", 0.10, 45.0, 0.9,
        ("Summit Gear", "Peak & Pine", "Aquaflow", "Trailmark"),
        ("Yoga Mat", "Water Bottle", "Trekking Poles", "Camping Lantern", "Daypack",
         "Sleeping Bag", "Resistance Bands", "Dumbbell Set", "Two-Person Tent", "Headlamp",
         "Foam Roller"),
        related=("Shoes", "Clothing", "Electronics"),
        season=(1.4, 1.1, 1.0, 1.05, 1.2, 1.25, 1.2, 1.1, 0.95, 0.9, 0.85, 0.9),
    ),
    Category(
        "Toys & Games", "TOY", 0.07, 25.0, 0.7,
        ("Brickworks", "Little Explorers", "Meeple House", "Tinker Town"),
        ("Building Set", "Board Game", "1000-Piece Jigsaw Puzzle", "Plush Bear", "Card Game",
         "Wooden Train Set", "Science Kit", "Remote Control Car", "Marble Run"),
        related=("Books",),
        season=(0.75, 0.8, 0.85, 0.85, 0.85, 0.85, 0.9, 0.9, 0.95, 1.1, 1.7, 2.3),
    ),
    Category(
        "Books", "BOO", 0.08, 16.0, 0.35,
        ("Harbor Press", "Quill & Ink", "Lantern Books", "Northlight Publishing"),
        ("Field Guide to Birds", "Weeknight Cooking", "Quiet Harbor", "Modern Gardening",
         "Mountain Stories", "Art of Coffee", "Little Fox", "Northern Lights",
         "Data for Shopkeepers", "Long Summer", "Salt and Stone", "Year of Bread"),
        related=("Toys & Games", "Coffee & Tea"),
        season=(1.0, 0.95, 0.95, 0.95, 0.95, 1.0, 1.05, 1.0, 0.95, 1.0, 1.15, 1.35),
    ),
    Category(
        "Coffee & Tea", "COF", 0.08, 14.0, 0.45,
        ("Roastery Nine", "Highland Leaf", "Morning Ritual", "Kettle & Co."),
        ("Espresso Beans 1 kg", "Single Origin Ethiopia", "Decaf Blend", "Sencha Green Tea",
         "Earl Grey", "Chai Concentrate", "Cold Brew Pack", "Matcha Powder",
         "Pour-Over Filters", "House Blend Ground"),
        staple=True,
        related=("Home & Kitchen", "Books"),
        season=(1.15, 1.1, 1.0, 0.95, 0.9, 0.85, 0.85, 0.9, 1.0, 1.1, 1.15, 1.2),
    ),
    Category(
        "Pet Supplies", "PET", 0.07, 22.0, 0.7,
        ("Happy Paws", "Whisker & Tail", "Pawsome"),
        ("Dry Dog Food 5 kg", "Clumping Cat Litter", "Chew Toy", "Cat Scratcher", "Dog Leash",
         "Pet Bed", "Grain-Free Cat Food", "Dental Treats", "Catnip Mice"),
        staple=True,
        related=("Garden",),
    ),
    Category(
        "Garden", "GAR", 0.05, 29.0, 0.8,
        ("Green Thumb", "Bloom & Root", "Terra"),
        ("Garden Hose", "Pruning Shears", "Raised Bed Kit", "Seed Starter Kit",
         "Watering Can", "Solar Path Lights", "Potting Soil", "Bird Feeder"),
        related=("Home & Kitchen", "Pet Supplies"),
        season=(0.5, 0.7, 1.3, 1.7, 1.8, 1.5, 1.2, 1.0, 0.8, 0.6, 0.45, 0.4),
    ),
)  # fmt: skip

CATEGORY_INDEX: dict[str, int] = {c.name: i for i, c in enumerate(CATEGORIES)}

_MODIFIERS = (
    "Classic", "Pro", "Essential", "Premium", "Everyday", "Compact", "Deluxe", "Eco",
    "Signature", "Lite", "Max", "Original", "Travel", "Studio", "Heritage", "Air",
)  # fmt: skip
_BOOK_FORMS = ("Hardcover", "Paperback", "Illustrated Edition", "Pocket Edition")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@dataclass(frozen=True)
class Product:
    """One product of the simulated catalog; ``price`` is in the shop's currency."""

    product_id: str
    sku: str
    name: str
    category: str
    brand: str
    price: float
    url: str
    image_url: str
    staple: bool
    #: Ground truth: relative all-time popularity (Zipf weight, the largest is 1.0).
    popularity: float
    #: Ground truth: change of log-popularity from the first to the last simulated day.
    trend: float
    #: Ground truth: fraction of the window after which the product is on sale (0 = always).
    launch: float
    #: Segment's product properties, built once (events copy it).
    properties: dict[str, Any] = field(compare=False, repr=False, hash=False)

    @property
    def price_cents(self) -> int:
        return round(self.price * 100)


def _charm_price(raw: float) -> float:
    """Prices end the way shops price them: 7.49, 24.99, 129.99, 249.00."""
    if raw < 10:
        return max(1.99, math.floor(raw * 2) / 2 - 0.01 + 0.5)
    if raw < 100:
        return math.floor(raw) + 0.99
    if raw < 400:
        return math.floor(raw / 5) * 5 - 0.01 + 5
    return float(math.floor(raw / 10) * 10 + 9)


def build_catalog(config: SimulationConfig) -> list[Product]:
    """``config.products`` products over the categories; depends only on seed and size."""
    rng = random.Random(f"{config.seed}:catalog")  # noqa: S311 - a simulation, not secrets
    total_weight = sum(c.weight for c in CATEGORIES)
    counts = [max(1, round(config.products * c.weight / total_weight)) for c in CATEGORIES]
    while sum(counts) > config.products:
        counts[counts.index(max(counts))] -= 1
    while sum(counts) < config.products:
        counts[counts.index(max(counts))] += 1

    # Zipf over the whole catalog: the rank of each product in a shuffled order.
    ranks = list(range(1, config.products + 1))
    rng.shuffle(ranks)
    base = f"https://{config.shop_domain}"
    products: list[Product] = []
    names: set[str] = set()
    number = 0
    for category, count in zip(CATEGORIES, counts, strict=True):
        for _ in range(count):
            number += 1
            brand = rng.choice(category.brands)
            noun = rng.choice(category.nouns)
            if category.name == "Books":
                name = f"{noun} ({rng.choice(_BOOK_FORMS)})"
            else:
                name = f"{brand} {rng.choice(_MODIFIERS)} {noun}"
            suffix = 2
            unique = name
            while unique in names:
                unique = f"{name} {_roman(suffix)}"
                suffix += 1
            names.add(unique)
            price = _charm_price(
                min(
                    2000.0,
                    rng.lognormvariate(math.log(category.median_price), category.price_sigma),
                )
            )
            price = round(price, 2)
            product_id = f"p{number:04d}"
            sku = f"{category.code}-{slugify(brand)[:3].upper()}-{number:04d}"
            url = f"{base}/p/{slugify(unique)}-{product_id}"
            image_url = f"https://cdn.{config.shop_domain}/img/{product_id}.jpg"
            launch = rng.uniform(0.4, 0.95) if rng.random() < 0.08 else 0.0
            products.append(
                Product(
                    product_id=product_id,
                    sku=sku,
                    name=unique,
                    category=category.name,
                    brand=brand,
                    price=price,
                    url=url,
                    image_url=image_url,
                    staple=category.staple,
                    popularity=1.0 / ranks[number - 1] ** 1.05,
                    trend=rng.gauss(0.0, 1.5),
                    launch=launch,
                    properties={
                        "product_id": product_id,
                        "sku": sku,
                        "name": unique,
                        "category": category.name,
                        "brand": brand,
                        "price": price,
                        "currency": config.currency,
                        "url": url,
                        "image_url": image_url,
                    },
                )
            )
    return products


def category_season(category: Category, day: date) -> float:
    """A category's demand on a day, interpolated between mid-month values (no monthly steps)."""
    month = day.month - 1
    position = (day.day - 1) / 30.0 - 0.5  # -0.5 at the 1st, +0.5 at the end of the month
    other = (month + (1 if position >= 0 else -1)) % 12
    a, b = category.season[month], category.season[other]
    return a + (b - a) * abs(position)


def _roman(number: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, numeral in numerals:
        while number >= value:
            out += numeral
            number -= value
    return out


class PopularityModel:
    """Samples products by each day's popularity, from the whole catalog or one category.

    Weights are precomputed per day as cumulative sums, so a draw is one ``bisect``.
    A product launched part-way through is unavailable before, and hot for a while after.
    """

    def __init__(self, products: list[Product], window: Window) -> None:
        days = window.days
        self.products = products
        self.by_category: list[list[int]] = [[] for _ in CATEGORIES]
        for index, product in enumerate(products):
            self.by_category[CATEGORY_INDEX[product.category]].append(index)
        self._top: dict[tuple[int, int], list[int]] = {}
        self._cum: list[list[float]] = []
        self._cat_cum: list[list[list[float]]] = []
        for day in range(days):
            x = day / max(days - 1, 1)
            season = [category_season(c, window.day(day)) for c in CATEGORIES]
            weights = [
                self._weight(p, x, days) * season[CATEGORY_INDEX[p.category]] for p in products
            ]
            self._cum.append(list(itertools.accumulate(weights)))
            self._cat_cum.append(
                [
                    list(itertools.accumulate(weights[i] for i in members))
                    for members in self.by_category
                ]
            )

    @staticmethod
    def _weight(product: Product, x: float, days: int) -> float:
        if x < product.launch:
            return 0.0
        weight = product.popularity * math.exp(product.trend * (x - 0.5))
        if product.launch > 0:
            days_since_launch = (x - product.launch) * days
            weight *= 1.0 + 6.0 * math.exp(-days_since_launch / 15.0)
        return weight

    def sample(self, rng: random.Random, day: int) -> int:
        """Index of a product, by the day's popularity over the whole catalog."""
        cum = self._cum[day]
        return min(bisect(cum, rng.random() * cum[-1]), len(cum) - 1)

    def sample_in(self, rng: random.Random, day: int, category: int) -> int:
        """Index of a product of one category, by the day's popularity."""
        cum = self._cat_cum[day][category]
        members = self.by_category[category]
        if not members or cum[-1] <= 0:
            return self.sample(rng, day)
        return members[min(bisect(cum, rng.random() * cum[-1]), len(members) - 1)]

    def top(self, day: int, category: int, n: int) -> list[int]:
        """The ``n`` most popular products of a category on a day (a category page's order)."""
        cached = self._top.get((day, category))
        if cached is not None and len(cached) >= n:
            return cached[:n]
        cum = self._cat_cum[day][category]
        members = self.by_category[category]
        weights = [b - a for a, b in zip([0.0, *cum[:-1]], cum, strict=True)]
        ranked = sorted(range(len(members)), key=lambda i: -weights[i])
        top = [members[i] for i in ranked[:n] if weights[i] > 0]
        self._top[(day, category)] = top
        return top
