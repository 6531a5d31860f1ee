"""Customer lists from CSV, as Segment ``identify`` calls.

One ``identify`` per row: ``userId`` is the ``customer_id`` column, else the e-mail in lower
case; traits are the e-mail, names and phone (only mapped columns: nothing else in the file is
copied, so a wide export does not spill data nobody asked for). The event's time is
``created_at`` when mapped, else the time of the import. With ``--format shopify`` Shopify's
customers export is read (``Customer ID``, ``First Name``, ``Last Name``, ``Email``, ``Phone``)
and ``userId`` is ``shopify:<Customer ID>``, the id its webhooks use.

The message id is derived from the user id and the traits, so importing the same list twice
adds nothing, and a changed row (a new e-mail) is a new identify.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..platforms import shopify
from ..platforms.canonical import build_event, derived_message_id, utc
from .mapping import ColumnMapping
from .rows import ImportPlan, Progress, parse_datetime, too_far_ahead

LIBRARY = "intellishop-import"
PROGRESS_EVERY = 2000
TRAIT_FIELDS = ("email", "first_name", "last_name", "name", "phone")
SHOPIFY_CUSTOMER_COLUMNS = {
    "customer_id": "Customer ID",
    "email": "Email",
    "first_name": "First Name",
    "last_name": "Last Name",
    "phone": "Phone",
}


def plan_customers(
    header: list[str],
    rows: Iterable[list[str]],
    mapping: ColumnMapping,
    *,
    tenant_timezone: str,
    received_at_us: int,
    shopify_format: bool = False,
    progress: Progress | None = None,
) -> ImportPlan:
    """Check a customers file and build its identify calls (or its error report)."""
    if shopify_format:
        mapping = ColumnMapping(columns=SHOPIFY_CUSTOMER_COLUMNS)
    plan = ImportPlan()
    index = {name: position for position, name in enumerate(header)}
    if mapping.column("customer_id") not in index and mapping.column("email") not in index:
        plan.error(1, mapping.column("customer_id"), "missing column (customer_id or email)")
        return plan
    at = {
        name: index.get(mapping.column(name))
        for name in ("customer_id", "created_at", *TRAIT_FIELDS)
    }
    zone = mapping.zone(tenant_timezone)
    now = datetime.fromtimestamp(received_at_us / 1_000_000).astimezone()
    width = len(header)
    seen: dict[str, int] = {}

    for number, row in enumerate(rows, start=2):
        plan.rows += 1
        if progress is not None and plan.rows % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if not any(cell.strip() for cell in row):
            plan.rows -= 1
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))

        def cell(name: str, row: list[str] = row) -> str:
            position = at[name]
            return row[position].strip() if position is not None else ""

        customer_id = cell("customer_id").lstrip("'")  # Shopify quotes ids against Excel
        email = cell("email").lower()
        if shopify_format and customer_id:
            user_id = shopify.customer_user_id(customer_id)
        else:
            user_id = customer_id or email
        if not user_id:
            plan.error(number, mapping.column("customer_id"), "empty: a customer id or e-mail")
            continue
        if email and ("@" not in email or " " in email):
            plan.error(number, mapping.column("email"), f"{email!r} is not an e-mail address")
            continue
        if user_id in seen:
            plan.error(
                number, mapping.column("customer_id"), f"same customer as row {seen[user_id]}"
            )
            continue
        seen[user_id] = number
        occurred_at = utc(now)
        if at["created_at"] is not None and cell("created_at"):
            parsed = parse_datetime(cell("created_at"), mapping.date_format, zone)
            if parsed is None or too_far_ahead(parsed):
                plan.error(
                    number,
                    mapping.column("created_at"),
                    f"{cell('created_at')!r} is not a past date in {mapping.date_format!r}",
                )
                continue
            occurred_at = parsed
        traits = {name: cell(name) or None for name in TRAIT_FIELDS}
        traits["email"] = email or None
        if not traits["name"] and (traits["first_name"] or traits["last_name"]):
            traits["name"] = " ".join(t for t in (traits["first_name"], traits["last_name"]) if t)
        if at["created_at"] is not None and cell("created_at"):
            traits["created_at"] = occurred_at.isoformat()
        plan.add(
            build_event(
                message_id=derived_message_id(
                    "import", "identify", user_id, sorted((k, v or "") for k, v in traits.items())
                ),
                message_type="identify",
                occurred_at=occurred_at,
                received_at_us=received_at_us,
                library=LIBRARY,
                user_id=user_id,
                traits=traits,
            )
        )
    if progress is not None:
        progress(plan.rows % PROGRESS_EVERY)
    if not plan.ok:
        plan.events.clear()
    return plan
