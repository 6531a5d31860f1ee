"""Resources, chosen once by the settings' profile (local | prod).

The warehouse is opened only inside a step that needs it and only for as long as it reads:
DuckDB allows one writer across processes, and the Dagster UI process must never hold the file
while ``dbt build`` runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import yaml  # type: ignore[import-untyped]
from dagster_dbt import DbtCliResource

from intellishop.artifacts import ServingStore, open_serving_store
from intellishop.settings import Profile, Settings

from . import postgres_reader
from .project import DBT_PROJECT_DIR, dbt_project


class SettingsResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The one ``Settings`` object, read from the environment when a run starts."""

    def get(self) -> Settings:
        return Settings()


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Read access to the models dbt built, in the profile's warehouse.

    Local: the DuckDB file, opened read-only for one read. Prod: the PostgreSQL schema of the
    dbt ``prod`` target, read with ``COPY`` (see ``postgres_reader``).
    """

    def read_table(self, name: str, columns: list[str] | None = None) -> pl.DataFrame:
        """The whole of model ``name`` as a polars frame (``name`` must be a dbt model)."""
        # Identifiers cannot be bound: only plain names reach the SQL text, and in prod only
        # names the catalogue knows (postgres_reader quotes them as identifiers as well).
        for identifier in [name, *(columns or [])]:
            if not identifier.isidentifier():
                raise ValueError(f"not a model or column name: {identifier!r}")
        settings = Settings()
        if settings.profile is Profile.PROD:
            return postgres_reader.read_table(
                settings.postgres_dsn, dbt_target_schema(settings.dbt_target), name, columns
            )
        select = ", ".join(f'"{column}"' for column in columns) if columns else "*"
        with self._connect(settings) as con:
            frame: pl.DataFrame = con.sql(f'select {select} from "{name}"').pl()
        return frame

    @contextmanager
    def _connect(self, settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            yield con
        finally:
            con.close()


def dbt_target_schema(target: str) -> str:
    """The schema dbt builds the models of ``target`` in (``dbt_project/profiles.yml``).

    The models set no custom schema (dbt would append it to this one), so one schema holds
    them all; a test checks that the manifest agrees.
    """
    profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    output = profiles["intellishop"]["outputs"][target]
    return str(output["schema"])


class ServingStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the publish step writes serving artifacts (local: versioned Parquet files; prod:
    the same files on a shared path, with each tenant's live version in Redis)."""

    def store(self) -> ServingStore:
        return open_serving_store(Settings())


def resources_for(settings: Settings) -> dict[str, Any]:
    """The resources of ``settings.profile``: every backend choice is made here, once."""
    # The dbt of this environment, whether or not its bin directory is on the PATH.
    dbt_executable = str(Path(sys.executable).parent / "dbt")
    by_profile: dict[Profile, dict[str, Any]] = {
        Profile.LOCAL: {
            "settings": SettingsResource(),
            "dbt": DbtCliResource(
                project_dir=dbt_project, target="local", dbt_executable=dbt_executable
            ),
            "warehouse": WarehouseResource(),
            "serving_store": ServingStoreResource(),
        },
        Profile.PROD: {
            "settings": SettingsResource(),
            "dbt": DbtCliResource(
                project_dir=dbt_project, target="prod", dbt_executable=dbt_executable
            ),
            "warehouse": WarehouseResource(),
            "serving_store": ServingStoreResource(),
        },
    }
    return by_profile[settings.profile]
