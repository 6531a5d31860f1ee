"""A free TCP port on the loopback interface, for servers a test or a benchmark starts.

The operating system picks the port (bind to port 0); it is free when this returns, which is
good enough for a server started right after on the same machine.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
