"""A virtual phone: a real SIP caller (or callee) with real RTP, for trying and testing call flows.

It is a SIP user agent of its own (``voxrelay.sip``, UDP on ``rtp_host``, an ephemeral port)
talking to the server's SIP service, and a media leg with its own RTP socket::

    phone = VirtualPhone("http://127.0.0.1:8773", project, token)
    report = await phone.call("default", say="Hello", digits="1234#", digits_at=3.0,
                              hangup_after=10.0)
    report.save("heard.wav")          # what the phone heard, 8 kHz mono

``call`` sends an INVITE (SDP offer: ``codecs`` in order, telephone-event when
``telephone_event`` is set, rtcp-mux) naming the context in ``X-Relay-Context``, answers the
server's 401 with digest as the project (username = project id, password = token; RFC 3261
§22), follows 100/180/183 (early media: a 183 with SDP starts RTP, and what it carries is
recorded) to the 200, ACKs it, and ends with BYE (or CANCEL before the answer, RFC 3261
§9). ``answer_calls`` REGISTERs ``sip:<number>@<server>`` as the project (refreshed at half
its lifetime, removed with ``Expires: 0`` when done), so ``calling.dial`` to that number by
the same project INVITEs the phone; it rings (180), answers after ``answer_after`` and
hangs up or is hung up the same way.

Once answered the phone plays a WAV or speech, presses DTMF keys (RFC 4733) at given times,
records everything it hears, and hangs up after a time or when the far end does. The
server's SIP address comes from ``sip=`` ("host:port") or, by default, from
``GET /api/virtual/sip`` on ``base_url`` (HTTP Basic ``project:token``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile

from voxrelay.media.clock import MediaClock
from voxrelay.media.codecs import PCMU
from voxrelay.media.digitsender import send_digits
from voxrelay.media.engine import Engine
from voxrelay.media.frames import RATE, Frame
from voxrelay.media.leg import Leg
from voxrelay.media.player import Player
from voxrelay.media.sources import decode_audio, synthesize
from voxrelay.media.transport import RtpTransport, open_transport
from voxrelay.protocol.sip import CALL_ID_HEADER, CONTEXT_HEADER, FAILURE
from voxrelay.protocol.states import EndReason
from voxrelay.sip import offeranswer
from voxrelay.sip.invite import Event as SipEvent
from voxrelay.sip.invite import InviteSession as SipCall
from voxrelay.sip.invite import InviteState as SipState
from voxrelay.sip.message import Response
from voxrelay.sip.registration import Registration, RegistrationError
from voxrelay.sip.sdp import SdpError, SessionDescription
from voxrelay.sip.useragent import UserAgent

SIP_INFO_PATH = "/api/virtual/sip"
REGISTER_EXPIRES = 300  # seconds asked for; refreshed at half what the registrar grants
EXPIRES_GRACE = 2.0  # s an INVITE's Expires outlasts the phone's own ring timeout


class PhoneError(Exception):
    """The call could not be placed or the phone not registered (refused with a SIP or
    HTTP status, which the message names; server unreachable; SIP disabled there)."""


@dataclass
class StateChange:
    """``created`` (INVITE sent or received), ``ringing`` (180/183), ``answered`` (200),
    ``ending`` and ``ended`` with a RELAY end reason (``hangup``, ``cancel``, ``noAnswer``,
    ``busy``, ``decline``, ``not_found``, ``error``)."""

    time: float  # seconds since the call was placed (or came in)
    call_state: str
    end_reason: str | None


@dataclass
class PhoneReport:
    """What happened on a call, as the phone saw and heard it."""

    call_id: str = ""  # the server's RELAY call id (X-Relay-Call-Id), else the SIP Call-ID
    states: list[StateChange] = field(default_factory=list)
    answered_at: float | None = None  # seconds since the call was placed
    ended_at: float | None = None
    end_reason: str | None = None
    digits_sent: str = ""
    digits_heard: str = ""  # DTMF the far end sent us (RFC 4733, or in-band without it)
    frames: list[Frame] = field(default_factory=list)  # one per 20 ms from the call's start

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def heard(self) -> Frame:
        """Everything heard, int16 8 kHz mono, from when the call was placed."""
        return np.concatenate(self.frames) if self.frames else np.zeros(0, dtype=np.int16)

    def heard_after_answer(self) -> Frame:
        """What was heard from the moment of answer on."""
        start = int((self.answered_at or 0.0) * RATE)
        return self.heard[start:]

    def save(self, path: str | Path) -> Path:
        """Write what the phone heard to a WAV file (16-bit, 8 kHz mono); returns the path."""
        path = Path(path)
        soundfile.write(str(path), self.heard, RATE, subtype="PCM_16")
        return path


class _Tape:
    control_id = "phone-tape"

    def __init__(self, frames: list[Frame]) -> None:
        self.frames = frames

    def on_frame(self, heard: Frame, said: Frame) -> None:
        self.frames.append(heard.copy())


def load_audio(play: str | Path | None, say: str | None) -> Frame | None:
    """The audio a phone plays: a file (WAV, MP3, FLAC, OGG) or text spoken by espeak-ng."""
    if say:
        return synthesize(say)
    if play:
        return decode_audio(Path(play))
    return None


class VirtualPhone:
    """See module docstring. ``verify`` is the TLS CA (path or SSLContext) for https servers;
    ``sip`` the server's SIP "host:port" (default: asked of the server); ``transport`` UDP
    or TCP; ``rtp_host`` the local address of the phone's SIP and RTP sockets."""

    def __init__(
        self,
        base_url: str,
        project: str,
        token: str,
        *,
        rtp_host: str = "127.0.0.1",
        codecs: tuple[str, ...] = ("PCMU", "PCMA"),
        telephone_event: int | None = 101,
        verify: Any = True,
        sip: str | None = None,
        transport: str = "UDP",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = (project, token)
        self.rtp_host = rtp_host
        self.codecs = codecs
        self.telephone_event = telephone_event
        self.transport = transport.upper()
        self.verify = (
            ssl.create_default_context(cafile=str(verify))
            if isinstance(verify, str | Path)
            else verify
        )
        self.sip = _host_port(sip) if sip else None

    async def server_sip(self) -> tuple[str, int]:
        """The server's SIP (host, port): ``sip=`` or ``GET /api/virtual/sip``. Raises
        PhoneError (HTTP 401 for wrong credentials, 404 when the server has no SIP)."""
        if self.sip is not None:
            return self.sip
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, auth=self.auth, verify=self.verify, timeout=10.0
            ) as http:
                resp = await http.get(SIP_INFO_PATH)
        except httpx.HTTPError as exc:
            raise PhoneError(f"cannot reach {self.base_url}: {exc}") from None
        if resp.status_code != 200:
            raise PhoneError(f"refused: HTTP {resp.status_code} {resp.text}")
        info = resp.json()
        self.sip = (str(info["host"]), int(info["port"]))
        return self.sip

    async def call(
        self,
        context: str = "default",
        from_number: str = "+15550001111",
        to_number: str = "+15550002222",
        *,
        audio: Frame | None = None,
        say: str | None = None,
        play: str | Path | None = None,
        play_at: float = 0.0,
        digits: str | None = None,
        digits_at: float = 0.0,
        hangup_after: float | None = None,
        max_duration: float = 120.0,
        ring_timeout: float = 30.0,
        on_state: Callable[[StateChange], None] | None = None,
    ) -> PhoneReport:
        """Call ``to_number`` from ``from_number`` into ``context`` and follow the call to
        its end. Times are seconds after answer; unanswered after ``ring_timeout`` s the
        phone CANCELs (end reason ``noAnswer``; the server reports ``cancel``). The INVITE's
        Expires is ``EXPIRES_GRACE`` s later: the server's backstop should the CANCEL be lost,
        which never races the phone's own CANCEL (RFC 3261 §13.3.1).

        Raises PhoneError when the server refuses the INVITE before it rings (403 for a
        wrong token, 488 for no common codec...) or cannot be reached.
        """
        if audio is None:
            audio = await asyncio.to_thread(load_audio, play, say)
        host, port = await self.server_sip()
        report = PhoneReport()
        async with self._agent() as ua, _Media.open(self, report) as media:
            local, rtp_port = media.transport.local
            offer = offeranswer.offer(
                local, rtp_port, self.codecs, self.telephone_event, rtcp_mux=True
            )
            plan = _Plan(media.leg, audio, play_at, digits, digits_at, hangup_after, report)
            progress = _Progress(report, plan, on_state)
            uri = f"sip:{to_number}@{host}:{port}"
            try:
                sip_call = await ua.invite(
                    uri + ("" if self.transport == "UDP" else f";transport={self.transport}"),
                    from_uri=f"sip:{from_number}@{local}",
                    to_uri=uri,
                    sdp=offer.serialize(),
                    host=host,
                    port=port,
                    transport=self.transport,
                    headers=[
                        (CONTEXT_HEADER, context),
                        ("Expires", str(math.ceil(ring_timeout + EXPIRES_GRACE))),
                    ],
                )
            except OSError as exc:
                raise PhoneError(f"cannot reach SIP at {host}:{port}: {exc}") from None
            media.clock.start()
            progress.follow(sip_call)
            sip_call.on_progress = lambda c, r: progress.provisional(r, media, offer)
            sip_call.on_answered = lambda c: progress.answered(media, offer)
            sip_call.on_reinvite = lambda c, body: progress.reinvited(media, body)
            timer = asyncio.get_running_loop().call_later(
                ring_timeout, lambda: progress.hang_up(EndReason.NO_ANSWER, unanswered_only=True)
            )
            try:
                await progress.wait(max_duration)
            finally:
                timer.cancel()
        if progress.refused is not None:
            raise PhoneError(f"call refused: SIP {progress.refused}")
        return report

    async def answer_calls(
        self,
        number: str,
        *,
        calls: int = 1,
        answer_after: float = 0.0,
        audio: Frame | None = None,
        say: str | None = None,
        play: str | Path | None = None,
        play_at: float = 0.0,
        digits: str | None = None,
        digits_at: float = 0.0,
        hangup_after: float | None = None,
        max_duration: float = 120.0,
        on_state: Callable[[StateChange], None] | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> list[PhoneReport]:
        """Register for ``number`` and take ``calls`` calls, one at a time (a call while
        busy gets 486 Busy Here): ring, answer each after ``answer_after`` seconds and do the
        same as ``call`` once answered. ``on_ready`` is called once the server has the
        registration. Unregisters before returning. Raises PhoneError if refused (SIP 401
        for a wrong token) or the server is unreachable."""
        if audio is None:
            audio = await asyncio.to_thread(load_audio, play, say)
        host, port = await self.server_sip()
        plan_args = (audio, play_at, digits, digits_at, hangup_after)
        reports: list[PhoneReport] = []
        waiting: asyncio.Queue[SipCall] = asyncio.Queue()
        busy = False

        def offered(sip_call: SipCall) -> None:
            if busy or waiting.qsize():
                sip_call.reject(486)
            else:
                waiting.put_nowait(sip_call)

        async with self._agent() as ua:
            ua.on_incoming = offered
            registration = Registration(
                ua,
                f"sip:{number}@{host}:{port}",
                (host, port),
                credentials=self.auth,
                expires=REGISTER_EXPIRES,
                transport=self.transport,
            )
            try:
                await registration.start()
            except RegistrationError as exc:
                raise PhoneError(f"registration refused: SIP {exc.status} {exc.reason}") from None
            except OSError as exc:
                raise PhoneError(f"cannot reach SIP at {host}:{port}: {exc}") from None
            if on_ready is not None:
                on_ready()
            try:
                while len(reports) < calls:
                    sip_call = await waiting.get()
                    if sip_call.state is SipState.TERMINATED:  # cancelled while queued
                        continue
                    busy = True
                    try:
                        report = await self._take_call(
                            sip_call, answer_after, plan_args, max_duration, on_state
                        )
                    finally:
                        busy = False
                    reports.append(report)
            finally:
                await registration.stop()
        return reports

    async def _take_call(
        self,
        sip_call: SipCall,
        answer_after: float,
        plan_args: tuple[Frame | None, float, str | None, float, float | None],
        max_duration: float,
        on_state: Callable[[StateChange], None] | None,
    ) -> PhoneReport:
        call_id = sip_call.invite.headers.get(CALL_ID_HEADER) or sip_call.call_id
        report = PhoneReport(call_id=call_id)
        async with _Media.open(self, report) as media:
            local, rtp_port = media.transport.local
            try:
                neg = offeranswer.answer(
                    sip_call.remote_sdp,
                    local,
                    rtp_port,
                    supported=self.codecs,
                    telephone_event=self.telephone_event is not None,
                )
            except SdpError:
                if sip_call.allows(SipEvent.REJECT):
                    sip_call.reject(488)
                report.end_reason = EndReason.ERROR.value
                return report
            media.connect(neg)
            media.clock.start()
            progress = _Progress(report, _Plan(media.leg, *plan_args, report), on_state)
            progress.follow(sip_call)
            sip_call.on_reinvite = lambda c, body: progress.reinvited(media, body)
            if sip_call.allows(SipEvent.RING):  # else cancelled while we set up
                sip_call.ring()
            progress.state("ringing")
            answer = asyncio.get_running_loop().call_later(
                answer_after, progress.answer, neg.answer_sdp
            )
            try:
                await progress.wait(max_duration)
            finally:
                answer.cancel()
        return report

    @contextlib.asynccontextmanager
    async def _agent(self) -> AsyncIterator[UserAgent]:
        """Our user agent on an ephemeral port (UDP, then TCP on the same number: a few
        tries, as that TCP port may be taken)."""
        for attempt in range(5):
            ua = UserAgent(self.rtp_host, 0)
            ua.credentials = lambda request: self.auth
            try:
                await ua.start()
                break
            except OSError as exc:
                await ua.endpoint.stop()
                if attempt == 4:
                    raise PhoneError(f"cannot open SIP sockets on {self.rtp_host}: {exc}") from None
        try:
            yield ua
        finally:
            await ua.stop()


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.removeprefix("sip:").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"sip must be 'host:port', not {text!r}")
    return host.strip("[]"), int(port)


@dataclass
class _Media:
    """The phone's side of one call's media: a leg, its RTP socket, the media engine that
    ticks the leg and its media clock."""

    leg: Leg
    transport: RtpTransport
    clock: MediaClock

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, phone: VirtualPhone, report: PhoneReport) -> AsyncIterator[_Media]:
        leg = Leg(PCMU, telephone_event=phone.telephone_event, inactivity_timeout=0)
        leg.add_listener(_Tape(report.frames))
        leg.on_digit = lambda digit: setattr(report, "digits_heard", report.digits_heard + digit)
        transport = await open_transport(leg, phone.rtp_host)
        engine = Engine()
        engine.add(leg)
        clock = MediaClock()
        clock.subscribe(engine.tick)
        try:
            yield cls(leg, transport, clock)
        finally:
            await clock.stop()
            transport.close()

    def connect(self, neg: offeranswer.Negotiated) -> None:
        """Use the negotiated SDP (``Leg.apply``: codec, telephone-event or in-band DTMF,
        RTCP, mute when not sending, the far end's address)."""
        self.leg.apply(neg, self.transport)


class _Progress:
    """One SIP call as the phone lives it: its states in the report, the plan once answered,
    and hanging up from our side with the reason we give."""

    def __init__(
        self,
        report: PhoneReport,
        plan: _Plan,
        on_state: Callable[[StateChange], None] | None,
    ) -> None:
        self.report, self.plan, self.on_state = report, plan, on_state
        self.start = time.monotonic()
        self.done = asyncio.Event()
        self.sip: SipCall | None = None
        self.ours: EndReason | None = None  # why we hung up, once we did
        self.refused: str | None = None  # "403 Forbidden": refused before ringing (UAC)
        self.version = 0  # of our SDP answers to re-INVITEs

    def follow(self, sip_call: SipCall) -> None:
        self.sip = sip_call
        sip_call.on_ended = self._sip_ended
        self.state("created")

    def state(self, call_state: str, end_reason: str | None = None) -> None:
        report = self.report
        if report.ended_at is not None or (
            report.states and report.states[-1].call_state == call_state
        ):
            return
        change = StateChange(time.monotonic() - self.start, call_state, end_reason)
        report.states.append(change)
        if self.on_state is not None:
            self.on_state(change)
        if call_state == "answered":
            report.answered_at = change.time
            self.plan.start(lambda: self.hang_up(EndReason.HANGUP))
        elif call_state == "ended":
            report.ended_at, report.end_reason = change.time, end_reason
            self.plan.cancel()
            self.done.set()

    # -- UAC ------------------------------------------------------------------------------

    def provisional(self, response: Response, media: _Media, offer: SessionDescription) -> None:
        """180/183: ringing; an SDP answer in it (early media) connects RTP at once."""
        self._note_call_id(response)
        if response.body:
            self._connect(media, offer, response.body)
        self.state("ringing")

    def answered(self, media: _Media, offer: SessionDescription) -> None:
        assert self.sip is not None
        if self.sip.response is not None:
            self._note_call_id(self.sip.response)
        if self.sip.remote_sdp:
            self._connect(media, offer, self.sip.remote_sdp)
        self.state("answered")

    def _note_call_id(self, response: Response) -> None:
        call_id = response.headers.get(CALL_ID_HEADER)
        if call_id and not self.report.call_id:
            self.report.call_id = call_id

    def _connect(self, media: _Media, offer: SessionDescription, answer: bytes) -> None:
        try:
            media.connect(offeranswer.read_answer(offer, answer))
        except SdpError:
            self.hang_up(EndReason.ERROR)

    def reinvited(self, media: _Media, offer: bytes) -> bytes:
        """The far end's re-INVITE (hold, resume, refresh): our answer, the media moved to
        it. Raises SdpError (-> 488) when nothing in the offer suits us."""
        local, rtp_port = media.transport.local
        self.version += 1
        assert self.sip is not None
        neg = offeranswer.answer(
            offer,
            local,
            rtp_port,
            supported=[media.leg.codec.name],
            session_id=offeranswer.session_id_of(self.sip.local_sdp),
            session_version=self.version,
        )
        media.connect(neg)
        return neg.answer_sdp

    # -- UAS ------------------------------------------------------------------------------

    def answer(self, answer_sdp: bytes) -> None:
        if self.sip is not None and self.sip.allows(SipEvent.ANSWER):
            self.sip.answer(answer_sdp)
            self.state("answered")

    # -- both -----------------------------------------------------------------------------

    def hang_up(self, reason: EndReason, unanswered_only: bool = False) -> None:
        """End the call from our side: BYE once answered, else CANCEL (UAC) or 480 (UAS)."""
        sip = self.sip
        if sip is None or not sip.active or self.ours is not None:
            return
        if self.report.ended_at is not None:
            return
        if unanswered_only and self.report.answered:
            return
        self.ours = reason
        self.state("ending", reason.value)
        sip.hang_up()

    def _sip_ended(self, sip: SipCall) -> None:
        if self.ours is not None:
            reason = self.ours
        elif self.report.answered:  # BYE from the far end (or no ACK came for our 200)
            reason = EndReason.HANGUP if sip.ended_by == "remote" else EndReason.ERROR
        elif sip.role == "uas":
            reason = EndReason.CANCEL
        else:
            status = sip.end_status or 0
            reason = FAILURE.get(status, EndReason.ERROR)
            ringing = any(s.call_state == "ringing" for s in self.report.states)
            if status not in FAILURE and not ringing:
                phrase = sip.response.reason if sip.response is not None else ""
                self.refused = f"{status} {phrase}".strip()
            if sip.response is not None:
                self._note_call_id(sip.response)
        self.state("ending", reason.value)
        self.state("ended", reason.value)

    async def wait(self, max_duration: float) -> None:
        """Until the call ends; after ``max_duration`` s hang up and give it 5 s more."""
        try:
            await asyncio.wait_for(self.done.wait(), max_duration)
        except TimeoutError:
            self.hang_up(EndReason.HANGUP)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), 5.0)
            self.state("ended", (self.ours or EndReason.HANGUP).value)


class _Plan:
    """What the phone does once answered: play, press keys, hang up, each at its time."""

    def __init__(
        self,
        leg: Leg,
        audio: Frame | None,
        play_at: float,
        digits: str | None,
        digits_at: float,
        hangup_after: float | None,
        report: PhoneReport,
    ) -> None:
        self.leg, self.audio, self.play_at = leg, audio, play_at
        self.digits, self.digits_at, self.hangup_after = digits, digits_at, hangup_after
        self.report = report
        self._handles: list[asyncio.TimerHandle] = []

    def start(self, hang_up: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        if self.audio is not None:
            audio = self.audio
            self._handles.append(
                loop.call_later(
                    self.play_at, lambda: self.leg.add_player(Player("phone-play", [audio]))
                )
            )
        if self.digits:
            self._handles.append(loop.call_later(self.digits_at, self._press, self.digits))
        if self.hangup_after is not None:
            self._handles.append(loop.call_later(self.hangup_after, hang_up))

    def _press(self, digits: str) -> None:
        send_digits(self.leg, "phone-keys", digits)  # RFC 4733, else in-band tones
        self.report.digits_sent += digits

    def cancel(self) -> None:
        for handle in self._handles:
            handle.cancel()
