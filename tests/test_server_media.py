"""The server applies an inbound INVITE's SDP to the call's leg (``Leg.apply``): an offer that
says the caller only sends (a=sendonly: we only receive) mutes what the server sends.

The caller is our own SIP user agent with a plain UDP socket as its RTP port, so the test
reads the very RTP the server sends while the app plays a ringtone.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.test_phone_sip import play_ringtone, raw_invite
from tests.test_play_e2e import answer_next
from tests.wire import WireClient
from voxrelay.media.codecs import PCMU
from voxrelay.protocol.sip import CONTEXT_HEADER
from voxrelay.sip import offeranswer
from voxrelay.testing import LocalServer

SILENT = PCMU.silence


async def payloads_heard(server: LocalServer, direction: str) -> list[bytes]:
    """Call the server with an offer of ``direction``; the app answers and plays 1 s of
    ringtone. Returns the PCMU payloads of the RTP the server sent meanwhile."""
    app = WireClient(server.ws_url)
    await app.connect(server.project, server.token, ["default"])
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    rtp.setblocking(False)
    offer = offeranswer.offer("127.0.0.1", rtp.getsockname()[1], ("PCMU",), direction=direction)
    credentials = (server.project, server.token)
    ua, call, _, _ = await raw_invite(server, [(CONTEXT_HEADER, "default")], credentials, offer)
    try:
        call_id = await answer_next(app)
        await play_ringtone(app, call_id, "ring")
        call.hang_up()
        await asyncio.sleep(0.1)
    finally:
        await ua.stop()
        await app.close()
    payloads = []
    while True:
        try:
            data = rtp.recv(2048)
        except BlockingIOError:
            break
        if len(data) == 12 + len(SILENT) and data[1] & 0x7F == PCMU.payload_type:
            payloads.append(data[12:])
    rtp.close()
    return payloads


@pytest.mark.parametrize(("direction", "tone"), [("sendonly", False), ("sendrecv", True)])
async def test_the_server_sends_silence_to_a_caller_that_only_sends(
    relay_server: LocalServer, direction: str, tone: bool
) -> None:
    payloads = await payloads_heard(relay_server, direction)
    assert len(payloads) > 25  # RTP kept flowing through the second of ringtone
    assert any(p != SILENT for p in payloads) is tone
