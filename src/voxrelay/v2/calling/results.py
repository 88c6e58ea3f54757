"""Results of the 2.x ``Relay.Calling`` API (reference §5.3).

Every result has ``successful`` and ``event`` (the :class:`Event` that settled it, or None).
``DialResult``, which holds a call, lives with the call (``voxrelay.v2.calling.call``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass(slots=True)
class Event:
    """An event as the 2.x API reports it: its ``name`` and its ``payload``."""

    name: str
    payload: JsonDict


class Result:
    """Base of every result: ``successful`` and the settling ``event``."""

    def __init__(self, successful: bool = False, event: Event | None = None) -> None:
        self.successful = successful
        self.event = event

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "event")
        return f"{type(self).__name__}({fields})"


class AnswerResult(Result):
    pass


class HangupResult(Result):
    def __init__(
        self, successful: bool = False, event: Event | None = None, reason: str | None = None
    ) -> None:
        super().__init__(successful, event)
        self.reason = reason


class PlayResult(Result):
    pass


class StopResult(Result):
    pass


class PlayPauseResult(Result):
    pass


class PlayResumeResult(Result):
    pass


class PlayVolumeResult(Result):
    pass


class PromptVolumeResult(Result):
    pass


class SendDigitsResult(Result):
    pass


class PromptResult(Result):
    """``type``/``prompt_type`` (``digit``, ``speech``, or the failure: ``no_input``...),
    ``result`` (the digits or the text), ``terminator``, ``confidence``."""

    def __init__(
        self,
        successful: bool = False,
        event: Event | None = None,
        prompt_type: str | None = None,
        result: str | None = None,
        terminator: str | None = None,
        confidence: float | None = None,
    ) -> None:
        super().__init__(successful, event)
        self.prompt_type = prompt_type
        self.result = result
        self.terminator = terminator
        self.confidence = confidence

    @property
    def type(self) -> str | None:
        """The documented name of ``prompt_type``."""
        return self.prompt_type


class RecordResult(Result):
    def __init__(
        self,
        successful: bool = False,
        event: Event | None = None,
        url: str | None = None,
        duration: float | None = None,
        size: int | None = None,
    ) -> None:
        super().__init__(successful, event)
        self.url = url
        self.duration = duration
        self.size = size


class DetectResult(Result):
    def __init__(
        self,
        successful: bool = False,
        event: Event | None = None,
        detect_type: str | None = None,
        result: str | None = None,
    ) -> None:
        super().__init__(successful, event)
        self.detect_type = detect_type
        self.result = result

    @property
    def type(self) -> str | None:
        return self.detect_type
