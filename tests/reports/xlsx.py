"""Read an .xlsx back without openpyxl (not installed): it is a zip of XML parts.

Gives each sheet's cells as {"A1": value}, numbers as floats and strings resolved from the
shared-strings table, and each cell's number format, which is all the tests need to check
that numbers are stored as numbers with the right format.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def read_xlsx(path: Path) -> dict[str, dict[str, tuple[float | str, str]]]:
    """{sheet name: {cell: (value, number format)}}."""
    with zipfile.ZipFile(path) as book:
        strings = []
        if "xl/sharedStrings.xml" in book.namelist():
            root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            strings = [
                "".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                for si in root.findall("m:si", NS)
            ]
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))
        custom = {
            int(f.get("numFmtId", 0)): f.get("formatCode", "")
            for f in styles.findall("m:numFmts/m:numFmt", NS)
        }
        builtin = {0: "General", 3: "#,##0", 4: "#,##0.00", 10: "0.00%", 14: "yyyy-mm-dd"}
        formats = [
            custom.get(int(x.get("numFmtId", 0)), builtin.get(int(x.get("numFmtId", 0)), ""))
            for x in styles.findall("m:cellXfs/m:xf", NS)
        ]
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        sheets: dict[str, dict[str, tuple[float | str, str]]] = {}
        for sheet in workbook.findall("m:sheets/m:sheet", NS):
            target = str(targets[sheet.get(REL)]).lstrip("/")
            part = target if target.startswith("xl/") else f"xl/{target}"
            root = ElementTree.fromstring(book.read(part))
            cells: dict[str, tuple[float | str, str]] = {}
            for cell in root.iter(f"{{{NS['m']}}}c"):
                value = cell.find("m:v", NS)
                if value is None or value.text is None:
                    continue
                fmt = formats[int(cell.get("s", 0))]
                raw = value.text
                shown: float | str = strings[int(raw)] if cell.get("t") == "s" else float(raw)
                cells[str(cell.get("r"))] = (shown, fmt)
            sheets[str(sheet.get("name"))] = cells
        return sheets


def column_values(cells: dict[str, tuple[float | str, str]], column: str) -> list[float | str]:
    """The values of one column from row 5 down (the tables' data start there)."""
    rows = sorted(
        (int(m.group(2)), v[0])
        for ref, v in cells.items()
        if (m := re.fullmatch(r"([A-Z]+)(\d+)", ref))
        and m.group(1) == column
        and int(m.group(2)) >= 5
    )
    return [v for _, v in rows]
