"""When people shop: weekly and seasonal traffic, the hours of the day, and timestamp text.

The shape follows what merchants see: weekends above weekdays, a ramp through November into
Black Friday and Cyber Monday, busy December gifting, a January lull, and an evening peak in the
shopper's own time zone (so US traffic lands in the UTC night).
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from intellishop.simulation.config import DAY_MS, Window

#: Traffic by weekday, Monday first: weekend peaks.
WEEKDAY_FACTOR = (0.92, 0.88, 0.90, 0.93, 0.98, 1.22, 1.30)

#: Relative traffic by hour of the shopper's local day: lunch and evening peaks, dead at 4 am.
HOUR_WEIGHTS = (
    0.30, 0.18, 0.11, 0.08, 0.08, 0.12, 0.25, 0.50, 0.75, 0.90, 0.98, 1.05,
    1.12, 1.08, 1.00, 0.98, 1.02, 1.10, 1.22, 1.38, 1.50, 1.40, 1.05, 0.62,
)  # fmt: skip
HOUR_CUM_WEIGHTS = tuple(itertools.accumulate(HOUR_WEIGHTS))


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def seasonal_factor(day: date) -> float:
    """Traffic multiplier of the retail calendar (1.0 = an ordinary day in spring)."""
    factor = 1.0
    delta = (day - black_friday(day.year)).days
    if -24 <= delta < 0:  # November ramp: early deals, gift research
        factor += 0.6 * ((delta + 24) / 24) ** 2
    elif 0 <= delta <= 3:  # Black Friday, the weekend, Cyber Monday
        factor += (1.4, 0.95, 0.9, 1.25)[delta]
    elif 4 <= delta <= 10:  # the deals wind down
        factor += 0.5 * (11 - delta) / 7
    if day.month == 12:
        if day.day <= 20:
            factor += 0.35
        elif day.day <= 23:
            factor += 0.1
        elif day.day <= 26:
            factor -= 0.3
        else:
            factor += 0.1
    elif day.month == 1:
        factor -= 0.15
    elif day.month in (2, 7, 8):
        factor -= 0.08
    return factor


def day_factors(window: Window) -> list[float]:
    """Relative traffic of each simulated day: weekday x season x a slow growth of the shop."""
    factors = []
    for index in range(window.days):
        day = window.day(index)
        growth = 1.0 + 0.15 * index / max(window.days - 1, 1)
        factors.append(WEEKDAY_FACTOR[day.weekday()] * seasonal_factor(day) * growth)
    return factors


def buying_mood(day: date) -> float:
    """How much more likely a visit ends in a purchase on this day (deal days convert better)."""
    return 1.0 + 0.35 * (seasonal_factor(day) - 1.0)


class TimestampFormatter:
    """ISO 8601 UTC text (``2024-11-29T18:03:07.412Z``) from epoch milliseconds, fast.

    ``datetime.isoformat`` costs more than building a whole event, so the text is glued from
    three cached pieces: the day, the ``HH:MM:`` of the minute and the ``SS.mmmZ`` rest.
    """

    _minutes: tuple[str, ...] = ()
    _seconds: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        if not TimestampFormatter._minutes:
            TimestampFormatter._minutes = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440))
            TimestampFormatter._seconds = tuple(
                f"{ms // 1000:02d}.{ms % 1000:03d}Z" for ms in range(60_000)
            )

    def __call__(self, ms: int) -> str:
        day, rest = divmod(ms, DAY_MS)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = (date(1970, 1, 1) + timedelta(days=day)).isoformat() + "T"
            self._days[day] = prefix
        minute, rest = divmod(rest, 60_000)
        return prefix + self._minutes[minute] + self._seconds[rest]
