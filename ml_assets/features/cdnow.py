"""The CDNOW purchase log as an ``int_orders``-shaped frame.

CDNOW_master.txt (Fader & Hardie's data set): one line per purchase, whitespace separated:
customer id, date (YYYYMMDD), number of CDs, dollar amount. 69,659 purchases by the 23,570
customers who first bought in the first quarter of 1997, followed to the end of June 1998.
Purchases have no time of day, so they are placed at noon UTC.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

TENANT = "cdnow"


def load_cdnow_orders(path: Path | None = None, tenant_id: str = TENANT) -> pl.DataFrame:
    """tenant_id, order_id, user_id, actor_id, ordered_at, quantity, gross/net revenue."""
    if path is None:
        from intellishop.datasets import cdnow_path

        path = cdnow_path()
    raw = _read_whitespace(path)
    return raw.with_row_index("line").select(
        pl.lit(tenant_id).alias("tenant_id"),
        pl.format("{}-{}", pl.col("customer"), pl.col("line")).alias("order_id"),
        pl.col("customer").alias("user_id"),
        pl.col("customer").alias("actor_id"),
        (pl.col("date").str.strptime(pl.Datetime("us"), "%Y%m%d") + pl.duration(hours=12)).alias(
            "ordered_at"
        ),
        pl.col("cds").cast(pl.Float64).alias("quantity"),
        pl.col("dollars").cast(pl.Float64).alias("gross_revenue"),
        pl.lit(0.0).alias("refunded_amount"),
        pl.col("dollars").cast(pl.Float64).alias("net_revenue"),
        pl.lit("USD").alias("currency"),
    )


def _read_whitespace(path: Path) -> pl.DataFrame:
    """Rows of a whitespace-separated file; a header line (not starting with a digit) is skipped."""
    lines = path.read_text().splitlines()
    rows = [line.split() for line in lines if line.strip() and line.split()[0].isdigit()]
    return pl.DataFrame(
        {
            "customer": [r[0] for r in rows],
            "date": [r[1] for r in rows],
            "cds": [int(r[2]) for r in rows],
            "dollars": [float(r[3]) for r in rows],
        }
    )
