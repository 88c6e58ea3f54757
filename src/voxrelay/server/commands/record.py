"""``calling.record`` and ``calling.record.pause|resume|stop`` (reference §2.4, §3.3).

The result carries the recording's ``url``; ``calling.call.record`` reports ``recording``,
``paused``, then ``finished`` or ``no_input`` with ``url``, ``duration`` (s) and ``size``
(bytes) at the top level and mirrored in ``record`` (clients read either). With ``beep`` the
caller hears a 250 ms 1 kHz beep first and recording starts after it. A recording still
running when the call ends is finalised (written atomically) before its last event.
"""

from __future__ import annotations

import contextlib
from typing import Any

from voxrelay.media.player import Player
from voxrelay.media.recorder import Recorder, RecordError
from voxrelay.protocol.codes import ResultCode
from voxrelay.protocol.components import RECORD
from voxrelay.protocol.models import RecordParams
from voxrelay.server.calls import Call
from voxrelay.server.commands.components import call_media, new_control_id
from voxrelay.server.commands.controls import serve_controls
from voxrelay.server.commands.lifecycle import find_call
from voxrelay.server.dispatch import CommandError, JsonDict, RequestContext, method, ok
from voxrelay.server.media import CallMedia
from voxrelay.server.node import Node
from voxrelay.server.recordings import url_for

EVENT = RECORD.event


def sensitivity_to_dbfs(sensitivity: float) -> float:
    """RELAY ``input_sensitivity`` 0-100 (44 by default) to a speech threshold in dBFS:
    44 -> -45 dBFS, higher values hear quieter speech (down to -70), lower need louder."""
    return -45.0 - (sensitivity - 44.0) * 0.45


class RecordingJob:
    """A recorder on a call and what its events say."""

    def __init__(self, node: Node, call: Call, media: CallMedia, params: RecordParams) -> None:
        audio = params.record.audio
        self.call, self.media, self.control_id = call, media, params.control_id
        self.name, path = node.recordings.new(call.project, audio.format)
        self.url = url_for(node.base_url, self.name)
        self.spec = {
            "audio": {"format": audio.format, "direction": audio.direction, "stereo": audio.stereo}
        }
        self.recorder = Recorder(
            params.control_id,
            path,
            format=audio.format,
            stereo=audio.stereo,
            direction=audio.direction,
            beep=audio.beep,
            initial_timeout=audio.initial_timeout,
            end_silence_timeout=audio.end_silence_timeout,
            terminators=audio.terminators,
            max_length=audio.max_length,
            speech_threshold_dbfs=sensitivity_to_dbfs(audio.input_sensitivity),
            on_state=self._changed,
        )

    def start(self) -> None:
        beep = self.recorder.beep_frames()
        self.media.components[self.control_id] = self.recorder
        self.media.closers.append(self._call_ended)
        if beep:
            self.media.leg.add_player(
                Player(
                    f"{self.control_id}-beep",
                    beep,
                    on_state=lambda p: self._attach() if not p.active else None,
                )
            )
        else:
            self._attach()
        self._emit()

    def _attach(self) -> None:
        if self.recorder.active and self.call.media is self.media:
            self.media.leg.add_listener(self.recorder)
            self.media.leg.add_digit_listener(self.recorder)

    async def _call_ended(self) -> None:
        """The call is ending: write the file before the call reports ``ended``."""
        with contextlib.suppress(RecordError):  # logged by the recorder; its event says more
            await self.recorder.aclose()

    def _changed(self, recorder: Recorder) -> None:
        if not recorder.active:
            self.media.leg.remove(self.control_id)
            self.media.components.pop(self.control_id, None)
        self._emit()

    def _emit(self) -> None:
        rec = self.recorder
        payload: dict[str, Any] = {
            "call_id": self.call.call_id,
            "node_id": self.call.node_id,
            "control_id": self.control_id,
            "state": rec.state.value,
            "record": dict(self.spec),
            "url": self.url,
        }
        if not rec.active:
            extra = {"url": self.url, "duration": round(rec.duration, 3), "size": rec.size}
            payload.update(extra)
            payload["record"].update(extra)
        self.call.emit(EVENT, payload)


@method("calling.record", RecordParams)
async def record(ctx: RequestContext, params: RecordParams) -> JsonDict:
    media = call_media(ctx, params)
    new_control_id(media, params.control_id)
    call = find_call(ctx, params)
    try:
        job = RecordingJob(ctx.node, call, media, params)
    except (RecordError, ValueError) as exc:
        raise CommandError(ResultCode.BAD_REQUEST, str(exc)) from None
    job.start()
    return ok("Recording", call_id=call.call_id, control_id=params.control_id, url=job.url)


serve_controls(
    Recorder,
    {
        "calling.record.pause": Recorder.pause,
        "calling.record.resume": Recorder.resume,
        "calling.record.stop": Recorder.stop,
    },
)
