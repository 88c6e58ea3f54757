"""The media actions returned by :class:`~voxrelay.relay.call.Call` (reference §2.2-§2.5, §2.13).

Each class fixes its event type, terminal rule and control prefix on top of the generic
layering in :mod:`voxrelay.relay.action`:

=========================  ===============  ========================  ==========================
class                      controls         completes on              ``calling.<prefix>.*``
=========================  ===============  ========================  ==========================
PlayAction                 stop/pause/      ``calling.call.play``     ``play``
                           resume/volume    state finished|error
RecordAction               stop/pause/      ``calling.call.record``   ``record``
                           resume           state finished|no_input
CollectAction              stop/pause/      ``calling.call.collect``  ``play_and_collect``
                           resume/volume,   with a final result, or
                           input timers     state finished|error|
                                            no_input|no_match
StandaloneCollectAction    stop, input      same as CollectAction     ``collect``
                           timers
DetectAction               stop             ``calling.call.detect``   ``detect``
                                            with a ``detect`` object,
                                            or state finished|error
=========================  ===============  ========================  ==========================

``play_and_collect`` reports its prompt on ``calling.call.play`` under the same
``control_id``; a CollectAction ignores those (its prompt finishing is not the input).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voxrelay.relay.action import (
    JsonDict,
    OnCompleted,
    PausableAction,
    StoppableAction,
    VolumeAction,
)
from voxrelay.relay.event import RelayEvent

if TYPE_CHECKING:
    from voxrelay.relay.call import Call

PLAY_EVENT = "calling.call.play"
RECORD_EVENT = "calling.call.record"
COLLECT_EVENT = "calling.call.collect"
DETECT_EVENT = "calling.call.detect"

COLLECT_TERMINAL_STATES = frozenset({"finished", "error", "no_input", "no_match"})


class PlayAction(VolumeAction):
    """A playback (``calling.play``); completes on state ``finished`` or ``error``."""

    prefix = "play"

    def __init__(
        self, call: Call, control_id: str, *, on_completed: OnCompleted | None = None
    ) -> None:
        super().__init__(
            call, control_id, PLAY_EVENT, ("finished", "error"), on_completed=on_completed
        )


class RecordAction(PausableAction):
    """A recording (``calling.record``); completes on state ``finished`` or ``no_input``.

    ``url`` is known from the start when the server returns it in the ``calling.record``
    result, and is then taken from the terminal event; ``duration`` (seconds) and ``size``
    (bytes) come from the terminal event (None until then). ``pause(behavior)`` sends
    ``behavior`` (``"skip"`` or ``"silence"``) only when given.
    """

    prefix = "record"

    def __init__(
        self, call: Call, control_id: str, *, on_completed: OnCompleted | None = None
    ) -> None:
        super().__init__(
            call, control_id, RECORD_EVENT, ("finished", "no_input"), on_completed=on_completed
        )
        self._started_url = ""

    def _accepted(self, result: JsonDict) -> None:
        url = result.get("url")
        if isinstance(url, str):
            self._started_url = url

    def _field(self, name: str) -> Any:
        return getattr(self.result, name, None) if self.result is not None else None

    @property
    def url(self) -> str:
        """Where the recording is (or will be) stored; ``""`` when unknown."""
        return str(self._field("url") or self._started_url)

    @property
    def duration(self) -> float | None:
        """Recorded length in seconds, from the terminal event."""
        value = self._field("duration")
        return float(value) if isinstance(value, int | float) else None

    @property
    def size(self) -> int | None:
        """Recording size in bytes, from the terminal event."""
        value = self._field("size")
        return int(value) if isinstance(value, int | float) else None


def _is_collect_outcome(event: RelayEvent) -> bool:
    """Whether a ``calling.call.collect`` event ends a collect.

    Terminal states end it; any other explicit state (``collecting`` in continuous mode) does
    not. Without a state, a ``result`` does, except a partial one (``final`` false) and the
    ``start_of_input`` notice. The official SDK resolves on the first result of any kind
    (reference §7 quirk 15); voxrelay waits for the real outcome.
    """
    if event.event_type != COLLECT_EVENT:
        return False
    params = event.params
    state = params.get("state")
    if state:
        return state in COLLECT_TERMINAL_STATES
    result = params.get("result")
    if not isinstance(result, dict) or not result:
        return False
    if params.get("final") is False:
        return False
    return result.get("type") != "start_of_input"


class _InputTimers(StoppableAction):
    async def start_input_timers(self) -> JsonDict:
        """Start the initial/end-of-input timers of a collect started with
        ``start_input_timers=False`` (``calling.collect.start_input_timers``)."""
        return await self.call._execute(
            "collect.start_input_timers", {"control_id": self.control_id}
        )


class CollectAction(VolumeAction, _InputTimers):
    """A prompt plus input collection (``calling.play_and_collect``).

    Completes on the first ``calling.call.collect`` outcome (see ``_is_collect_outcome``),
    never on the prompt's ``calling.call.play`` events. ``stop``/``volume`` act on
    ``calling.play_and_collect.*``; ``pause``/``resume`` are kept for compatibility but no
    RELAY server schema defines ``calling.play_and_collect.pause/resume``.
    """

    prefix = "play_and_collect"

    def __init__(
        self, call: Call, control_id: str, *, on_completed: OnCompleted | None = None
    ) -> None:
        super().__init__(
            call, control_id, COLLECT_EVENT, COLLECT_TERMINAL_STATES, on_completed=on_completed
        )

    def _is_terminal(self, event: RelayEvent) -> bool:
        return _is_collect_outcome(event)


class StandaloneCollectAction(_InputTimers):
    """Input collection without a prompt (``calling.collect``); same completion rule as
    :class:`CollectAction`; ``stop`` sends ``calling.collect.stop``."""

    prefix = "collect"

    def __init__(
        self, call: Call, control_id: str, *, on_completed: OnCompleted | None = None
    ) -> None:
        super().__init__(
            call, control_id, COLLECT_EVENT, COLLECT_TERMINAL_STATES, on_completed=on_completed
        )

    def _is_terminal(self, event: RelayEvent) -> bool:
        return _is_collect_outcome(event)


class DetectAction(StoppableAction):
    """A detector (``calling.detect``): completes on the first event with a non-empty
    ``detect`` object (e.g. ``{"type": "machine", "params": {"event": "HUMAN"}}``) or a
    state ``finished``/``error``."""

    prefix = "detect"

    def __init__(
        self, call: Call, control_id: str, *, on_completed: OnCompleted | None = None
    ) -> None:
        super().__init__(
            call, control_id, DETECT_EVENT, ("finished", "error"), on_completed=on_completed
        )

    def _is_terminal(self, event: RelayEvent) -> bool:
        if event.event_type != DETECT_EVENT:
            return False
        detect = event.params.get("detect")
        return bool(detect) or event.params.get("state") in self.terminal_states
