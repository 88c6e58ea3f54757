"""The media actions returned by :class:`~voxrelay.relay.call.Call` (reference §2.2-§2.5, §2.13).

Each class names its row of the vocabulary table (``voxrelay.protocol.components``): its
event, terminal states and control prefix come from there; the control methods come from
the generic layering in :mod:`voxrelay.relay.action`:

=========================  ===============  ========================  ==========================
class                      controls         completes on              ``calling.<prefix>.*``
=========================  ===============  ========================  ==========================
PlayAction                 stop/pause/      ``calling.call.play``     ``play``
                           resume/volume    state finished|error
RecordAction               stop/pause/      ``calling.call.record``   ``record``
                           resume           state finished|no_input
CollectAction              stop/volume,     ``calling.call.collect``  ``play_and_collect``
                           input timers     with a final result, or
                                            state finished|error
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

from typing import Any

from voxrelay.protocol.components import COLLECT, DETECT, PLAY, PLAY_AND_COLLECT, RECORD
from voxrelay.relay.action import JsonDict, PausableAction, StoppableAction, VolumeAction
from voxrelay.relay.event import RelayEvent


class PlayAction(VolumeAction):
    """A playback (``calling.play``); completes on state ``finished`` or ``error``.

    Controls: ``calling.play.pause``, ``calling.play.resume``, ``calling.play.volume``,
    ``calling.play.stop``.
    """

    component = PLAY


class RecordAction(PausableAction):
    """A recording (``calling.record``); completes on state ``finished`` or ``no_input``.

    ``url`` is known from the start when the server returns it in the ``calling.record``
    result, and is then taken from the terminal event; ``duration`` (seconds) and ``size``
    (bytes) come from the terminal event (None until then). ``pause(behavior)`` sends
    ``behavior`` (``"skip"`` or ``"silence"``) only when given.

    Controls: ``calling.record.pause``, ``calling.record.resume``, ``calling.record.stop``.
    """

    component = RECORD
    _started_url = ""

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
    """Whether a ``calling.call.collect`` event ends a collect: its phase (see
    ``components.collect_phase``) is terminal in the table, so neither a partial result
    (``final`` false), ``start_of_input`` nor ``collecting`` in continuous mode ends it. The
    official SDK resolves on the first result of any kind (reference §7 quirk 15); voxrelay
    waits for the real outcome.
    """
    return event.event_type == COLLECT.event and COLLECT.state_of(event.params) in COLLECT.terminal


class _InputTimers(StoppableAction):
    async def start_input_timers(self) -> JsonDict:
        """Start the initial/end-of-input timers of a collect started with
        ``start_input_timers=False`` (``calling.collect.start_input_timers``)."""
        method = COLLECT.control("start_input_timers").method
        return await self.call._execute(method, {"control_id": self.control_id})


class CollectAction(VolumeAction, _InputTimers):
    """A prompt plus input collection (``calling.play_and_collect``).

    Completes on the first ``calling.call.collect`` outcome (see ``_is_collect_outcome``),
    never on the prompt's ``calling.call.play`` events. ``pause``/``resume`` are kept for
    compatibility with the official SDK, but no RELAY server schema defines
    ``calling.play_and_collect.pause/resume``.

    Controls: ``calling.play_and_collect.stop``, ``calling.play_and_collect.volume``,
    ``calling.collect.start_input_timers``.
    """

    component = PLAY_AND_COLLECT

    def _is_terminal(self, event: RelayEvent) -> bool:
        return _is_collect_outcome(event)


class StandaloneCollectAction(_InputTimers):
    """Input collection without a prompt (``calling.collect``); same completion rule as
    :class:`CollectAction`.

    Controls: ``calling.collect.stop``, ``calling.collect.start_input_timers``.
    """

    component = COLLECT

    def _is_terminal(self, event: RelayEvent) -> bool:
        return _is_collect_outcome(event)


class DetectAction(StoppableAction):
    """A detector (``calling.detect``): completes on the first event with a non-empty
    ``detect`` object (e.g. ``{"type": "machine", "params": {"event": "HUMAN"}}``) or a
    state ``finished``/``error``.

    Controls: ``calling.detect.stop``.
    """

    component = DETECT

    def _is_terminal(self, event: RelayEvent) -> bool:
        if event.event_type != DETECT.event:
            return False
        detect = event.params.get("detect")
        return bool(detect) or event.params.get("state") in self.terminal_states
