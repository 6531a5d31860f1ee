"""The raw zone seam: where loaded events rest before dbt reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa

from intellishop.privacy import Person


class RawZone(Protocol):
    def write_events(self, table: pa.Table, chunk_id: str) -> list[Path]:
        """Durably store events (RAW_EVENT_SCHEMA plus tenant_id and event_date columns).

        Writing the same ``chunk_id`` again replaces what it wrote before, so a loader that
        crashed before committing its offset can redo the chunk without doubling anything.
        """
        ...

    def write_tenants(self, table: pa.Table) -> Path: ...

    def erase(self, person: Person) -> int:
        """Delete every event of the person (GDPR erasure); returns rows deleted."""
        ...

    def export(self, person: Person) -> pa.Table:
        """Every stored event of the person (GDPR right of access), RAW_EVENT_SCHEMA columns."""
        ...
