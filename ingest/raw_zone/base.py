"""The raw zone seam: where loaded events rest before dbt reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa


class RawZone(Protocol):
    def write_events(self, table: pa.Table, chunk_id: str) -> list[Path]:
        """Durably store events (RAW_EVENT_SCHEMA plus tenant_id and event_date columns).

        Writing the same ``chunk_id`` again replaces what it wrote before, so a loader that
        crashed before committing its offset can redo the chunk without doubling anything.
        """
        ...

    def write_tenants(self, table: pa.Table) -> Path: ...
