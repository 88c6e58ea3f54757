"""``Relay.Calling.Call`` of the 2.x API (reference §5.2): methods return result objects.

Sync methods (``play``, ``record``...) wait for the component to complete and return its
result; their ``*_async`` forms return an Action once the server has accepted the command.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from voxrelay.v2.calling.actions import (
    Component,
    DetectAction,
    DetectComponent,
    PlayAction,
    PlayComponent,
    PromptAction,
    PromptComponent,
    RecordAction,
    RecordComponent,
    SendDigitsAction,
    SendDigitsComponent,
    accepted,
)
from voxrelay.v2.calling.results import (
    AnswerResult,
    DetectResult,
    Event,
    HangupResult,
    PlayResult,
    PromptResult,
    RecordResult,
    Result,
    SendDigitsResult,
)

log = logging.getLogger("voxrelay.v2")

JsonDict = dict[str, Any]
STATES = ("none", "created", "ringing", "answered", "ending", "ended")


class CallOwner(Protocol):
    """What a call needs from its ``client.calling`` (a :class:`voxrelay.v2.calling.Calling`)."""

    _dialing: dict[str, Call]

    async def execute(self, method: str, params: JsonDict) -> Any: ...

    def spawn(self, awaitable: Awaitable[Any]) -> None: ...

    def _register(self, call: Call) -> None: ...


class DialResult(Result):
    """``call``: the call that was dialled (answered when ``successful``)."""

    def __init__(
        self, successful: bool = False, event: Event | None = None, call: Call | None = None
    ) -> None:
        super().__init__(successful, event)
        self.call = call


def media_item(item: JsonDict) -> JsonDict:
    """Fold a flat item (``{"type": "audio", "url": ...}``) into the nested wire form."""
    if "params" in item:
        return item
    return {"type": item.get("type"), "params": {k: v for k, v in item.items() if k != "type"}}


def _set(target: JsonDict, **values: Any) -> JsonDict:
    target.update({k: v for k, v in values.items() if v is not None})
    return target


def collect_params(prompt_type: str, kw: JsonDict) -> JsonDict:
    """The ``collect`` object from the 2.x flat keyword names (reference §3.2)."""
    collect: JsonDict = _set({}, initial_timeout=kw.get("initial_timeout"))
    if prompt_type in ("digits", "both"):
        collect["digits"] = _set(
            {"max": kw.get("digits_max") or 1},
            terminators=kw.get("digits_terminators"),
            digit_timeout=kw.get("digits_timeout"),
        )
    if prompt_type in ("speech", "both"):
        collect["speech"] = _set(
            {},
            end_silence_timeout=kw.get("end_silence_timeout"),
            speech_timeout=kw.get("speech_timeout"),
            language=kw.get("speech_language"),
            hints=kw.get("speech_hints"),
        )
    return collect


class Call:
    """A call of the 2.x API: inbound (from ``on_incoming_call``) or made by ``new_call``."""

    def __init__(
        self,
        calling: CallOwner,
        *,
        call_type: str = "phone",
        from_number: str | None = None,
        to_number: str | None = None,
        timeout: int | None = None,
        payload: JsonDict | None = None,
    ) -> None:
        self.calling = calling
        self.id: str | None = None
        self.node_id: str | None = None
        self.tag = str(uuid.uuid4())
        self.context: str | None = None
        self.call_type = call_type
        self.from_number = from_number
        self.to_number = to_number
        self.timeout = timeout
        self.state = "none"
        self.prev_state = "none"
        self.end_reason: str | None = None
        self.peer: JsonDict | None = None
        self._components: dict[str, Component] = {}
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._state_waiters: list[tuple[frozenset[str], asyncio.Future[bool]]] = []
        if payload is not None:
            self._load(payload)

    def _load(self, payload: JsonDict) -> None:
        self.id = payload.get("call_id", self.id)
        self.node_id = payload.get("node_id", self.node_id)
        self.tag = payload.get("tag") or self.tag
        self.context = payload.get("context", self.context)
        device = payload.get("device")
        if isinstance(device, dict):
            self.call_type = device.get("type", self.call_type)
            params = device.get("params") or {}
            self.from_number = params.get("from_number", self.from_number)
            self.to_number = params.get("to_number", self.to_number)
            self.timeout = params.get("timeout", self.timeout)
        state = payload.get("call_state")
        if isinstance(state, str):
            self.state = state

    # -- properties ----------------------------------------------------------------------

    @property
    def device(self) -> JsonDict:
        params = _set({}, from_number=self.from_number, to_number=self.to_number)
        _set(params, timeout=self.timeout)
        return {"type": self.call_type, "params": params}

    @property
    def answered(self) -> bool:
        return self.state == "answered"

    @property
    def active(self) -> bool:
        return self.state in ("answered",)

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    @property
    def failed(self) -> bool:
        return self.ended and self.end_reason not in (None, "hangup")

    @property
    def busy(self) -> bool:
        return self.end_reason == "busy"

    # -- events --------------------------------------------------------------------------

    def on(self, event: str, callback: Callable[..., Any]) -> Call:
        """Call ``callback(params)`` (sync or async; ``params`` is the event payload, as in
        2.x) on ``event``: ``stateChange``, ``answered``, ``play.finished``,
        ``record.stateChange``, ``prompt``, ``detect.update``..."""
        self._handlers.setdefault(event, []).append(callback)
        return self

    def off(self, event: str, callback: Callable[..., Any] | None = None) -> Call:
        if callback is None:
            self._handlers.pop(event, None)
        elif callback in self._handlers.get(event, []):
            self._handlers[event].remove(callback)
        return self

    def _fire(self, event: str, params: JsonDict) -> None:
        for callback in list(self._handlers.get(event, [])):
            try:
                out = callback(params)
                if inspect.isawaitable(out):
                    self.calling.spawn(out)
            except Exception:
                log.exception("call handler for %s failed", event)

    def _on_state(self, params: JsonDict) -> None:
        state = params.get("call_state")
        if not isinstance(state, str):
            return
        self._load({k: v for k, v in params.items() if k != "call_state"})
        self.prev_state, self.state = self.state, state
        self.end_reason = params.get("end_reason", self.end_reason)
        if isinstance(params.get("peer"), dict):
            self.peer = params["peer"]
        self._fire("stateChange", params)
        self._fire(state, params)
        for states, future in list(self._state_waiters):
            if not future.done() and (state in states or state == "ended"):
                future.set_result(state in states)
        if state == "ended":
            for component in list(self._components.values()):
                component.call_ended()

    def _on_component_event(self, event_type: str, params: JsonDict) -> None:
        """Feed the component under the event's control_id its own kind of event (a
        prompt's ``calling.call.play`` events are not its outcome)."""
        component = self._components.get(str(params.get("control_id")))
        if component is not None and component.event_type == event_type:
            component.on_event(params)

    # -- waiting -------------------------------------------------------------------------

    async def wait_for(self, *events: str, timeout: float | None = None) -> bool:
        """Wait until the call reaches one of the states ``events`` (default ``ended``).

        True when reached (or already past); False if the call ended first or on timeout.
        """
        wanted = frozenset(events or ("ended",))
        rank = STATES.index(self.state) if self.state in STATES else 0
        if any(s in STATES and STATES.index(s) <= rank for s in wanted):
            return True
        if self.ended:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        entry = (wanted, future)
        self._state_waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        finally:
            self._state_waiters.remove(entry)

    async def wait_for_ringing(self) -> bool:
        return await self.wait_for("ringing")

    async def wait_for_answered(self) -> bool:
        return await self.wait_for("answered")

    async def wait_for_ending(self) -> bool:
        return await self.wait_for("ending")

    async def wait_for_ended(self) -> bool:
        return await self.wait_for("ended")

    # -- lifecycle -----------------------------------------------------------------------

    async def _execute(self, method: str, params: JsonDict) -> Any:
        return await self.calling.execute(method, params)

    def _ref(self, **extra: Any) -> JsonDict:
        return {"node_id": self.node_id, "call_id": self.id, **extra}

    def _state_event(self) -> Event:
        return Event("calling.call.state", {"call_id": self.id, "call_state": self.state})

    async def dial(self) -> DialResult:
        """Place this call (``calling.begin``); successful when it is answered."""
        self.calling._dialing[self.tag] = self
        try:
            result = await self._execute("calling.begin", {"tag": self.tag, "device": self.device})
            if not accepted(result):
                return DialResult(False, None, self)
            self._load({"call_id": result.get("call_id"), "node_id": result.get("node_id")})
            self.calling._register(self)
            answered = await self.wait_for("answered")
        finally:
            self.calling._dialing.pop(self.tag, None)
        return DialResult(answered, self._state_event(), self)

    async def answer(self) -> AnswerResult:
        result = await self._execute("calling.answer", self._ref())
        if not accepted(result):
            return AnswerResult(False)
        await self.wait_for("answered", "ending", "ended")
        return AnswerResult(self.state == "answered", self._state_event())

    async def hangup(self, reason: str = "hangup") -> HangupResult:
        result = await self._execute("calling.end", self._ref(reason=reason))
        if not accepted(result):
            return HangupResult(False, None, None)
        await self.wait_for("ended")
        return HangupResult(True, self._state_event(), self.end_reason or reason)

    # -- components ----------------------------------------------------------------------

    async def _start(self, component: Component) -> Component:
        await component.execute()
        return component

    async def _run(self, component: Component) -> Component:
        await component.execute()
        await component.wait()
        return component

    # play

    def _play_params(self, media_list: list[JsonDict], volume: float) -> JsonDict:
        params: JsonDict = {"play": [media_item(m) for m in media_list]}
        if volume:
            params["volume"] = volume
        return params

    async def play_async(self, media_list: list[JsonDict], volume: float = 0) -> PlayAction:
        component = PlayComponent(self, self._play_params(media_list, volume))
        return PlayAction(await self._start(component))

    async def play(self, media_list: list[JsonDict], volume: float = 0) -> PlayResult:
        component = PlayComponent(self, self._play_params(media_list, volume))
        return (await self._run(component)).result()  # type: ignore[return-value]

    @staticmethod
    def _tts(text: str, language: str | None, gender: str | None) -> JsonDict:
        return {"type": "tts", "params": _set({"text": text}, language=language, gender=gender)}

    async def play_tts_async(
        self,
        text: str,
        language: str | None = None,
        gender: str | None = None,
        volume: float = 0,
    ) -> PlayAction:
        return await self.play_async([self._tts(text, language, gender)], volume)

    async def play_tts(
        self,
        text: str,
        language: str | None = None,
        gender: str | None = None,
        volume: float = 0,
    ) -> PlayResult:
        return await self.play([self._tts(text, language, gender)], volume)

    async def play_audio_async(self, url: str, volume: float = 0) -> PlayAction:
        return await self.play_async([{"type": "audio", "params": {"url": url}}], volume)

    async def play_audio(self, url: str, volume: float = 0) -> PlayResult:
        return await self.play([{"type": "audio", "params": {"url": url}}], volume)

    async def play_silence_async(self, duration: float) -> PlayAction:
        return await self.play_async([{"type": "silence", "params": {"duration": duration}}])

    async def play_silence(self, duration: float) -> PlayResult:
        return await self.play([{"type": "silence", "params": {"duration": duration}}])

    @staticmethod
    def _ringtone(name: str, duration: float | None) -> JsonDict:
        return {"type": "ringtone", "params": _set({"name": name}, duration=duration)}

    async def play_ringtone_async(
        self, name: str, duration: float | None = None, volume: float = 0
    ) -> PlayAction:
        return await self.play_async([self._ringtone(name, duration)], volume)

    async def play_ringtone(
        self, name: str, duration: float | None = None, volume: float = 0
    ) -> PlayResult:
        return await self.play([self._ringtone(name, duration)], volume)

    # prompt

    def _prompt_component(
        self, prompt_type: str, media_list: list[JsonDict], kw: JsonDict
    ) -> PromptComponent:
        params: JsonDict = {
            "play": [media_item(m) for m in media_list],
            "collect": collect_params(prompt_type, kw),
        }
        if kw.get("volume"):
            params["volume"] = kw["volume"]
        return PromptComponent(self, params)

    async def prompt_async(
        self, prompt_type: str, media_list: list[JsonDict], **kwargs: Any
    ) -> PromptAction:
        component = self._prompt_component(prompt_type, media_list, kwargs)
        return PromptAction(await self._start(component))

    async def prompt(
        self, prompt_type: str, media_list: list[JsonDict], **kwargs: Any
    ) -> PromptResult:
        component = self._prompt_component(prompt_type, media_list, kwargs)
        return (await self._run(component)).result()  # type: ignore[return-value]

    async def prompt_tts_async(self, prompt_type: str, text: str, **kwargs: Any) -> PromptAction:
        item = self._tts(text, kwargs.pop("language", None), kwargs.pop("gender", None))
        return await self.prompt_async(prompt_type, [item], **kwargs)

    async def prompt_tts(self, prompt_type: str, text: str, **kwargs: Any) -> PromptResult:
        item = self._tts(text, kwargs.pop("language", None), kwargs.pop("gender", None))
        return await self.prompt(prompt_type, [item], **kwargs)

    async def prompt_audio_async(self, prompt_type: str, url: str, **kwargs: Any) -> PromptAction:
        return await self.prompt_async(
            prompt_type, [{"type": "audio", "params": {"url": url}}], **kwargs
        )

    async def prompt_audio(self, prompt_type: str, url: str, **kwargs: Any) -> PromptResult:
        return await self.prompt(prompt_type, [{"type": "audio", "params": {"url": url}}], **kwargs)

    async def prompt_ringtone_async(
        self, prompt_type: str, name: str, **kwargs: Any
    ) -> PromptAction:
        item = self._ringtone(name, kwargs.pop("duration", None))
        return await self.prompt_async(prompt_type, [item], **kwargs)

    async def prompt_ringtone(self, prompt_type: str, name: str, **kwargs: Any) -> PromptResult:
        item = self._ringtone(name, kwargs.pop("duration", None))
        return await self.prompt(prompt_type, [item], **kwargs)

    # record

    def _record_component(self, kw: JsonDict) -> RecordComponent:
        kw = dict(kw)
        record_type = kw.pop("record_type", "audio")
        if "record_format" in kw:
            kw["format"] = kw.pop("record_format")
        spec = _set({}, **kw)
        return RecordComponent(self, {"record": {record_type: spec}})

    async def record_async(self, **kwargs: Any) -> RecordAction:
        """``beep``, ``record_format``, ``stereo``, ``direction``, ``initial_timeout``,
        ``end_silence_timeout``, ``terminators`` (None = the server's default)."""
        return RecordAction(await self._start(self._record_component(kwargs)))

    async def record(self, **kwargs: Any) -> RecordResult:
        component = self._record_component(kwargs)
        return (await self._run(component)).result()  # type: ignore[return-value]

    # detect

    def _detect_component(
        self, detect_type: str, first_only: bool, kw: JsonDict
    ) -> DetectComponent:
        kw = dict(kw)
        wait_for_beep = bool(kw.pop("wait_for_beep", False))
        timeout = kw.pop("timeout", None)
        params: JsonDict = {"detect": {"type": detect_type, "params": _set({}, **kw)}}
        _set(params, timeout=timeout)
        return DetectComponent(self, params, first_only=first_only, wait_for_beep=wait_for_beep)

    async def detect_async(self, detect_type: str, **kwargs: Any) -> DetectAction:
        component = self._detect_component(detect_type, False, kwargs)
        return DetectAction(await self._start(component))

    async def detect(self, detect_type: str, **kwargs: Any) -> DetectResult:
        component = self._detect_component(detect_type, True, kwargs)
        await self._run(component)
        if not component.successful:
            await component.control("stop")
        elif component.state not in ("finished", "error"):
            await component.control("stop")  # the first detection was all we wanted
        return component.result()

    async def detect_digit_async(
        self, digits: str | None = None, timeout: float | None = None
    ) -> DetectAction:
        return await self.detect_async("digit", digits=digits, timeout=timeout)

    async def detect_digit(
        self, digits: str | None = None, timeout: float | None = None
    ) -> DetectResult:
        return await self.detect("digit", digits=digits, timeout=timeout)

    async def detect_fax_async(
        self, tone: str | None = None, timeout: float | None = None
    ) -> DetectAction:
        return await self.detect_async("fax", tone=tone, timeout=timeout)

    async def detect_fax(
        self, tone: str | None = None, timeout: float | None = None
    ) -> DetectResult:
        return await self.detect("fax", tone=tone, timeout=timeout)

    async def detect_answering_machine_async(self, **kwargs: Any) -> DetectAction:
        return await self.detect_async("machine", **kwargs)

    async def detect_answering_machine(self, **kwargs: Any) -> DetectResult:
        return await self.detect("machine", **kwargs)

    amd = detect_answering_machine
    amd_async = detect_answering_machine_async

    # send_digits

    async def send_digits_async(self, digits: str) -> SendDigitsAction:
        component = SendDigitsComponent(self, {"digits": digits})
        return SendDigitsAction(await self._start(component))

    async def send_digits(self, digits: str) -> SendDigitsResult:
        component = SendDigitsComponent(self, {"digits": digits})
        return (await self._run(component)).result()  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Call(id={self.id!r}, state={self.state!r}, context={self.context!r})"
