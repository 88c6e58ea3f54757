"""The documented fixtures, used the way a user's test would use them."""

from __future__ import annotations

import asyncio

import numpy as np

from voxrelay.phone import VirtualPhone
from voxrelay.relay import RelayClient
from voxrelay.testing import LocalServer


async def test_users_can_test_a_call_flow(
    voxrelay_server: LocalServer, virtual_phone: VirtualPhone
) -> None:
    client = RelayClient(
        project=voxrelay_server.project,
        token=voxrelay_server.token,
        host=voxrelay_server.host,
        contexts=["default"],
    )
    keys: list[str] = []

    @client.on_call
    async def handle(call):  # type: ignore[no-untyped-def]
        await call.answer()
        action = await call.play_tts("Thanks for calling.")
        await action.wait(10)
        await call.send_digits("42")
        await asyncio.sleep(1.0)
        await call.hangup()

    async with client:
        report = await virtual_phone.call("default", max_duration=20)
    keys.append(report.digits_heard)
    assert report.answered and report.end_reason == "hangup"
    assert keys == ["42"]
    heard = report.heard_after_answer()[:12000]  # the first 1.5 s: "Thanks for calling."
    voiced = np.abs(heard.reshape(-1, 160)).max(axis=1) > 1000
    assert voiced.sum() > 30  # over 0.6 s of speech
