"""The dbt project as Dagster sees it, in its own module because ``@dbt_assets`` reads its
manifest at import time. ``make install`` prepares the manifest with ``dbt parse``; under
``dagster dev`` it is re-parsed so that an analyst's model edits show up on reload.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
