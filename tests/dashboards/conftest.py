"""Run the dashboards in Streamlit's AppTest as a signed-in user of one shop, and read the
charts they draw."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from streamlit.testing.v1 import AppTest

from dashboards.auth import USER_KEY, SignedIn
from intellishop.users import Role

APP = Path(__file__).resolve().parents[2] / "dashboards" / "streamlit_app.py"


def open_app(
    page: str | None = None, tenant_id: str = "acme", role: Role = "owner", timeout: float = 30
) -> AppTest:
    """The app signed in as ``role`` of ``tenant_id`` (as after the sign-in form), on ``page``."""
    app = AppTest.from_file(str(APP), default_timeout=timeout)
    app.session_state[USER_KEY] = SignedIn(tenant_id, f"{role}@{tenant_id}.test", role)
    app.run()
    if page is not None:
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@dataclass(frozen=True)
class Chart:
    """A Vega-Lite chart as the browser receives it: the spec, and the rows of its data
    (Streamlit moves table data out of the spec into Arrow; inline GeoJSON stays in it)."""

    spec: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def title(self) -> str:
        """The title as one line (the chart wraps a long one)."""
        title = self.spec.get("title", "")
        text = title["text"] if isinstance(title, dict) else title
        return " ".join(text) if isinstance(text, list) else str(text)


def charts(app: AppTest) -> list[Chart]:
    """Every chart on the page, in order."""
    found = []
    for element in app.get("vega_lite_chart"):
        proto = element.proto
        buffers = [proto.data.data, *(dataset.data.data for dataset in proto.datasets)]
        rows = [
            row
            for buffer in buffers
            if buffer
            for row in pa.ipc.open_stream(buffer).read_all().to_pylist()
        ]
        found.append(Chart(json.loads(proto.spec), rows))
    return found
