"""Reports: download the daily, weekly and monthly reports (PDF and Excel) the pipeline's
schedules generate, generate one now, and set up custom scheduled reports."""

from __future__ import annotations

import streamlit as st

from dashboards.sidebar import select_shop, signed_in_user
from intellishop.reports import (
    CADENCES,
    SECTIONS,
    MerchantStore,
    MerchantStoreError,
    ReportSchedule,
    generate_report,
    list_reports,
)
from intellishop.reports.data import SECTION_TITLES
from intellishop.settings import get_settings

MIME = {
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SHOWN = 20

st.title("Reports")
user = signed_in_user()
shop, version = select_shop()
settings = get_settings()

if user.can_build:
    left, right = st.columns([2, 1])
    cadence = left.segmented_control(
        "Generate now", list(CADENCES), default="weekly", key="generate_cadence"
    )
    right.write("")
    if right.button("Generate", type="primary", key="generate_now"):
        with st.spinner("Drawing charts and writing the PDF and workbook..."):
            done = generate_report(settings, shop.tenant_id, cadence or "weekly")
        if done is None:
            st.error("Nothing published for this shop yet: run the pipeline first.")
        else:
            st.success(f"Generated the {done.name} report for {done.start} to {done.end}.")

files = list_reports(settings, shop.tenant_id)
st.subheader("Generated reports")
if not files:
    st.info(
        "No reports yet: the pipeline's schedules write one every day, week and month "
        "(Dagster `reports_daily`, `reports_weekly`, `reports_monthly`)"
        + ("; or press Generate above." if user.can_build else ".")
    )
for path in files[:SHOWN]:
    name_column, button_column = st.columns([3, 1])
    name_column.write(f"📄 {path.name} · {path.stat().st_size / 1024:,.0f} KB")
    button_column.download_button(
        "Download",
        data=path.read_bytes(),
        file_name=path.name,
        mime=MIME.get(path.suffix, "application/octet-stream"),
        key=f"download_{path.name}",
    )

st.subheader("Custom scheduled reports")
store = MerchantStore.for_settings(settings)
schedules = store.schedules(shop.tenant_id)
if schedules:
    st.dataframe(
        [
            {
                "name": s.name,
                "cadence": s.cadence,
                "sections": ", ".join(SECTION_TITLES[x] for x in s.sections),
                "email to": ", ".join(s.email_to),
            }
            for s in schedules
        ],
        hide_index=True,
    )
else:
    st.caption("No custom reports: the standard daily, weekly and monthly ones are made anyway.")
if user.can_build:
    with st.form("schedule_builder"):
        name = st.text_input("Report name", placeholder="Board pack")
        cadence_choice = st.selectbox("Every", CADENCES, index=1)
        sections = st.multiselect(
            "Sections",
            SECTIONS,
            default=["kpis", "products"],
            format_func=SECTION_TITLES.__getitem__,
        )
        email = st.text_input("Email to (comma separated, optional)")
        submitted = st.form_submit_button("Save schedule", type="primary")
    if submitted:
        try:
            schedule = ReportSchedule(
                name=name,
                cadence=cadence_choice,
                sections=tuple(s for s in SECTIONS if s in sections),
                email_to=tuple(a.strip() for a in email.split(",") if a.strip()),
            )
        except MerchantStoreError as error:
            st.error(str(error))
        else:
            store.save_schedule(shop.tenant_id, schedule)
            st.success(f"Saved {schedule.name!r}: generated with every {schedule.cadence} run.")
            st.rerun()
