"""Run the dashboards in Streamlit's AppTest as a signed-in user of one shop."""

from __future__ import annotations

from pathlib import Path

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
