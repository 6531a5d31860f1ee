"""A Dagster logger that shows a run as a progress bar instead of hundreds of debug lines.

``intellishop pipeline run`` and the demo select it; runs launched from the Dagster UI keep
Dagster's own console logger, and every event is stored in the instance either way.
"""

import logging

import dagster as dg
from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

#: Bars started in this process (a run's logger is built inside Dagster, out of our reach).
_ACTIVE: list["RunProgressHandler"] = []


class RunProgressHandler(logging.Handler):
    """Advances one bar per finished step; names each materialized asset; prints failures."""

    def __init__(self, total_steps: int) -> None:
        super().__init__(level=logging.DEBUG)
        self.progress = Progress(
            TextColumn("[bold]pipeline[/bold]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
            transient=False,
        )
        self.task = self.progress.add_task("starting", total=total_steps)

    def emit(self, record: logging.LogRecord) -> None:
        if not has_log_record_metadata(record):
            return
        meta = get_log_record_metadata(record)
        event = meta["dagster_event"]
        if event is None:
            if record.levelno >= logging.WARNING:
                self.progress.console.print(f"[yellow]{meta['orig_message']}[/yellow]")
            return
        if event.is_step_start:
            self.progress.update(self.task, description=f"{event.step_key} ...")
        elif event.is_step_success:
            self.progress.update(self.task, advance=1, description=f"{event.step_key} done")
        elif event.event_type_value == "ASSET_MATERIALIZATION" and event.asset_key:
            key = event.asset_key.to_user_string()
            self.progress.update(self.task, description=f"{event.step_key}: built {key}")
        elif event.is_step_failure or event.is_failure:
            self.progress.console.print(f"[red]{meta['orig_message']}[/red]")
            if event.step_failure_data and event.step_failure_data.error:
                self.progress.console.print(event.step_failure_data.error.to_string())


@dg.logger(
    config_schema={"total_steps": dg.Field(int, default_value=1)},
    description="Progress bar on stderr (used by `intellishop pipeline run`).",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    # Dagster builds a run's loggers more than once (run and steps): share one bar per process.
    if _ACTIVE:
        handler = _ACTIVE[-1]
    else:
        handler = RunProgressHandler(init_context.logger_config["total_steps"])
        handler.progress.start()
        _ACTIVE.append(handler)
    logger = logging.Logger("intellishop.pipeline", level=logging.DEBUG)
    logger.addHandler(handler)
    return logger


def stop_progress() -> None:
    """Stop the bars of finished runs so the terminal gets its cursor back."""
    while _ACTIVE:
        _ACTIVE.pop().progress.stop()
