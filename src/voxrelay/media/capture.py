"""What every recorder captures each tick, as numpy columns (``media.soa``), so one media
tick stages the frames and analyses the speech of all recorders at once.

A ``CaptureBank`` row belongs to one ``Recorder``. Each tick ``capture`` copies the row's
frame (one channel, or two for stereo) into the row's staging area, of ``STAGE`` frames
(1 s); the recorder moves a full stage into its 10 s blocks (``take``). Each row's stage
counts as full after its own number of frames (STAGE/2..STAGE), so recorders started on
the same tick spread that work over many ticks. ``analyse`` runs
the recorder's speech detection for all rows: a frame is voiced at or above the row's
threshold (dBFS); ``SPEECH_ONSET_FRAMES`` voiced frames in a row start speech; before
speech, ``initial`` frames analysed end the recording with no input; after it, ``end``
unvoiced frames in a row finish it. Counts are frames of 20 ms; 0 disables a timer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxrelay.media.frames import FRAME
from voxrelay.media.soa import Column, Ints, Table

STAGE = 50
"""Frames staged per recorder before they move into its blocks (1 s, 16 KB a channel)."""
SPEECH_ONSET_FRAMES = 2
Frames = np.ndarray[Any, np.dtype[np.int16]]


class CaptureBank(Table):
    """See module docstring."""

    def __init__(self, rows: int = 16) -> None:
        i64 = np.int64
        columns = {
            "staged": Column(i64),  # frames in the stage
            "flush_at": Column(i64, STAGE),  # how many frames it takes before it moves on
            "recorded": Column(i64),  # frames captured in all (the file's length)
            "analysed": Column(i64),
            "voiced_run": Column(i64),
            "silent_run": Column(i64),
            "speech": Column(np.bool_, False),
            "threshold": Column(np.float64, -45.0),  # dBFS
            "initial": Column(i64),  # frames without speech before no_input (0: never)
            "end": Column(i64),  # unvoiced frames after speech before finished (0: never)
            "limit": Column(i64),  # frames at most
            "left": Column(np.int16, 0, (STAGE, FRAME)),
            "right": Column(np.int16, 0, (STAGE, FRAME)),
        }
        self._rng = np.random.default_rng()
        super().__init__(columns, rows)

    def capture(self, rows: Ints, left: Frames, right: Frames | None = None) -> Ints:
        """Stage one frame per row (``right`` only for stereo rows, aligned with ``left``);
        returns the positions in ``rows`` of those whose stage is now full (to ``take``)."""
        at = self.staged[rows]
        self.left[rows, at] = left
        if right is not None:
            self.right[rows, at] = right
        self.staged[rows] = at + 1
        self.recorded[rows] += 1
        full: Ints = np.flatnonzero(at + 1 >= self.flush_at[rows])
        return full

    def add(self) -> int:
        """A fresh row; rows move their stage on after STAGE/2..STAGE frames, at random, so
        recorders started together do not all copy their stage on the same tick."""
        row = super().add()
        self.flush_at[row] = self._rng.integers(STAGE // 2, STAGE + 1)
        return row

    def take(self, row: int, stereo: bool) -> tuple[Frames, Frames | None]:
        """Empty the row's stage: its frames (n, 160) per channel, as views of the stage
        (copy them before the row's next ``capture``)."""
        count = int(self.staged[row])
        self.staged[row] = 0
        return self.left[row, :count], (self.right[row, :count] if stereo else None)

    def analyse(self, rows: Ints, dbfs: np.ndarray[Any, Any]) -> tuple[Ints, Ints]:
        """Speech detection on one level per row; returns the positions (in ``rows``) that
        end with no input, and those that finish after speech and end silence."""
        self.analysed[rows] += 1
        voiced = dbfs >= self.threshold[rows]
        run = np.where(voiced, self.voiced_run[rows] + 1, 0)
        self.voiced_run[rows] = run
        speech = self.speech[rows] | (run >= SPEECH_ONSET_FRAMES)
        self.speech[rows] = speech
        initial = self.initial[rows]
        no_input = ~speech & (initial > 0) & (self.analysed[rows] >= initial)
        silent = self.silent_run[rows]
        silent = np.where(speech, np.where(voiced, 0, silent + 1), silent)
        self.silent_run[rows] = silent
        end = self.end[rows]
        finished = speech & (end > 0) & (silent >= end)
        return np.flatnonzero(no_input), np.flatnonzero(finished)
