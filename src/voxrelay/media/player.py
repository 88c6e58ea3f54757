"""The player component: plays a list of sample arrays into a leg, with the RELAY controls.

States: playing -> paused -> playing ... -> finished | error (reference §2.2). While paused
it contributes nothing (the leg sends silence); ``volume`` is a gain in dB, -40..+40;
``loop`` plays the whole list that many times (0 = until stopped). Changes of state are
reported through ``on_state(player)``; the player never blocks the media clock.

Where each player is in its audio lives in a ``PlayerBank`` row (numpy columns; a bank of
its own until the player is added to a leg, then the bank of the leg's media engine), so
the media tick takes the next frame of every player at once (``PlayerBank.next_frames``):
players reading the same array (a prompt many calls play) are gathered with one indexing
operation. Only a player reaching the end of an item goes
through Python (``Player._boundary``): next item, next round, or the end.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from voxrelay.media.frames import FRAME, SILENCE, Frame, gain, scale
from voxrelay.media.soa import Column, Ints, RowView, Table

Frames = np.ndarray[Any, np.dtype[np.int16]]
PLAYED, SILENT, ENDED = 0, 1, 2
"""What ``next_frames`` says of each player: a frame, nothing this tick (paused), ended."""


class PlayState(StrEnum):
    PLAYING = "playing"
    PAUSED = "paused"
    FINISHED = "finished"
    ERROR = "error"


class PlayerBank(Table):
    """Every player's position: the array it reads (an index into ``sources``), the offset
    and length there, its gain factor and state. See module docstring."""

    def __init__(self, rows: int = 16) -> None:
        i64 = np.int64
        columns = {
            "playing": Column(np.bool_, True),
            "paused": Column(np.bool_, False),
            "source": Column(i64, -1),
            "start": Column(i64),  # where the current item starts in its source
            "offset": Column(i64),
            "length": Column(i64),
            "factor": Column(np.float64, 1.0),
            "frames_played": Column(i64),
        }
        super().__init__(columns, rows)
        self.sources: list[Frame | None] = []  # the arrays players read, by index
        self.windows: list[Frames | None] = []  # each source's 160-sample windows (a view)
        self._index: dict[int, int] = {}  # id(array) -> index in sources
        self._users: list[int] = []  # players reading each source
        self._spare: list[int] = []

    def read(self, row: int, samples: Frame | None) -> None:
        """Row ``row`` reads ``samples`` from its start (None: nothing). A slice of a longer
        array reads that array, from where the slice starts to where it ends, so players of
        different parts of one prompt are still gathered together."""
        self._release(int(self.source[row]))
        if samples is None:
            self.source[row] = -1
            self.start[row] = self.offset[row] = self.length[row] = 0
            return
        whole, start = _whole(samples)
        index = self._register(whole)
        self._users[index] += 1
        self.source[row], self.start[row], self.offset[row] = index, start, start
        self.length[row] = start + len(samples)

    def _frames(self, index: int, offsets: Ints) -> Frames:
        """The frames of source ``index`` starting at ``offsets``: (k, 160) int16, one row
        copy each from the source's frame windows (no index matrix)."""
        windows = self.windows[index]
        assert windows is not None
        frames: Frames = windows[offsets]
        return frames

    def _register(self, samples: Frame) -> int:
        index = self._index.get(id(samples))
        if index is None:
            index = self._spare.pop() if self._spare else len(self.sources)
            windows = _windows(samples)
            if index == len(self.sources):
                self.sources.append(samples)
                self.windows.append(windows)
                self._users.append(0)
            else:
                self.sources[index], self.windows[index] = samples, windows
            self._index[id(samples)] = index
        return index

    def move(self, row: int, into: Table) -> int:
        """``Table.move``, with the array the row reads registered in ``into``."""
        assert isinstance(into, PlayerBank)
        index = int(self.source[row])
        samples = self.sources[index] if index >= 0 else None
        new = super().move(row, into)
        into.source[new] = -1
        if samples is not None:
            index = into._register(samples)
            into._users[index] += 1
            into.source[new] = index
        return new

    def remove(self, row: int) -> None:
        self._release(int(self.source[row]))
        self.source[row] = -1
        super().remove(row)

    def _release(self, index: int) -> None:
        if index < 0:
            return
        self._users[index] -= 1
        if not self._users[index]:
            samples = self.sources[index]
            del self._index[id(samples)]
            self.sources[index] = self.windows[index] = None
            self._spare.append(index)

    def next_frames(self, players: list[Player], rows: Ints, spare: int = 0) -> tuple[Frames, Ints]:
        """The next frame of each player (``rows`` are their rows) before its gain:
        ``(frames (k + spare, 160) int16, status)``, status PLAYED, SILENT (paused: the row
        is zeros) or ENDED (the player has just finished, or had); the ``spare`` rows after
        the players' are zeros."""
        count = len(rows)
        status = np.where(self.paused[rows], SILENT, ENDED)
        playing = self.playing[rows]
        offset = self.offset[rows]
        inside = playing & (offset + FRAME <= self.length[rows])
        sources = self.source[rows]
        if count and inside.all() and sources.min() == sources.max():
            # the usual case: one prompt; the spare rows are read from it, then cleared
            frames = self._frames(int(sources[0]), np.r_[offset, np.zeros(spare, np.int64)])
            frames[count:] = 0
        else:
            frames = np.zeros((count + spare, FRAME), dtype=np.int16)
            for index in np.unique(sources[inside]).tolist():
                mine = np.flatnonzero(inside & (sources == index))
                frames[mine] = self._frames(index, offset[mine])
        if inside.any():
            where = np.flatnonzero(inside)
            self.offset[rows[where]] += FRAME
            self.frames_played[rows[where]] += 1
            status[where] = PLAYED
        for k in np.flatnonzero(playing & ~inside).tolist():  # the end of an item
            frame = players[k]._boundary()
            if frame is None:
                players[k]._set(PlayState.FINISHED)
            else:
                frames[k] = frame
                self.frames_played[rows[k]] += 1
                status[k] = PLAYED
        return frames, status


class HasPlayers(Protocol):
    """Where players' rows go when they join a leg's engine (``media.banks.Banks``)."""

    players: PlayerBank


class Player:
    """Frames of ``items`` (int16 8 kHz arrays) one 20 ms frame per tick; its position is a
    row of ``bank`` (by default a bank of its own; ``move_to`` carries it elsewhere)."""

    def __init__(
        self,
        control_id: str,
        items: list[Frame],
        *,
        volume: float = 0.0,
        loop: int = 1,
        on_state: Callable[[Player], None] | None = None,
        bank: PlayerBank | None = None,
    ) -> None:
        self.control_id = control_id
        self.loop = loop
        self.on_state = on_state
        self.state = PlayState.PLAYING
        self._at = RowView(bank or PlayerBank(rows=1))
        weakref.finalize(self, self._at.free)
        self.volume = 0.0
        self.set_volume(volume)
        self.items = items
        self._rounds = 0

    @property
    def row(self) -> int:
        return self._at.row

    def move_to(self, banks: HasPlayers) -> None:
        """Carry this player's row into ``banks.players`` (its leg joined an engine)."""
        self._at.move_to(banks.players)

    @property
    def items(self) -> list[Frame]:
        return self._items

    @items.setter
    def items(self, items: list[Frame]) -> None:
        """Play ``items`` from the start of the first."""
        self._items = items
        self._item = 0
        self._at.bank.read(self.row, items[0] if items else None)

    @property
    def frames_played(self) -> int:
        return int(self._at.bank.frames_played[self.row])

    def set_volume(self, db: float) -> None:
        """Set the gain in dB (clamped to -40..+40)."""
        self.volume = max(-40.0, min(40.0, db))
        self._at.bank.factor[self.row] = gain(self.volume)

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
        return float(self._at.bank.factor[self.row])

    def next_frame(self) -> Frame | None:
        """The next frame to send, an empty contribution while paused, None once ended."""
        frame = self.next_raw()
        if frame is None or frame is SILENCE:
            return frame
        return scale(frame, self.factor)

    def next_raw(self) -> Frame | None:
        """``next_frame`` before the volume gain (SILENCE while paused, None once ended)."""
        frames, status = self._at.bank.next_frames([self], np.array([self.row]))
        if status[0] == PLAYED:
            out: Frame = frames[0]
            return out
        return SILENCE if status[0] == SILENT else None

    def _boundary(self) -> Frame | None:
        """Less than a frame is left of the current item: the rest of it (padded), else the
        next item's first frame, the next round's; None when the play is over."""
        row, bank = self.row, self._at.bank
        while True:
            if self._item >= len(self._items):
                self._rounds += 1
                if (self.loop and self._rounds >= self.loop) or not self._items:
                    return None
                self._item = 0
                bank.read(row, self._items[0])
            samples = self._items[self._item]
            offset = int(bank.offset[row] - bank.start[row])  # into the item
            if offset < len(samples):
                frame = samples[offset : offset + FRAME]
                bank.offset[row] += FRAME
                return frame if len(frame) == FRAME else _pad(frame)
            self._item += 1
            bank.read(row, self._items[self._item] if self._item < len(self._items) else None)

    def _set(self, state: PlayState) -> bool:
        self.state = state
        self._at.bank.playing[self.row] = state is PlayState.PLAYING
        self._at.bank.paused[self.row] = state is PlayState.PAUSED
        if self.on_state is not None:
            self.on_state(self)
        return True


def _windows(samples: Frame) -> Frames | None:
    """Every 160-sample window of ``samples``, as a (len - 159, 160) view (None if shorter)."""
    if len(samples) < FRAME:
        return None
    windows: Frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME)
    return windows


def _whole(samples: Frame) -> tuple[Frame, int]:
    """The array ``samples`` is a contiguous slice of, and where in it the slice starts."""
    base = samples.base
    if (
        isinstance(base, np.ndarray)
        and base.ndim == 1
        and base.dtype == samples.dtype
        and samples.ndim == 1
        and samples.strides == base.strides
    ):
        start = (samples.ctypes.data - base.ctypes.data) // samples.itemsize
        if start >= 0 and start + len(samples) <= len(base):
            return base, start
    return samples, 0


def _pad(frame: Frame) -> Frame:
    out = np.zeros(FRAME, dtype=np.int16)
    out[: len(frame)] = frame
    return out
