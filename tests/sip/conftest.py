"""SIP test fixtures: the ``sipp`` marker (tests that drive the real SIPp binary)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sipp: drives the SIPp binary (Debian sip-tester) as a peer")
