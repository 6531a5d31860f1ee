"""Debian's Chromium and the flags every headless run of it uses (browser tests, benchmarks).

One place, so the tests and the benchmarks drive the same browser the same way: headless,
without a sandbox (containers), and quiet on the network, so that a request to another host
is the page's doing, not Chromium's own background traffic.
"""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
