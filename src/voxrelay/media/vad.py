"""Voice activity by frame energy, with hysteresis.

A 20 ms frame is *loud* when its RMS level is at least ``start_dbfs`` (default -40 dBFS), and
*quiet* when below ``stop_dbfs`` (default -45 dBFS). Speech starts after ``onset_frames``
(default 3, i.e. 60 ms) loud frames in a row, so clicks and single pops do not start it. Once
speaking, a frame counts as silent only when quiet: levels between the two thresholds (word
tails, soft consonants) keep the speech going. How long silence must last to end an utterance
(the hangover) is not the VAD's business: the collector counts silent frames against
``end_silence_timeout``.

The thresholds suit telephone speech (typically -30..-15 dBFS) over a line whose noise sits
below -50 dBFS; espeak-ng prompts peak at -25..-12 dBFS and their word gaps dip to -46 dBFS.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxrelay.media.frames import Frame, rms_dbfs


@dataclass(frozen=True, slots=True)
class VadConfig:
    start_dbfs: float = -40.0
    stop_dbfs: float = -45.0
    onset_frames: int = 3


class Vad:
    """``feed(frame)`` returns True on the frame where speech starts; ``silent`` is the last frame's
    verdict while speaking. ``reset()`` before listening for the next utterance."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        self.speaking = False
        self.silent = True
        self._loud_run = 0

    def reset(self) -> None:
        self.speaking = False
        self.silent = True
        self._loud_run = 0

    def feed(self, frame: Frame) -> bool:
        level = rms_dbfs(frame)
        if self.speaking:
            self.silent = level < self.config.stop_dbfs
            return False
        self._loud_run = self._loud_run + 1 if level >= self.config.start_dbfs else 0
        if self._loud_run >= self.config.onset_frames:
            self.speaking = True
            self.silent = False
            return True
        return False
