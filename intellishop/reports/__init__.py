"""Merchant reports (daily, weekly, monthly; PDF with charts and an Excel workbook), custom
report schedules and saved segments, all from the pipeline's published tables.

- :mod:`.data`: what a report says (one computation for both formats);
- :mod:`.pdf`, :mod:`.excel`: the two renderings;
- :mod:`.generate`: files under ``<data_dir>/reports/<tenant>/``, for the Dagster schedules
  and the dashboards' "generate now";
- :mod:`.store`, :mod:`.segments`: what merchants save in the dashboards (report schedules,
  segment definitions) and who is in a saved segment (for the automation).
"""

from __future__ import annotations

from .data import CADENCES, SECTIONS, Cadence, ReportData, build_report, period_for
from .generate import (
    GeneratedReport,
    generate_report,
    generate_scheduled,
    list_reports,
    reports_dir,
)
from .segments import segment_members
from .store import MerchantStore, MerchantStoreError, ReportSchedule, SegmentDefinition

__all__ = [
    "CADENCES",
    "SECTIONS",
    "Cadence",
    "GeneratedReport",
    "MerchantStore",
    "MerchantStoreError",
    "ReportData",
    "ReportSchedule",
    "SegmentDefinition",
    "build_report",
    "generate_report",
    "generate_scheduled",
    "list_reports",
    "period_for",
    "reports_dir",
    "segment_members",
]
