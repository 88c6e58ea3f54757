"""Actions: client-side handles of long-running call components (reference §2.13).

A media method (play, record, collect...) registers an :class:`Action` under a ``control_id``
before sending its request; the :class:`~voxrelay.relay.call.Call` routes every component
event carrying that ``control_id`` to it, and the action completes on its terminal event.

Control layering, each level adding requests named ``calling.<prefix>.<verb>``:

- :class:`StoppableAction`: ``stop()``
- :class:`PausableAction`: ``pause(behavior=None)``, ``resume()``
- :class:`VolumeAction`: ``volume(db)``

A subclass for a RELAY component sets ``component`` to its row of the vocabulary table
(``voxrelay.protocol.components``): the event, terminal states and method prefix come from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any, ClassVar, Protocol, TypeVar

from voxrelay.protocol.components import Component
from voxrelay.relay import callbacks
from voxrelay.relay.event import RelayEvent, event_class

JsonDict = dict[str, Any]
OnCompleted = Callable[[RelayEvent], Any]


class ComponentHost(Protocol):
    """What an action needs from its call (a :class:`~voxrelay.relay.call.Call`)."""

    @property
    def call_id(self) -> str: ...

    async def _execute(self, method: str, extra: JsonDict | None = None) -> JsonDict: ...


class Action:
    """A component running on a call, completed by its terminal event.

    ``control_id`` names the component on the wire; ``result`` is the terminal
    :class:`RelayEvent` once ``completed`` (an empty event when the call went away first).
    ``on_completed`` (sync or async, given the terminal event) fires once on completion.
    """

    def __init__(
        self,
        call: ComponentHost,
        control_id: str,
        terminal_event: str,
        terminal_states: Collection[str],
        *,
        on_completed: OnCompleted | None = None,
    ) -> None:
        self.call = call
        self.control_id = control_id
        self.terminal_event = terminal_event
        self.terminal_states = frozenset(terminal_states)
        self.result: RelayEvent | None = None
        self.completed = False
        self._on_completed = on_completed
        self._future: asyncio.Future[RelayEvent] = asyncio.get_running_loop().create_future()

    @property
    def is_done(self) -> bool:
        """True once the terminal event (or the call's end) has been seen."""
        return self.completed

    async def wait(self, timeout: float | None = None) -> RelayEvent:
        """Wait for the terminal event and return it.

        ``timeout`` is in seconds (None waits forever). On timeout this raises
        ``TimeoutError`` but the action itself is untouched (the wait is shielded): a later
        ``wait()`` still gets the result.
        """
        return await asyncio.wait_for(asyncio.shield(self._future), timeout)

    def _is_terminal(self, event: RelayEvent) -> bool:
        """Whether ``event`` ends this action; subclasses may refine (e.g. collect results)."""
        return (
            event.event_type == self.terminal_event
            and event.params.get("state") in self.terminal_states
        )

    def _handle_event(self, event: RelayEvent) -> None:
        """Feed an event carrying this action's ``control_id`` (called by the Call)."""
        if not self.completed and self._is_terminal(event):
            self._resolve(event)

    def _resolve(self, event: RelayEvent) -> None:
        """Complete with ``event``; later calls are ignored."""
        if self.completed:
            return
        self.completed = True
        self.result = event
        if not self._future.done():
            self._future.set_result(event)
        if self._on_completed is not None:
            callbacks.invoke(self._on_completed, event)

    def _accepted(self, result: JsonDict) -> None:
        """Hook: the server accepted the start request with ``result`` (2xx, non-empty).

        Subclasses keep what they need from it (e.g. a recording's ``url``).
        """

    def _resolve_gone(self) -> None:
        """Complete with an empty event: the call ended or the server no longer knows it.

        The event has the typed class of ``terminal_event`` (e.g. a PlayEvent with
        ``state == ""``), so code reading typed fields of ``result`` does not break.
        """
        cls = event_class(self.terminal_event)
        self._resolve(cls(event_type=self.terminal_event, params={}, call_id=self.call.call_id))

    def __repr__(self) -> str:
        state = "done" if self.completed else "running"
        return f"<{type(self).__name__} {self.control_id} {state}>"


ActionT = TypeVar("ActionT", bound=Action)


class StoppableAction(Action):
    """An action that can be stopped: sends ``calling.<prefix>.stop``.

    Subclasses set ``prefix`` (e.g. ``"play"``); it can also be given per instance.
    Control methods return the raw result dict (``{}`` when the call is gone) and raise
    :class:`~voxrelay.relay.errors.RelayError` on any other non-2xx code.
    """

    prefix: ClassVar[str] = ""
    component: ClassVar[Component | None] = None

    def __init__(
        self,
        call: ComponentHost,
        control_id: str,
        terminal_event: str | None = None,
        terminal_states: Collection[str] | None = None,
        *,
        on_completed: OnCompleted | None = None,
        prefix: str | None = None,
    ) -> None:
        """``terminal_event``, ``terminal_states`` and ``prefix`` default to the class's
        ``component`` (its event, terminal states and name); ValueError without either."""
        row = type(self).component
        if row is not None:
            terminal_event = terminal_event or row.event
            terminal_states = row.terminal if terminal_states is None else terminal_states
        if terminal_event is None or terminal_states is None:
            raise ValueError(f"{type(self).__name__} needs its terminal event and states")
        super().__init__(
            call, control_id, terminal_event, terminal_states, on_completed=on_completed
        )
        default = type(self).prefix or (row.name if row is not None else "")
        self._prefix = prefix if prefix is not None else default
        if not self._prefix:
            raise ValueError(f"{type(self).__name__} needs a method prefix")

    async def _control(self, verb: str, extra: JsonDict | None = None) -> JsonDict:
        params: JsonDict = {"control_id": self.control_id, **(extra or {})}
        return await self.call._execute(f"{self._prefix}.{verb}", params)

    async def stop(self) -> JsonDict:
        """Stop the component (``calling.<prefix>.stop``); its terminal event follows."""
        return await self._control("stop")


class PausableAction(StoppableAction):
    """A stoppable action that can also pause and resume."""

    async def pause(self, behavior: str | None = None) -> JsonDict:
        """Pause (``calling.<prefix>.pause``); ``behavior`` (e.g. ``"silence"``) sent if given."""
        return await self._control("pause", {"behavior": behavior} if behavior else None)

    async def resume(self) -> JsonDict:
        """Resume after a pause (``calling.<prefix>.resume``)."""
        return await self._control("resume")


class VolumeAction(PausableAction):
    """A pausable action whose volume can be changed."""

    async def volume(self, volume: float) -> JsonDict:
        """Set the volume in dB, -40.0 to +40.0 (``calling.<prefix>.volume``)."""
        return await self._control("volume", {"volume": float(volume)})
