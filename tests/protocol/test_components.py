"""The RELAY vocabulary table (``voxrelay.protocol.components``) and what is derived from it:
the server's handlers, the SDK actions (``relay``, ``v2``), the REST control wrappers and the
Blade event filter. Each check fails when one of them drifts from the table."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from voxrelay.protocol import components as vocabulary
from voxrelay.protocol.components import (
    COLLECT,
    COMPONENTS,
    CONTROLS,
    PLAY,
    PLAY_AND_COLLECT,
    RECORD,
    blade_hides,
    collect_phase,
)
from voxrelay.relay import actions as relay_actions
from voxrelay.rest.calling import CallingCommands, _ControlCommand
from voxrelay.server import commands  # noqa: F401  (registers the RELAY methods)
from voxrelay.server.commands.controls import PARAMS
from voxrelay.server.dispatch import METHODS
from voxrelay.v2.calling import actions as v2_actions

SERVED = [c for c in COMPONENTS if c.served]
CALL_METHODS = {
    "calling.answer",
    "calling.begin",
    "calling.dial",
    "calling.end",
    "calling.pass",
    "calling.receive",
}  # call lifecycle and contexts: not components


# -- the table itself -------------------------------------------------------------------------


@pytest.mark.parametrize("row", COMPONENTS, ids=lambda c: c.name)
def test_each_row_is_consistent(row: vocabulary.Component) -> None:
    assert row.terminal <= row.states
    assert row.start.startswith("calling.") and row.event.startswith("calling.")
    for control in row.controls:
        assert control.method.startswith("calling.") and control.message and control.summary
        assert set(control.params).isdisjoint(control.optional)
        if row.name != "connect":  # calling.play -> calling.play.<verb>; connect: disconnect
            prefix = row.start if row.start == f"calling.{row.name}" else "calling."
            assert control.method.startswith(prefix), control.method
    if row.served:
        assert row.states and row.terminal and row.blade is not None


def test_states_2x_would_take_as_the_end_are_hidden_from_blade() -> None:
    """Reference §5.3: play and record complete on any state but playing/recording; a
    prompt on its first collect event."""
    assert PLAY.blade_hidden == {"paused"}
    assert RECORD.blade_hidden == {"paused"}
    assert COLLECT.blade_hidden == PLAY_AND_COLLECT.blade_hidden
    assert COLLECT.blade_hidden == {"partial", "start_of_input", "collecting"}
    for row in COMPONENTS:
        assert not (row.blade_hidden & row.terminal), row.name
    assert blade_hides("calling.call.play", {"state": "paused"})
    assert not blade_hides("calling.call.play", {"state": "playing"})
    assert not blade_hides("calling.call.play", {"state": "finished"})
    assert blade_hides("calling.call.record", {"state": "paused"})
    partial = {"result": {"type": "digit", "params": {"digits": "1"}}, "final": False}
    assert blade_hides("calling.call.collect", partial)
    assert blade_hides("calling.call.collect", {"result": {"type": "start_of_input"}})
    assert not blade_hides("calling.call.collect", {**partial, "final": True})
    assert not blade_hides("calling.call.detect", {"detect": {"params": {"event": "1"}}})
    assert not blade_hides("calling.call.state", {"call_state": "ended"})


def test_collect_phases() -> None:
    digits = {"type": "digit", "params": {"digits": "12"}}
    assert collect_phase({"result": digits}) == "digit"
    assert collect_phase({"result": digits, "final": False}) == "partial"
    assert collect_phase({"result": digits, "final": True, "state": "collecting"}) == "collecting"
    assert collect_phase({"result": {"type": "no_input"}}) == "no_input"
    assert collect_phase({"state": "finished", "final": True}) == "finished"
    assert collect_phase({}) is None


# -- the server ---------------------------------------------------------------------------------


def test_every_served_component_and_control_has_a_server_handler() -> None:
    for row in SERVED:
        assert row.start in METHODS, row.start
        for control in row.controls:
            spec = METHODS.get(control.method)
            assert spec is not None, f"{control.method} has no handler"
            assert spec.params is PARAMS[control.params + control.optional], control.method
    for row in COMPONENTS:
        if not row.served:
            assert row.start not in METHODS, f"{row.start} is served: mark it in the table"


def test_every_served_method_is_in_the_table() -> None:
    starts = {row.start for row in COMPONENTS}
    for name in METHODS:
        if name.startswith("calling."):
            assert name in starts or name in CONTROLS or name in CALL_METHODS, name


# -- the SDKs -----------------------------------------------------------------------------------


class Host:
    """A call for actions: records what they send."""

    call_id = "c1"
    node_id = "n1"
    id = "c1"
    ended = False

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self._components: dict[str, Any] = {}

    async def _execute(self, method: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        self.sent.append((method, dict(extra or {})))
        return {"code": "200", "message": "ok"}

    def _fire(self, event: str, params: dict[str, Any]) -> None:
        pass


CONTROL_ARGS = {"volume": (3.0,)}
RELAY_ACTIONS = [
    relay_actions.PlayAction,
    relay_actions.RecordAction,
    relay_actions.CollectAction,
    relay_actions.StandaloneCollectAction,
    relay_actions.DetectAction,
]
QUIRKS = {"calling.play_and_collect.pause", "calling.play_and_collect.resume"}  # §2.3


def _verbs(cls: type) -> list[str]:
    names = ("stop", "pause", "resume", "volume", "start_input_timers")
    return [n for n in names if inspect.iscoroutinefunction(getattr(cls, n, None))]


@pytest.mark.parametrize("cls", RELAY_ACTIONS, ids=lambda c: c.__name__)
async def test_relay_actions_follow_the_table(cls: type[relay_actions.StoppableAction]) -> None:
    row = cls.component
    assert row is not None
    host = Host()
    action = cls(host, "ctl")
    assert action.terminal_event == row.event and action.terminal_states == row.terminal
    for verb in _verbs(cls):
        await getattr(action, verb)(*CONTROL_ARGS.get(verb, ()))
    sent = {m if m.startswith("calling.") else f"calling.{m}" for m, _ in host.sent}
    controls = {c.method for c in row.controls}
    if "start_input_timers" in _verbs(cls):
        controls.add(COLLECT.control("start_input_timers").method)
    assert sent - QUIRKS == controls
    for method in controls:  # searching for a method name finds the SDK class
        assert f"``{method}``" in (cls.__doc__ or ""), (cls.__name__, method)


V2_ACTIONS = [
    (v2_actions.PlayAction, v2_actions.PlayComponent, PLAY),
    (v2_actions.PromptAction, v2_actions.PromptComponent, PLAY_AND_COLLECT),
    (v2_actions.RecordAction, v2_actions.RecordComponent, RECORD),
    (v2_actions.DetectAction, v2_actions.DetectComponent, vocabulary.DETECT),
]


@pytest.mark.parametrize("classes", V2_ACTIONS, ids=lambda c: c[0].__name__)
async def test_v2_actions_send_controls_of_the_table(classes: tuple[Any, Any, Any]) -> None:
    action_cls, component_cls, row = classes
    host = Host()
    kwargs = {"first_only": False} if component_cls is v2_actions.DetectComponent else {}
    component = component_cls(host, {}, **kwargs)
    assert (component.method, component.event_type) == (row.start, row.event)
    action = action_cls(component)
    for verb in _verbs(action_cls):
        result = await getattr(action, verb)(*CONTROL_ARGS.get(verb, ()))
        assert result.successful
    sent = {m for m, _ in host.sent}
    assert sent <= {c.method for c in row.controls} and sent
    for method in sent:
        assert f"``{method}``" in (action_cls.__doc__ or ""), (action_cls.__name__, method)


async def test_v2_play_goes_on_through_a_pause_and_ends_finished() -> None:
    component = v2_actions.PlayComponent(Host(), {})
    for state in ("playing", "paused", "playing"):
        component.on_event({"control_id": component.control_id, "state": state})
        assert not component.completed, state
    component.on_event({"control_id": component.control_id, "state": "finished"})
    assert component.completed and component.successful and component.state == "finished"


async def test_v2_prompt_ends_on_the_final_result_only() -> None:
    component = v2_actions.PromptComponent(Host(), {})
    digits = {"type": "digit", "params": {"digits": "12", "terminator": "#"}}
    component.on_event({"result": {"type": "start_of_input"}})
    component.on_event({"result": digits, "final": False})
    assert not component.completed
    component.on_event({"result": digits})
    assert component.completed and component.successful
    assert (component.prompt_type, component.value, component.terminator) == ("digit", "12", "#")


# -- REST ---------------------------------------------------------------------------------------


def test_rest_control_wrappers_are_the_tables() -> None:
    wrappers = {
        name: value
        for name, value in vars(CallingCommands).items()
        if isinstance(value, _ControlCommand)
    }
    expected = {
        f"{row.name}_{control.verb}": control.method
        for row in COMPONENTS
        if row.rest
        for control in row.controls
    }
    assert {name: w.control.method for name, w in wrappers.items()} == expected
    assert len(expected) == 15


@pytest.mark.parametrize("async_", [False, True])
async def test_rest_control_wrappers_send_the_control(async_: bool) -> None:
    bodies: list[dict[str, Any]] = []

    def send(body: dict[str, Any], options: Any) -> Any:
        bodies.append(body)
        if not async_:
            return {"ok": True}
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        future.set_result({"ok": True})
        return future

    calling: CallingCommands[Any] = CallingCommands(send)
    out = calling.play_volume("c1", control_id="p", volume=-6.0, extras={"x": 1})
    assert (await out if async_ else out) == {"ok": True}
    calling.record_pause("c1", control_id="r")
    calling.record_pause("c1", control_id="r", behavior="silence")
    calling.collect_start_input_timers("c1", control_id="k")
    assert bodies == [
        {
            "command": "calling.play.volume",
            "id": "c1",
            "params": {"control_id": "p", "volume": -6.0, "x": 1},
        },
        {"command": "calling.record.pause", "id": "c1", "params": {"control_id": "r"}},
        {
            "command": "calling.record.pause",
            "id": "c1",
            "params": {"control_id": "r", "behavior": "silence"},
        },
        {
            "command": "calling.collect.start_input_timers",
            "id": "c1",
            "params": {"control_id": "k"},
        },
    ]
    assert "calling.play.stop" in (CallingCommands.play_stop.__doc__ or "")
    assert calling.play_stop.__name__ == "play_stop"


def test_rest_service_commands_are_the_tables() -> None:
    from voxrelay.server.rest.models import NOT_IMPLEMENTED, RELAY_COMMANDS

    for row in COMPONENTS:
        if not row.rest:
            assert row.start not in RELAY_COMMANDS
            continue
        known = RELAY_COMMANDS if row.served else NOT_IMPLEMENTED
        if row.rest_start:
            assert row.start in known, row.start
        assert all(c.method in known for c in row.controls), row.name


async def test_generic_control_handler_answers_by_the_table() -> None:
    """A control finds its component by control_id and type (404 otherwise), validates the
    table's params (400) and answers with the table's message."""
    from voxrelay.inprocess import InProcessServer

    async with InProcessServer() as server:
        app = await server.session(["default"])
        call = await server.call_in(app, hangup_after=20)
        silence = [{"type": "silence", "params": {"duration": 10}}]
        await app.execute("calling.play", {**call.ids, "control_id": "p", "play": silence})
        for verb in ("pause", "resume", "volume", "stop"):
            params = {
                **call.ids,
                "control_id": "p",
                **({"volume": 2.0} if verb == "volume" else {}),
            }
            if verb == "volume":
                missing = await app.execute("calling.play.volume", {**call.ids, "control_id": "p"})
                assert missing["code"] == "400" and "volume" in missing["message"]
                wrong = await app.execute("calling.record.pause", {**call.ids, "control_id": "p"})
                assert wrong["code"] == "404", wrong  # a play is not a recording
            result = await app.execute(f"calling.play.{verb}", params)
            message = PLAY.control(verb).message
            assert result == {
                "code": "200",
                "message": message,
                "call_id": call.call_id,
                "control_id": "p",
            }
        gone = await app.execute("calling.play.pause", {**call.ids, "control_id": "p"})
        assert gone["code"] == "404", gone  # stopped: no running player any more
