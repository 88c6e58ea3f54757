"""The virtual phone over SIP: it calls in as its project (digest, X-Relay-Context), registers
its number, CANCELs, hangs up and is hung up, and plays early media; all over loopback SIP
and RTP against a real ``voxrelay serve``."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import numpy as np
import pytest

from tests.test_play_e2e import level_db, phone_for
from tests.wire import WireClient
from voxrelay.media.frames import RATE
from voxrelay.phone import PhoneError, VirtualPhone
from voxrelay.protocol.sip import CALL_ID_HEADER, CONTEXT_HEADER
from voxrelay.sip import offeranswer, sdp
from voxrelay.sip.invite import InviteSession as SipCall
from voxrelay.sip.message import Response
from voxrelay.sip.sdp import SessionDescription
from voxrelay.sip.useragent import UserAgent
from voxrelay.testing import LocalServer

NUMBER = "+15550108888"
WHOLE_CALL = ["created", "ringing", "answered", "ending", "ended"]


def voiced_frames(audio: np.ndarray) -> int:
    usable = audio[: len(audio) // 160 * 160]
    return int((np.abs(usable.reshape(-1, 160)).max(axis=1) > 1000).sum())


async def app_on(server: LocalServer, contexts: list[str], other: bool = False) -> WireClient:
    app = WireClient(server.ws_url)
    if other:
        ((project, token),) = server.other_projects.items()
        await app.connect(project, token, contexts)
    else:
        await app.connect(server.project, server.token, contexts)
    return app


async def play_ringtone(app: WireClient, call_id: str, control_id: str) -> None:
    """The app plays 1 s of the US ringtone (440+480 Hz) and waits for it to finish."""
    await app.request(
        "calling.play",
        {
            "call_id": call_id,
            "control_id": control_id,
            "play": [{"type": "ringtone", "params": {"name": "us", "duration": 1.0}}],
        },
    )
    await app.wait_event("calling.call.play", control_id=control_id, state="finished")


async def raw_invite(
    server: LocalServer,
    headers: list[tuple[str, str]],
    credentials: tuple[str, str] | None,
    offer: SessionDescription | None = None,
) -> tuple[UserAgent, SipCall, list[Response], asyncio.Event]:
    """Our own UA sends an INVITE to the server (SDP ``offer``, default PCMU and PCMA on
    port 40000); returns it with the responses it gets."""
    ua = UserAgent("127.0.0.1", 0)
    ua.credentials = (lambda request: credentials) if credentials else None
    await ua.start()
    offer = offer or offeranswer.offer("127.0.0.1", 40000)
    uri = f"sip:+15550002222@127.0.0.1:{server.sip_port}"
    call = await ua.invite(
        uri,
        from_uri="sip:+15550001111@127.0.0.1",
        to_uri=uri,
        sdp=offer.serialize(),
        host="127.0.0.1",
        port=server.sip_port,
        headers=headers,
    )
    responses: list[Response] = []
    ended = asyncio.Event()
    call.on_progress = lambda c, r: responses.append(r)
    call.on_answered = lambda c: responses.append(c.response) if c.response else None
    call.on_ended = lambda c: (
        responses.append(c.response) if c.response else None,
        ended.set(),
    )
    return ua, call, responses, ended


async def test_the_phone_calls_its_projects_context_and_hears_the_app(
    relay_server: LocalServer,
) -> None:
    app = await app_on(relay_server, ["desk"])
    other = await app_on(relay_server, ["desk"], other=True)
    phone = asyncio.create_task(phone_for(relay_server).call("desk", max_duration=20))
    offer = await app.wait_event("calling.call.receive", timeout=10)
    call_id = offer["params"]["call_id"]
    assert offer["params"]["context"] == "desk"
    assert offer["params"]["device"]["params"] == {
        "from_number": "+15550001111",
        "to_number": "+15550002222",
    }
    await app.request("calling.answer", {"call_id": call_id})
    await play_ringtone(app, call_id, "tone")
    await app.request("calling.end", {"call_id": call_id})  # the server sends BYE
    report = await asyncio.wait_for(phone, 10)
    assert report.call_id == call_id  # X-Relay-Call-Id
    assert [s.call_state for s in report.states] == WHOLE_CALL
    assert report.end_reason == "hangup"
    assert 40 <= voiced_frames(report.heard_after_answer()) <= 60  # the 1 s US ringtone
    assert not [e for e in other.events if e["event_type"].startswith("calling.")]
    await app.close()
    await other.close()


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_the_phone_hangs_up_with_bye(relay_server: LocalServer, transport: str) -> None:
    app = await app_on(relay_server, ["default"])
    device = VirtualPhone(
        relay_server.http_url, relay_server.project, relay_server.token, transport=transport
    )
    phone = asyncio.create_task(device.call(say="Hello there", hangup_after=2.0, max_duration=20))
    offer = await app.wait_event("calling.call.receive", timeout=10)
    call_id = offer["params"]["call_id"]
    await app.request("calling.answer", {"call_id": call_id})
    # the signalling really goes the way asked: a TCP connection to the SIP port, or none
    assert bool(tcp_connections_to(relay_server.sip_port)) == (transport == "TCP")
    ended = await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    assert ended["params"]["end_reason"] == "hangup"
    report = await asyncio.wait_for(phone, 10)
    assert report.end_reason == "hangup" and report.answered  # the phone's BYE: the app sent none
    await app.close()


def tcp_connections_to(port: int) -> str:
    """Established TCP connections to ``port`` on this machine (``ss``, iproute2)."""
    args = ["ss", "-Htn", "state", "established", f"( dport = :{port} )"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


async def test_unanswered_the_phone_cancels(relay_server: LocalServer) -> None:
    app = await app_on(relay_server, ["default"])
    phone = asyncio.create_task(phone_for(relay_server).call(ring_timeout=1.0))
    offer = await app.wait_event("calling.call.receive", timeout=10)
    call_id = offer["params"]["call_id"]
    report = await asyncio.wait_for(phone, 10)  # CANCEL after 1 s, 487 back
    assert [s.call_state for s in report.states] == ["created", "ringing", "ending", "ended"]
    assert report.end_reason == "noAnswer" and not report.answered
    assert report.call_id == call_id  # named on the 180 already
    ended = await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    assert ended["params"]["end_reason"] == "cancel"
    await app.close()


async def test_the_invite_is_digest_authenticated_as_the_project(
    relay_server: LocalServer,
) -> None:
    app = await app_on(relay_server, ["default"])
    sip = f"127.0.0.1:{relay_server.sip_port}"
    # a wrong token: 401 challenge, digest answer, 403, and no call at all
    wrong = VirtualPhone(relay_server.http_url, relay_server.project, "PTwrong", sip=sip)
    with pytest.raises(PhoneError, match="SIP 403"):
        await wrong.call(max_duration=5)
    # without credentials an INVITE naming a context only gets the challenge
    ua, call, responses, ended = await raw_invite(relay_server, [(CONTEXT_HEADER, "default")], None)
    await asyncio.wait_for(ended.wait(), 5)
    await ua.stop()
    assert call.end_status == 401
    assert any("Digest" in v for r in responses for v in r.headers.get_all("WWW-Authenticate")), (
        responses
    )
    # asking the server where SIP is needs the right credentials too
    with pytest.raises(PhoneError, match="HTTP 401"):
        await VirtualPhone(relay_server.http_url, relay_server.project, "PTwrong").call()
    await asyncio.sleep(0.3)
    assert not [e for e in app.events if e["event_type"].startswith("calling.")]
    await app.close()


async def test_early_media_reaches_the_phone_before_the_answer(
    relay_server: LocalServer,
) -> None:
    app = await app_on(relay_server, ["default"])

    async def ringback_then_answer() -> str:
        offer = await app.wait_event("calling.call.receive", timeout=10)
        call_id: str = offer["params"]["call_id"]
        app.events.remove(offer)
        await play_ringtone(app, call_id, f"rb-{call_id}")
        await app.request("calling.answer", {"call_id": call_id})
        await asyncio.sleep(0.5)
        await app.request("calling.end", {"call_id": call_id})
        return call_id

    # the phone: what it heard before the 200 is the app's ringback
    answering = asyncio.create_task(ringback_then_answer())
    report = await asyncio.wait_for(phone_for(relay_server).call(max_duration=20), 15)
    await answering
    assert report.answered and report.answered_at is not None
    before = report.heard[: int(report.answered_at * RATE)]
    assert 40 <= voiced_frames(before) <= 60 and level_db(before) > -40

    # on the wire: 183 with the SDP answer, then the 200 with the same one
    answering = asyncio.create_task(ringback_then_answer())
    creds = (relay_server.project, relay_server.token)
    ua, _call, responses, ended = await raw_invite(
        relay_server, [(CONTEXT_HEADER, "default")], creds
    )
    call_id = await answering
    await asyncio.wait_for(ended.wait(), 10)
    await ua.stop()
    statuses = [r.status for r in responses]
    assert statuses[:3] == [180, 183, 200], statuses
    early, ok = responses[1], responses[2]
    assert early.body and early.body == ok.body
    assert sdp.SessionDescription.parse(early.body).media[0].port > 0
    assert {r.headers.get(CALL_ID_HEADER) for r in responses} == {call_id}
    await app.close()


async def test_a_registered_phone_is_dialled_by_number_and_uri_within_its_project(
    relay_server: LocalServer,
) -> None:
    ready = asyncio.Event()
    phone = asyncio.create_task(
        phone_for(relay_server).answer_calls(
            NUMBER,
            calls=2,
            answer_after=0.3,
            say="Hello, this is the virtual phone.",
            max_duration=20,
            on_ready=ready.set,
        )
    )
    await asyncio.wait_for(ready.wait(), 10)
    app = await app_on(relay_server, [])
    other = await app_on(relay_server, [], other=True)

    def dial(tag: str, device: dict[str, Any]) -> dict[str, Any]:
        return {"tag": tag, "devices": [[device]]}

    by_number = {"type": "phone", "params": {"from_number": "+15553334444", "to_number": NUMBER}}
    # another project's dial does not reach this project's phone
    await other.request("calling.dial", dial("theirs", by_number))
    failed = await other.wait_event("calling.call.dial", dial_state="failed", tag="theirs")
    assert failed["params"]["reason"] == "not_found"

    by_uri = {
        "type": "sip",
        "params": {
            "from": "sip:app@voxrelay",
            "to": f"sip:{NUMBER}@127.0.0.1:{relay_server.sip_port}",
        },
    }
    legs = []
    for tag, device in (("number", by_number), ("uri", by_uri)):
        await app.request("calling.dial", dial(tag, device))
        answered = await app.wait_event("calling.call.dial", dial_state="answered", tag=tag)
        call_id = answered["params"]["call"]["call_id"]
        legs.append(call_id)
        assert app.states(call_id) == ["created", "ringing", "answered"]
        await asyncio.sleep(1.0)
        await app.request("calling.end", {"call_id": call_id})
        await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    reports = await asyncio.wait_for(phone, 10)
    assert [r.call_id for r in reports] == legs  # X-Relay-Call-Id on our INVITEs
    for report in reports:
        assert [s.call_state for s in report.states] == WHOLE_CALL
        assert report.end_reason == "hangup"
        assert (report.answered_at or 0) > 0.25  # it rang answer_after (0.3 s) first
    # unregistered (Expires: 0) once done: nobody has the number any more
    await app.request("calling.dial", dial("gone", by_number))
    failed = await app.wait_event("calling.call.dial", dial_state="failed", tag="gone")
    assert failed["params"]["reason"] == "not_found"
    await app.close()
    await other.close()
