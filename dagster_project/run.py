"""Run the main job once, recorded in the Dagster instance at ``$DAGSTER_HOME``.

``intellishop pipeline run`` and ``make demo`` call this in a child process; the run then shows
in the Dagster UI with its logs, like a run launched from there.
"""

from __future__ import annotations

import sys
import time

import dagster as dg
from rich.console import Console

from .definitions import defs, intellishop_pipeline
from .progress import stop_progress


def run_pipeline() -> None:
    """Execute ``intellishop_pipeline`` in process; exit non-zero when any step failed."""
    console = Console(stderr=True)
    started = time.monotonic()
    definitions = defs()
    job = definitions.resolve_job_def(intellishop_pipeline.name)
    run_config = {"loggers": {"progress": {"config": {"total_steps": len(job.graph.nodes)}}}}
    with dg.DagsterInstance.get() as instance:
        try:
            result = job.execute_in_process(
                run_config=run_config, instance=instance, raise_on_error=False
            )
        finally:
            stop_progress()
    seconds = time.monotonic() - started
    if not result.success:
        failed = [event.step_key for event in result.all_events if event.is_step_failure]
        console.print(f"[red]pipeline run {result.run_id} failed[/red] in steps {failed}")
        sys.exit(1)
    console.print(f"pipeline run {result.run_id} succeeded in {seconds:.1f} s")


if __name__ == "__main__":
    run_pipeline()
