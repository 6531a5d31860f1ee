"""Data-quality suites (Great Expectations), as a plain library: Dagster surfaces them as checks."""

from .raw_events import CHECKS, CheckDefinition, CheckOutcome, Failure, validate_raw_events

__all__ = ["CHECKS", "CheckDefinition", "CheckOutcome", "Failure", "validate_raw_events"]
