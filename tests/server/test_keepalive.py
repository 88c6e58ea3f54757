"""Server pings, dead-client detection and the shutdown notice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.wire import WireClient
from voxrelay.testing import LocalServer


@pytest.fixture
def fast_ping_server() -> Iterator[LocalServer]:
    yield from LocalServer.fixture(extra_args=["--ping-interval", "0.2"])


async def test_server_pings_and_keeps_an_answering_client(fast_ping_server: LocalServer) -> None:
    client = WireClient(fast_ping_server.ws_url)
    await client.connect(fast_ping_server.project, fast_ping_server.token)
    await asyncio.sleep(1.5)
    pings = [r for r in client.server_requests if r.get("method") == "signalwire.ping"]
    assert len(pings) >= 4
    assert all(isinstance(p["params"]["timestamp"], float) for p in pings)
    assert not client.closed.is_set()
    await client.close()


async def test_server_closes_a_client_that_never_answers_pings(
    fast_ping_server: LocalServer,
) -> None:
    client = WireClient(fast_ping_server.ws_url, auto_ack=False)
    await client.connect(fast_ping_server.project, fast_ping_server.token)
    await asyncio.wait_for(client.closed.wait(), 5)
    pings = [r for r in client.server_requests if r.get("method") == "signalwire.ping"]
    assert len(pings) == 3


async def test_shutdown_tells_clients_to_restart(relay_server: LocalServer) -> None:
    client = WireClient(relay_server.ws_url)
    await client.connect(relay_server.project, relay_server.token)
    await asyncio.to_thread(relay_server.stop)
    await asyncio.wait_for(client.closed.wait(), 5)
    notices = [r for r in client.server_requests if r.get("method") == "signalwire.disconnect"]
    assert notices and notices[0]["params"] == {"restart": True}
