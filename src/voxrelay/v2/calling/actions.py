"""Components and Actions of the 2.x ``Relay.Calling`` API (reference §5.2, §5.3).

A *component* is one ``calling.<method>`` on a call under a ``control_id``: it sends the
command, follows its ``calling.call.<kind>`` events and decides, by the 2.x completion rules,
when it is over and whether it succeeded:

==============  ===========================  ===================================
component       completes on                 successful iff
==============  ===========================  ===================================
play            any state but ``playing``    ``finished``
record          any state but ``recording``  ``finished``
prompt          the first collect result     ``digit`` or ``speech``
detect (sync)   the first detection          a detection came (else finished/error)
detect (async)  ``finished`` / ``error``     ``finished``
send_digits     ``finished``                 always
==============  ===========================  ===================================

The rules come from the vocabulary table (``voxrelay.protocol.components``, each row's
``blade`` view). States a Blade session is never sent (a paused play: 2.x would end on it)
are skipped here too, so voxrelay.v2 stays right against any server. Every component also
ends (unsuccessfully, unless it already succeeded) when its call ends.
An *Action* is what the ``*_async`` methods return: a view of the component with its
``control_id``, ``payload``, ``state``, ``completed``, ``result`` and its controls.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, ClassVar, Protocol

from voxrelay.protocol import components as vocabulary
from voxrelay.relay.errors import RelayError
from voxrelay.v2.calling.results import (
    DetectResult,
    Event,
    PlayPauseResult,
    PlayResult,
    PlayResumeResult,
    PlayVolumeResult,
    PromptResult,
    PromptVolumeResult,
    RecordResult,
    Result,
    SendDigitsResult,
    StopResult,
)

JsonDict = dict[str, Any]


class Call(Protocol):
    """What a component needs from its :class:`voxrelay.v2.calling.call.Call`."""

    node_id: str | None
    id: str | None
    _components: dict[str, Component]

    @property
    def ended(self) -> bool: ...

    async def _execute(self, method: str, params: JsonDict) -> Any: ...

    def _fire(self, event: str, params: JsonDict) -> None: ...


def ends(row: vocabulary.Component, state: str) -> bool:
    """Whether 2.x completes ``row`` on ``state`` (reference §5.3), leaving out the states
    a Blade session is never sent (``Component.blade_hidden``)."""
    view = row.blade
    return view is not None and view.ends(state) and state not in row.blade_hidden


def succeeds(row: vocabulary.Component, state: str) -> bool:
    """Whether 2.x calls ``row`` successful when it ends on ``state``."""
    return row.blade is not None and state in row.blade.success


def _dict(value: Any) -> JsonDict:
    return value if isinstance(value, dict) else {}


def accepted(result: Any) -> bool:
    """2.x accepts a command only on ``code == "200"`` (reference §1.9 step 5)."""
    return isinstance(result, dict) and str(result.get("code")) == "200"


class Component:
    """One ``calling.<method>`` in progress on a call (see the module docstring)."""

    method: ClassVar[str]
    event_type: ClassVar[str]

    def __init__(self, call: Call, params: JsonDict) -> None:
        self.call = call
        self.control_id = str(uuid.uuid4())
        self.payload: JsonDict = {
            "node_id": call.node_id,
            "call_id": call.id,
            "control_id": self.control_id,
            **params,
        }
        self.state: str | None = None
        self.completed = False
        self.successful = False
        self.event: Event | None = None
        self.execute_result: JsonDict = {}
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def execute(self) -> None:
        """Send the command; a refused command completes the component unsuccessfully."""
        if self.call.ended:
            self._complete(False, None)
            return
        self.call._components[self.control_id] = self
        try:
            result = await self.call._execute(self.method, self.payload)
        except RelayError as exc:
            result = {"code": str(exc.code), "message": exc.message}
        self.execute_result = result if isinstance(result, dict) else {}
        if not accepted(result):
            self.state = "failed"
            self._complete(False, None)

    async def wait(self) -> None:
        await asyncio.shield(self._done)

    def on_event(self, params: JsonDict) -> None:
        """One ``calling.call.<kind>`` event for this control_id."""
        raise NotImplementedError

    def call_ended(self) -> None:
        if not self.completed:
            self._complete(False, self.event)

    def _complete(self, successful: bool, event: Event | None) -> None:
        if self.completed:
            return
        self.completed = True
        self.successful = successful
        self.event = event
        self.call._components.pop(self.control_id, None)
        if not self._done.done():
            self._done.set_result(None)

    def result(self) -> Result:
        return Result(self.successful, self.event)

    async def control(self, suffix: str, extra: JsonDict | None = None) -> bool:
        """``calling.<method>.<suffix>`` for this control_id; True when accepted."""
        params = {
            "node_id": self.call.node_id,
            "call_id": self.call.id,
            "control_id": self.control_id,
            **(extra or {}),
        }
        try:
            return accepted(await self.call._execute(f"{self.method}.{suffix}", params))
        except RelayError:
            return False


class PlayComponent(Component):
    method = vocabulary.PLAY.start
    event_type = vocabulary.PLAY.event

    def on_event(self, params: JsonDict) -> None:
        state = str(params.get("state"))
        if state in vocabulary.PLAY.blade_hidden:
            return
        self.state = state
        self.call._fire("play.stateChange", params)
        self.call._fire(f"play.{state}", params)
        if ends(vocabulary.PLAY, state):
            self._complete(succeeds(vocabulary.PLAY, state), Event(self.event_type, params))

    def result(self) -> PlayResult:
        return PlayResult(self.successful, self.event)


class RecordComponent(Component):
    method = vocabulary.RECORD.start
    event_type = vocabulary.RECORD.event

    def __init__(self, call: Call, params: JsonDict) -> None:
        super().__init__(call, params)
        self.url: str | None = None
        self.duration: float | None = None
        self.size: int | None = None

    async def execute(self) -> None:
        await super().execute()
        url = self.execute_result.get("url")
        if isinstance(url, str):
            self.url = url

    def on_event(self, params: JsonDict) -> None:
        state = str(params.get("state"))
        if state in vocabulary.RECORD.blade_hidden:
            return
        self.state = state
        record = _dict(params.get("record"))
        for key in ("url", "duration", "size"):
            value = params.get(key, record.get(key))
            if value is not None:
                setattr(self, key, value)
        self.call._fire("record.stateChange", params)
        self.call._fire(f"record.{state}", params)
        if ends(vocabulary.RECORD, state):
            self._complete(succeeds(vocabulary.RECORD, state), Event(self.event_type, params))

    def result(self) -> RecordResult:
        return RecordResult(self.successful, self.event, self.url, self.duration, self.size)


class PromptComponent(Component):
    method = vocabulary.PLAY_AND_COLLECT.start
    event_type = vocabulary.PLAY_AND_COLLECT.event

    def __init__(self, call: Call, params: JsonDict) -> None:
        super().__init__(call, params)
        self.prompt_type: str | None = None
        self.value: str | None = None
        self.terminator: str | None = None
        self.confidence: float | None = None

    def on_event(self, params: JsonDict) -> None:
        row = vocabulary.PLAY_AND_COLLECT
        phase = row.state_of(params)
        if phase is None or not ends(row, phase):
            return  # partial results, start of input: not an outcome
        values = _dict(_dict(params.get("result")).get("params"))
        self.prompt_type = phase
        if phase == "digit":
            self.value = values.get("digits")
            self.terminator = values.get("terminator")
        elif phase == "speech":
            self.value = values.get("text")
            self.confidence = values.get("confidence")
        ok = succeeds(row, phase)
        self.state = "successful" if ok else phase
        self.call._fire("prompt", params)
        self._complete(ok, Event(self.event_type, params))

    def result(self) -> PromptResult:
        return PromptResult(
            self.successful,
            self.event,
            self.prompt_type,
            self.value,
            self.terminator,
            self.confidence,
        )


_DETECTIONS = {"MACHINE", "HUMAN", "UNKNOWN", "CED", "CNG"}


class DetectComponent(Component):
    method = vocabulary.DETECT.start
    event_type = vocabulary.DETECT.event

    def __init__(
        self, call: Call, params: JsonDict, *, first_only: bool, wait_for_beep: bool = False
    ) -> None:
        super().__init__(call, params)
        detect = params.get("detect") or {}
        self.detect_type: str | None = detect.get("type")
        self.first_only = first_only
        self.wait_for_beep = wait_for_beep
        self.events: list[str] = []
        self._machine = False

    def on_event(self, params: JsonDict) -> None:
        detect = _dict(params.get("detect"))
        values = _dict(detect.get("params"))
        name = str(values.get("event") or params.get("state") or "")
        event = Event(self.event_type, params)
        if ends(vocabulary.DETECT, name):
            self.state = name
            self.call._fire(f"detect.{name}", params)
            self._complete(name == "finished" and bool(self.events), event)
            return
        if name in ("READY", "NOT_READY"):
            name = "MACHINE"  # 2.x reports the machine's readiness as MACHINE
        self.events.append(name)
        self.state = name
        self.call._fire("detect.update", params)
        if not self.first_only:
            return
        if self.detect_type == "digit" or name in _DETECTIONS:
            if self.wait_for_beep and name == "MACHINE" and not self._machine:
                self._machine = True
                if values.get("event") != "READY":
                    return
            self._complete(True, event)

    @property
    def value(self) -> str | None:
        if not self.events:
            return None
        return self.events[-1] if self.first_only else ",".join(self.events)

    def result(self) -> DetectResult:
        return DetectResult(self.successful, self.event, self.detect_type, self.value)


class SendDigitsComponent(Component):
    method = vocabulary.SEND_DIGITS.start
    event_type = vocabulary.SEND_DIGITS.event

    def on_event(self, params: JsonDict) -> None:
        self.state = str(params.get("state"))
        self.call._fire("sendDigits.stateChange", params)
        self.call._fire(f"sendDigits.{self.state}", params)
        if ends(vocabulary.SEND_DIGITS, self.state):
            self._complete(True, Event(self.event_type, params))

    def result(self) -> SendDigitsResult:
        return SendDigitsResult(self.successful, self.event)


# -- actions -----------------------------------------------------------------------------


class Action:
    """What an ``*_async`` method returns: a live view of one component."""

    def __init__(self, component: Component) -> None:
        self._component = component

    @property
    def control_id(self) -> str:
        return self._component.control_id

    @property
    def payload(self) -> JsonDict:
        """The params sent to start the component."""
        return self._component.payload

    @property
    def state(self) -> str | None:
        return self._component.state

    @property
    def completed(self) -> bool:
        return self._component.completed

    @property
    def result(self) -> Any:
        """The result so far (final once ``completed``)."""
        return self._component.result()

    async def wait(self) -> Any:
        """voxrelay extension: wait until completed, then return the result."""
        await self._component.wait()
        return self._component.result()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(control_id={self.control_id!r}, state={self.state!r}, "
            f"completed={self.completed})"
        )


class _Stoppable(Action):
    async def stop(self) -> StopResult:
        return StopResult(await self._component.control("stop"))


class PlayAction(_Stoppable):
    """Controls: ``calling.play.pause``, ``calling.play.resume``, ``calling.play.volume``,
    ``calling.play.stop``; each returns a result whose ``successful`` says it was accepted."""

    async def pause(self) -> PlayPauseResult:
        return PlayPauseResult(await self._component.control("pause"))

    async def resume(self) -> PlayResumeResult:
        return PlayResumeResult(await self._component.control("resume"))

    async def volume(self, volume: float) -> PlayVolumeResult:
        return PlayVolumeResult(await self._component.control("volume", {"volume": volume}))


class PromptAction(_Stoppable):
    """Controls: ``calling.play_and_collect.stop``, ``calling.play_and_collect.volume``."""

    async def volume(self, volume: float) -> PromptVolumeResult:
        return PromptVolumeResult(await self._component.control("volume", {"volume": volume}))


class RecordAction(_Stoppable):
    """Controls: ``calling.record.stop``."""

    @property
    def url(self) -> str | None:
        component = self._component
        assert isinstance(component, RecordComponent)
        return component.url


class DetectAction(_Stoppable):
    """Controls: ``calling.detect.stop``."""


class SendDigitsAction(Action):
    pass
