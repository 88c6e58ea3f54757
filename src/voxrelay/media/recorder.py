"""The recorder component: records what a leg hears and/or says to a WAV or MP3 file.

RELAY ``calling.record`` (reference §2.4, record object §3.3), without any RELAY in it.

Directions, from the caller's point of view (the far end of the leg):

- ``speak``: what the caller says, the leg's ``heard`` frame (what the far end sends us);
- ``listen``: what the caller hears, the leg's ``said`` frame (what we send);
- ``both``: the two mixed into one channel, or with ``stereo=True`` speak on the left channel
  and listen on the right. A stereo file always has that layout; with a single direction the
  other channel is silent.

States: recording -> paused -> recording ... -> finished | no_input (``RecordState``).
``pause("skip")`` leaves the paused time out of the file, ``pause("silence")`` writes silence
for it. Recording ends with ``finished`` on ``stop()``, a terminator key, ``max_length`` or
``end_silence_timeout`` after speech, and with ``no_input`` when no speech came within
``initial_timeout``. Either way the file is written: what was captured is never thrown away.

Timers count 20 ms frames, never wall time: ``initial_timeout=4.0`` is 200 frames of
recording. Paused frames are not analysed and do not advance ``initial_timeout`` or
``end_silence_timeout``; frames of silence written while paused do count towards
``max_length``, which limits the length of the file.

Speech detection is by energy: a frame is voiced when the recorded signal (for ``both``, either
side) is at or above ``speech_threshold_dbfs`` (-45 dBFS; speech is typically -30..-10 dBFS, a
quiet phone line below -60). Speech starts after ``SPEECH_ONSET_FRAMES`` (2, 40 ms) voiced
frames in a row, so a lone click is not speech; once speech has started, any voiced frame
restarts the end-silence count, which bridges the short pauses between words.

Memory: the media tick stages each frame (``media.capture``, 1 s per recorder, in a row of
a ``Recordings`` bank: one of its own until the recorder is added to a leg, then that of the
leg's media engine) and moves
the stage into blocks of 10 s (160 KB per channel, allocated as they fill): 320 bytes per
20 ms and channel, 57.6 MB per mono hour. A recording stops (``finished``) at ``max_length``
or at the hard cap ``MAX_SECONDS`` (4 hours, 230 MB mono, 460 MB stereo), whichever comes
first. Audio in memory is lost if the process dies before finalisation.

Finalisation writes the file atomically: to a hidden temporary name in the same directory,
fsync, ``os.replace`` onto ``path``, fsync the directory; ``path`` never holds a partial file,
and a failed write leaves any earlier file there untouched. On a terminal state the recorder
finalises itself (in a worker thread via ``asyncio.to_thread`` when an event loop runs, since
MP3 encoding is slow; synchronously otherwise) and then reports the terminal state through
``on_state(recorder)``, with ``duration``, ``size`` and ``path`` set, or ``error`` set when the
write failed (the audio stays in memory; ``finalize()`` may be called again). The owner calls
``close()`` or ``await aclose()`` when the call ends. Non-terminal changes (paused, recording
again after resume) are reported at once.

Formats: ``wav`` is 16-bit PCM, 8 kHz; ``mp3`` is MPEG-2.5 layer III at 8 kHz written by
libsndfile (>= 1.1) through LAME, with a gapless header so it reads back at its exact length.
An empty MP3 cannot be written, so an MP3 with nothing captured holds one frame of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import soundfile

from voxrelay.media.capture import CaptureBank
from voxrelay.media.frames import (
    FRAME,
    FRAME_SECONDS,
    RATE,
    SILENCE,
    Frame,
    chunk,
    frames_of,
    rows_dbfs,
)
from voxrelay.media.soa import RowView, Table
from voxrelay.media.sources import tone

log = logging.getLogger(__name__)

MAX_SECONDS = 4 * 3600
"""Hard cap on one recording's length, whatever ``max_length`` says (memory bound)."""
SPEECH_THRESHOLD_DBFS = -45.0
BEEP_HZ = 1000.0
BEEP_SECONDS = 0.25
BEEP_DBFS = -12.0
TERMINATOR_KEYS = frozenset("0123456789*#ABCD")
FORMATS = MappingProxyType({"wav": ("WAV", "PCM_16"), "mp3": ("MP3", "MPEG_LAYER_III")})
DIRECTIONS = ("speak", "listen", "both")
PAUSE_BEHAVIORS = ("skip", "silence")
_WRITE_BLOCK = 500  # frames per block (10 s), so writing never copies the whole recording
Frames = npt.NDArray[np.int16]  # (k, 160): one frame per row


class RecordState(StrEnum):
    """RELAY record states (reference §2.4); ``finished`` and ``no_input`` are terminal."""

    RECORDING = "recording"
    PAUSED = "paused"
    FINISHED = "finished"
    NO_INPUT = "no_input"


class RecordError(Exception):
    """The recording cannot be written: missing or unwritable directory, disk full, encoder."""


def beep() -> Frame:
    """The record beep: 1000 Hz for 250 ms, peak -12 dBFS (-15 dBFS RMS), 5 ms fades (int16 8 kHz)."""
    samples = tone((BEEP_HZ,), BEEP_SECONDS, level_dbfs=BEEP_DBFS).astype(np.float32)
    ramp = np.linspace(0.0, 1.0, int(0.005 * RATE), dtype=np.float32)
    samples[: len(ramp)] *= ramp
    samples[-len(ramp) :] *= ramp[::-1]
    out: Frame = samples.astype(np.int16)
    return out


class Recorder:
    """Records a leg to ``path`` (see module docstring). A Listener and a DigitListener.

    ``path`` is the final file name; its directory must exist and be writable (RecordError
    otherwise). ``format`` is ``wav`` or ``mp3``; ``direction`` ``speak``, ``listen`` or
    ``both``; timeouts and ``max_length`` are seconds (0 disables them); ``terminators`` are
    DTMF keys (0-9 * # A-D) that end the recording. ``beep`` only records the wish: the owner
    plays ``beep_frames()`` through a Player before attaching the recorder.
    ``speech_threshold_dbfs`` is the voiced/unvoiced level (where a server can map RELAY's
    ``input_sensitivity``). Bad arguments raise ValueError.
    """

    def __init__(
        self,
        control_id: str,
        path: str | os.PathLike[str],
        *,
        format: str = "wav",
        stereo: bool = False,
        direction: str = "speak",
        beep: bool = False,
        initial_timeout: float = 4.0,
        end_silence_timeout: float = 1.0,
        terminators: str = "#",
        max_length: float = 0.0,
        speech_threshold_dbfs: float = SPEECH_THRESHOLD_DBFS,
        on_state: Callable[[Recorder], None] | None = None,
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        for name, value in (
            ("initial_timeout", initial_timeout),
            ("end_silence_timeout", end_silence_timeout),
            ("max_length", max_length),
        ):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0 seconds, not {value!r}")
        keys = terminators.upper()
        bad = set(keys) - TERMINATOR_KEYS
        if bad:
            raise ValueError(f"invalid terminator {sorted(bad)[0]!r}: use 0-9 * # A-D")
        self.control_id = control_id
        self.path = Path(path)
        folder = self.path.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise RecordError(f"cannot write recordings to {str(folder)!r}")
        self.format = format
        self.stereo = stereo
        self.direction = direction
        self.beep = beep
        self.terminators = keys
        self.speech_threshold_dbfs = speech_threshold_dbfs
        self.on_state = on_state
        self.state = RecordState.RECORDING
        self.pause_behavior = "skip"
        self.size = 0
        self.finalized = False
        self.error: str | None = None
        self.initial_frames = frames_of(initial_timeout)
        self.end_silence_frames = frames_of(end_silence_timeout)
        cap = frames_of(MAX_SECONDS)
        self.max_frames = min(frames_of(max_length), cap) if max_length else cap
        # per-tick counters and staged frames, freed with the recorder
        self._at: RowView[Recordings] = RowView(Recordings(rows=1))
        weakref.finalize(self, self._at.free)
        bank, row = self._at.bank, self._at.row
        bank.threshold[row] = speech_threshold_dbfs
        bank.initial[row] = self.initial_frames
        bank.end[row] = self.end_silence_frames
        bank.limit[row] = self.max_frames
        self._extra_frames = 0  # the frame of silence an empty MP3 needs
        self._left: list[Frame] = []  # full 10 s blocks (500, 160): mono, or speak in stereo
        self._right: list[Frame] = []  # full 10 s blocks: listen in stereo
        self._block = _new_block(stereo)  # the block being filled, (500, 160) or (2, 500, 160)
        self._filled = 0  # frames in self._block
        hears, says = direction != "listen", direction != "speak"
        self._wants = (hears, says and not stereo, says and stereo)  # heard/said into left/right
        self._lock = threading.Lock()
        self._reported = False
        self._task: asyncio.Task[None] | None = None

    def move_to(self, banks: HasRecordings) -> None:
        """Carry this recorder's row into ``banks.recordings`` (its leg joined an engine)."""
        self._at.move_to(banks.recordings)

    # -- public controls ------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while recording or paused."""
        return self.state in (RecordState.RECORDING, RecordState.PAUSED)

    @property
    def frames_recorded(self) -> int:
        """20 ms frames in the recording so far."""
        return int(self._at.bank.recorded[self._at.row]) + self._extra_frames

    @property
    def speech_detected(self) -> bool:
        return bool(self._at.bank.speech[self._at.row])

    @property
    def duration(self) -> float:
        """Seconds of audio in the file (so far, before finalisation)."""
        return self.frames_recorded * FRAME_SECONDS

    def beep_frames(self) -> list[Frame]:
        """The beep as 20 ms frames for a Player when ``beep`` is set, else an empty list."""
        return chunk(beep()) if self.beep else []

    def pause(self, behavior: str | None = "skip") -> bool:
        """Pause; ``skip`` (default, also for None) omits the paused time, ``silence`` records
        silence for it. False unless recording. ValueError for another behavior."""
        behavior = behavior or "skip"
        if behavior not in PAUSE_BEHAVIORS:
            raise ValueError(f"pause behavior must be skip or silence, not {behavior!r}")
        if self.state is not RecordState.RECORDING:
            return False
        self.pause_behavior = behavior
        self._set(RecordState.PAUSED)
        return True

    def resume(self) -> bool:
        """Record again after ``pause``. False unless paused."""
        if self.state is not RecordState.PAUSED:
            return False
        self._set(RecordState.RECORDING)
        return True

    def stop(self) -> bool:
        """End with ``finished`` and write the file. False if already ended."""
        if not self.active:
            return False
        self._end(RecordState.FINISHED)
        return True

    # -- from the leg, each tick ----------------------------------------------------------

    def on_frame(self, heard: Frame, said: Frame) -> None:
        """One 20 ms tick: ``heard`` is what the caller says, ``said`` what the caller hears
        (int16 arrays of 160 samples; copied, so the caller may reuse them)."""
        Recorder.on_frames([self], np.stack([heard]), np.stack([said]))

    @staticmethod
    def on_frames(recorders: list[Recorder], heard: Frames, said: Frames) -> None:
        """One tick for many recorders at once (the media tick's batch listener interface):
        row i of ``heard`` and ``said``, (k, 160) int16 matrices (copied, not kept), is
        recorder i's frame. Mixing and the speech level are computed for all rows together."""
        bank = recorders[0]._at.bank
        plan = bank.plan_for(recorders)
        for recorder in plan.paused:
            recorder._paused_tick()
        if not len(plan.live):
            return
        if len(plan.live) != len(recorders):
            recorders = plan.recorders
            heard, said = heard[plan.live], said[plan.live]
        wants, rows, stereo = plan.wants, plan.rows, plan.stereo
        if plan.mixed:  # every recorder mixes both directions into one channel
            wide = np.add(heard, said, dtype=np.int32)
        else:  # int32: no overflow before the clip
            wide = heard * wants[:, 0:1] + said * wants[:, 1:2]
        left = np.clip(wide, -32768, 32767, out=wide).astype(np.int16)
        dbfs = rows_dbfs(left)
        if not stereo.any():
            _stage(bank, recorders, rows, left)
        else:  # stereo: listen on the right channel, the level is the louder channel's
            right = (said[stereo] * wants[stereo, 2:3]).astype(np.int16)
            dbfs[stereo] = np.maximum(dbfs[stereo], rows_dbfs(right))
            for part, channel in ((stereo, right), (~stereo, None)):
                if part.any():
                    chosen = [recorders[j] for j in np.flatnonzero(part).tolist()]
                    _stage(bank, chosen, rows[part], left[part], channel)
        no_input, finished = bank.analyse(rows, dbfs)
        for j in no_input.tolist():
            recorders[j]._end(RecordState.NO_INPUT)
        for j in finished.tolist():
            recorders[j]._end(RecordState.FINISHED)
        for j in np.flatnonzero(bank.recorded[rows] >= bank.limit[rows]).tolist():
            if recorders[j].state is RecordState.RECORDING:
                recorders[j]._end(RecordState.FINISHED)

    def _paused_tick(self) -> None:
        if self.pause_behavior == "silence":
            right = SILENCE[None] if self.stereo else None
            _stage(self._at.bank, [self], np.array([self._at.row]), SILENCE[None], right)
            if self.frames_recorded >= self.max_frames:
                self._end(RecordState.FINISHED)

    def on_digit(self, digit: str) -> None:
        """A key from the far end: a terminator ends the recording with ``finished``."""
        if self.active and digit.upper() in self.terminators:
            self._end(RecordState.FINISHED)

    # -- finalisation ---------------------------------------------------------------------

    def finalize(self) -> None:
        """Write the file now (blocking), ending the recording first if still active.

        Sets ``size`` (bytes), ``duration`` (seconds) and ``finalized``; harmless when already
        done. Raises RecordError if the file cannot be written (audio kept for a retry).
        """
        if self.active:
            self._terminate(RecordState.FINISHED)
        try:
            self._write()
        finally:
            self._report()

    async def finalize_async(self) -> None:
        """``finalize()`` with the writing (MP3 encoding) in a worker thread."""
        if self.active:
            self._terminate(RecordState.FINISHED)
        try:
            if self._task is not None and self._task is not asyncio.current_task():
                await asyncio.shield(self._task)
            await asyncio.to_thread(self._write)
        finally:
            self._report()

    def close(self) -> None:
        """The call ended: stop if still recording and make sure the file is written."""
        self.finalize()

    async def aclose(self) -> None:
        """``close()`` for async owners: the writing happens off the event loop."""
        await self.finalize_async()

    # -- internals ------------------------------------------------------------------------

    def _unstage(self) -> None:
        """Move the staged frames into the 10 s blocks (so nothing of the caller's is kept);
        a full block joins the list and a fresh one is allocated."""
        left, right = self._at.bank.take(self._at.row, self.stereo)
        done = 0
        while done < len(left):
            count = min(len(left) - done, _WRITE_BLOCK - self._filled)
            at = slice(self._filled, self._filled + count)
            if right is None:
                self._block[at] = left[done : done + count]
            else:
                self._block[0, at] = left[done : done + count]
                self._block[1, at] = right[done : done + count]
            self._filled += count
            done += count
            if self._filled == _WRITE_BLOCK:
                if self.stereo:
                    self._left.append(self._block[0])
                    self._right.append(self._block[1])
                else:
                    self._left.append(self._block)
                self._block = _new_block(self.stereo)
                self._filled = 0

    def _set(self, state: RecordState) -> None:
        self.state = state
        self._at.bank.version += 1
        if self.on_state is not None:
            self.on_state(self)

    def _terminate(self, state: RecordState) -> None:
        """Stop capturing; the terminal state is reported once the file is written."""
        self.state = state
        self._at.bank.version += 1
        self._unstage()

    def _end(self, state: RecordState) -> None:
        self._terminate(state)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            with contextlib.suppress(RecordError):  # logged and kept in self.error
                self.finalize()
            return
        self._task = loop.create_task(self._finalize_in_background(), name=f"record {self.path}")

    async def _finalize_in_background(self) -> None:
        with contextlib.suppress(RecordError):  # logged and kept in self.error
            await self.finalize_async()

    def _report(self) -> None:
        if not self._reported and not self.active:
            self._reported = True
            if self.on_state is not None:
                self.on_state(self)

    def _write(self) -> None:
        with self._lock:
            if self.finalized:
                return
            try:
                self.size = _write_atomically(self.path, self.format, self._blocks())
            except Exception as exc:
                self.error = f"cannot write {self.path.name}: {exc}"
                log.error("recording %s: %s", self.control_id, self.error)
                raise RecordError(self.error) from exc
            self.error = None
            self.finalized = True
            if self.frames_recorded == 0 and self.format == "mp3":
                self._extra_frames = 1  # the one frame of silence an MP3 needs
            self._left, self._right, self._filled = [], [], 0

    def _blocks(self) -> list[Frame]:
        """The captured audio as arrays of up to 10 s: (n,) mono or (n, 2) stereo int16."""
        tail = self._block[..., : self._filled, :]
        left = [b.reshape(-1) for b in self._left]
        right = [b.reshape(-1) for b in self._right]
        if self._filled:
            left.append((tail[0] if self.stereo else tail).reshape(-1))
            if self.stereo:
                right.append(tail[1].reshape(-1))
        if not left and self.format == "mp3":
            left = [SILENCE]
            right = [SILENCE] if self.stereo else []
        blocks = (
            [np.stack([lb, rb], 1) for lb, rb in zip(left, right, strict=True)]
            if self.stereo
            else left
        )
        if not blocks:
            blocks.append(np.zeros((0, 2) if self.stereo else 0, dtype=np.int16))
        return blocks


def _write_atomically(path: Path, fmt: str, blocks: list[Frame]) -> int:
    """Write ``blocks`` to a temporary file beside ``path``, fsync, rename; return the size."""
    container, subtype = FORMATS[fmt]
    channels = 2 if blocks[0].ndim == 2 else 1
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(temp, "xb") as handle:
            with soundfile.SoundFile(
                handle, "w", RATE, channels, subtype, format=container
            ) as sound:
                for block in blocks:
                    sound.write(block)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path.stat().st_size


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the file itself is already synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class HasRecordings(Protocol):
    """Where recorders' rows go when they join a leg's engine (``media.banks.Banks``)."""

    recordings: Recordings


@dataclass(slots=True)
class _Plan:
    """For a list of recorders the media tick hands over again and again: who records, who
    is paused, and the recording ones' bank rows, channel wishes and layout."""

    given: list[Recorder]
    version: int
    live: list[int]
    paused: list[Recorder]
    recorders: list[Recorder]
    rows: Any
    wants: Any
    stereo: Any
    mixed: bool  # every recorder records both directions into one channel


class Recordings(CaptureBank):
    """The capture rows of recorders ticked together, with the plan the tick keeps for the
    list of them it hands over again and again; ``version`` counts recorder state changes
    (and rows moving in or out), which make that plan stale."""

    def __init__(self, rows: int = 16) -> None:
        super().__init__(rows)
        self.version = 0
        self._plans: list[_Plan] = []

    def move(self, row: int, into: Table) -> int:
        assert isinstance(into, Recordings)
        self.version += 1
        into.version += 1
        return super().move(row, into)

    def plan_for(self, recorders: list[Recorder]) -> _Plan:
        """The plan for ``recorders`` (all with rows here, else ValueError), kept while the
        same list comes back and no recorder changed state."""
        for plan in self._plans:
            if plan.given is recorders and plan.version == self.version:
                return plan
        if any(r._at.bank is not self for r in recorders):
            raise ValueError("recorders ticked together must be in one media engine")
        live = [i for i, r in enumerate(recorders) if r.state is RecordState.RECORDING]
        chosen = [recorders[i] for i in live]
        wants = np.array([r._wants for r in chosen], dtype=np.int32).reshape(-1, 3)
        plan = _Plan(
            recorders,
            self.version,
            live,
            [r for r in recorders if r.state is RecordState.PAUSED],
            chosen,
            np.array([r._at.row for r in chosen], dtype=np.int64),
            wants,
            np.array([r.stereo for r in chosen], dtype=np.bool_),
            bool((wants == (1, 1, 0)).all()),
        )
        self._plans = [p for p in self._plans[-3:] if p.given is not recorders] + [plan]
        return plan


def _stage(
    bank: Recordings,
    recorders: list[Recorder],
    rows: Any,
    left: Frames,
    right: Frames | None = None,
) -> None:
    """Stage one frame for each row of ``bank`` (``recorders[k]``'s is ``rows[k]``);
    recorders whose stage filled move it into blocks."""
    for k in bank.capture(rows, left, right).tolist():
        recorders[k]._unstage()


def _new_block(stereo: bool) -> Frames:
    """Room for 10 s of frames: (500, 160) int16, or (2, 500, 160) for two channels."""
    return np.empty((2, _WRITE_BLOCK, FRAME) if stereo else (_WRITE_BLOCK, FRAME), np.int16)
