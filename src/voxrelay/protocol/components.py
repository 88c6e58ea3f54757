"""The RELAY component vocabulary: one declarative table (reference §2.2-§2.11, §5.3).

A *component* is what a ``calling.<start>`` request starts on a call under a ``control_id``
(a play, a recording, a collect...). For each one the table gives:

- ``start``: the RELAY method that starts it (``calling.play``);
- ``controls``: the methods that act on it afterwards (``calling.play.pause``,
  ``calling.play.resume``, ``calling.play.volume``, ``calling.play.stop``...), with the params
  each takes besides ``call_id``/``node_id``/``control_id`` and the result message;
- ``event``: the event that reports it (``calling.call.play``), where its state is read in
  that event (``state``, ``fax.type``, ``detect.params.event``...), its ``states`` and which
  of them are ``terminal`` (the last event of every component carries one);
- ``blade``: how the 2.x SDK (PyPI ``signalwire`` 2.x, Blade dialect) decides it is over
  (reference §5.3): a play completes on any state but ``playing``, so a Blade session must
  never see ``paused`` (see :func:`blade_hides`);
- ``served``: whether voxrelay's server runs it yet; ``rest``: whether the REST calling API
  exposes its controls, ``rest_start`` its start too (reference §6.2: REST stops a fax but
  cannot start one).

The SDKs (``voxrelay.relay``, ``voxrelay.v2``, ``voxrelay.rest``) and the server's control
handlers and per-dialect event filter are derived from this table, or tested against it.
Call-level events that belong to no component (``calling.call.state``...) are in
:data:`CALL_EVENTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voxrelay.protocol.events import CALL_DIAL, CALL_RECEIVE, CALL_STATE
from voxrelay.protocol.states import CallState, ConnectState, DialState

StateReader = Callable[[Mapping[str, Any]], str | None]


def at(*keys: str) -> StateReader:
    """A reader of the state found under ``keys`` in an event payload (None if absent)."""

    def read(payload: Mapping[str, Any]) -> str | None:
        value: Any = payload
        for key in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return None if value is None else str(value)

    return read


def collect_phase(payload: Mapping[str, Any]) -> str | None:
    """The state of a ``calling.call.collect`` event (reference §2.3, §3.2).

    A collect event reports a ``result`` (its ``type`` is the outcome), perhaps ``final``
    and a ``state``. Its phase is ``partial`` for a non-final result, ``start_of_input`` for
    that notice, ``collecting`` while a continuous collect goes on, else the result type
    (digit, speech, no_input, no_match, error), or the bare ``state`` (finished, error) of a
    collect stopped before any result.
    """
    result = payload.get("result")
    kind = result.get("type") if isinstance(result, Mapping) else None
    if kind and payload.get("final") is False:
        return "partial"
    if kind == "start_of_input":
        return "start_of_input"
    state = payload.get("state")
    if state == "collecting":
        return "collecting"
    if kind:
        return str(kind)
    return None if state is None else str(state)


@dataclass(frozen=True, slots=True)
class Control:
    """One control method of a component: ``calling.<component>.<verb>``.

    ``params`` are required besides the control_id, ``optional`` may be sent; ``message``
    is the server's result message; ``summary`` documents it in the SDKs.
    """

    method: str
    message: str
    summary: str
    params: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def verb(self) -> str:
        """``pause`` for ``calling.play.pause``; ``start_input_timers``..."""
        return self.method.rsplit(".", 1)[1]


@dataclass(frozen=True, slots=True)
class BladeView:
    """How the 2.x SDK sees a component end (reference §5.3).

    It completes on any state not in ``continues_on`` (when given), else on a state in
    ``ends_on``; it calls the outcome successful for a state in ``success``.
    """

    continues_on: frozenset[str] = frozenset()
    ends_on: frozenset[str] = frozenset()
    success: frozenset[str] = frozenset()

    def ends(self, state: str) -> bool:
        """Whether the 2.x SDK completes the component on an event in ``state``."""
        if self.continues_on:
            return state not in self.continues_on
        return state in self.ends_on


@dataclass(frozen=True, slots=True)
class Component:
    """One row of the table (see the module docstring)."""

    name: str
    start: str
    event: str
    states: frozenset[str]
    terminal: frozenset[str]
    controls: tuple[Control, ...] = ()
    blade: BladeView | None = None
    state_of: StateReader = field(default=at("state"))
    served: bool = True
    rest: bool = False
    rest_start: bool = False
    reference: str = ""

    def control(self, verb: str) -> Control:
        """The control ``calling.<name>.<verb>``; KeyError if the component has none."""
        for control in self.controls:
            if control.verb == verb:
                return control
        raise KeyError(f"{self.start} has no control {verb!r}")

    @property
    def blade_hidden(self) -> frozenset[str]:
        """States a Blade session never receives: the 2.x SDK would take them as the
        component's unsuccessful end while it goes on (a paused play)."""
        if self.blade is None:
            return frozenset()
        view = self.blade
        return frozenset(
            s for s in self.states - self.terminal if view.ends(s) and s not in view.success
        )


def _stop(method: str) -> Control:
    return Control(method, "Stopped", "Stop it; its terminal event follows.")


def _pause(method: str, *optional: str) -> Control:
    return Control(method, "Paused", "Pause it until resumed.", optional=optional)


def _resume(method: str) -> Control:
    return Control(method, "Resumed", "Resume it after a pause.")


def _volume(method: str) -> Control:
    return Control(
        method,
        "Volume set",
        "Set its volume in dB, -40.0 to +40.0 (0 is unchanged).",
        params=("volume",),
    )


_TIMERS = Control(
    "calling.collect.start_input_timers",
    "Timers started",
    "Start the input timers of a collect begun with start_input_timers false.",
)

_COLLECT_STATES = frozenset(
    {"partial", "start_of_input", "collecting", "digit", "speech", "no_input", "no_match",
     "error", "finished"}
)  # fmt: skip
_COLLECT_TERMINAL = frozenset({"digit", "speech", "no_input", "no_match", "error", "finished"})
_PROMPT_VIEW = BladeView(ends_on=_COLLECT_STATES, success=frozenset({"digit", "speech"}))

_DETECTIONS = frozenset(
    {"HUMAN", "MACHINE", "UNKNOWN", "READY", "NOT_READY", "CED", "CNG", *"0123456789#*"}
)

PLAY = Component(
    "play",
    "calling.play",
    "calling.call.play",
    frozenset({"playing", "paused", "finished", "error"}),
    frozenset({"finished", "error"}),
    (
        _pause("calling.play.pause"),
        _resume("calling.play.resume"),
        _volume("calling.play.volume"),
        _stop("calling.play.stop"),
    ),
    BladeView(continues_on=frozenset({"playing"}), success=frozenset({"finished"})),
    rest=True,
    rest_start=True,
    reference="§2.2",
)
RECORD = Component(
    "record",
    "calling.record",
    "calling.call.record",
    frozenset({"recording", "paused", "finished", "no_input"}),
    frozenset({"finished", "no_input"}),
    (
        _pause("calling.record.pause", "behavior"),
        _resume("calling.record.resume"),
        _stop("calling.record.stop"),
    ),
    BladeView(continues_on=frozenset({"recording"}), success=frozenset({"finished"})),
    rest=True,
    rest_start=True,
    reference="§2.4",
)
COLLECT = Component(
    "collect",
    "calling.collect",
    "calling.call.collect",
    _COLLECT_STATES,
    _COLLECT_TERMINAL,
    (_stop("calling.collect.stop"), _TIMERS),
    _PROMPT_VIEW,
    state_of=collect_phase,
    rest=True,
    rest_start=True,
    reference="§2.3",
)
PLAY_AND_COLLECT = Component(
    "play_and_collect",
    "calling.play_and_collect",
    "calling.call.collect",  # its prompt also reports on calling.call.play (PLAY's states)
    _COLLECT_STATES,
    _COLLECT_TERMINAL,
    (_stop("calling.play_and_collect.stop"), _volume("calling.play_and_collect.volume")),
    _PROMPT_VIEW,  # 2.x "prompt": completes on the first collect event it gets
    state_of=collect_phase,
    reference="§2.3",
)
DETECT = Component(
    "detect",
    "calling.detect",
    "calling.call.detect",
    _DETECTIONS | {"finished", "error"},
    frozenset({"finished", "error"}),
    (_stop("calling.detect.stop"),),
    BladeView(ends_on=frozenset({"finished", "error"}), success=frozenset({"finished"})),
    state_of=at("detect", "params", "event"),
    rest=True,
    rest_start=True,
    reference="§2.5, §3.4",
)
SEND_DIGITS = Component(
    "send_digits",
    "calling.send_digits",
    "calling.call.send_digits",
    frozenset({"finished"}),
    frozenset({"finished"}),
    (),
    BladeView(ends_on=frozenset({"finished"}), success=frozenset({"finished"})),
    reference="§2.6",
)
TAP = Component(
    "tap",
    "calling.tap",
    "calling.call.tap",
    frozenset({"tapping", "finished"}),
    frozenset({"finished"}),
    (_stop("calling.tap.stop"),),
    BladeView(ends_on=frozenset({"finished"}), success=frozenset({"finished"})),
    served=False,
    rest=True,
    rest_start=True,
    reference="§2.7, §3.6",
)
STREAM = Component(
    "stream",
    "calling.stream",
    "calling.call.stream",
    frozenset({"streaming", "finished"}),
    frozenset({"finished"}),
    (_stop("calling.stream.stop"),),
    served=False,
    rest=True,
    rest_start=True,
    reference="§2.7, §3.7",
)


def _fax(name: str) -> Component:
    """``calling.send_fax`` or ``calling.receive_fax``: both report ``calling.call.fax``
    with the outcome in ``fax.type`` (reference §2.8); 2.x completes on any type but page."""
    return Component(
        name,
        f"calling.{name}",
        "calling.call.fax",
        frozenset({"page", "finished", "error"}),
        frozenset({"finished", "error"}),
        (_stop(f"calling.{name}.stop"),),
        BladeView(continues_on=frozenset({"page"}), success=frozenset({"finished"})),
        state_of=at("fax", "type"),
        served=False,
        rest=True,
        reference="§2.8",
    )


SEND_FAX = _fax("send_fax")  # calling.send_fax, calling.send_fax.stop
RECEIVE_FAX = _fax("receive_fax")  # calling.receive_fax, calling.receive_fax.stop
PAY = Component(
    "pay",
    "calling.pay",
    "calling.call.pay",
    frozenset({"finished", "error"}),
    frozenset({"finished", "error"}),
    (_stop("calling.pay.stop"),),
    served=False,
    reference="§2.9",
)
TRANSCRIBE = Component(
    "transcribe",
    "calling.transcribe",
    "calling.call.transcribe",
    frozenset({"transcribing", "finished"}),
    frozenset({"finished"}),
    (_stop("calling.transcribe.stop"),),
    served=False,
    rest=True,
    rest_start=True,
    reference="§2.9",
)
QUEUE = Component(
    "queue",
    "calling.queue.enter",
    "calling.call.queue",
    frozenset(),  # ``status`` values are not documented (reference §2.11)
    frozenset(),
    (Control("calling.queue.leave", "Leaving Queue", "Leave the queue.", ("queue_name",)),),
    state_of=at("status"),
    served=False,
    reference="§2.11",
)
CONFERENCE = Component(
    "conference",
    "calling.join_conference",
    "calling.conference",
    frozenset(),  # ``status`` values are not documented (reference §2.11)
    frozenset(),
    (
        Control(
            "calling.leave_conference",
            "Leaving conference",
            "Leave the conference.",
            ("conference_id",),
        ),
    ),
    state_of=at("status"),
    served=False,
    reference="§2.11",
)
CONNECT = Component(
    "connect",
    "calling.connect",
    "calling.call.connect",
    frozenset(ConnectState),
    frozenset({ConnectState.DISCONNECTED, ConnectState.FAILED}),
    (Control("calling.disconnect", "Disconnecting", "Disconnect the connected peer."),),
    BladeView(
        continues_on=frozenset({ConnectState.CONNECTING}),
        success=frozenset({ConnectState.CONNECTED}),
    ),
    state_of=at("connect_state"),
    served=False,
    reference="§2.1, §1.11",
)

COMPONENTS: tuple[Component, ...] = (
    PLAY,
    RECORD,
    COLLECT,
    PLAY_AND_COLLECT,
    DETECT,
    SEND_DIGITS,
    TAP,
    STREAM,
    SEND_FAX,
    RECEIVE_FAX,
    PAY,
    TRANSCRIBE,
    QUEUE,
    CONFERENCE,
    CONNECT,
)
BY_NAME: Mapping[str, Component] = {c.name: c for c in COMPONENTS}
CONTROLS: Mapping[str, tuple[Component, Control]] = {
    control.method: (c, control) for c in COMPONENTS for control in c.controls
}


def by_event(event_type: str) -> tuple[Component, ...]:
    """The components reported by ``event_type`` (collect and play_and_collect share one)."""
    return tuple(c for c in COMPONENTS if c.event == event_type)


@dataclass(frozen=True, slots=True)
class CallEvent:
    """An event about a call, not a component: its name, state field and states."""

    event: str
    state_of: StateReader
    states: frozenset[str]


CALL_EVENTS: Mapping[str, CallEvent] = {
    e.event: e
    for e in (
        CallEvent(CALL_RECEIVE, at("call_state"), frozenset(CallState)),
        CallEvent(CALL_STATE, at("call_state"), frozenset(CallState)),
        CallEvent(CALL_DIAL, at("dial_state"), frozenset(DialState)),
    )
}


def event_state(event_type: str, payload: Mapping[str, Any]) -> str | None:
    """The state an event reports (its component's or call's vocabulary), or None."""
    call_event = CALL_EVENTS.get(event_type)
    if call_event is not None:
        return call_event.state_of(payload)
    for component in by_event(event_type):
        return component.state_of(payload)
    return None


def blade_hides(event_type: str, payload: Mapping[str, Any]) -> bool:
    """Whether a Blade (2.x) session must not receive this event.

    True for a state the 2.x SDK would take as the end of a component that goes on
    (:attr:`Component.blade_hidden`: a paused play or recording, a partial or
    start-of-input collect result). Derived from the table.
    """
    components = by_event(event_type)
    if not components:
        return False
    state = components[0].state_of(payload)
    return state is not None and any(state in c.blade_hidden for c in components)
