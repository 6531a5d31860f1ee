"""The report job and its daily, weekly and monthly schedules.

Reports read the published artifacts only (never the warehouse), so they may run while the
pipeline does. Each schedule reports on the period that ended the day before it fires: the
daily one on yesterday, the weekly one (Mondays) on Monday to Sunday, the monthly one (on the
1st) on the whole previous month. Like the pipeline's schedules they start stopped; an
operator turns them on in the UI (or ``make demo`` does).

Each report a shop asked for by email (Reports page) is sent with the PDF and the workbook
attached, through the automation's SMTP settings. A failed send is logged in the run and
recorded for the shop, and does not fail the run: the files are written, other shops' mail goes
out, and the Reports page shows what did not.
"""

from datetime import date, timedelta

import dagster as dg

from intellishop.automation.delivery import Outcome
from intellishop.reports import CADENCES, GeneratedReport, generate_scheduled
from intellishop.reports.email import email_delivery
from intellishop.settings import get_settings


class ReportsConfig(dg.Config):
    """Which reports to make and the last day they cover (default: yesterday, UTC)."""

    cadence: str = "daily"
    end: str | None = None


@dg.op(
    description="Writes the cadence's reports of every published shop, and its custom ones, "
    "and emails those a shop asked for."
)
def generate_merchant_reports(context: dg.OpExecutionContext, config: ReportsConfig) -> int:
    if config.cadence not in CADENCES:
        raise dg.Failure(f"cadence must be one of {', '.join(CADENCES)}")
    end = date.fromisoformat(config.end) if config.end else date.today() - timedelta(days=1)
    settings = get_settings()

    def logged(report: GeneratedReport, recipients: tuple[str, ...], outcome: Outcome) -> None:
        what = f"{report.tenant_id}: {report.pdf.stem} to {len(recipients)} recipient(s)"
        if outcome.ok:
            context.log.info(f"emailed {what}")
        else:
            context.log.warning(f"emailing {what} failed: {outcome.error}")

    done = generate_scheduled(
        settings,
        config.cadence,  # type: ignore[arg-type]
        end=end,
        deliver=email_delivery(settings, on_outcome=logged),
    )
    for report in done:
        context.log.info(
            f"{report.tenant_id}: {report.name} {report.start}..{report.end} -> {report.pdf.name}"
        )
    return len(done)


@dg.job(description="Daily, weekly or monthly merchant reports (PDF and Excel) of every shop.")
def merchant_reports() -> None:
    generate_merchant_reports()


def _schedule(name: str, cadence: str, cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=name,
        job=merchant_reports,
        cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"The {cadence} merchant reports, for the period that ended yesterday.",
    )
    def _run(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        tick = context.scheduled_execution_time
        end = (tick.date() if tick else date.today()) - timedelta(days=1)
        return dg.RunRequest(
            run_key=f"{cadence}-{end.isoformat()}",
            run_config={
                "ops": {
                    "generate_merchant_reports": {
                        "config": {"cadence": cadence, "end": end.isoformat()}
                    }
                }
            },
            tags={"intellishop/report": cadence},
        )

    return _run


#: 06:00 UTC, after the 05:30 daily pipeline run.
reports_daily = _schedule("reports_daily", "daily", "0 6 * * *")
#: Mondays 06:15 UTC: the week Monday to Sunday.
reports_weekly = _schedule("reports_weekly", "weekly", "15 6 * * 1")
#: The 1st at 06:30 UTC: the whole previous month.
reports_monthly = _schedule("reports_monthly", "monthly", "30 6 1 * *")
