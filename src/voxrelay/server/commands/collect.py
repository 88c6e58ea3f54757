"""``calling.collect``, ``calling.play_and_collect`` and their controls (reference §2.3, §3.2).

Results go out as ``calling.call.collect {control_id, result: {type, params}}`` (with
``final`` when partial results or continuous collection are on, and ``state`` when
continuous). ``play_and_collect`` plays its prompt under the same control_id
(``calling.call.play`` events) while listening: the first input stops the prompt (barge-in),
and the input timers start when the prompt ends. For ``calling.collect`` the initial timer
starts at once unless ``start_input_timers`` is false, which waits for
``calling.collect.start_input_timers``. A stop (or the call's end) before any outcome reports
``state: finished`` with result ``no_input``: every collect event carries a ``result``, since
the 2.x SDK reads one from each (without it, its connection dies on a KeyError).
"""

from __future__ import annotations

import asyncio
from typing import Any

from voxrelay.media.collector import (
    Collector,
    CollectResult,
    DigitsSpec,
    LoopSubmit,
    ResultType,
    SpeechSpec,
)
from voxrelay.media.player import Player
from voxrelay.protocol.codes import ResultCode
from voxrelay.protocol.components import COLLECT
from voxrelay.protocol.models import (
    CollectParams,
    CollectSpec,
    ControlRef,
    PlayAndCollectParams,
)
from voxrelay.server.calls import Call
from voxrelay.server.commands.components import call_media, new_control_id
from voxrelay.server.commands.controls import serve_controls
from voxrelay.server.commands.lifecycle import find_call
from voxrelay.server.commands.play import announce, load_and_start, new_player
from voxrelay.server.dispatch import CommandError, JsonDict, RequestContext, method, ok
from voxrelay.server.media import CallMedia

EVENT = COLLECT.event


class CollectJob:
    """A collector on a call, its events, and (for play_and_collect) its prompt."""

    def __init__(
        self, call: Call, media: CallMedia, control_id: str, spec: CollectSpec, start_timers: bool
    ) -> None:
        self.call, self.media, self.control_id = call, media, control_id
        self.verbose = spec.partial_results or spec.continuous or spec.send_start_of_input
        self.continuous = spec.continuous
        self.prompt: Player | None = None
        self.collector = Collector(
            control_id,
            digits=DigitsSpec(
                spec.digits.max, spec.digits.terminators.upper(), spec.digits.digit_timeout
            )
            if spec.digits
            else None,
            speech=SpeechSpec(
                spec.speech.end_silence_timeout,
                spec.speech.speech_timeout,
                spec.speech.language,
                tuple(spec.speech.hints),
            )
            if spec.speech
            else None,
            initial_timeout=spec.initial_timeout,
            partial_results=spec.partial_results,
            continuous=spec.continuous,
            send_start_of_input=spec.send_start_of_input,
            start_input_timers=start_timers,
            on_result=self._result,
            on_input=self._barge_in,
            submit=LoopSubmit(asyncio.get_running_loop()),
        )

    def start(self) -> None:
        self.media.components[self.control_id] = self
        self.media.closers.append(self.stop)
        self.media.leg.add_listener(self.collector)
        self.media.leg.add_digit_listener(self.collector)

    def stop(self) -> None:
        """End collection (``state: finished``, result ``no_input``, reported once) and any
        prompt still playing."""
        if self.prompt is not None:
            self.prompt.stop()
        if self.collector.active:
            state = self.collector.stop()
            no_input = {"type": ResultType.NO_INPUT.value}
            self._emit({"state": state.value, "final": True, "result": no_input})
        self._detach()

    def start_input_timers(self) -> None:
        """Start the initial timer of a collect begun with ``start_input_timers`` false."""
        self.collector.start_timers()

    def set_volume(self, db: float) -> None:
        """The prompt's volume in dB (-40..+40); nothing once the prompt is over."""
        if self.prompt is not None:
            self.prompt.set_volume(db)

    def _barge_in(self) -> None:
        if self.prompt is not None and self.prompt.active:
            self.prompt.stop()

    def prompt_ended(self, player: Player) -> None:
        if self.collector.active:
            self.collector.start_timers()

    def _result(self, result: CollectResult) -> None:
        payload: dict[str, Any] = {"result": {"type": result.type.value}}
        if result.params:
            payload["result"]["params"] = result.params
        if self.verbose:
            payload["final"] = result.final
        if self.continuous:
            payload["state"] = result.state.value
        if not self.collector.active and self.prompt is not None:
            self.prompt.stop()  # its calling.call.play finished goes before the outcome
        self._emit(payload)
        if not self.collector.active:
            self._detach()

    def _emit(self, extra: dict[str, Any]) -> None:
        self.call.emit(
            EVENT,
            {
                "call_id": self.call.call_id,
                "node_id": self.call.node_id,
                "control_id": self.control_id,
                **extra,
            },
        )

    def _detach(self) -> None:
        self.media.leg.remove(self.control_id)
        if self.media.components.get(self.control_id) is self:
            del self.media.components[self.control_id]


def _start_job(
    ctx: RequestContext, params: ControlRef, spec: CollectSpec, start_timers: bool
) -> CollectJob:
    media = call_media(ctx, params)
    new_control_id(media, params.control_id)
    try:
        job = CollectJob(find_call(ctx, params), media, params.control_id, spec, start_timers)
    except ValueError as exc:
        raise CommandError(ResultCode.BAD_REQUEST, str(exc)) from None
    job.start()
    return job


@method("calling.collect", CollectParams)
async def collect(ctx: RequestContext, params: CollectParams) -> JsonDict:
    _start_job(ctx, params, params, params.start_input_timers is not False)
    return ok("Collecting", call_id=params.call_id, control_id=params.control_id)


@method("calling.play_and_collect", PlayAndCollectParams)
async def play_and_collect(ctx: RequestContext, params: PlayAndCollectParams) -> JsonDict:
    job = _start_job(ctx, params, params.collect, bool(params.collect.start_input_timers))
    call, media = job.call, job.media
    job.prompt = new_player(
        call,
        media,
        f"{params.control_id}\x00prompt",
        params.volume,
        1,
        on_end=job.prompt_ended,
        event_id=params.control_id,
    )
    announce(call, job.prompt, params.control_id)
    ctx.node.spawn(
        load_and_start(ctx.node, call, media, job.prompt, params.play),
        f"prompt {params.control_id}",
    )
    return ok("Collecting", call_id=call.call_id, control_id=params.control_id)


serve_controls(
    CollectJob,
    {
        "calling.collect.stop": CollectJob.stop,
        "calling.collect.start_input_timers": CollectJob.start_input_timers,
        "calling.play_and_collect.stop": CollectJob.stop,
        "calling.play_and_collect.volume": CollectJob.set_volume,
    },
)
