"""The collector component: DTMF digits and/or speech from what a leg hears (RELAY collect).

A ``Collector`` is a leg Listener (``on_frame(heard, said)``; it uses ``heard``, the far end's
audio) and a DigitListener (``on_digit``). Every timer counts 20 ms frames, so behaviour is
exact in media time. Results go to ``on_result(CollectResult)``; the owner turns them into
events. The collector never blocks the media tick: decoding goes through ``submit``.

Phases (one round of collection):

    listening --digit--> digits --max | terminator | digit_timeout--> result digit
        |  `--speech start--> speech --end_silence | speech_timeout--> decoding
        |                       `--digit--> digits  (a digit wins over speech)
        `--initial_timeout--> result no_input
    decoding --engine--> result speech (text, confidence) | no_match | error

Timers (a timer of N frames fires on the N-th frame after it is armed; 0 s = never):

* ``initial_timeout``: armed when input timers start (at construction, or at
  ``start_timers()`` when ``start_input_timers=False``); disarmed by the first input (a digit,
  or the frame where the VAD detects speech). Input before ``start_timers()`` is collected.
* ``digit_timeout``: re-armed at each digit; firing ends the round with the digits so far.
* ``end_silence_timeout``: counts consecutive silent frames after speech started.
* ``speech_timeout``: counts frames from the frame where speech was detected; firing ends the
  utterance and decodes what was heard (it does not throw the speech away as ``no_match``).

Digits: ``max`` digits end the round; a terminator ends it at once and is reported in
``terminator``, never in ``digits`` (a terminator alone gives ``digits: ""``). When both
digits and speech are enabled the first kind of input wins: once a digit came, the VAD is not
consulted; and a digit during speech abandons the utterance, because in-band DTMF tones
themselves start the VAD a few frames before the digit is detected. Digits that arrive while
an utterance is being decoded are dropped, or in continuous mode kept for the next round.

Speech: ``vad.Vad`` (energy, -40 dBFS onset over 3 frames, -45 dBFS silence; see vad.py).
The 10 frames before the onset (200 ms) are fed to the recognizer too, so word starts are not
clipped. With ``partial_results``, every 25 frames (500 ms) of speech a partial decode is
submitted (never two at a time); a partial is reported (``final=False``) only when its text is
new and not empty, so the same partial never goes out twice.

``send_start_of_input``: a ``start_of_input`` result (``final=False``, state collecting) on the
first input of each round, digit or speech.

``continuous``: after each result the collector starts a new round; results carry
``final=True`` and state ``collecting``. The initial timer runs in the first round only (a
silent caller gets one ``no_input``, not one every ``initial_timeout``). It ends with
``stop()`` or an error.

``stop()`` reports nothing: it ends collection (state ``finished``, or ``error`` if it had
failed), drops any decode in flight, and returns the final state for the owner to report.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Protocol, TypeVar

from voxrelay.media.frames import Frame, frames_of
from voxrelay.media.speech import (
    Hypothesis,
    Recognizer,
    SpeechEngine,
    SpeechError,
    default_engine,
)
from voxrelay.media.vad import Vad

log = logging.getLogger(__name__)

PREROLL_FRAMES = 10
PARTIAL_EVERY = 25

T = TypeVar("T")


class ResultType(StrEnum):
    DIGIT = "digit"
    SPEECH = "speech"
    NO_INPUT = "no_input"
    NO_MATCH = "no_match"
    ERROR = "error"
    START_OF_INPUT = "start_of_input"


class CollectState(StrEnum):
    COLLECTING = "collecting"
    FINISHED = "finished"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DigitsSpec:
    max: int
    terminators: str = ""
    digit_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.max < 1:
            raise ValueError("digits.max must be at least 1")


@dataclass(frozen=True, slots=True)
class SpeechSpec:
    end_silence_timeout: float = 1.0
    speech_timeout: float = 60.0
    language: str = "en-US"
    hints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CollectResult:
    """One report. ``params``: digits (+ terminator) or text + confidence (reference §3.2)."""

    type: ResultType
    params: dict[str, Any] = field(default_factory=dict)
    final: bool = True
    state: CollectState = CollectState.FINISHED


class Submit(Protocol):
    """Runs ``job`` somewhere (maybe another thread) and then calls ``done`` with its result or
    exception, on the thread that owns the collector."""

    def __call__(self, job: Callable[[], T], done: Callable[[T | Exception], None]) -> None: ...


def run_now(job: Callable[[], T], done: Callable[[T | Exception], None]) -> None:
    """A synchronous ``submit``: for tests and for engines that are fast enough."""
    try:
        result = job()
    except Exception as exc:
        done(exc)
        return
    done(result)


class LoopSubmit:
    """A ``submit`` that runs jobs in ``executor`` (default: the loop's) and calls ``done`` on
    ``loop``. Call it from the loop's thread (the media clock runs there)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self.loop = loop
        self.executor = executor

    def __call__(self, job: Callable[[], T], done: Callable[[T | Exception], None]) -> None:
        future = self.loop.run_in_executor(self.executor, job)

        def finished(f: asyncio.Future[T]) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            if exc is None:
                done(f.result())
            elif isinstance(exc, Exception):
                done(exc)
            else:
                raise exc

        future.add_done_callback(finished)


class Timer:
    """Counts frames once armed; ``tick()`` is True on the N-th frame, then it disarms."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.count = 0
        self.armed = False

    def arm(self) -> None:
        self.count = 0
        self.armed = self.frames > 0

    def disarm(self) -> None:
        self.armed = False

    def tick(self) -> bool:
        if not self.armed:
            return False
        self.count += 1
        if self.count >= self.frames:
            self.armed = False
            return True
        return False


class _Phase(Enum):
    LISTENING = "listening"
    DIGITS = "digits"
    SPEECH = "speech"
    DECODING = "decoding"
    DONE = "done"


class Collector:
    """See module docstring."""

    def __init__(
        self,
        control_id: str,
        *,
        digits: DigitsSpec | None = None,
        speech: SpeechSpec | None = None,
        initial_timeout: float = 4.0,
        partial_results: bool = False,
        continuous: bool = False,
        send_start_of_input: bool = False,
        start_input_timers: bool = True,
        on_result: Callable[[CollectResult], None] | None = None,
        on_input: Callable[[], None] | None = None,
        engine: SpeechEngine | None = None,
        submit: Submit = run_now,
        vad: Vad | None = None,
    ) -> None:
        if digits is None and speech is None:
            raise ValueError("collect needs digits, speech or both")
        self.control_id = control_id
        self.digits_spec = digits
        self.speech_spec = speech
        self.partial_results = partial_results
        self.continuous = continuous
        self.send_start_of_input = send_start_of_input
        self.on_result = on_result
        self.on_input = on_input  # first input of a round (barge-in for play_and_collect)
        self.engine = engine if engine is not None or speech is None else default_engine()
        self.submit = submit
        self.vad = vad or Vad()
        self.state = CollectState.COLLECTING
        self.error: str | None = None  # why it failed (an error result has no params)
        self.frames = 0  # frames heard since the collector was created
        self.digits = ""  # digits of the current round
        self._initial = Timer(frames_of(initial_timeout))
        self._digit_timer = Timer(frames_of(digits.digit_timeout) if digits else 0)
        self._silence = Timer(frames_of(speech.end_silence_timeout) if speech else 0)
        self._speech_timer = Timer(frames_of(speech.speech_timeout) if speech else 0)
        self._phase = _Phase.LISTENING
        self._timers_started = False
        self._input_seen = False  # in this round
        self._preroll: deque[Frame] = deque(maxlen=PREROLL_FRAMES)
        self._recognizer: Recognizer | None = None
        self._speech_frames = 0
        self._generation = 0  # bumped whenever an utterance ends or is dropped
        self._partial_busy = False
        self._last_partial: str | None = None
        self._held_digits: list[str] = []
        if start_input_timers:
            self.start_timers()

    # -- controls -------------------------------------------------------------------------

    def start_timers(self) -> None:
        """Start the initial timer now (once; no effect after input came)."""
        if self._timers_started:
            return
        self._timers_started = True
        if self._phase is _Phase.LISTENING and not self._input_seen:
            self._initial.arm()

    def stop(self) -> CollectState:
        """End collection without a result; returns the final state for the owner to report."""
        if self._phase is not _Phase.DONE:
            self._phase = _Phase.DONE
            self._generation += 1
            self._recognizer = None
            self.state = CollectState.FINISHED
        return self.state

    @property
    def active(self) -> bool:
        return self._phase is not _Phase.DONE

    # -- leg callbacks --------------------------------------------------------------------

    def on_frame(self, heard: Frame, said: Frame) -> None:
        if self._phase is _Phase.DONE:
            return
        self.frames += 1
        if self._phase is _Phase.LISTENING:
            self._listen(heard)
        elif self._phase is _Phase.DIGITS:
            if self._digit_timer.tick():
                self._digits_done(None)
        elif self._phase is _Phase.SPEECH:
            self._hear_speech(heard)

    def on_digit(self, digit: str) -> None:
        spec = self.digits_spec
        if spec is None or self._phase is _Phase.DONE:
            return
        if self._phase is _Phase.DECODING:
            if self.continuous:
                self._held_digits.append(digit)
            return
        if self._phase is _Phase.SPEECH:
            self._drop_utterance()
        if self._phase is _Phase.LISTENING:
            self._initial.disarm()
            self._first_input()
        self._phase = _Phase.DIGITS
        if digit in spec.terminators:
            self._digits_done(digit)
            return
        self.digits += digit
        if len(self.digits) >= spec.max:
            self._digits_done(None)
        else:
            self._digit_timer.arm()

    # -- phases ---------------------------------------------------------------------------

    def _listen(self, heard: Frame) -> None:
        if self._initial.tick():
            self._report(ResultType.NO_INPUT, {})
            return
        if self.speech_spec is None:
            return
        self._preroll.append(heard)
        if self.vad.feed(heard):
            self._start_speech()

    def _start_speech(self) -> None:
        spec = self.speech_spec
        assert spec is not None and self.engine is not None
        self._initial.disarm()
        try:
            recognizer = self.engine.recognizer(spec.language, spec.hints)
        except SpeechError as exc:
            self._fail(str(exc))
            return
        for frame in self._preroll:
            recognizer.feed(frame)
        self._preroll.clear()
        self._recognizer = recognizer
        self._phase = _Phase.SPEECH
        self._speech_frames = 0
        self._partial_busy = False
        self._speech_timer.arm()
        self._silence.disarm()
        self._first_input()

    def _hear_speech(self, heard: Frame) -> None:
        assert self._recognizer is not None
        self._recognizer.feed(heard)
        self.vad.feed(heard)
        self._speech_frames += 1
        if self._speech_timer.tick():
            self._end_utterance()
            return
        if self.vad.silent:
            if not self._silence.armed:
                self._silence.arm()
            if self._silence.tick():
                self._end_utterance()
                return
        else:
            self._silence.disarm()
        if self.partial_results and self._speech_frames % PARTIAL_EVERY == 0:
            self._request_partial()

    def _request_partial(self) -> None:
        if self._partial_busy or self._recognizer is None:
            return
        self._partial_busy = True
        generation = self._generation
        self.submit(self._recognizer.partial, lambda r: self._partial_done(generation, r))

    def _partial_done(self, generation: int, result: str | Exception | None) -> None:
        if generation != self._generation or self._phase is not _Phase.SPEECH:
            return
        self._partial_busy = False
        if isinstance(result, str) and result and result != self._last_partial:
            self._last_partial = result
            self._emit(CollectResult(ResultType.SPEECH, {"text": result}, False, self.state))

    def _end_utterance(self) -> None:
        recognizer = self._recognizer
        assert recognizer is not None
        self._recognizer = None
        self._phase = _Phase.DECODING
        self._generation += 1
        generation = self._generation
        self.submit(recognizer.finish, lambda r: self._decoded(generation, r))

    def _decoded(self, generation: int, result: Hypothesis | Exception) -> None:
        if generation != self._generation or self._phase is not _Phase.DECODING:
            return
        if isinstance(result, Exception):
            self._fail(f"speech recognition failed: {result}")
        elif result.text:
            params = {"text": result.text, "confidence": result.confidence}
            self._report(ResultType.SPEECH, params)
        else:
            self._report(ResultType.NO_MATCH, {})

    def _drop_utterance(self) -> None:
        self._generation += 1
        self._recognizer = None
        self._speech_timer.disarm()
        self._silence.disarm()
        self.vad.reset()

    def _digits_done(self, terminator: str | None) -> None:
        params: dict[str, Any] = {"digits": self.digits}
        if terminator is not None:
            params["terminator"] = terminator
        self._report(ResultType.DIGIT, params)

    def _first_input(self) -> None:
        if self._input_seen:
            return
        self._input_seen = True
        if self.on_input is not None:
            self.on_input()
        if self.send_start_of_input:
            self._emit(CollectResult(ResultType.START_OF_INPUT, {}, False, CollectState.COLLECTING))

    # -- results --------------------------------------------------------------------------

    def _report(self, kind: ResultType, params: dict[str, Any]) -> None:
        """A round's result: final; the collector ends, or in continuous mode goes on."""
        if self.continuous:
            self._emit(CollectResult(kind, params, True, CollectState.COLLECTING))
            self._next_round()
        else:
            self._phase = _Phase.DONE
            self.state = CollectState.FINISHED
            self._emit(CollectResult(kind, params, True, CollectState.FINISHED))

    def _fail(self, message: str) -> None:
        self._phase = _Phase.DONE
        self._generation += 1
        self._recognizer = None
        self.state = CollectState.ERROR
        self.error = message
        log.warning("collect %s failed: %s", self.control_id, message)
        self._emit(CollectResult(ResultType.ERROR, {}, True, CollectState.ERROR))

    def _next_round(self) -> None:
        if self._phase is _Phase.DONE:  # stopped from within on_result
            return
        self._phase = _Phase.LISTENING
        self.digits = ""
        self._input_seen = False
        self._last_partial = None
        self._initial.disarm()  # the initial timer belongs to the first round only
        self._digit_timer.disarm()
        self._drop_utterance()
        self._preroll.clear()
        held, self._held_digits = self._held_digits, []
        for digit in held:
            self.on_digit(digit)

    def _emit(self, result: CollectResult) -> None:
        if self.on_result is not None:
            self.on_result(result)
