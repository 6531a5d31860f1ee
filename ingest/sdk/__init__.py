"""Client libraries for shops: the browser tracker (``js/``) and the Python server client.

The browser tracker is served by the collector at ``/sdk/v1/intellishop.js``
(:mod:`ingest.routes.sdk`). The Python client (:mod:`ingest.sdk.python.intellishop_sdk`) is one
file that needs only httpx and the standard library, so a shop can vendor it.
"""

from pathlib import Path

#: The browser tracker's source, served as is (no build step).
BROWSER_TRACKER_PATH = Path(__file__).resolve().parent / "js" / "intellishop.js"
