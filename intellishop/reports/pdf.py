"""The report as a PDF: headline numbers, charts (matplotlib PNGs) and tables.

Text is set in DejaVu Sans, the TrueType font matplotlib ships (so no system font is needed),
because the PDF core fonts have no glyph for most currency signs (₹, and € only in cp1252).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib
import polars as pl
from fpdf import FPDF
from matplotlib.figure import Figure

from .data import SECTION_TITLES, ReportData
from .formats import change, count, money, percent

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
REVENUE = "#2ca02c"
ORDERS = "#ff7f0e"
VISITS = "#1f77b4"
#: Printable width of an A4 page with 15 mm margins.
WIDTH_MM = 180


class _Document(FPDF):
    def __init__(self, report: ReportData) -> None:
        super().__init__(format="A4")
        self.report = report
        self.set_margins(15, 15, 15)
        self.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(True, margin=15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(120)
        self.cell(0, 5, f"IntelliShop · {self.report.shop_name} · page {self.page_no()}", align="C")
        self.set_text_color(0)


def _png(figure: Figure) -> io.BytesIO:
    # Figure without pyplot: no global state, no display backend, safe in a worker thread.
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    buffer.seek(0)
    return buffer


def _daily_chart(daily: pl.DataFrame, currency: str) -> io.BytesIO:
    figure = Figure(figsize=(8, 3))
    axis = figure.subplots()
    days = daily["metric_date"].to_list()
    axis.bar(days, daily["revenue"].to_list(), color=REVENUE, label=f"Revenue ({currency})")
    axis.set_ylabel(f"Revenue ({currency})")
    other = axis.twinx()
    other.plot(days, daily["orders"].to_list(), color=ORDERS, marker="o", label="Orders")
    other.set_ylabel("Orders")
    other.set_ylim(bottom=0)
    axis.set_title(f"Daily revenue ({currency}) and orders")
    figure.autofmt_xdate()
    return _png(figure)


def _bar_chart(labels: list[str], values: list[float], title: str, color: str) -> io.BytesIO:
    figure = Figure(figsize=(8, max(2.0, 0.3 * len(labels) + 0.8)))
    axis = figure.subplots()
    axis.barh(labels[::-1], values[::-1], color=color)
    axis.set_title(title)
    return _png(figure)


def _table(pdf: _Document, headers: list[str], rows: list[list[str]]) -> None:
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=tuple([2] + [1] * (len(headers) - 1)),
        text_align=tuple(["LEFT"] + ["RIGHT"] * (len(headers) - 1)),
        line_height=5.5,
    ) as table:
        table.row(headers)
        for row in rows:
            table.row(row)
    pdf.ln(3)


def _heading(pdf: _Document, text: str) -> None:
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")


def write_pdf(report: ReportData, path: Path, *, compress: bool = True) -> Path:
    """Write ``report`` to ``path`` (.pdf) and return it (``compress=False`` leaves the
    streams readable, for tests that look inside)."""
    pdf = _Document(report)
    pdf.set_compression(compress)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 10, f"{report.shop_name}: {report.cadence} report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(
        0,
        6,
        f"{report.start:%d %B %Y} to {report.end:%d %B %Y} · days in {report.timezone} · "
        f"money in {report.currency}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    currency = report.currency
    for section in report.sections:
        _heading(pdf, SECTION_TITLES[section])
        if section == "kpis":
            if not report.kpis:
                _empty(pdf)
                continue
            shown: dict[str, Callable[[float | None], str]] = {
                "money": lambda v: money(v, currency),
                "count": count,
                "percent": percent,
            }
            _table(
                pdf,
                ["Measure", "This period", "Period before", "Change"],
                [
                    [k.label, shown[k.kind](k.value), shown[k.kind](k.previous), change(k.change)]
                    for k in report.kpis
                ],
            )
            continue
        frame: pl.DataFrame | None = getattr(report, section)
        if frame is None or frame.is_empty():
            _empty(pdf)
            continue
        if section == "daily":
            pdf.image(_daily_chart(frame, currency), w=WIDTH_MM)
            rows = [
                [
                    f"{r['metric_date']:%a %d %b}",
                    money(r["revenue"], currency),
                    count(r["orders"]),
                    count(r["sessions"]),
                    percent(r["conversion_rate"], 2),
                ]
                for r in frame.iter_rows(named=True)
            ]
            _table(pdf, ["Day", "Revenue", "Orders", "Visits", "Conversion"], rows)
        elif section == "products":
            pdf.image(
                _bar_chart(
                    frame["product"].to_list(),
                    frame["revenue"].to_list(),
                    f"Revenue by product ({currency})",
                    REVENUE,
                ),
                w=WIDTH_MM,
            )
            rows = [
                [
                    str(r["product"]),
                    money(r["revenue"], currency),
                    count(r["units_sold"]),
                    count(r["views"]),
                    percent(r["return_rate"]),
                ]
                for r in frame.iter_rows(named=True)
            ]
            _table(pdf, ["Product", "Revenue", "Units", "Views", "Returns"], rows)
        elif section == "customers":
            rows = [
                [
                    str(r["segment"]),
                    count(r["customers"]),
                    money(r["net_revenue"], currency),
                    percent(r["revenue_share"]),
                ]
                for r in frame.iter_rows(named=True)
            ]
            _table(pdf, ["Segment", "Customers", "Net revenue", "Of revenue"], rows)
        elif section == "geography":
            rows = [
                [
                    str(r["country"]),
                    money(r["net_revenue"], currency),
                    count(r["orders"]),
                    count(r["sessions"]),
                ]
                for r in frame.iter_rows(named=True)
            ]
            _table(pdf, ["Country", "Net revenue", "Orders", "Visits"], rows)
        elif section == "funnel":
            pdf.image(
                _bar_chart(
                    frame["step"].to_list(),
                    [float(v) for v in frame["visits"]],
                    "Visits reaching each step",
                    VISITS,
                ),
                w=WIDTH_MM,
            )
            rows = [
                [str(r["step"]), count(r["visits"]), percent(r["of_visits"])]
                for r in frame.iter_rows(named=True)
            ]
            _table(pdf, ["Step", "Visits", "Of all visits"], rows)
    pdf.output(str(path))
    return path


def _empty(pdf: _Document) -> None:
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(
        0, 7, "No data published for this period: run the pipeline.", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(2)
