"""Email a generated report (the PDF and the workbook attached) to the addresses its shop chose.

Sent through the automation's SMTP client and settings (``INTELLISHOP_AUTOMATION_SMTP_*``,
``INTELLISHOP_AUTOMATION_EMAIL_FROM``): one mail server configuration for the whole product.
Every attempt is recorded in the merchant store (the Reports page lists them) and logged; a
failure is returned, never raised, so the scheduled job goes on with the other shops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.utils import formatdate

from intellishop.automation.config import AutomationConfig
from intellishop.automation.delivery import Outcome
from intellishop.automation.delivery.email import message_id, send_message
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from .generate import DeliveryHook, GeneratedReport
from .store import MerchantStore, check_recipients

log = logging.getLogger(__name__)

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

#: Called with each attempt's outcome (the Dagster op logs them in the run).
OutcomeHook = Callable[[GeneratedReport, tuple[str, ...], Outcome], None]


def report_subject(report: GeneratedReport, shop_name: str) -> str:
    """``Acme Outdoor: weekly report, 2026-03-02 to 2026-03-08``; a custom one says its name."""
    what = report.cadence if report.name == report.cadence else f"{report.name} ({report.cadence})"
    period = (
        f"{report.start:%Y-%m-%d}"
        if report.start == report.end
        else f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}"
    )
    return f"{shop_name}: {what} report, {period}"


def report_message(
    report: GeneratedReport, recipients: tuple[str, ...], *, sender: str, shop_name: str
) -> EmailMessage:
    """The mail: a short text saying what is attached, then the PDF and the workbook.

    The Message-ID comes from the tenant, the files and the recipients, so sending the same
    report again (a re-run of the job) lets a receiving system drop the duplicate.
    """
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = ", ".join(check_recipients(recipients))
    message["Subject"] = report_subject(report, shop_name)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(
        f"report:{report.tenant_id}:{report.pdf.stem}:{','.join(recipients)}"
    )
    message.set_content(
        f"Hello,\n\nattached is the {report_subject(report, shop_name)}: a PDF with charts and "
        "an Excel workbook with the same numbers.\n\nYou get this email because the shop's "
        "owner added your address on the Reports page of the IntelliShop dashboards; they "
        "can remove it there.\n"
    )
    message.add_attachment(
        report.pdf.read_bytes(), maintype="application", subtype="pdf", filename=report.pdf.name
    )
    message.add_attachment(
        report.xlsx.read_bytes(),
        maintype=XLSX_TYPE[0],
        subtype=XLSX_TYPE[1],
        filename=report.xlsx.name,
    )
    return message


def email_report(
    settings: Settings,
    report: GeneratedReport,
    recipients: tuple[str, ...],
    *,
    store: MerchantStore | None = None,
) -> Outcome:
    """Send one report to ``recipients``, record the attempt; one attempt, never raises."""
    store = store or MerchantStore.for_settings(settings)
    config = AutomationConfig.from_settings(settings)
    try:
        tenant = None
        if settings.tenants_db_path.exists():
            tenant = TenantRegistry(settings.tenants_db_path).get(report.tenant_id)
        message = report_message(
            report,
            recipients,
            sender=config.email_from,
            shop_name=tenant.name if tenant else report.tenant_id,
        )
    except (OSError, ValueError) as error:  # a file gone, an address the store would refuse
        outcome = Outcome(False, f"{type(error).__name__}: {error}", permanent=True)
    else:
        outcome = send_message(
            message,
            host=config.smtp_host,
            port=config.smtp_port,
            user=config.smtp_user,
            password=config.smtp_password,
            starttls=config.smtp_starttls,
        )
    store.record_delivery(
        report.tenant_id, report.pdf.stem, tuple(recipients), outcome.ok, outcome.error
    )
    if outcome.ok:
        log.info("emailed %s of %s to %d recipient(s)", report.pdf.stem, report.tenant_id,
                 len(recipients))  # fmt: skip
    else:
        log.warning("emailing %s of %s failed: %s", report.pdf.stem, report.tenant_id,
                    outcome.error)  # fmt: skip
    return outcome


def email_delivery(settings: Settings, on_outcome: OutcomeHook | None = None) -> DeliveryHook:
    """The ``deliver`` hook of :func:`intellishop.reports.generate_scheduled` that emails."""
    store = MerchantStore.for_settings(settings)

    def deliver(report: GeneratedReport, recipients: tuple[str, ...]) -> None:
        outcome = email_report(settings, report, recipients, store=store)
        if on_outcome is not None:
            on_outcome(report, recipients, outcome)

    return deliver
