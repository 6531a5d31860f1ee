"""Generate a simulated shop without a collector: measure it, summarise it, or write JSON lines.

    uv run python -m intellishop.simulation --days 90 --customers 2000
    uv run python -m intellishop.simulation --days 7 --out events.jsonl

The summary is the quickest way to see what a config produces (volumes, funnel rates, bots)
and how fast: generation is timed while streaming, the way ``send_events`` consumes it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date
from typing import Any

import msgspec

from intellishop.simulation.config import SimulationConfig
from intellishop.simulation.sessions import generate_events
from intellishop.simulation.traffic import CRAWLER_MARKERS


def summarize(counts: Counter[str], sessions: int, bots: int, total: int) -> list[str]:
    """Readable volumes and funnel rates from event counts (human events only, but bots)."""

    def rate(a: str, b: str) -> str:
        return f"{counts[a] / counts[b]:.1%}" if counts[b] else "n/a"

    return [
        f"events            {total:,} ({bots / max(total, 1):.1%} from crawlers)",
        f"human visits      {sessions:,}, {counts['Order Completed']:,} orders "
        f"({counts['Order Completed'] / max(sessions, 1):.2%} of visits)",
        f"added / viewed    {rate('Product Added', 'Product Viewed')}",
        f"orders / checkout {rate('Order Completed', 'Checkout Started')}",
        f"refunded orders   {rate('Order Refunded', 'Order Completed')}",
        f"identify calls    {counts['identify']:,}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m intellishop.simulation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="YYYY-MM-DD (UTC)")
    parser.add_argument("--out", help="write the events as JSON lines to this file ('-': stdout)")
    args = parser.parse_args(argv)
    config = SimulationConfig(
        seed=args.seed,
        days=args.days,
        customers=args.customers,
        products=args.products,
        end=args.end,
    )
    out = None
    if args.out:
        out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")  # noqa: SIM115
    encoder = msgspec.json.Encoder()
    counts: Counter[str] = Counter()
    total = bots = sessions = 0
    started = time.perf_counter()
    try:
        for message in generate_events(config):
            total += 1
            if out is not None:
                out.write(encoder.encode(message) + b"\n")
            context: dict[str, Any] = message.get("context", {})
            if any(marker in context.get("userAgent", "") for marker in CRAWLER_MARKERS):
                bots += 1
                continue
            kind = message["type"]
            counts[message["event"] if kind == "track" else kind] += 1
            if kind == "page" and not message["properties"]["referrer"].startswith(
                f"https://{config.shop_domain}"
            ):
                sessions += 1
    finally:
        if out is not None and out is not sys.stdout.buffer:
            out.close()
    seconds = time.perf_counter() - started
    report = sys.stderr if args.out == "-" else sys.stdout
    print(
        f"seed {config.seed}, {config.days} days, {config.customers} customers, "
        f"{config.products} products: {total:,} events in {seconds:.2f} s "
        f"({total / seconds:,.0f} events/s{', with JSON output' if out else ''})",
        file=report,
    )
    for line in summarize(counts, sessions, bots, total):
        print(f"  {line}", file=report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
