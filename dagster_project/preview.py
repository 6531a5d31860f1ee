"""Small Markdown previews of frames for asset metadata (the UI renders them as tables)."""

import polars as pl

#: Longest text shown in a preview cell: JSON payloads and long ids are cut.
MAX_CELL = 40


def markdown_preview(frame: pl.DataFrame, rows: int = 5) -> str:
    """The first ``rows`` rows of ``frame`` as a Markdown table ("(no rows)" when empty)."""
    if frame.height == 0:
        return "(no rows)"
    head = frame.head(rows)
    lines = [
        "| " + " | ".join(head.columns) + " |",
        "| " + " | ".join("---" for _ in head.columns) + " |",
    ]
    for row in head.iter_rows():
        lines.append("| " + " | ".join(cell(value) for value in row) + " |")
    if frame.height > rows:
        lines.append(f"\n{rows} of {frame.height} rows")
    return "\n".join(lines)


def cell(value: object) -> str:
    """One Markdown table cell: short, and no pipe or line break that would end the row."""
    text = "" if value is None else str(value)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")
