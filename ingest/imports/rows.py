"""What every CSV import shares: reading rows, parsing cells, the error report, the append.

Imports are all-or-nothing: the whole file is read and checked first, and only a file without
a single bad row is written. Rows are numbered as a spreadsheet numbers them (the header is row
1, the first data row is row 2), so a report points at the line to fix.

Writing goes through the event log, like the collector: events are cut into entries of
:data:`~ingest.platforms.canonical.APPEND_BATCH_EVENTS` and appended one entry at a time. Every
message id is derived from the row's content, so running the same import again (after a crash
half-way, or by mistake) adds nothing downstream: stitching keeps one row per message id.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from intellishop.events import LoggedEvent

from ..event_log import EventLog
from ..platforms.canonical import APPEND_BATCH_EVENTS, batches

#: Called with the number of rows (while checking) or events (while writing) just handled.
Progress = Callable[[int], None]
#: Rows dated further in the future than this are refused (a wrong date format, usually).
MAX_FUTURE = timedelta(days=1)
#: Errors kept in a report: a file with a wrong mapping would otherwise list every row.
MAX_REPORTED_ERRORS = 1000

_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: spreadsheet row number (1 = header), the CSV column, what is wrong."""

    row: int
    column: str
    problem: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}: {self.problem}"


@dataclass
class ImportPlan:
    """A checked file: the events it becomes, or the errors that stop it (never both)."""

    rows: int = 0
    events: list[LoggedEvent] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def error(self, row: int, column: str, problem: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, column, problem))

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, event: LoggedEvent) -> None:
        self.events.append(event)
        name = event.event or event.type
        self.counts[name] = self.counts.get(name, 0) + 1


class CsvFormatError(ValueError):
    """The file cannot be read as CSV at all (not text, no header)."""


def read_rows(path: Path, delimiter: str = ",") -> tuple[list[str], Iterator[list[str]]]:
    """The header and the data rows of a CSV file (UTF-8, with or without a BOM)."""
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        handle.close()
        raise CsvFormatError(f"{path} is empty: a header row is needed") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        handle.close()
        raise CsvFormatError(f"{path} is not a readable UTF-8 CSV file: {exc}") from exc

    def rows() -> Iterator[list[str]]:
        with handle:
            try:
                yield from reader
            except (UnicodeDecodeError, csv.Error) as exc:
                raise CsvFormatError(
                    f"{path} line {reader.line_num}: not readable as UTF-8 CSV: {exc}"
                ) from exc

    return header, rows()


def parse_decimal(text: str) -> Decimal | None:
    """A money or number cell ("1,234.50", "$19.99" are fine); None when unreadable.

    A comma is taken only as a thousands separator in groups of three ("1,234.50"): "9,99"
    (a decimal comma) is refused rather than read as 999.
    """
    cleaned = text.strip().lstrip("$€£").strip()
    if not cleaned:
        return None
    if "," in cleaned:
        if not _THOUSANDS.fullmatch(cleaned):
            return None
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_int(text: str) -> int | None:
    value = parse_decimal(text)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def parse_datetime(text: str, date_format: str, timezone: ZoneInfo) -> datetime | None:
    """A date or time cell as UTC; a value without an offset is in ``timezone``.

    ``date_format`` is ``"iso"`` (ISO 8601, a date alone meaning its midnight) or a
    ``strptime`` format such as ``"%d/%m/%Y %H:%M"``.
    """
    text = text.strip()
    if not text:
        return None
    try:
        if date_format == "iso":
            if len(text) == 10:
                parsed = datetime.combine(date.fromisoformat(text), time())
            else:
                parsed = datetime.fromisoformat(text.replace(" UTC", "+00:00"))
        else:
            parsed = datetime.strptime(text, date_format)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone)
    return parsed.astimezone(UTC)


def too_far_ahead(value: datetime) -> bool:
    """Later than a day from now: a wrong date format, usually (tomorrow's date is fine)."""
    return value - datetime.now(UTC) > MAX_FUTURE


def append_events(
    log: EventLog,
    tenant_id: str,
    events: list[LoggedEvent],
    *,
    batch_events: int = APPEND_BATCH_EVENTS,
    progress: Progress | None = None,
) -> int:
    """Append events to the event log in big entries; returns the number of entries."""
    entries = 0
    for batch in batches(tenant_id, events, batch_events):
        log.append(batch)
        entries += 1
        if progress is not None:
            progress(len(batch.events))
    return entries
