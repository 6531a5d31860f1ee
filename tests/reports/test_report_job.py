"""The Dagster report job writes every shop's reports; its schedules pick the right period."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from dagster_project.defs.reports.jobs import (
    merchant_reports,
    reports_daily,
    reports_monthly,
    reports_weekly,
)
from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings
from tests.dashboards.demo_data import demo_tables


def test_the_job_writes_each_shops_reports(settings: Settings) -> None:
    store = LocalArtifactStore(settings.artifacts_dir)
    store.publish("acme", demo_tables("a"))
    store.publish("books", demo_tables("b", 2))
    result = merchant_reports.execute_in_process(
        run_config={
            "ops": {
                "generate_merchant_reports": {"config": {"cadence": "monthly", "end": "2026-02-28"}}
            }
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert result.output_for_node("generate_merchant_reports") == 2
    for tenant in ("acme", "books"):
        files = sorted(p.name for p in (settings.data_dir / "reports" / tenant).iterdir())
        assert files == ["monthly_2026-02-01_2026-02-28.pdf", "monthly_2026-02-01_2026-02-28.xlsx"]


def test_schedules_report_on_the_period_that_just_ended() -> None:
    expected = {
        reports_daily: (datetime(2026, 4, 15, 6, 0, tzinfo=UTC), "daily", "2026-04-14"),
        reports_weekly: (datetime(2026, 4, 13, 6, 15, tzinfo=UTC), "weekly", "2026-04-12"),
        reports_monthly: (datetime(2026, 4, 1, 6, 30, tzinfo=UTC), "monthly", "2026-03-31"),
    }
    for schedule, (tick, cadence, end) in expected.items():
        request = schedule.evaluate_tick(
            dg.build_schedule_context(scheduled_execution_time=tick)
        ).run_requests
        assert request is not None and len(request) == 1
        config = request[0].run_config["ops"]["generate_merchant_reports"]["config"]
        assert config == {"cadence": cadence, "end": end}
