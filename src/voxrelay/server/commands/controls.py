"""The control methods of running components, registered from the RELAY vocabulary.

Every ``calling.<component>.<verb>`` (``calling.play.pause``, ``calling.record.stop``...) does
the same thing: find the component running under ``control_id`` on the call, check its
type, apply the verb, answer with the table's message (``voxrelay.protocol.components``).
Each command family module names its own controls with :func:`serve_controls`, so
``calling.play.pause`` is registered in ``play.py`` beside ``calling.play``, and the params
model and result message come from the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from voxrelay.protocol.components import CONTROLS, Control
from voxrelay.protocol.models import ControlRef, RecordPauseParams, VolumeParams
from voxrelay.server.commands.components import component
from voxrelay.server.dispatch import Handler, JsonDict, RequestContext, method, ok

T = TypeVar("T")

PARAMS: Mapping[tuple[str, ...], type[ControlRef]] = {
    (): ControlRef,
    ("volume",): VolumeParams,
    ("behavior",): RecordPauseParams,
}
"""The params model of a control, by the params it takes besides the control_id."""


def control_handler(kind: type[T], act: Callable[..., Any], control: Control) -> Handler:
    """A handler applying ``act(component, *control params)`` to the ``kind`` component."""
    names = control.params + control.optional

    async def handle(ctx: RequestContext, params: ControlRef) -> JsonDict:
        act(component(ctx, params, kind), *(getattr(params, name) for name in names))
        return ok(control.message, call_id=params.call_id, control_id=params.control_id)

    handle.__name__ = handle.__qualname__ = control.method.replace(".", "_")
    handle.__doc__ = f"``{control.method}``: {control.summary}"
    return handle


def serve_controls(kind: type[T], actions: Mapping[str, Callable[..., Any]]) -> None:
    """Register each RELAY control method of ``actions`` for components of type ``kind``.

    ``actions`` maps a method of the table (``"calling.play.pause"``) to what it does to
    the component (``Player.pause``), called with the control's params in table order.
    Raises KeyError for a method the table does not have.
    """
    for name, act in actions.items():
        _, control = CONTROLS[name]
        model = PARAMS[control.params + control.optional]
        method(name, model)(control_handler(kind, act, control))
