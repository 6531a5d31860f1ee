"""The report as an Excel workbook: one sheet per section, numbers stored as numbers with
formats (money in the shop's currency, percentages, dates), so a merchant can sum and chart."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from .data import SECTION_TITLES, ReportData
from .formats import excel_money_format

#: Column name -> (header, format kind) of every column a section table may have.
COLUMNS: dict[str, tuple[str, str]] = {
    "metric_date": ("Day", "date"),
    "revenue": ("Revenue", "money"),
    "net_revenue": ("Net revenue", "money"),
    "orders": ("Orders", "count"),
    "sessions": ("Visits", "count"),
    "conversion_rate": ("Conversion rate", "percent"),
    "product": ("Product", "text"),
    "category": ("Category", "text"),
    "units_sold": ("Units sold", "count"),
    "views": ("Views", "count"),
    "return_rate": ("Return rate", "percent"),
    "segment": ("Segment", "text"),
    "customers": ("Customers", "count"),
    "avg_orders": ("Orders per customer", "decimal"),
    "revenue_share": ("Share of revenue", "percent"),
    "country": ("Country", "text"),
    "step": ("Step", "text"),
    "visits": ("Visits", "count"),
    "of_visits": ("Of all visits", "percent"),
}


def write_workbook(report: ReportData, path: Path) -> Path:
    """Write ``report`` to ``path`` (.xlsx) and return it."""
    workbook = xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd"})
    formats: dict[str, Any] = {
        "money": workbook.add_format({"num_format": excel_money_format(report.currency)}),
        "count": workbook.add_format({"num_format": "#,##0"}),
        "decimal": workbook.add_format({"num_format": "#,##0.00"}),
        "percent": workbook.add_format({"num_format": "0.0%"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "text": None,
        "header": workbook.add_format({"bold": True, "bottom": 1}),
        "title": workbook.add_format({"bold": True, "font_size": 14}),
    }
    for section in report.sections:
        sheet = workbook.add_worksheet(SECTION_TITLES[section][:31])
        sheet.write(0, 0, f"{SECTION_TITLES[section]}: {report.shop_name}", formats["title"])
        sheet.write(1, 0, f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d} ({report.timezone})")
        if section == "kpis":
            _write_kpis(sheet, report, formats)
            continue
        frame: pl.DataFrame | None = getattr(report, section)
        if frame is None or frame.is_empty():
            sheet.write(3, 0, "No data published for this period: run the pipeline.")
            continue
        _write_table(sheet, frame, formats)
    workbook.close()
    return path


def _write_kpis(sheet: Any, report: ReportData, formats: dict[str, Any]) -> None:
    for col, header in enumerate(("Measure", "This period", "Period before", "Change")):
        sheet.write(3, col, header, formats["header"])
    for row, kpi in enumerate(report.kpis, start=4):
        sheet.write(row, 0, kpi.label)
        for col, value in ((1, kpi.value), (2, kpi.previous)):
            if value is None:
                sheet.write_blank(row, col, None)
            else:
                sheet.write_number(row, col, value, formats[kpi.kind])
        if kpi.change is None:
            sheet.write_blank(row, 3, None)
        else:
            sheet.write_number(row, 3, kpi.change, formats["percent"])
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 3, 16)


def _write_table(sheet: Any, frame: pl.DataFrame, formats: dict[str, Any]) -> None:
    for col, name in enumerate(frame.columns):
        header, kind = COLUMNS.get(name, (name, "text"))
        sheet.write(3, col, header, formats["header"])
        sheet.set_column(col, col, 22 if kind == "text" else 15)
        for row, value in enumerate(frame[name].to_list(), start=4):
            if value is None:
                sheet.write_blank(row, col, None)
            elif kind == "date" and isinstance(value, date):
                sheet.write_datetime(row, col, value, formats["date"])
            elif kind == "text":
                sheet.write_string(row, col, str(value))
            else:
                sheet.write_number(row, col, float(value), formats[kind])
    sheet.autofilter(3, 0, 3 + frame.height, frame.width - 1)
    sheet.freeze_panes(4, 0)
