"""Shared fixtures: a real ``voxrelay serve`` per test (see voxrelay.testing.LocalServer).

``relay_server`` has ``.host`` ("127.0.0.1:PORT"), ``.ws_url``, ``.http_url``, ``.project``,
``.token``, ``.other_projects`` ({"other-project": "PTother"}), ``.numbers`` (number -> context:
+15550100001 office, +15550100002 sales, +15550100003 support), ``originate(context, from,
to) -> call_id``, ``call_state(call_id)`` and ``hang_up(call_id)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voxrelay.testing import LocalServer


@pytest.fixture
def relay_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(extra_args=["--resume-grace", "5"])


@pytest.fixture
def tls_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(tls=True)
