"""The Great Expectations suite of the raw events: what must hold before dbt reads them.

Plain library (no Dagster): :func:`validate_raw_events` takes raw-zone rows as Arrow (the
columns of ``intellishop.events.RAW_EVENT_SCHEMA`` plus ``tenant_id`` and ``event_date``) and
returns one :class:`CheckOutcome` per named check. The checks, and why each matters:

- ``schema``: the columns and their types. A loader that changed shape breaks every model.
- ``ids_and_times_not_null``: message, tenant, type and time columns are never null. A null
  timestamp drops out of every daily mart; a null message id defeats deduplication.
- ``timestamps_in_range``: event times after 2000 and not in the future (beyond the
  collector's allowed clock skew). A far-future event creates a day that has not happened.
- ``message_id_unique``: a message id once per tenant. A duplicate counts an order twice.
- ``amounts_non_negative``: prices, quantities, revenue and totals (top level and per product)
  are not negative where present. Shops may send odd but legal values: a warning, not a stop.
- ``fresh``: the newest event was received no longer ago than a threshold. Stale data is not
  wrong data: a warning.

Great Expectations runs in an ephemeral context (nothing written to disk, no network, no usage
statistics) on a pandas frame. It is imported only when a validation runs: the import takes
seconds, and loading the Dagster definitions must stay fast. Amounts live inside the
``properties`` JSON; DuckDB extracts them into columns first (``amount_*``), so the suite sees
plain numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from intellishop.events import RAW_EVENT_SCHEMA

if TYPE_CHECKING:
    from great_expectations.expectations.expectation import Expectation

#: Raw-zone columns the suite expects, with the pandas type name of their values.
RAW_COLUMN_TYPES: dict[str, str] = {
    **{
        f.name: "Timestamp"
        if pa.types.is_timestamp(f.type)
        else "int64"
        if pa.types.is_integer(f.type)
        else "str"
        for f in RAW_EVENT_SCHEMA
    },
    "tenant_id": "str",
    "event_date": "date",
}
#: Amounts extracted from ``properties``: column -> JSON path (list paths take the minimum).
AMOUNT_PATHS: dict[str, str] = {
    "amount_price": "$.price",
    "amount_quantity": "$.quantity",
    "amount_revenue": "$.revenue",
    "amount_total": "$.total",
    "amount_product_price": "$.products[*].price",
    "amount_product_quantity": "$.products[*].quantity",
}
#: Columns that identify a row in the examples of a failed check.
ROW_ID_COLUMNS = ["tenant_id", "message_id"]
#: Before this, an event time is a bug (a zero or a seconds-for-milliseconds mix-up).
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
#: Examples of failing rows kept per expectation.
EXAMPLES = 5


@dataclass(frozen=True)
class CheckDefinition:
    """A named group of expectations; ``blocking`` ones stop the marts from being built."""

    name: str
    description: str
    blocking: bool


CHECKS: dict[str, CheckDefinition] = {
    check.name: check
    for check in (
        CheckDefinition(
            "schema", "Raw columns and their types are as the loader writes them.", True
        ),
        CheckDefinition(
            "ids_and_times_not_null",
            "message_id, tenant_id, type, timestamp, received_at, event_date are never null.",
            True,
        ),
        CheckDefinition(
            "timestamps_in_range",
            "Event times fall after 2000-01-01 and not beyond the allowed clock skew ahead.",
            True,
        ),
        CheckDefinition("message_id_unique", "Each message_id appears once per tenant.", True),
        CheckDefinition(
            "amounts_non_negative",
            "Prices, quantities, revenue and totals in properties are not negative.",
            False,
        ),
        CheckDefinition("fresh", "The newest event was received recently enough.", False),
    )
}


@dataclass
class Failure:
    """One expectation that did not hold."""

    expectation: str
    unexpected: int | None
    observed: Any
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CheckOutcome:
    """The result of one named check: passed, and if not, what failed and on which rows."""

    check: CheckDefinition
    rows: int
    failures: list[Failure]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def unexpected(self) -> int:
        """Values that failed, summed over the check's expectations (a row may count twice)."""
        return sum(failure.unexpected or 0 for failure in self.failures)

    @property
    def examples(self) -> list[dict[str, Any]]:
        return [example for failure in self.failures for example in failure.examples]


def expectations(
    *, as_of: datetime, max_age: timedelta, max_future: timedelta, fresh_as_of: datetime
) -> dict[str, list[Expectation]]:
    """The suite, by check name. ``as_of`` is "now" for the range checks, ``fresh_as_of`` the
    moment the freshness check measures the newest receipt from."""
    gx = _great_expectations()
    not_null = ["message_id", "tenant_id", "type", "timestamp", "received_at", "event_date"]
    latest = as_of + max_future
    return {
        "schema": [
            gx.expectations.ExpectTableColumnsToMatchSet(
                column_set=[*RAW_COLUMN_TYPES, *AMOUNT_PATHS], exact_match=True
            ),
            *(
                gx.expectations.ExpectColumnValuesToBeOfType(column=column, type_=type_name)
                for column, type_name in RAW_COLUMN_TYPES.items()
            ),
        ],
        "ids_and_times_not_null": [
            gx.expectations.ExpectColumnValuesToNotBeNull(column=column) for column in not_null
        ],
        "timestamps_in_range": [
            gx.expectations.ExpectColumnValuesToBeBetween(
                column=column, min_value=EARLIEST_EVENT, max_value=latest
            )
            for column in ("timestamp", "received_at")
        ],
        "message_id_unique": [
            gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=ROW_ID_COLUMNS)
        ],
        "amounts_non_negative": [
            gx.expectations.ExpectColumnValuesToBeBetween(column=column, min_value=0)
            for column in AMOUNT_PATHS
        ],
        "fresh": [
            gx.expectations.ExpectColumnMaxToBeBetween(
                column="received_at", min_value=fresh_as_of - max_age
            )
        ],
    }


def with_amounts(events: pa.Table) -> pa.Table:
    """``events`` plus one ``amount_*`` column per :data:`AMOUNT_PATHS` entry (null if absent).

    A list path (``products[*]``) gives the smallest value, which is what a range check needs.
    Text that is not a number, and ``properties`` that are not JSON, give null here.
    """
    extracted = []
    for column, path in AMOUNT_PATHS.items():
        if "[*]" in path:
            expression = (
                f"list_min(list_transform(json_extract(props, '{path}'),"
                f" lambda x: try_cast(x::varchar as double)))"
            )
        else:
            expression = f"try_cast(json_extract_string(props, '{path}') as double)"
        extracted.append(f"{expression} as {column}")
    con = duckdb.connect()
    try:
        con.register("events", events)
        has_properties = "properties" in events.column_names
        props = "case when json_valid(properties) then properties end" if has_properties else "null"
        # Only constants of this module reach the SQL text.
        query = f"select {', '.join(extracted)} from (select {props} as props from events)"
        amounts: pa.Table = con.sql(query).arrow().read_all()
    finally:
        con.close()
    for name in amounts.column_names:
        events = events.append_column(name, amounts.column(name))
    return events


def validate_raw_events(
    events: pa.Table,
    *,
    as_of: datetime,
    max_age: timedelta = timedelta(hours=24),
    max_future: timedelta = timedelta(hours=24),
    fresh_as_of: datetime | None = None,
) -> dict[str, CheckOutcome]:
    """Run the suite on ``events``; one outcome per entry of :data:`CHECKS`.

    ``max_future`` should be the collector's allowed clock skew (``max_clock_skew_seconds``):
    the collector refuses more, so anything beyond it got in another way. ``fresh_as_of``
    (default ``as_of``) lets a past day be judged at its own end rather than now.
    """
    gx = _great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = with_amounts(events).to_pandas()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("raw_zone")
        .add_dataframe_asset("events")
        .add_batch_definition_whole_dataframe("scope")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    id_columns = [column for column in ROW_ID_COLUMNS if column in frame.columns]
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": EXAMPLES,
        "unexpected_index_column_names": id_columns,
    }
    outcomes: dict[str, CheckOutcome] = {}
    suite = expectations(
        as_of=as_of,
        max_age=max_age,
        max_future=max_future,
        fresh_as_of=as_of if fresh_as_of is None else fresh_as_of,
    )
    for name, check_expectations in suite.items():
        validation = batch.validate(
            gx.ExpectationSuite(name=name, expectations=check_expectations),
            result_format=result_format,
        )
        failures = [
            _failure(result.expectation_config, result.result)
            for result in validation.results
            if not result.success
        ]
        outcomes[name] = CheckOutcome(CHECKS[name], len(frame), failures)
    return outcomes


def _great_expectations() -> Any:
    """The ``great_expectations`` module, imported with its usage statistics off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    return great_expectations


def _failure(config: Any, result: dict[str, Any]) -> Failure:
    kwargs = config.kwargs
    target = kwargs.get("column") or ",".join(kwargs.get("column_list") or []) or "table"
    examples = [
        {key: _plain(value) for key, value in row.items()}
        for row in result.get("partial_unexpected_index_list") or []
    ][:EXAMPLES]
    unexpected = result.get("unexpected_count")
    return Failure(
        expectation=f"{config.type}({target})",
        unexpected=None if unexpected is None else int(unexpected),
        observed=_plain(result.get("observed_value")),
        examples=examples,
    )


def _plain(value: Any) -> Any:
    """JSON-friendly: times as ISO text, missing values as None, containers recursively."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if value != value:  # NaN and NaT: missing values
        return None
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return None if text in {"NaT", "nan", "None", "<NA>"} else text


def iter_failures(outcomes: dict[str, CheckOutcome]) -> Iterator[tuple[str, Failure]]:
    """(check name, failure) for every failed expectation: for logs and reports."""
    for name, outcome in outcomes.items():
        for failure in outcome.failures:
            yield name, failure
