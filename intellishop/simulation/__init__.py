"""A realistic shop simulator: the data source of the demo, the tests and the benchmarks.

``generate_events(config)`` yields Segment-shaped messages (track, identify, page) of one shop
over ``config.days`` days, in ascending time order and deterministic for a seed: a catalog with
popularity that drifts, anonymous visitors who later identify, customers with different habits,
weekly and seasonal traffic, refunds and a little bot traffic. ``send_events`` posts them to the
collector's batch API the way Segment's libraries do.

    from intellishop.simulation import SimulationConfig, generate_events, send_events
    report = send_events(generate_events(SimulationConfig(seed=7, days=30)),
                         collector_url="http://127.0.0.1:8000", api_key=key)
"""

from intellishop.simulation.catalog import CATEGORIES, Category, Product, build_catalog
from intellishop.simulation.config import SimulationConfig, Window
from intellishop.simulation.sender import SendError, SendReport, send_events
from intellishop.simulation.sessions import ShopSimulator, generate_events
from intellishop.simulation.traffic import CRAWLER_MARKERS

__all__ = [
    "CATEGORIES",
    "CRAWLER_MARKERS",
    "Category",
    "Product",
    "SendError",
    "SendReport",
    "ShopSimulator",
    "SimulationConfig",
    "Window",
    "build_catalog",
    "generate_events",
    "send_events",
]
