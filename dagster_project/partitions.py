"""Daily partitions: one per UTC day, the raw zone's own partition key (``event_date``).

A run of the daily job carries its day in the run's partition tag. Assets that are not
partitioned (the loader, dbt, ML, publish) run as usual in it; the raw-zone checks and the
day's raw profile read that one day.
"""

from collections.abc import Mapping
from datetime import date

import dagster as dg

#: The first day offered in the UI and for backfills. Shops' history starts later than this;
#: an earlier day would only add empty partitions.
PARTITIONS_START = "2024-01-01"

#: UTC days; the last partition is yesterday (a day is complete only once it is over).
DAILY = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")


def day_of_run(tags: Mapping[str, str]) -> date | None:
    """The UTC day a run was launched for, or None for a run without a partition."""
    key = tags.get("dagster/partition")
    return None if key is None else date.fromisoformat(key)
