"""Raw zone backends, chosen by profile: Parquet files locally, PostgreSQL in prod."""

from __future__ import annotations

from intellishop.settings import Profile, Settings

from .base import RawZone
from .parquet import ParquetRawZone
from .postgres import PostgresRawZone

__all__ = ["ParquetRawZone", "PostgresRawZone", "RawZone", "open_raw_zone"]


def open_raw_zone(settings: Settings) -> RawZone:
    """The profile's raw zone; in prod, PostgreSQL at ``settings.postgres_dsn`` (the database
    is created if missing)."""
    if settings.profile is Profile.LOCAL:
        return ParquetRawZone(settings.raw_zone_dir)
    return PostgresRawZone(settings.postgres_dsn)
