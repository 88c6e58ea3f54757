"""The SDK against a real ``voxrelay serve`` (fixture ``relay_server`` from tests/conftest.py).

Every wait is bounded. Numbers: +15550100001 rings context "office" (see LocalServer).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from voxrelay.relay import Call, RelayClient, RelayError, RequestTimeoutError, Timings
from voxrelay.testing import LocalServer

FAST = Timings(request_timeout=2.0, reconnect_delay=0.05, reconnect_max_delay=0.2)
OFFICE_NUMBER = "+15550100001"
WAIT = 5.0


@asynccontextmanager
async def relay_client(
    server: LocalServer,
    contexts: list[str] | None = None,
    *,
    timings: Timings = FAST,
    **kw: Any,
) -> AsyncIterator[tuple[RelayClient, asyncio.Queue[Call]]]:
    """A connected client whose inbound calls land in the returned queue."""
    client = RelayClient(
        server.project, server.token, host=server.host, contexts=contexts, timings=timings, **kw
    )
    calls: asyncio.Queue[Call] = asyncio.Queue()
    client.on_call(calls.put_nowait)
    async with client:
        yield client, calls


def record_events(client: RelayClient) -> list[tuple[str, str, str]]:
    """Spy on the session: every event the client processes as (type, call_id, state)."""
    seen: list[tuple[str, str, str]] = []
    inner = client.connection._on_event

    def spy(event_type: str, payload: dict[str, Any], timestamp: float) -> None:
        state = payload.get("call_state") or payload.get("dial_state") or ""
        seen.append((event_type, str(payload.get("call_id", "")), str(state)))
        inner(event_type, payload, timestamp)

    client.connection._on_event = spy
    return seen


async def originate(server: LocalServer, context: str = "office") -> str:
    return await asyncio.to_thread(server.originate, context)


async def eventually(check: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def states_of(seen: list[tuple[str, str, str]], call_id: str) -> list[str]:
    return [s for t, c, s in seen if c == call_id and t.startswith("calling.call.")]


async def answered_call(server: LocalServer, calls: asyncio.Queue[Call]) -> Call:
    await originate(server)
    call = await asyncio.wait_for(calls.get(), WAIT)
    await call.answer()
    await call.wait_for_answered(timeout=WAIT)
    return call


# -- lifecycle -------------------------------------------------------------------------


async def test_inbound_answer_then_hangup_in_order(relay_server: LocalServer) -> None:
    async with relay_client(relay_server, ["office"]) as (client, calls):
        seen = record_events(client)
        call_id = await originate(relay_server)
        call = await asyncio.wait_for(calls.get(), WAIT)
        assert call.call_id == call_id and call.context == "office"
        assert call.direction == "inbound" and call.device["type"] == "phone"
        assert (await call.answer())["code"] == "200"
        await call.wait_for_answered(timeout=WAIT)
        assert (await call.hangup())["code"] == "200"
        ended = await call.wait_for_ended(timeout=WAIT)
        assert ended.params["end_reason"] == "hangup" and call.end_reason == "hangup"
        states = [s for s in states_of(seen, call_id) if s != "ringing"]
        assert states == ["created", "answered", "ending", "ended"]
        assert call_id not in client.calls
        assert (await asyncio.to_thread(relay_server.call_state, call_id))["call_state"] == "ended"
        assert await call.hangup() == {}  # gone: 404/410 swallowed


async def test_wait_for_helpers_follow_the_caller(relay_server: LocalServer) -> None:
    async with relay_client(relay_server, ["office"]) as (_, calls):
        call = await answered_call(relay_server, calls)
        assert (await call.wait_for_ringing(timeout=0.1)).params["call_state"] == "answered"
        ending = asyncio.ensure_future(call.wait_for_ending(timeout=WAIT))
        ended = asyncio.ensure_future(call.wait_for_ended(timeout=WAIT))
        await asyncio.to_thread(relay_server.hang_up, call.call_id)
        assert (await ending).params["call_state"] in ("ending", "ended")
        assert (await ended).params["call_state"] == "ended"
        assert call.state == "ended"


async def test_pass_offers_the_call_to_another_client(relay_server: LocalServer) -> None:
    offers: asyncio.Queue[tuple[str, Call]] = asyncio.Queue()
    async with (
        relay_client(relay_server, ["office"]) as (a, _),
        relay_client(relay_server, ["office"]) as (b, _),
    ):
        a.on_call(lambda call: offers.put_nowait(("a", call)))
        b.on_call(lambda call: offers.put_nowait(("b", call)))
        call_id = await originate(relay_server)
        first, offered = await asyncio.wait_for(offers.get(), WAIT)
        assert offered.call_id == call_id
        assert (await offered.pass_())["code"] == "200"
        second, taker = await asyncio.wait_for(offers.get(), WAIT)
        assert second != first and taker.call_id == call_id
        await taker.answer()
        await taker.wait_for_answered(timeout=WAIT)
        await taker.hangup()
        await taker.wait_for_ended(timeout=WAIT)


async def test_max_active_calls_drops_extra_inbound(relay_server: LocalServer) -> None:
    async with relay_client(relay_server, ["office"], max_active_calls=1) as (client, calls):
        await originate(relay_server)
        await asyncio.wait_for(calls.get(), WAIT)
        await originate(relay_server)
        await asyncio.sleep(0.5)
        assert calls.empty() and len(client.calls) == 1


async def test_receive_and_unreceive(relay_server: LocalServer) -> None:
    async with relay_client(relay_server) as (client, calls):
        assert (await client.receive(["sales"]))["code"] == "200"
        assert client.contexts == ["sales"]
        await originate(relay_server, "sales")
        call = await asyncio.wait_for(calls.get(), WAIT)
        assert call.context == "sales"
        await call.hangup()
        await client.unreceive(["sales"])
        assert client.contexts == []
        await originate(relay_server, "sales")
        await asyncio.sleep(0.5)
        assert calls.empty()


# -- dial ------------------------------------------------------------------------------


def phone(to_number: str, timeout: float = 10) -> list[list[dict[str, Any]]]:
    params = {"from_number": "+15550009999", "to_number": to_number, "timeout": timeout}
    return [[{"type": "phone", "params": params}]]


async def test_dial_reaches_another_client(relay_server: LocalServer) -> None:
    async with (
        relay_client(relay_server) as (caller, _),
        relay_client(relay_server, ["office"]) as (_, office),
    ):

        async def pick_up() -> Call:
            call = await asyncio.wait_for(office.get(), WAIT)
            await call.answer()
            return call

        callee_task = asyncio.ensure_future(pick_up())
        outbound = await caller.dial(phone(OFFICE_NUMBER), dial_timeout=WAIT)
        callee = await callee_task
        assert outbound.direction == "outbound" and outbound.state == "answered"
        assert outbound.call_id != callee.call_id and outbound.tag
        assert outbound.call_id in caller.calls
        await outbound.hangup()
        await outbound.wait_for_ended(timeout=WAIT)
        assert (await callee.wait_for_ended(timeout=WAIT)).params["call_state"] == "ended"


async def test_dial_failure_and_timeout(relay_server: LocalServer) -> None:
    async with relay_client(relay_server) as (caller, _):
        with pytest.raises(RelayError, match=r"Dial failed \(tag=t-1\)") as info:
            await caller.dial(phone("+15559990000"), tag="t-1", dial_timeout=WAIT)
        assert info.value.code == -1
        async with relay_client(relay_server, ["office"]):  # offered, never answered
            with pytest.raises(RelayError, match="Dial timed out") as info:
                await caller.dial(phone(OFFICE_NUMBER), dial_timeout=0.5)
        assert caller._dials == {}


# -- connection ------------------------------------------------------------------------


async def test_bad_token_gives_up_with_server_code(relay_server: LocalServer) -> None:
    client = RelayClient(relay_server.project, "PTwrong", host=relay_server.host, timings=FAST)
    with pytest.raises(RelayError) as info:
        await client.connect()
    assert info.value.code == -32002
    assert not client.connection.connected


async def paused(server: LocalServer) -> Callable[[], Awaitable[None]]:
    """SIGSTOP the server process (a half-open peer); returns the resume coroutine."""
    assert server.process is not None
    pid = server.process.pid
    os.kill(pid, signal.SIGSTOP)

    async def resume() -> None:
        os.kill(pid, signal.SIGCONT)

    return resume


async def test_request_timeout_then_recovery(relay_server: LocalServer) -> None:
    timings = Timings(request_timeout=0.3, reconnect_delay=0.05, ping_interval=60)
    async with relay_client(relay_server, timings=timings) as (client, _):
        resume = await paused(relay_server)
        try:
            with pytest.raises(RequestTimeoutError) as info:
                await client.execute("signalwire.ping", {})
            assert info.value.code == -1 and "timed out" in info.value.message
        finally:
            await resume()
        assert await client.execute("signalwire.ping", {}) is not None


async def test_missed_pings_force_a_reconnect_that_resumes(relay_server: LocalServer) -> None:
    timings = Timings(
        request_timeout=0.2, ping_interval=0.1, reconnect_delay=0.05, reconnect_max_delay=0.2
    )
    async with relay_client(relay_server, timings=timings) as (client, _):
        protocol = client.relay_protocol
        first_ws = client.connection.ws
        resume = await paused(relay_server)
        try:
            await eventually(lambda: not client.connection.connected)
        finally:
            await resume()
        await eventually(lambda: client.connection.connected)
        assert client.connection.ws is not first_ws
        assert client.session_restored and client.relay_protocol == protocol


async def cut(client: RelayClient) -> None:
    """Kill the client's socket under it, as a network failure would."""
    ws = client.connection.ws
    assert ws is not None
    ws.transport.abort()


async def test_resume_keeps_calls_and_delivers_missed_events_once(
    relay_server: LocalServer,
) -> None:
    async with relay_client(relay_server, ["office"]) as (client, calls):
        seen = record_events(client)
        call = await answered_call(relay_server, calls)
        listened: list[str] = []
        call.on("calling.call.state", lambda e: listened.append(e.params["call_state"]))
        protocol = client.relay_protocol
        await cut(client)
        await eventually(lambda: not client.connection.connected)
        await asyncio.to_thread(relay_server.hang_up, call.call_id)  # happens while away
        await call.wait_for_ended(timeout=WAIT)
        assert client.session_restored and client.relay_protocol == protocol
        assert listened == ["ending", "ended"]
        assert states_of(seen, call.call_id).count("ended") == 1
        assert call.end_reason == "hangup"


async def test_request_in_flight_across_a_cut_completes(relay_server: LocalServer) -> None:
    async with relay_client(relay_server, ["office"]) as (client, calls):
        call = await answered_call(relay_server, calls)
        await cut(client)
        result = await asyncio.wait_for(call.hangup(), WAIT)  # held or queued, then resent
        assert result["code"] == "200"
        await call.wait_for_ended(timeout=WAIT)
        assert client.session_restored
        assert client.calls.get(call.call_id) is None


async def test_request_on_the_wire_is_resent_after_resume(relay_server: LocalServer) -> None:
    async with relay_client(relay_server, ["office"]) as (client, calls):
        call = await answered_call(relay_server, calls)
        hangup = asyncio.ensure_future(call.hangup())
        await asyncio.sleep(0)  # calling.end is written, its response not yet read
        await cut(client)
        result = await asyncio.wait_for(hangup, WAIT)
        # resent with the same id; the server answers the copy from its memory of results
        # instead of ending the call twice, so the caller gets the original response
        assert result["code"] == "200"
        await call.wait_for_ended(timeout=WAIT)
        assert client.session_restored


async def test_server_restart_starts_a_fresh_session(
    relay_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "voxrelay.relay")
    async with relay_client(relay_server, ["office"]) as (client, calls):
        protocol = client.relay_protocol
        await asyncio.to_thread(relay_server.stop)
        await eventually(lambda: not client.connection.connected)
        assert "restart=True" in caplog.text  # signalwire.disconnect: drop the session
        await asyncio.to_thread(relay_server.start)
        await eventually(lambda: client.connection.connected, timeout=10)
        assert not client.session_restored and client.relay_protocol not in (None, protocol)
        await originate(relay_server)  # contexts were subscribed again
        await asyncio.wait_for(calls.get(), WAIT)


def test_run_returns_cleanly_on_sigint(relay_server: LocalServer) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from voxrelay.relay import RelayClient
        client = RelayClient({relay_server.project!r}, {relay_server.token!r},
                             host={relay_server.host!r}, contexts=["office"])
        orig = client.connection._accept
        def accepted(result):
            orig(result)
            print("connected", flush=True)
        client.connection._accept = accepted
        client.run()
        print("returned", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "connected"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "returned" in out and "Traceback" not in err


async def test_wss_with_ca_from_environment(
    tls_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNALWIRE_RELAY_CA_FILE", str(tls_server.ca_file))
    client = RelayClient(
        tls_server.project, tls_server.token, host=f"wss://{tls_server.host}", timings=FAST
    )
    async with client:
        assert client.connection.url.startswith("wss://") and client.relay_protocol
        assert await client.execute("signalwire.ping", {}) is not None
