"""Helpers every test tier shares: where the repository is, and free loopback ports."""

from __future__ import annotations

import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free loopback port. The sandbox's SMTP part gets one explicitly: aiosmtpd's controller
    cannot start on port 0 (its readiness check connects to the port it was given)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
