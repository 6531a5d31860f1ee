"""Reports: download the daily, weekly and monthly reports (PDF and Excel) the pipeline's
schedules generate, generate one now, choose who gets them by email, and set up custom
scheduled reports."""

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
from intellishop.reports.store import parse_recipients
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

store = MerchantStore.for_settings(settings)
st.subheader("Email the reports")
recipients = store.report_recipients(shop.tenant_id)
if user.can_build:
    with st.form("report_emails"):
        st.caption(
            "Each report is emailed with the PDF and the workbook attached when the schedule "
            "writes it. Leave a field empty for no email."
        )
        typed = {
            cadence: st.text_input(
                f"{cadence.capitalize()} report to",
                value=", ".join(recipients.get(cadence, ())),
                placeholder="you@example.com, team@example.com",
                key=f"report_emails_{cadence}",
            )
            for cadence in CADENCES
        }
        save_emails = st.form_submit_button("Save email settings")
    if save_emails:
        try:
            chosen = {cadence: parse_recipients(text) for cadence, text in typed.items()}
        except MerchantStoreError as error:
            st.error(str(error))
        else:
            for cadence, addresses in chosen.items():
                store.set_report_recipients(shop.tenant_id, cadence, addresses)
            st.success("Saved who gets the reports by email.")
else:
    for cadence in CADENCES:
        st.caption(
            f"{cadence.capitalize()} report emailed to: "
            + (", ".join(recipients.get(cadence, ())) or "nobody")
        )
deliveries = store.deliveries(shop.tenant_id)
if deliveries:
    st.dataframe(
        [
            {
                "sent (UTC)": d.sent_at[:16].replace("T", " "),
                "report": d.report,
                "to": ", ".join(d.recipients),
                "result": "sent" if d.ok else f"failed: {d.error}",
            }
            for d in deliveries
        ],
        hide_index=True,
    )

st.subheader("Custom scheduled reports")
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
        email = st.text_input("Email to (comma separated, optional)", key="schedule_email")
        submitted = st.form_submit_button("Save schedule", type="primary")
    if submitted:
        try:
            schedule = ReportSchedule(
                name=name,
                cadence=cadence_choice,
                sections=tuple(s for s in SECTIONS if s in sections),
                email_to=parse_recipients(email),
            )
        except MerchantStoreError as error:
            st.error(str(error))
        else:
            store.save_schedule(shop.tenant_id, schedule)
            st.success(f"Saved {schedule.name!r}: generated with every {schedule.cadence} run.")
            st.rerun()
