"""Reports: the numbers in the workbook and the PDF are the marts' numbers, files land in the
tenant's own folder, and custom schedules and saved segments are checked and kept per tenant.

The workbook is read back with ``tests.reports.xlsx`` (zip + XML: openpyxl is not installed);
the PDF is written uncompressed and its font's ToUnicode map is searched for the currency
sign's code point (pypdf is not installed either), its pages and images counted.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from intellishop.reports import (
    MerchantStore,
    MerchantStoreError,
    ReportSchedule,
    SegmentDefinition,
    build_report,
    generate_report,
    generate_scheduled,
    list_reports,
    period_for,
    reports_dir,
    segment_members,
)
from intellishop.reports.excel import write_workbook
from intellishop.reports.pdf import write_pdf
from intellishop.settings import Settings
from tests.dashboards.demo_data import LAST_DAY, demo_tables, publish_two_shops

from .xlsx import column_values, read_xlsx


@pytest.fixture
def published(settings: Settings) -> Settings:
    publish_two_shops(settings.tenants_db_path, settings.artifacts_dir)
    return settings


def mart(name: str, prefix: str = "a", seed: int = 1) -> pl.DataFrame:
    return pl.DataFrame(demo_tables(prefix, seed)[name])


def test_periods() -> None:
    assert period_for("daily", date(2026, 3, 31)) == (date(2026, 3, 31), date(2026, 3, 31))
    assert period_for("weekly", date(2026, 3, 31)) == (date(2026, 3, 25), date(2026, 3, 31))
    assert period_for("monthly", date(2026, 3, 15)) == (date(2026, 3, 1), date(2026, 3, 15))


def test_weekly_numbers_are_the_marts_sums() -> None:
    report = build_report(
        demo_tables("a"),
        tenant_id="acme",
        shop_name="Acme",
        currency="USD",
        timezone="UTC",
        cadence="weekly",
    )
    assert (report.start, report.end) == (LAST_DAY - timedelta(days=6), LAST_DAY)
    daily = mart("daily_metrics")
    week = daily.filter(pl.col("metric_date") >= LAST_DAY - timedelta(days=6))
    before = daily.filter(
        pl.col("metric_date").is_between(
            LAST_DAY - timedelta(days=13), LAST_DAY - timedelta(days=7)
        )
    )
    kpis = {k.label: k for k in report.kpis}
    assert kpis["Revenue"].value == pytest.approx(week["revenue"].sum())
    assert kpis["Revenue"].previous == pytest.approx(before["revenue"].sum())
    assert kpis["Orders"].value == week["orders"].sum()
    # Ratios from sums, not a mean of the days' ratios.
    orders, sessions = float(week["orders"].sum()), float(week["sessions"].sum())
    assert kpis["Conversion rate"].value == pytest.approx(orders / sessions)
    now, earlier = float(week["revenue"].sum()), float(before["revenue"].sum())
    assert kpis["Revenue"].change == pytest.approx((now - earlier) / earlier)
    assert report.daily is not None and report.daily.height == 7
    geo = mart("geo_daily").filter(pl.col("metric_date") >= LAST_DAY - timedelta(days=6))
    assert report.geography is not None
    us = report.geography.filter(pl.col("country") == "US")
    assert us["net_revenue"][0] == pytest.approx(
        geo.filter(pl.col("country") == "US")["net_revenue"].sum()
    )
    assert report.funnel is not None and report.funnel["visits"][0] == week["sessions"].sum()


def test_workbook_holds_numbers_with_formats(tmp_path: Path) -> None:
    report = build_report(
        demo_tables("b", 2),
        tenant_id="books",
        shop_name="Berlin Books",
        currency="EUR",
        timezone="Europe/Berlin",
        cadence="monthly",
    )
    sheets = read_xlsx(write_workbook(report, tmp_path / "r.xlsx"))
    assert list(sheets) == [
        "Headline numbers",
        "Day by day",
        "Top products",
        "Customer segments",
        "Revenue by country",
        "Purchase funnel",
    ]
    kpis = sheets["Headline numbers"]
    assert kpis["A5"][0] == "Revenue"
    march = mart("daily_metrics", "b", 2).filter(pl.col("metric_date") >= date(2026, 3, 1))
    value, fmt = kpis["B5"]
    assert value == pytest.approx(march["revenue"].sum())
    assert "€" in fmt  # a number shown in euros, not text
    assert kpis["B6"][0] == march["orders"].sum()
    days = sheets["Day by day"]
    assert len(column_values(days, "A")) == 31
    assert column_values(days, "B") == pytest.approx(march["revenue"].to_list())
    assert days["A5"][1] == "yyyy-mm-dd"
    products = sheets["Top products"]
    top = mart("product_performance", "b", 2).sort("revenue", descending=True)
    assert column_values(products, "A")[0] == top["name"][0]
    assert column_values(products, "C")[0] == pytest.approx(top["revenue"][0])
    segments = sheets["Customer segments"]
    customers = mart("customers", "b", 2)
    assert sum(float(v) for v in column_values(segments, "B")) == customers.height


def test_pdf_has_pages_charts_and_the_currency_sign(tmp_path: Path) -> None:
    for currency, code_point in (("EUR", "20AC"), ("INR", "20B9"), ("GBP", "00A3")):
        report = build_report(
            demo_tables("b", 2),
            tenant_id="books",
            shop_name="Books",
            currency=currency,
            timezone="UTC",
            cadence="weekly",
        )
        raw = write_pdf(report, tmp_path / f"{currency}.pdf", compress=False).read_bytes()
        assert raw.startswith(b"%PDF-")
        assert len(re.findall(rb"/Type /Page\b", raw)) >= 2
        assert len(re.findall(rb"/Subtype /Image", raw)) == 3  # daily, products, funnel
        # The subset font maps a glyph to the sign: the sign is drawn, not a missing box.
        to_unicode = b" ".join(re.findall(rb"beginbfchar(.*?)endbfchar", raw, re.S))
        assert f"<{code_point}>".encode() in to_unicode.upper(), currency


def test_generated_files_stay_in_the_tenants_folder(published: Settings) -> None:
    done = generate_report(published, "books", "daily")
    assert done is not None
    assert done.pdf.parent == published.data_dir / "reports" / "books"
    assert done.pdf.name == f"daily_{LAST_DAY}_{LAST_DAY}.pdf"
    assert {p.name for p in list_reports(published, "books")} == {done.pdf.name, done.xlsx.name}
    assert list_reports(published, "acme") == []
    assert generate_report(published, "nobody", "daily") is None
    with pytest.raises(ValueError, match="not a tenant id"):
        reports_dir(published, "../acme")


def test_scheduled_run_makes_standard_and_custom_reports(published: Settings) -> None:
    store = MerchantStore.for_settings(published)
    store.save_schedule(
        "acme", ReportSchedule("Board pack", "weekly", ("kpis", "products"), ("cfo@acme.test",))
    )
    store.save_schedule("acme", ReportSchedule("Daily ops", "daily", ("kpis",)))
    delivered: list[tuple[str, tuple[str, ...]]] = []
    done = generate_scheduled(
        published, "weekly", deliver=lambda report, to: delivered.append((report.name, to))
    )
    names = sorted((r.tenant_id, r.name) for r in done)
    assert names == [("acme", "Board-pack"), ("acme", "weekly"), ("books", "weekly")]
    assert delivered == [("Board-pack", ("cfo@acme.test",))]  # nobody opted in to the rest
    board = next(r for r in done if r.name == "Board-pack")
    assert list(read_xlsx(board.xlsx)) == ["Headline numbers", "Top products"]


def test_schedules_and_segments_are_validated_and_per_tenant(tmp_path: Path) -> None:
    store = MerchantStore(tmp_path / "m.sqlite3")
    with pytest.raises(MerchantStoreError):
        ReportSchedule("../../etc", "weekly")
    with pytest.raises(MerchantStoreError):
        ReportSchedule("ok", "hourly")  # type: ignore[arg-type]
    with pytest.raises(MerchantStoreError):
        ReportSchedule("ok", "daily", ("kpis", "secrets"))
    store.save_segment("acme", SegmentDefinition("VIP", rfm_segments=("Champions",), min_orders=3))
    assert [s.name for s in store.segments("acme")] == ["VIP"]
    assert store.segments("books") == []
    assert store.segment("books", "VIP") is None
    saved = store.segment("acme", "VIP")
    assert saved == SegmentDefinition("VIP", rfm_segments=("Champions",), min_orders=3)
    assert store.delete_segment("acme", "VIP") and store.segments("acme") == []


def test_segment_members() -> None:
    tables = demo_tables("a")
    customers = mart("customers")
    scores = mart("customer_scores")
    vip = SegmentDefinition("VIP", rfm_segments=("Champions", "Loyal"), min_orders=4)
    members = segment_members(vip, tables["customers"])
    expected = customers.filter(
        pl.col("rfm_segment").is_in(["Champions", "Loyal"]) & (pl.col("orders") >= 4)
    )
    assert sorted(members["customer_id"].to_list()) == sorted(expected["customer_id"].to_list())
    risky = SegmentDefinition("Risky", min_churn_probability=0.8)
    assert segment_members(risky, tables["customers"]).is_empty()  # no scores: nobody
    members = segment_members(risky, tables["customers"], tables["customer_scores"])
    assert members.height == scores.filter(pl.col("churn_probability") >= 0.8).height > 0
