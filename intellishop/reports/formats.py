"""Numbers as a merchant reads them, shared by the PDF and the workbook."""

from __future__ import annotations

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}
MISSING = "\N{EN DASH}"


def money(amount: float | None, currency: str) -> str:
    """``€1,234.50``; an unknown currency's code goes after the number."""
    if amount is None:
        return MISSING
    symbol = CURRENCY_SYMBOLS.get(currency)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def count(value: float | None) -> str:
    return MISSING if value is None else f"{round(value):,}"


def percent(value: float | None, digits: int = 1) -> str:
    return MISSING if value is None else f"{value:.{digits}%}"


def change(value: float | None) -> str:
    """``+12.3%`` or an en dash."""
    return MISSING if value is None else f"{value:+.1%}"


def excel_money_format(currency: str) -> str:
    """An Excel number format that shows the currency and keeps the cell a number."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol is None:
        return f'#,##0.00 "{currency}"'
    return f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00'
