"""voxrelay.v2 against a real server: digit detection, send_digits and dial (calling.begin)."""

from __future__ import annotations

import asyncio
from typing import Any

from voxrelay.phone import VirtualPhone
from voxrelay.testing import LocalServer
from voxrelay.v2 import Call, Client


async def connected(server: LocalServer, contexts: list[str]) -> Client:
    client = Client(server.project, server.token, server.host, contexts=contexts)
    await client.open()
    return client


async def test_detect_digit_and_send_digits(relay_server: LocalServer) -> None:
    client = await connected(relay_server, ["office"])
    results: dict[str, Any] = {}
    handled = asyncio.Event()

    async def on_call(call: Call) -> None:
        await call.answer()
        results["detect"] = await call.detect_digit(timeout=10)
        results["send"] = await call.send_digits("159")
        await asyncio.sleep(1.5)
        results["hangup"] = await call.hangup()
        handled.set()

    await client.calling.receive(["office"], on_call)
    try:
        phone = VirtualPhone(relay_server.http_url, relay_server.project, relay_server.token)
        report = await phone.call("office", digits="7", digits_at=1.0, hangup_after=15)
        # the phone gets the BYE as the call starts ending; hangup() waits for it to end
        await asyncio.wait_for(handled.wait(), 5)
    finally:
        await client.disconnect()
    detect = results["detect"]
    assert detect.successful and detect.detect_type == "digit" and detect.result == "7"
    assert results["send"].successful
    assert results["hangup"].successful and results["hangup"].reason == "hangup"
    assert "159" in report.digits_heard


async def test_dial_reaches_another_context(relay_server: LocalServer) -> None:
    caller = await connected(relay_server, ["office"])
    callee = await connected(relay_server, ["sales"])
    seen: list[Call] = []

    async def on_sales(call: Call) -> None:
        seen.append(call)
        await call.answer()

    await callee.calling.receive(["sales"], on_sales)
    try:
        result = await caller.calling.dial(from_number="+15551230000", to_number="+15550100002")
        assert result.successful and result.call is not None
        call = result.call
        assert call.id and call.node_id and call.answered
        assert len(seen) == 1 and seen[0].to_number == "+15550100002"
        hangup = await call.hangup()
        assert hangup.successful and call.ended
    finally:
        await caller.disconnect()
        await callee.disconnect()
