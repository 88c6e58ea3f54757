"""The player component: plays a list of sample arrays into a leg, with the RELAY controls.

States: playing -> paused -> playing ... -> finished | error (reference §2.2). While paused
it contributes nothing (the leg sends silence); ``volume`` is a gain in dB, -40..+40;
``loop`` plays the whole list that many times (0 = until stopped). Changes of state are
reported through ``on_state(player)``; the player never blocks the media clock.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import numpy as np

from voxrelay.media.frames import FRAME, SILENCE, Frame, gain, scale


class PlayState(StrEnum):
    PLAYING = "playing"
    PAUSED = "paused"
    FINISHED = "finished"
    ERROR = "error"


class Player:
    """Frames of ``items`` (int16 8 kHz arrays) one 20 ms frame per tick."""

    def __init__(
        self,
        control_id: str,
        items: list[Frame],
        *,
        volume: float = 0.0,
        loop: int = 1,
        on_state: Callable[[Player], None] | None = None,
    ) -> None:
        self.control_id = control_id
        self.items = items
        self.loop = loop
        self.on_state = on_state
        self.state = PlayState.PLAYING
        self.frames_played = 0
        self._factor = gain(volume)
        self.volume = volume
        self._item = 0
        self._offset = 0
        self._rounds = 0

    def set_volume(self, db: float) -> None:
        """Set the gain in dB (clamped to -40..+40)."""
        self.volume = max(-40.0, min(40.0, db))
        self._factor = gain(self.volume)

    def pause(self) -> bool:
        return self._set(PlayState.PAUSED) if self.state is PlayState.PLAYING else False

    def resume(self) -> bool:
        return self._set(PlayState.PLAYING) if self.state is PlayState.PAUSED else False

    def stop(self) -> bool:
        """End now with ``finished`` (a stop is a normal end). False if already ended."""
        return self._set(PlayState.FINISHED) if self.active else False

    def fail(self) -> bool:
        return self._set(PlayState.ERROR) if self.active else False

    @property
    def active(self) -> bool:
        return self.state in (PlayState.PLAYING, PlayState.PAUSED)

    @property
    def factor(self) -> float:
        """The amplitude factor of ``volume`` (1.0 at 0 dB), applied by ``next_frame``."""
        return self._factor

    def next_frame(self) -> Frame | None:
        """The next frame to send, an empty contribution while paused, None once ended."""
        frame = self.next_raw()
        if frame is None or frame is SILENCE:
            return frame
        return scale(frame, self._factor)

    def next_raw(self) -> Frame | None:
        """``next_frame`` before the volume gain: the media tick scales many legs at once."""
        if self.state is PlayState.PAUSED:
            return SILENCE
        if self.state is not PlayState.PLAYING:
            return None
        frame = self._take()
        if frame is None:
            self._set(PlayState.FINISHED)
            return None
        self.frames_played += 1
        return frame

    def _take(self) -> Frame | None:
        while True:
            if self._item >= len(self.items):
                self._rounds += 1
                if (self.loop and self._rounds >= self.loop) or not self.items:
                    return None
                self._item = self._offset = 0
            samples = self.items[self._item]
            if self._offset < len(samples):
                frame = samples[self._offset : self._offset + FRAME]
                self._offset += FRAME
                if len(frame) < FRAME:
                    frame = _pad(frame)
                return frame
            self._item += 1
            self._offset = 0

    def _set(self, state: PlayState) -> bool:
        self.state = state
        if self.on_state is not None:
            self.on_state(self)
        return True


def _pad(frame: Frame) -> Frame:
    out = np.zeros(FRAME, dtype=np.int16)
    out[: len(frame)] = frame
    return out
