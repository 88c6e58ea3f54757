"""pytest fixtures for testing your call flows against a real voxrelay server.

Installed with voxrelay (entry point ``pytest11``), so in your tests::

    async def test_my_ivr(voxrelay_server, virtual_phone):
        app = start_my_app(project=voxrelay_server.project, token=voxrelay_server.token,
                           host=voxrelay_server.host)          # your RelayClient code
        report = await virtual_phone.call("default", digits="1#", digits_at=2.0,
                                          hangup_after=10.0)
        assert report.answered
        report.save("heard.wav")                                # what the caller heard

``voxrelay_server`` is a :class:`voxrelay.testing.LocalServer` (a real ``voxrelay serve`` on
a free loopback port, stopped after the test); ``virtual_phone`` is a
:class:`voxrelay.phone.VirtualPhone` that calls into it over real SIP (loopback UDP, digest
as the project) and RTP, and can wait on a number for your app to dial it (``answer_calls``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voxrelay.phone import VirtualPhone
from voxrelay.testing import LocalServer


@pytest.fixture
def voxrelay_server() -> Iterator[LocalServer]:
    """A running voxrelay server for one test."""
    yield from LocalServer.fixture()


@pytest.fixture
def virtual_phone(voxrelay_server: LocalServer) -> VirtualPhone:
    """A SIP phone that calls into ``voxrelay_server`` (or answers its dials)."""
    return VirtualPhone(voxrelay_server.http_url, voxrelay_server.project, voxrelay_server.token)
