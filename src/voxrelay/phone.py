"""A virtual phone: a real caller (or callee) with real RTP, for trying and testing call flows.

It places a call into a context of a voxrelay server (HTTP origination with a media offer;
SIP replaces that signalling later), or waits on a number for apps to dial it
(``answer_calls``). It sends audio over RTP from its own socket, plays a WAV or speech when
the call is answered, presses DTMF keys (RFC 4733) at given times, records everything it
hears, and hangs up after a time or when the far end does::

    phone = VirtualPhone("http://127.0.0.1:8773", project, token)
    report = await phone.call("default", say="Hello", digits="1234#", digits_at=3.0,
                              hangup_after=10.0)
    report.save("heard.wav")          # what the phone heard, 8 kHz mono
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile

from voxrelay.media.clock import MediaClock
from voxrelay.media.codecs import PCMU, codec_by_name
from voxrelay.media.digitsender import DigitSender
from voxrelay.media.frames import RATE, Frame
from voxrelay.media.leg import Leg
from voxrelay.media.player import Player
from voxrelay.media.sources import decode_audio, synthesize
from voxrelay.media.transport import RtpTransport, open_transport


class PhoneError(Exception):
    """The call could not be placed (refused, unreachable, bad audio)."""


@dataclass
class StateChange:
    time: float  # seconds since the call was placed
    call_state: str
    end_reason: str | None


@dataclass
class PhoneReport:
    """What happened on a call, as the phone saw and heard it."""

    call_id: str = ""
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
    """See module docstring. ``verify`` is the TLS CA (path or SSLContext) for https servers."""

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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = (project, token)
        self.rtp_host = rtp_host
        self.codecs = codecs
        self.telephone_event = telephone_event
        self.verify = (
            ssl.create_default_context(cafile=str(verify))
            if isinstance(verify, str | Path)
            else verify
        )

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
        """Place a call and follow it to the end. Times are seconds after answer.

        Raises PhoneError when the server refuses the call or cannot be reached.
        """
        if audio is None:
            audio = await asyncio.to_thread(load_audio, play, say)
        report = PhoneReport()
        leg = Leg(PCMU, telephone_event=self.telephone_event, inactivity_timeout=0)
        leg.add_listener(_Tape(report.frames))
        leg.on_digit = lambda digit: setattr(report, "digits_heard", report.digits_heard + digit)
        transport = await open_transport(leg, self.rtp_host)
        clock = MediaClock()
        clock.subscribe(leg.tick)
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, auth=self.auth, verify=self.verify, timeout=10.0
            ) as http:
                call_id = await self._place(
                    http, transport, leg, context, from_number, to_number, ring_timeout
                )
                report.call_id = call_id
                clock.start()
                start = time.monotonic()
                plan = _Plan(leg, audio, play_at, digits, digits_at, hangup_after, report)
                try:
                    async with asyncio.timeout(max_duration):
                        await self._follow(http, call_id, start, report, plan, on_state)
                except TimeoutError:
                    await self._hang_up(http, call_id)
                finally:
                    plan.cancel()
        finally:
            await clock.stop()
            transport.close()
        return report

    async def _place(
        self,
        http: httpx.AsyncClient,
        transport: RtpTransport,
        leg: Leg,
        context: str,
        from_number: str,
        to_number: str,
        ring_timeout: float,
    ) -> str:
        host, port = transport.local
        body = {
            "context": context,
            "from": from_number,
            "to": to_number,
            "ring_timeout": ring_timeout,
            "media": {
                "rtp_host": host,
                "rtp_port": port,
                "codecs": list(self.codecs),
                "telephone_event": self.telephone_event,
            },
        }
        try:
            resp = await http.post("/api/virtual/calls", json=body)
        except httpx.HTTPError as exc:
            raise PhoneError(f"cannot reach {self.base_url}: {exc}") from None
        if resp.status_code != 201:
            raise PhoneError(f"call refused: HTTP {resp.status_code} {resp.text}")
        answer = resp.json()["media"]
        leg.codec = codec_by_name(answer["codec"])
        transport.remote = (answer["rtp_host"], int(answer["rtp_port"]))
        call_id: str = resp.json()["call_id"]
        return call_id

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
        """Wait on ``number`` for ``calls`` calls (one at a time); answer each after
        ``answer_after`` seconds and do the same as ``call`` once answered. ``on_ready`` is
        called once the server has the registration. Raises PhoneError if refused."""
        if audio is None:
            audio = await asyncio.to_thread(load_audio, play, say)
        leg = Leg(PCMU, telephone_event=self.telephone_event, inactivity_timeout=0)
        transport = await open_transport(leg, self.rtp_host)
        clock = MediaClock()
        clock.subscribe(leg.tick)
        clock.start()
        host, port = transport.local
        body = {
            "number": number,
            "media": {
                "rtp_host": host,
                "rtp_port": port,
                "codecs": list(self.codecs),
                "telephone_event": self.telephone_event,
            },
        }
        reports: list[PhoneReport] = []
        try:
            async with (
                httpx.AsyncClient(
                    base_url=self.base_url, auth=self.auth, verify=self.verify, timeout=10.0
                ) as http,
                http.stream("POST", "/api/virtual/phones", json=body, timeout=None) as resp,
            ):
                if resp.status_code != 200:
                    await resp.aread()
                    raise PhoneError(f"registration refused: HTTP {resp.status_code} {resp.text}")
                async for line in resp.aiter_lines():
                    notice = json.loads(line) if line.strip() else {}
                    if notice.get("event") == "registered" and on_ready is not None:
                        on_ready()
                    if notice.get("event") != "incoming":
                        continue
                    leg.codec = codec_by_name(notice["media"]["codec"])
                    transport.remote = (
                        notice["media"]["rtp_host"],
                        int(notice["media"]["rtp_port"]),
                    )
                    plan_args = (audio, play_at, digits, digits_at, hangup_after)
                    reports.append(
                        await self._take_call(
                            http,
                            leg,
                            notice["call_id"],
                            answer_after,
                            plan_args,
                            max_duration,
                            on_state,
                        )
                    )
                    if len(reports) >= calls:
                        break
        except httpx.HTTPError as exc:
            raise PhoneError(f"cannot reach {self.base_url}: {exc}") from None
        finally:
            await clock.stop()
            transport.close()
        return reports

    async def _take_call(
        self,
        http: httpx.AsyncClient,
        leg: Leg,
        call_id: str,
        answer_after: float,
        plan_args: tuple[Frame | None, float, str | None, float, float | None],
        max_duration: float,
        on_state: Callable[[StateChange], None] | None,
    ) -> PhoneReport:
        report = PhoneReport(call_id=call_id)
        tape = _Tape(report.frames)
        leg.add_listener(tape)
        leg.on_digit = lambda digit: setattr(report, "digits_heard", report.digits_heard + digit)
        plan = _Plan(leg, *plan_args, report)
        start = time.monotonic()
        answer = asyncio.get_running_loop().call_later(
            answer_after,
            lambda: asyncio.ensure_future(http.post(f"/api/virtual/calls/{call_id}/answer")),
        )
        try:
            async with asyncio.timeout(max_duration):
                await self._follow(http, call_id, start, report, plan, on_state)
        except TimeoutError:
            await self._hang_up(http, call_id)
        finally:
            answer.cancel()
            plan.cancel()
            leg.listeners.remove(tape)
        return report

    async def _follow(
        self,
        http: httpx.AsyncClient,
        call_id: str,
        start: float,
        report: PhoneReport,
        plan: _Plan,
        on_state: Callable[[StateChange], None] | None,
    ) -> None:
        async with http.stream("GET", f"/api/virtual/calls/{call_id}/events", timeout=None) as resp:
            async for line in resp.aiter_lines():
                if not line.strip():
                    continue
                update = json.loads(line)
                change = StateChange(
                    time.monotonic() - start, update["call_state"], update.get("end_reason")
                )
                report.states.append(change)
                if on_state is not None:
                    on_state(change)
                if change.call_state == "answered" and report.answered_at is None:
                    report.answered_at = change.time
                    plan.start(lambda: self._hang_up(http, call_id))
                if change.call_state == "ended":
                    report.ended_at, report.end_reason = change.time, change.end_reason
                    return

    async def _hang_up(self, http: httpx.AsyncClient, call_id: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await http.delete(f"/api/virtual/calls/{call_id}")


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
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, hang_up: Callable[[], Any]) -> None:
        loop = asyncio.get_running_loop()
        if self.audio is not None:
            audio = self.audio
            self._handles.append(
                loop.call_later(
                    self.play_at, lambda: self.leg.add_player(Player("phone-play", [audio]))
                )
            )
        if self.digits:
            digits = self.digits
            self._handles.append(loop.call_later(self.digits_at, self._press, digits))
        if self.hangup_after is not None:
            self._handles.append(loop.call_later(self.hangup_after, lambda: self.spawn(hang_up())))

    def _press(self, digits: str) -> None:
        self.leg.add_digit_sender(DigitSender("phone-keys", digits))
        self.report.digits_sent += digits

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for handle in self._handles:
            handle.cancel()
