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
from dagster_dbt import DbtCliResource

from intellishop.artifacts import LocalArtifactStore, ServingStore
from intellishop.settings import Profile, Settings

from .project import dbt_project


class SettingsResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The one ``Settings`` object, read from the environment when a run starts."""

    def get(self) -> Settings:
        return Settings()


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Read access to the models dbt built (local profile: the DuckDB file, read-only)."""

    def read_table(self, name: str, columns: list[str] | None = None) -> pl.DataFrame:
        """The whole of model ``name`` as a polars frame (``name`` must be a dbt model)."""
        # Identifiers cannot be bound: only plain names reach the SQL text.
        for identifier in [name, *(columns or [])]:
            if not identifier.isidentifier():
                raise ValueError(f"not a model or column name: {identifier!r}")
        select = ", ".join(f'"{column}"' for column in columns) if columns else "*"
        with self._connect() as con:
            frame: pl.DataFrame = con.sql(f'select {select} from "{name}"').pl()
        return frame

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        settings = Settings()
        if settings.profile is not Profile.LOCAL:
            raise NotImplementedError(
                "the prod warehouse (PostgreSQL) reader lands with the warehouse issue"
            )
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            yield con
        finally:
            con.close()


class ServingStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the publish step writes serving artifacts (local: versioned Parquet files)."""

    def store(self) -> ServingStore:
        settings = Settings()
        if settings.profile is not Profile.LOCAL:
            raise NotImplementedError("the prod serving store (Redis) lands with the serving issue")
        return LocalArtifactStore(settings.artifacts_dir)


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
