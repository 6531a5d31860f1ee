"""The Python server client, importable as ``ingest.sdk.python`` or vendored as one file.

``intellishop_sdk.py`` depends only on httpx and the standard library: copy it into a shop's
code base and ``from intellishop_sdk import Client``.
"""

from .intellishop_sdk import Client, DeliveryStats

__all__ = ["Client", "DeliveryStats"]
