"""A Streamlit app served on a free loopback port for a browser test or a benchmark.

``intellishop up`` runs the merchant app as a supervised service; tests and benchmarks need a
throwaway server of their own (their own data directory, sometimes another script) that is
gone when they are.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from intellishop.ports import free_port
from intellishop.services import PROJECT_ROOT

MERCHANT_APP = PROJECT_ROOT / "dashboards" / "streamlit_app.py"


@contextmanager
def streamlit_server(
    script: Path, env: dict[str, str], log: Path, *, timeout: float = 60
) -> Iterator[str]:
    """``streamlit run script`` with ``env``, its output in ``log``: the URL once healthy.

    A server that exits or is not healthy within ``timeout`` seconds raises with its log."""
    port = free_port()
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", str(script),
                "--server.address", "127.0.0.1", "--server.port", str(port),
                "--server.headless", "true", "--server.fileWatcherType", "none",
                "--browser.gatherUsageStats", "false",
            ],
            cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log.read_text())
                time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=20)
