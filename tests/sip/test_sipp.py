"""SIPp (Debian ``sip-tester``) calls a real ``voxrelay serve``; a RELAY app takes the calls.

The scenarios in ``tests/sip/scenarios`` are our own. Every sipp run is bounded by sipp's own
``-timeout`` and by an asyncio timeout, and is killed in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import soundfile

from tests.wire import WireClient
from voxrelay.media.sources import tone
from voxrelay.phone import VirtualPhone
from voxrelay.sip import offeranswer
from voxrelay.sip.invite import InviteSession, InviteState
from voxrelay.sip.message import Response
from voxrelay.sip.useragent import UserAgent
from voxrelay.testing import LocalServer, free_port

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).parent / "scenarios"
DTMF_PCAP = Path("/usr/share/sip-tester")
pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) is not installed"),
]


@dataclass
class SippRun:
    returncode: int
    stats: dict[str, str]
    stdout: str
    stderr: str
    errors: str

    def count(self, column: str) -> int:
        return int(self.stats.get(column, "0") or 0)

    @property
    def successful(self) -> int:
        return self.count("SuccessfulCall(C)")

    @property
    def failed(self) -> int:
        return self.count("FailedCall(C)")

    def __str__(self) -> str:
        return (
            f"sipp rc={self.returncode} ok={self.successful} failed={self.failed}\n"
            f"stderr: {self.stderr[-2000:]}\nerrors: {self.errors[-3000:]}"
        )


def free_udp_pair() -> int:
    """An even port whose neighbour is free too (sipp's RTP and RTCP-ish ports)."""
    for _ in range(50):
        port = free_port()
        port -= port % 2
        try:
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
            ):
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 2))
            return port
        except OSError:
            continue
    raise RuntimeError("no free RTP port pair")


async def run_sipp(
    server: LocalServer | None,
    scenario: Path | str,
    tmp: Path,
    *args: str,
    service: str = "+15551234567",
    caller: str = "+15550009999",
    transport: str = "u1",
    calls: int = 1,
    timeout: float = 30.0,
    port: int | None = None,
) -> SippRun:
    """Run sipp against the server's SIP port (or, with no server, as a callee on ``port``)
    until it ends (or ``timeout``; then kill it)."""
    assert SIPP is not None
    path = scenario if isinstance(scenario, Path) else SCENARIOS / scenario
    stats = tmp / f"{path.stem}-stats.csv"
    errors = tmp / f"{path.stem}-errors.log"
    cmd = [
        SIPP,
        *([f"127.0.0.1:{server.sip_port}"] if server is not None else []),
        "-sf", str(path),
        "-s", service,
        "-key", "caller", caller,
        "-i", "127.0.0.1",
        "-mi", "127.0.0.1",
        "-p", str(port or free_port()),
        "-mp", str(free_udp_pair()),
        "-t", transport,
        "-m", str(calls),
        "-nostdin",
        "-timeout", f"{int(timeout)}s",
        "-timeout_error",
        "-trace_stat", "-stf", str(stats),
        "-trace_err", "-error_file", str(errors),
        *args,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + 10)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    row: dict[str, str] = {}
    if stats.exists():
        rows = list(csv.DictReader(stats.read_text().splitlines(), delimiter=";"))
        row = rows[-1] if rows else {}
    return SippRun(
        proc.returncode,
        row,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        errors.read_text(errors="replace") if errors.exists() else "",
    )


async def app_for(server: LocalServer) -> WireClient:
    app = WireClient(server.ws_url)
    await app.connect(server.project, server.token, ["default"])
    return app


@contextlib.asynccontextmanager
async def answering(app: WireClient) -> AsyncIterator[list[str]]:
    """Answer every call offered to ``app`` in the background; yields the answered call ids."""
    answered: list[str] = []

    async def answer(call_id: str) -> None:
        reply = await app.request("calling.answer", {"call_id": call_id})
        if "result" in reply:
            answered.append(call_id)

    async def loop() -> None:
        seen = 0
        pending: set[asyncio.Task[None]] = set()
        while True:
            while seen < len(app.events):
                ev = app.events[seen]
                seen += 1
                if ev["event_type"] == "calling.call.receive":
                    task = asyncio.create_task(answer(ev["params"]["call_id"]))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
            app._new.clear()
            await app._new.wait()

    task = asyncio.create_task(loop())
    try:
        yield answered
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def ended(app: WireClient, call_id: str) -> dict[str, Any] | None:
    for ev in app.events:
        p = ev["params"]
        if (
            ev["event_type"] == "calling.call.state"
            and p.get("call_id") == call_id
            and p.get("call_state") == "ended"
        ):
            found: dict[str, Any] = p
            return found
    return None


# -- 1. basic call, 4a. the caller hangs up -------------------------------------------------


async def test_basic_call_phone_device_answer_and_caller_bye(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    app = await app_for(relay_server)
    try:
        sipp = asyncio.create_task(run_sipp(relay_server, "uac_basic.xml", tmp_path, "-d", "1000"))
        offer = await app.wait_event("calling.call.receive", timeout=10)
        p = offer["params"]
        assert p["direction"] == "inbound" and p["context"] == "default"
        assert p["device"] == {
            "type": "phone",
            "params": {"from_number": "+15550009999", "to_number": "+15551234567"},
        }
        call_id = p["call_id"]
        reply = await app.request("calling.answer", {"call_id": call_id})
        assert reply["result"]["code"] == "200", reply
        run = await sipp
        assert run.returncode == 0 and run.successful == 1 and run.failed == 0, str(run)
        await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
        end = ended(app, call_id)
        assert end is not None and end["end_reason"] == "hangup"
        assert app.states(call_id) == ["ringing", "answered", "ending", "ended"]
    finally:
        await app.close()


async def test_basic_call_over_tcp(relay_server: LocalServer, tmp_path: Path) -> None:
    app = await app_for(relay_server)
    try:
        async with answering(app) as answered:
            run = await run_sipp(
                relay_server, "uac_basic.xml", tmp_path, "-d", "500", transport="t1"
            )
            assert run.returncode == 0 and run.successful == 1 and run.failed == 0, str(run)
        (call_id,) = answered
        await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
        end = ended(app, call_id)
        assert end is not None and end["end_reason"] == "hangup"
    finally:
        await app.close()


async def test_sip_device_when_users_are_not_numbers(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    app = await app_for(relay_server)
    try:
        async with answering(app):
            run = await run_sipp(
                relay_server, "uac_basic.xml", tmp_path, "-d", "200", service="alice",
                caller="bob",
            )  # fmt: skip
            assert run.returncode == 0 and run.successful == 1, str(run)
        offer = await app.wait_event("calling.call.receive")
        device = offer["params"]["device"]
        assert device["type"] == "sip"
        assert device["params"]["from"].startswith("sip:bob@127.0.0.1")
        assert device["params"]["to"].startswith("sip:alice@127.0.0.1")
    finally:
        await app.close()


# -- 2. RTP audio and RFC 2833 DTMF ---------------------------------------------------------


async def media_stats(server: LocalServer, call_id: str) -> dict[str, Any]:
    def get() -> dict[str, Any]:
        with server.http() as http:
            resp = http.get(f"/api/calls/{call_id}")
            resp.raise_for_status()
            media: dict[str, Any] = resp.json()["media"]
            return media

    return await asyncio.to_thread(get)


async def test_audio_and_rfc2833_digits_then_tts_back(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    # 4 s of a 440 Hz tone as an 8 kHz u-law WAV (what sipp's rtp_stream wants)
    wav = tmp_path / "caller.wav"
    soundfile.write(
        str(wav), tone((440.0,), 4.0, level_dbfs=-16), 8000, subtype="ULAW", format="WAV"
    )
    scenario = tmp_path / "uac_audio_dtmf.xml"
    scenario.write_text((SCENARIOS / "uac_audio_dtmf.xml").read_text().replace("@WAV@", str(wav)))
    app = await app_for(relay_server)
    try:
        sipp = asyncio.create_task(run_sipp(relay_server, scenario, tmp_path, timeout=40))
        offer = await app.wait_event("calling.call.receive", timeout=10)
        call_id = offer["params"]["call_id"]
        await app.request("calling.answer", {"call_id": call_id})
        reply = await app.request(
            "calling.collect",
            {
                "call_id": call_id,
                "control_id": "pin",
                "initial_timeout": 8.0,
                "digits": {"max": 6, "terminators": "#", "digit_timeout": 4.0},
            },
        )
        assert reply["result"]["code"] == "200", reply
        got = await app.wait_event("calling.call.collect", control_id="pin", timeout=15)
        assert got["params"]["result"] == {
            "type": "digit",
            "params": {"digits": "519", "terminator": "#"},
        }
        before = await media_stats(relay_server, call_id)
        await app.request(
            "calling.play",
            {
                "call_id": call_id,
                "control_id": "bye",
                "play": [{"type": "tts", "params": {"text": "Thank you. Goodbye."}}],
            },
        )
        await app.wait_event("calling.call.play", control_id="bye", state="finished", timeout=15)
        after = await media_stats(relay_server, call_id)
        await app.request("calling.end", {"call_id": call_id, "reason": "hangup"})
        run = await sipp
        assert run.returncode == 0 and run.successful == 1, str(run)
        # sipp's WAV (4 s at 20 ms) plus the telephone-event packets reached the server
        assert after["codec"] == "PCMU"
        assert after["packets_received"] >= 150, after
        # the server sent the prompt to sipp: at least ~1 s of packets more than before it
        assert after["packets_sent"] - before["packets_sent"] >= 40, (before, after)
        await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
        end = ended(app, call_id)
        assert end is not None and end["end_reason"] == "hangup"
    finally:
        await app.close()


# -- 3. CANCEL before the answer -----------------------------------------------------------


async def test_cancel_before_answer(relay_server: LocalServer, tmp_path: Path) -> None:
    app = await app_for(relay_server)  # takes the offer and never answers
    try:
        run = await run_sipp(relay_server, "uac_cancel.xml", tmp_path)
        assert run.returncode == 0 and run.successful == 1 and run.failed == 0, str(run)
        offer = await app.wait_event("calling.call.receive")
        call_id = offer["params"]["call_id"]
        await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
        end = ended(app, call_id)
        assert end is not None and end["end_reason"] == "cancel", end
    finally:
        await app.close()


# -- 4b. the app hangs up -----------------------------------------------------------------


async def test_app_hangs_up_and_sipp_answers_the_bye(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    app = await app_for(relay_server)
    try:
        sipp = asyncio.create_task(run_sipp(relay_server, "uac_wait_bye.xml", tmp_path))
        offer = await app.wait_event("calling.call.receive", timeout=10)
        call_id = offer["params"]["call_id"]
        await app.request("calling.answer", {"call_id": call_id})
        await asyncio.sleep(0.5)
        reply = await app.request("calling.end", {"call_id": call_id, "reason": "hangup"})
        assert reply["result"]["code"] == "200", reply
        run = await sipp
        assert run.returncode == 0 and run.successful == 1 and run.failed == 0, str(run)
        await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
        assert app.states(call_id)[-2:] == ["ending", "ended"]
        end = ended(app, call_id)
        assert end is not None and end["end_reason"] == "hangup"
    finally:
        await app.close()


# -- 5. load: 100 calls at 20 calls/s -----------------------------------------------------


async def test_hundred_calls_at_twenty_per_second(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    app = await app_for(relay_server)
    try:
        async with answering(app) as answered:
            run = await run_sipp(
                relay_server, "uac_basic.xml", tmp_path, "-r", "20", "-d", "500", "-l", "60",
                calls=100, timeout=60,
            )  # fmt: skip
            assert run.returncode == 0, str(run)
            assert run.successful == 100 and run.failed == 0, str(run)
        assert len(answered) == 100
        assert len(set(answered)) == 100
        for call_id in answered:
            await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
    finally:
        await app.close()


# -- 6. hold/resume, OPTIONS, bad requests, unknown methods ----------------------------------


async def test_reinvite_hold_and_resume(relay_server: LocalServer, tmp_path: Path) -> None:
    app = await app_for(relay_server)
    try:
        async with answering(app) as answered:
            run = await run_sipp(relay_server, "uac_hold.xml", tmp_path)
            assert run.returncode == 0 and run.successful == 1 and run.failed == 0, str(run)
        (call_id,) = answered
        await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
        assert app.states(call_id) == ["ringing", "answered", "ending", "ended"]
    finally:
        await app.close()


async def test_our_reinvite_holds_and_resumes_a_sipp_callee(tmp_path: Path) -> None:
    # voxrelay's UA calls sipp, then modify()s the session: a=sendonly (hold), a=sendrecv
    # (resume); sipp checks each offer and answers recvonly, then sendrecv
    port = free_port()
    sipp = asyncio.create_task(run_sipp(None, "uas_hold.xml", tmp_path, port=port, service="bob"))
    ua = UserAgent("127.0.0.1", 0)
    await ua.start()
    try:
        offer = offeranswer.offer("127.0.0.1", free_udp_pair(), session_id=4242)
        session = await ua.invite(
            f"sip:bob@127.0.0.1:{port}",
            from_uri="sip:alice@127.0.0.1",
            to_uri=f"sip:bob@127.0.0.1:{port}",
            sdp=offer.serialize(),
            host="127.0.0.1",
            port=port,
        )
        answered, modified, ended = asyncio.Event(), asyncio.Queue[Response](), asyncio.Event()
        session.on_answered = lambda s: answered.set()
        session.on_modified = lambda s, r: modified.put_nowait(r)
        session.on_ended = lambda s: ended.set()
        await asyncio.wait_for(answered.wait(), 15)
        directions = []
        for version, direction in ((1, "sendonly"), (2, "sendrecv")):
            again = offeranswer.offer(
                "127.0.0.1", 40000, direction=direction, session_id=4242, session_version=version
            )
            session.modify(again.serialize())
            response = await asyncio.wait_for(modified.get(), 10)
            assert response.status == 200, response
            assert state_of(session) is InviteState.CONFIRMED
            neg = offeranswer.read_answer(session.local_sdp, session.remote_sdp)
            directions.append(neg.direction)
        assert directions == ["sendonly", "sendrecv"]  # sipp said recvonly, then sendrecv
        session.hang_up()
        await asyncio.wait_for(ended.wait(), 5)
        run = await sipp
        assert run.returncode == 0 and run.successful == 1 and run.failed == 0, str(run)
    finally:
        await ua.stop()
        if not sipp.done():
            sipp.cancel()


async def test_the_virtual_phone_takes_hold_and_resume_from_a_sipp_callee(
    tmp_path: Path,
) -> None:
    # sipp answers the phone's INVITE, re-INVITEs it with a=sendonly (the phone must answer
    # a=recvonly) and a=sendrecv (answer a=sendrecv), then hangs up
    port = free_port()
    sipp = asyncio.create_task(
        run_sipp(None, "uas_holds_caller.xml", tmp_path, port=port, service="+15550002222")
    )
    phone = VirtualPhone("http://127.0.0.1:9", "project", "PTtoken", sip=f"127.0.0.1:{port}")
    report = await asyncio.wait_for(phone.call("default", max_duration=20), 30)
    run = await sipp
    assert run.returncode == 0 and run.successful == 1 and run.failed == 0, str(run)
    assert [s.call_state for s in report.states] == ["created", "answered", "ending", "ended"]
    assert report.end_reason == "hangup"


def state_of(session: InviteSession) -> InviteState:
    return session.state


async def test_options_and_unknown_method(relay_server: LocalServer, tmp_path: Path) -> None:
    for scenario in ("options.xml", "unknown_method.xml"):
        for transport in ("u1", "t1"):
            run = await run_sipp(relay_server, scenario, tmp_path, transport=transport)
            assert run.returncode == 0 and run.successful == 1, (scenario, transport, str(run))


def udp_exchange(port: int, data: bytes, timeout: float = 2.0) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.bind(("127.0.0.1", 0))
        sock.sendto(data, ("127.0.0.1", port))
        reply, _ = sock.recvfrom(65536)
        return reply


def raw_invite(headers: list[str]) -> bytes:
    return ("INVITE sip:+15551234567@127.0.0.1 SIP/2.0\r\n" + "".join(
        h + "\r\n" for h in headers
    ) + "Content-Length: 0\r\n\r\n").encode()  # fmt: skip


async def test_malformed_invites_get_400_and_the_server_stays_up(
    relay_server: LocalServer, tmp_path: Path
) -> None:
    run = await run_sipp(relay_server, "bad_request.xml", tmp_path)
    assert run.returncode == 0 and run.successful == 1, str(run)
    # no Call-ID: sipp cannot match the reply to a call, so a plain socket sends this one
    common = [
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKnocallid;rport",
        "Max-Forwards: 70",
        "From: <sip:+15550009999@127.0.0.1>;tag=abc",
        "To: <sip:+15551234567@127.0.0.1>",
    ]
    reply = await asyncio.to_thread(
        udp_exchange, relay_server.sip_port, raw_invite([*common, "CSeq: 1 INVITE"])
    )
    assert reply.startswith(b"SIP/2.0 400 "), reply
    assert b"z9hG4bKnocallid" in reply
    reply = await asyncio.to_thread(
        udp_exchange,
        relay_server.sip_port,
        raw_invite([*common, "Call-ID: x@y", "CSeq: one INVITE"]),
    )  # sipp cannot read a CSeq that is not a number in the reply either
    assert reply.startswith(b"SIP/2.0 400 "), reply
    assert b";tag=" in reply.split(b"\r\nTo:", 1)[1].split(b"\r\n", 1)[0]
    # garbage does not take the server down: it still answers OPTIONS and places calls
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00\xffINVITE \r\n\r\n" * 10, ("127.0.0.1", relay_server.sip_port))
    run = await run_sipp(relay_server, "options.xml", tmp_path)
    assert run.returncode == 0 and run.successful == 1, str(run)
    app = await app_for(relay_server)
    try:
        async with answering(app):
            run = await run_sipp(relay_server, "uac_basic.xml", tmp_path, "-d", "200")
            assert run.returncode == 0 and run.successful == 1, str(run)
    finally:
        await app.close()
    with relay_server.http() as http:
        assert http.get("/healthz").status_code == 200


async def test_call_without_rtp_survives_on_a_node_up_longer_than_the_rtp_timeout(
    tmp_path: Path,
) -> None:
    # regression: a leg's inactivity count started at the media clock's tick 0, so once the
    # node had run for rtp_timeout every new call with no RTP yet ended on its first tick
    with LocalServer(extra_args=["--rtp-timeout", "1"]) as server:
        app = await app_for(server)
        try:
            async with answering(app) as answered:
                run = await run_sipp(server, "uac_basic.xml", tmp_path, "-d", "100")
                assert run.returncode == 0 and run.successful == 1, str(run)
                await asyncio.sleep(2.5)  # the media clock, once started, keeps counting ticks
                run = await run_sipp(
                    server, "uac_basic.xml", tmp_path, "-d", "600", "-r", "10", calls=3
                )
                assert run.returncode == 0 and run.successful == 3, str(run)
            assert len(answered) == 4
            for call_id in answered:
                await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
                end = ended(app, call_id)
                assert end is not None and end["end_reason"] == "hangup", end
        finally:
            await app.close()


async def test_no_ack_for_the_200_ends_the_relay_call_too(tmp_path: Path) -> None:
    # RFC 3261 §13.3.1.4: no ACK within 64*T1 (32 s) -> the UAS sends BYE; the app's call
    # must end with it (RTP timeout off, so nothing else could end it)
    with LocalServer(extra_args=["--rtp-timeout", "0"]) as server:
        app = await app_for(server)
        try:
            async with answering(app) as answered:
                run = await run_sipp(server, "uac_no_ack.xml", tmp_path, timeout=50)
                assert run.returncode == 0 and run.successful == 1, str(run)
            (call_id,) = answered
            await app.wait_event("calling.call.state", call_id=call_id, call_state="ended")
            end = ended(app, call_id)
            assert end is not None and end["end_reason"] == "error", end
        finally:
            await app.close()
