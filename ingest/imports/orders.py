"""Order history from CSV: a generic one-row-per-line file, or Shopify's orders export.

Both become the events the warehouse already reads (``int_orders``): one ``Order Completed``
per order with its ``products[]``, ``Order Refunded`` for money given back and ``Order
Cancelled`` for cancelled orders.

Generic files (one row per order line, columns named by a :class:`ColumnMapping`):

- lines with a positive quantity make up the order (``revenue`` = ``total`` = the sum of
  quantity x unit price; the order's time is its earliest line's date)
- a negative quantity is a return: the order's negative lines of one date make one
  ``Order Refunded`` of that date, for their value
- a status column may say ``refunded``/``returned`` (the line was bought and refunded: it is in
  the order *and* in a refund) or ``cancelled`` (an ``Order Cancelled`` for those lines)
- the person is ``customer_id`` if given, else the e-mail (lower case), else the order is
  anonymous (``anonymousId = "import:order:<order_id>"``)

Shopify's export repeats an order's ``Name`` on each of its line rows and fills the order-level
columns (totals, dates, currency) on the first only; they are carried to the order's other rows.
``Refunded Amount`` becomes an ``Order Refunded``, ``Cancelled at`` an ``Order Cancelled``.
The export has the order ``Id`` but no customer id and no product id: the person is the e-mail,
the product is the line's SKU (its name when there is none). Its ``Order Completed`` has the
same message id as the ``orders/create`` webhook of that order, so importing history that
overlaps a connected webhook does not count an order twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from intellishop.events import to_micros

from ..platforms import shopify
from ..platforms.canonical import build_event, derived_message_id
from .mapping import ORDER_REQUIRED, ColumnMapping
from .rows import (
    ImportPlan,
    Progress,
    parse_datetime,
    parse_decimal,
    parse_int,
    too_far_ahead,
)

LIBRARY = "intellishop-import"
_GENERIC_FIELDS = (
    "order_id",
    "date",
    "quantity",
    "unit_price",
    "product_id",
    "sku",
    "name",
    "category",
    "brand",
    "customer_id",
    "email",
    "currency",
    "status",
)
PROGRESS_EVERY = 2000


@dataclass
class _Line:
    row: int
    occurred_at: datetime
    product: dict[str, Any]
    quantity: int
    unit_price: Decimal
    meaning: str


@dataclass
class _Order:
    order_id: str
    currency: str
    user_id: str | None
    lines: list[_Line] = field(default_factory=list)


def _money(value: Decimal) -> float:
    return float(round(value, 2))


def _people(order_id: str, user_id: str | None) -> tuple[str | None, str | None]:
    """(userId, anonymousId): the customer when known, else one anonymous id per order."""
    if user_id:
        return user_id, None
    return None, f"import:order:{order_id}"


def plan_generic_orders(
    header: list[str],
    rows: Iterable[list[str]],
    mapping: ColumnMapping,
    *,
    tenant_timezone: str,
    tenant_currency: str,
    received_at_us: int,
    progress: Progress | None = None,
) -> ImportPlan:
    """Check a generic order-lines file and build its events (or its error report)."""
    plan = ImportPlan()
    index = {name: position for position, name in enumerate(header)}
    for required in ORDER_REQUIRED:
        if mapping.column(required) not in index:
            plan.error(1, mapping.column(required), f"missing column (the {required} field)")
    if mapping.column("product_id") not in index and mapping.column("sku") not in index:
        plan.error(1, mapping.column("product_id"), "missing column (product_id or sku)")
    if not plan.ok:
        return plan

    positions = [index.get(mapping.column(name)) for name in _GENERIC_FIELDS]
    zone = mapping.zone(tenant_timezone)
    default_currency = mapping.currency or tenant_currency
    orders: dict[str, _Order] = {}

    for number, row in enumerate(rows, start=2):
        plan.rows += 1
        if progress is not None and plan.rows % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if not "".join(row).strip():
            plan.rows -= 1
            continue
        width = len(row)
        values = [row[p].strip() if p is not None and p < width else "" for p in positions]
        cells = dict(zip(_GENERIC_FIELDS, values, strict=True))
        cell = cells.__getitem__

        errors_before = plan.error_count
        order_id = cell("order_id")
        if not order_id:
            plan.error(number, mapping.column("order_id"), "empty: every line needs its order id")
        occurred_at = parse_datetime(cell("date"), mapping.date_format, zone)
        if occurred_at is None:
            plan.error(
                number,
                mapping.column("date"),
                f"{cell('date')!r} is not a date in the format {mapping.date_format!r}",
            )
        elif too_far_ahead(occurred_at):
            plan.error(number, mapping.column("date"), "is in the future")
        quantity = parse_int(cell("quantity"))
        if quantity is None or quantity == 0:
            plan.error(
                number,
                mapping.column("quantity"),
                f"{cell('quantity')!r} is not a non-zero whole number",
            )
        unit_price = parse_decimal(cell("unit_price"))
        if unit_price is None or unit_price < 0:
            plan.error(
                number,
                mapping.column("unit_price"),
                f"{cell('unit_price')!r} is not a price (a number, 0 or more)",
            )
        product_id = cell("product_id") or cell("sku")
        if not product_id:
            plan.error(number, mapping.column("product_id"), "empty: a product id or SKU is needed")
        currency = (cell("currency") or default_currency).upper()
        if len(currency) != 3 or not currency.isalpha():
            plan.error(number, mapping.column("currency"), f"{currency!r} is not an ISO 4217 code")
        meaning = mapping.status_meaning(cell("status"))
        if meaning is None:
            plan.error(
                number,
                mapping.column("status"),
                f"unknown status {cell('status')!r}: map it with status_values in the mapping",
            )
        if plan.error_count > errors_before:
            continue
        assert occurred_at is not None and quantity is not None and unit_price is not None
        assert meaning is not None
        order = orders.get(order_id)
        if order is None:
            user_id = cell("customer_id") or cell("email").lower() or None
            order = orders[order_id] = _Order(order_id, currency, user_id)
        elif order.currency != currency:
            plan.error(
                number,
                mapping.column("currency"),
                f"{currency} differs from {order.currency} on this order's earlier lines",
            )
            continue
        product = {
            "product_id": product_id,
            "sku": cell("sku") or None,
            "name": cell("name") or None,
            "category": cell("category") or None,
            "brand": cell("brand") or None,
            "price": _money(unit_price),
        }
        order.lines.append(_Line(number, occurred_at, product, quantity, unit_price, meaning))

    if progress is not None:
        progress(plan.rows % PROGRESS_EVERY)
    if plan.ok:
        for order in orders.values():
            _generic_order_events(plan, order, received_at_us)
    else:
        plan.events.clear()
    return plan


def _generic_order_events(plan: ImportPlan, order: _Order, received_at_us: int) -> None:
    user_id, anonymous_id = _people(order.order_id, order.user_id)
    bought = [line for line in order.lines if line.quantity > 0]
    if bought:
        revenue = sum((line.quantity * line.unit_price for line in bought), Decimal(0))
        plan.add(
            build_event(
                message_id=derived_message_id("import", "Order Completed", order.order_id),
                message_type="track",
                event="Order Completed",
                occurred_at=min(line.occurred_at for line in bought),
                received_at_us=received_at_us,
                library=LIBRARY,
                properties={
                    "order_id": order.order_id,
                    "revenue": _money(revenue),
                    "total": _money(revenue),
                    "currency": order.currency,
                    "products": [{**line.product, "quantity": line.quantity} for line in bought],
                },
                user_id=user_id,
                anonymous_id=anonymous_id,
            )
        )
    refunds: dict[datetime, list[_Line]] = {}
    for line in order.lines:
        if line.quantity < 0 or line.meaning == "refunded":
            refunds.setdefault(line.occurred_at, []).append(line)
    for refunded_at, lines in sorted(refunds.items()):
        amount = sum((abs(line.quantity) * line.unit_price for line in lines), Decimal(0))
        products = [{**line.product, "quantity": abs(line.quantity)} for line in lines]
        signature = ";".join(
            f"{p['product_id']}x{p['quantity']}@{p['price']}"
            for p in sorted(products, key=lambda p: str(p["product_id"]))
        )
        plan.add(
            build_event(
                message_id=derived_message_id(
                    "import", "Order Refunded", order.order_id, to_micros(refunded_at), signature
                ),
                message_type="track",
                event="Order Refunded",
                occurred_at=refunded_at,
                received_at_us=received_at_us,
                library=LIBRARY,
                properties={
                    "order_id": order.order_id,
                    "total": _money(amount),
                    "currency": order.currency,
                    "products": products,
                },
                user_id=user_id,
                anonymous_id=anonymous_id,
            )
        )
    cancelled = [line for line in order.lines if line.meaning == "cancelled"]
    if cancelled:
        amount = sum((abs(line.quantity) * line.unit_price for line in cancelled), Decimal(0))
        plan.add(
            build_event(
                message_id=derived_message_id("import", "Order Cancelled", order.order_id),
                message_type="track",
                event="Order Cancelled",
                occurred_at=max(line.occurred_at for line in cancelled),
                received_at_us=received_at_us,
                library=LIBRARY,
                properties={
                    "order_id": order.order_id,
                    "total": _money(amount),
                    "currency": order.currency,
                    "products": [
                        {**line.product, "quantity": abs(line.quantity)} for line in cancelled
                    ],
                },
                user_id=user_id,
                anonymous_id=anonymous_id,
            )
        )


# --- Shopify's orders export ------------------------------------------------------------------

SHOPIFY_REQUIRED = ("Name", "Created at", "Lineitem quantity", "Lineitem price", "Lineitem name")
#: Filled on an order's first row only; carried to its other rows.
SHOPIFY_ORDER_COLUMNS = (
    "Email",
    "Financial Status",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Created at",
    "Cancelled at",
    "Refunded Amount",
    "Id",
)
SHOPIFY_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"


@dataclass
class _ShopifyOrder:
    name: str
    first_row: int
    values: dict[str, str] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)


def _shopify_time(text: str, zone_name: str) -> datetime | None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(zone_name)
    return parse_datetime(text, SHOPIFY_DATE_FORMAT, zone) or parse_datetime(text, "iso", zone)


def plan_shopify_orders(
    header: list[str],
    rows: Iterable[list[str]],
    *,
    tenant_timezone: str,
    tenant_currency: str,
    received_at_us: int,
    progress: Progress | None = None,
) -> ImportPlan:
    """Check a Shopify orders export and build its events (or its error report)."""
    plan = ImportPlan()
    index = {name: position for position, name in enumerate(header)}
    for required in SHOPIFY_REQUIRED:
        if required not in index:
            plan.error(1, required, "missing column: is this Shopify's orders export?")
    if not plan.ok:
        return plan
    width = len(header)
    orders: dict[str, _ShopifyOrder] = {}

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
            position = index.get(name)
            return row[position].strip() if position is not None else ""

        name = cell("Name")
        if not name:
            plan.error(number, "Name", "empty: every row needs its order's Name")
            continue
        order = orders.get(name)
        if order is None:
            order = orders[name] = _ShopifyOrder(name, number)
        for column in SHOPIFY_ORDER_COLUMNS:
            value = cell(column)
            if value and column not in order.values:
                order.values[column] = value
        quantity = parse_int(cell("Lineitem quantity"))
        price = parse_decimal(cell("Lineitem price"))
        if quantity is None or quantity <= 0:
            plan.error(number, "Lineitem quantity", f"{cell('Lineitem quantity')!r} is not a count")
        if price is None or price < 0:
            plan.error(number, "Lineitem price", f"{cell('Lineitem price')!r} is not a price")
        if quantity is None or price is None or quantity <= 0 or price < 0:
            continue
        sku = cell("Lineitem sku")
        order.lines.append(
            {
                "product_id": sku or cell("Lineitem name"),
                "sku": sku or None,
                "name": cell("Lineitem name") or None,
                "brand": cell("Vendor") or None,
                "price": _money(price),
                "quantity": quantity,
            }
        )

    if progress is not None:
        progress(plan.rows % PROGRESS_EVERY)
    for order in orders.values():
        _shopify_order_events(plan, order, tenant_timezone, tenant_currency, received_at_us)
    if not plan.ok:
        plan.events.clear()
    return plan


def _shopify_order_events(
    plan: ImportPlan,
    order: _ShopifyOrder,
    tenant_timezone: str,
    tenant_currency: str,
    received_at_us: int,
) -> None:
    values = order.values
    created_at = _shopify_time(values.get("Created at", ""), tenant_timezone)
    if created_at is None:
        plan.error(order.first_row, "Created at", "missing or not a date on the order's rows")
        return
    if too_far_ahead(created_at):
        plan.error(order.first_row, "Created at", "is in the future")
        return
    amounts: dict[str, float | None] = {}
    for column in ("Subtotal", "Shipping", "Taxes", "Total", "Discount Amount", "Refunded Amount"):
        text = values.get(column, "")
        value = parse_decimal(text) if text else None
        if text and value is None:
            plan.error(order.first_row, column, f"{text!r} is not an amount")
            return
        amounts[column] = _money(value) if value is not None else None
    cancelled_at = None
    if values.get("Cancelled at"):
        cancelled_at = _shopify_time(values["Cancelled at"], tenant_timezone)
        if cancelled_at is None:
            plan.error(order.first_row, "Cancelled at", f"{values['Cancelled at']!r} is not a date")
            return
    if not plan.ok:
        return  # checking only from here: no events are kept anyway
    order_id = values.get("Id") or order.name
    currency = (values.get("Currency") or tenant_currency).upper()
    email = values.get("Email", "").lower()
    user_id, anonymous_id = _people(order_id, email or None)
    lines_value = sum(line["price"] * line["quantity"] for line in order.lines)
    total = amounts["Total"] if amounts["Total"] is not None else round(lines_value, 2)
    revenue = amounts["Subtotal"] if amounts["Subtotal"] is not None else round(lines_value, 2)
    plan.add(
        build_event(
            message_id=shopify.order_completed_message_id(order_id)
            if values.get("Id")
            else derived_message_id("shopify-export", "Order Completed", order.name),
            message_type="track",
            event="Order Completed",
            occurred_at=created_at,
            received_at_us=received_at_us,
            library=LIBRARY,
            properties={
                "order_id": order_id,
                "order_number": order.name,
                "affiliation": "Shopify",
                "total": total,
                "subtotal": amounts["Subtotal"],
                "revenue": revenue,
                "tax": amounts["Taxes"],
                "shipping": amounts["Shipping"],
                "discount": amounts["Discount Amount"],
                "coupon": values.get("Discount Code") or None,
                "currency": currency,
                "products": order.lines,
            },
            user_id=user_id,
            anonymous_id=anonymous_id,
        )
    )
    refunded = amounts["Refunded Amount"]
    if refunded:
        plan.add(
            build_event(
                message_id=derived_message_id("shopify-export", "Order Refunded", order_id),
                message_type="track",
                event="Order Refunded",
                occurred_at=cancelled_at or created_at,
                received_at_us=received_at_us,
                library=LIBRARY,
                properties={"order_id": order_id, "total": refunded, "currency": currency},
                user_id=user_id,
                anonymous_id=anonymous_id,
            )
        )
    if cancelled_at is not None:
        plan.add(
            build_event(
                message_id=derived_message_id(shopify.PLATFORM, "Order Cancelled", order_id),
                message_type="track",
                event="Order Cancelled",
                occurred_at=cancelled_at,
                received_at_us=received_at_us,
                library=LIBRARY,
                properties={"order_id": order_id, "total": total, "currency": currency},
                user_id=user_id,
                anonymous_id=anonymous_id,
            )
        )
