"""Raw zone backends, chosen by profile: Parquet files locally, PostgreSQL in prod."""

from __future__ import annotations

from intellishop.settings import Profile, Settings

from .base import RawZone
from .parquet import ParquetRawZone

__all__ = ["ParquetRawZone", "RawZone", "open_raw_zone"]


def open_raw_zone(settings: Settings) -> RawZone:
    if settings.profile is Profile.LOCAL:
        return ParquetRawZone(settings.raw_zone_dir)
    raise NotImplementedError(
        "the prod raw zone (PostgreSQL raw.events) lands with the event-collection issue; "
        "use INTELLISHOP_PROFILE=local"
    )
