"""Generate merchant reports into ``<data_dir>/reports/<tenant>/`` and find them again.

File names come from the cadence, a validated schedule name and the dates, never from raw
user input, and the tenant id must be one the serving store publishes for: no path a caller
writes can leave the tenant's own report folder.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from intellishop.artifacts import LocalArtifactStore
from intellishop.settings import Settings
from intellishop.tenants import TenantRegistry

from .data import SECTIONS, Cadence, build_report
from .store import MerchantStore, check_name

log = logging.getLogger(__name__)

_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
REPORT_SUFFIXES = (".pdf", ".xlsx")


@dataclass(frozen=True)
class GeneratedReport:
    """The files of one report (PDF and workbook) and what they cover."""

    tenant_id: str
    name: str
    cadence: Cadence
    start: date
    end: date
    pdf: Path
    xlsx: Path


#: Called after a scheduled report is written with the addresses the tenant wants it sent to
#: (see :func:`intellishop.reports.email.email_delivery`).
DeliveryHook = Callable[[GeneratedReport, tuple[str, ...]], None]


def reports_dir(settings: Settings, tenant_id: str) -> Path:
    """The tenant's report folder (a tenant id that is not a plain id is refused)."""
    if not _TENANT.match(tenant_id):
        raise ValueError(f"not a tenant id: {tenant_id[:70]!r}")
    return settings.data_dir / "reports" / tenant_id


def generate_report(
    settings: Settings,
    tenant_id: str,
    cadence: Cadence,
    *,
    end: date | None = None,
    sections: tuple[str, ...] = SECTIONS,
    name: str | None = None,
) -> GeneratedReport | None:
    """Write the PDF and the workbook of one report; None when nothing is published."""
    # Imported here: matplotlib and fpdf2 take a second to import, which a page that only
    # lists reports or saved segments should not pay.
    from .excel import write_workbook
    from .pdf import write_pdf

    artifact = LocalArtifactStore(settings.artifacts_dir).current(tenant_id)
    if artifact is None:
        return None
    tenant = None
    if settings.tenants_db_path.exists():
        tenant = TenantRegistry(settings.tenants_db_path).get(tenant_id)
    report = build_report(
        artifact.tables,
        tenant_id=tenant_id,
        shop_name=tenant.name if tenant else tenant_id,
        currency=tenant.currency if tenant else "USD",
        timezone=tenant.timezone if tenant else "UTC",
        cadence=cadence,
        end=end,
        sections=sections,
    )
    label = check_name(name).replace(" ", "-") if name else cadence
    folder = reports_dir(settings, tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{label}_{report.start:%Y-%m-%d}_{report.end:%Y-%m-%d}"
    return GeneratedReport(
        tenant_id=tenant_id,
        name=label,
        cadence=cadence,
        start=report.start,
        end=report.end,
        pdf=write_pdf(report, folder / f"{stem}.pdf"),
        xlsx=write_workbook(report, folder / f"{stem}.xlsx"),
    )


def generate_scheduled(
    settings: Settings,
    cadence: Cadence,
    *,
    end: date | None = None,
    deliver: DeliveryHook | None = None,
) -> list[GeneratedReport]:
    """Every published tenant's standard ``cadence`` report and its custom schedules of that
    cadence.

    ``deliver`` gets each report whose tenant asked for it by email: the standard one when the
    tenant opted in for this cadence (:meth:`MerchantStore.report_recipients`), a custom one
    when its schedule names recipients. Only the tenant's own addresses ever get its reports.
    A hook that raises is logged and skipped: one shop's mail never stops another's reports.
    """
    store = MerchantStore.for_settings(settings)
    done: list[GeneratedReport] = []
    for tenant_id in LocalArtifactStore(settings.artifacts_dir).tenants():
        if not _TENANT.match(tenant_id):
            continue
        wanted: list[tuple[GeneratedReport, tuple[str, ...]]] = []
        standard = generate_report(settings, tenant_id, cadence, end=end)
        if standard is not None:
            done.append(standard)
            wanted.append((standard, store.report_recipients(tenant_id).get(cadence, ())))
        for schedule in store.schedules(tenant_id):
            if schedule.cadence != cadence:
                continue
            custom = generate_report(
                settings,
                tenant_id,
                cadence,
                end=end,
                sections=schedule.sections,
                name=schedule.name,
            )
            if custom is not None:
                done.append(custom)
                wanted.append((custom, schedule.email_to))
        if deliver is None:
            continue
        for report, recipients in wanted:
            if not recipients:
                continue
            try:
                deliver(report, recipients)
            except Exception:
                log.exception("delivering %s of %s failed", report.pdf.stem, tenant_id)
    return done


def list_reports(settings: Settings, tenant_id: str) -> list[Path]:
    """The tenant's report files, newest first."""
    folder = reports_dir(settings, tenant_id)
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix in REPORT_SUFFIXES]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
