"""``calling.detect`` and ``calling.detect.stop`` (reference §2.5, §3.4).

Type ``digit`` reports each matching key the caller presses as
``calling.call.detect {detect: {type: "digit", params: {event: "<key>"}}}`` until the timeout
(default 30 s, counted in media frames) or a stop, which report ``event: "finished"``.
Answering-machine and fax detection are not available yet: they answer code 400.
"""

from __future__ import annotations

from voxrelay.media.frames import frames_of
from voxrelay.protocol.codes import ResultCode
from voxrelay.protocol.components import DETECT
from voxrelay.protocol.models import DetectParams
from voxrelay.server.calls import Call
from voxrelay.server.commands.components import call_media, new_control_id
from voxrelay.server.commands.controls import serve_controls
from voxrelay.server.commands.lifecycle import find_call
from voxrelay.server.dispatch import CommandError, JsonDict, RequestContext, method, ok
from voxrelay.server.media import CallMedia

EVENT = DETECT.event
ALL_KEYS = "0123456789#*"


class DigitDetector:
    """A listener on the leg: matching keys become detect events; the timeout ends it."""

    def __init__(
        self, call: Call, media: CallMedia, control_id: str, keys: str, timeout: float
    ) -> None:
        self.call, self.media, self.control_id = call, media, control_id
        self.keys = keys
        self.frames_left = frames_of(timeout)
        self.done = False

    def on_digit(self, digit: str) -> None:
        if not self.done and (not self.keys or digit in self.keys):
            self._emit(digit)

    def on_frame(self, heard: object, said: object) -> None:
        self.frames_left -= 1
        if self.frames_left <= 0:
            self.stop()

    def stop(self) -> None:
        if self.done:
            return
        self.done = True
        self.media.leg.remove(self.control_id)
        self.media.components.pop(self.control_id, None)
        self._emit("finished")

    def _emit(self, event: str) -> None:
        self.call.emit(
            EVENT,
            {
                "call_id": self.call.call_id,
                "node_id": self.call.node_id,
                "control_id": self.control_id,
                "detect": {"type": "digit", "params": {"event": event}},
            },
        )


@method("calling.detect", DetectParams)
async def detect(ctx: RequestContext, params: DetectParams) -> JsonDict:
    media = call_media(ctx, params)
    new_control_id(media, params.control_id)
    if params.detect.type != "digit":
        raise CommandError(
            ResultCode.BAD_REQUEST,
            f"detect type {params.detect.type} is not supported yet; use digit",
        )
    keys = str(params.detect.params.get("digits", ALL_KEYS))
    detector = DigitDetector(find_call(ctx, params), media, params.control_id, keys, params.timeout)
    media.components[params.control_id] = detector
    media.closers.append(detector.stop)
    media.leg.add_listener(detector)
    media.leg.add_digit_listener(detector)
    return ok("Detecting", call_id=params.call_id, control_id=params.control_id)


serve_controls(DigitDetector, {"calling.detect.stop": DigitDetector.stop})
