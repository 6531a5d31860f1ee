"""IP address -> ISO 3166 country code, offline, from the data file that geoip2fast ships.

The file (IPv4 and IPv6) loads once per process on first use, about 0.1 s; a lookup costs a few
microseconds and recent answers are cached. Private, reserved and malformed addresses have no
country (None), never an error: a bad ``context.ip`` must not cost the shop its event.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from geoip2fast import GeoIP2Fast

_DATA_FILE = "geoip2fast-ipv6.dat.gz"
_lock = threading.Lock()
_reader: GeoIP2Fast | None = None


def load() -> None:
    """Load the data file now (see :func:`ingest.enrichment.warm_up`)."""
    _geoip()


def _geoip() -> GeoIP2Fast:
    global _reader
    if _reader is None:
        with _lock:
            if _reader is None:
                _reader = GeoIP2Fast(geoip2fast_data_file=_DATA_FILE)
    return _reader


@lru_cache(maxsize=65_536)
def country_for_ip(ip: str) -> str | None:
    """Two-letter country code of a public IP address, else None."""
    if not ip or len(ip) > 45:  # the longest textual IPv6 address
        return None
    try:
        code = _geoip().lookup(ip).country_code
    except Exception:  # a lookup library's surprise must not fail ingestion
        return None
    if not isinstance(code, str) or len(code) != 2 or not code.isalpha():
        return None
    return code.upper()
