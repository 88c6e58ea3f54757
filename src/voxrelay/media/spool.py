"""A recording's full blocks on disk, in order, so a recorder keeps one block in memory.

A recorder fills a 10 s block of frames at a time (``media.recorder``). ``BlockSpool``
appends each full block, as its raw bytes (8 kHz int16, the block's own layout), to a hidden
file beside the recording, ``.NAME.XXXXXXXXXXXX.spool``, and the recorder reuses the block.
Finalisation reads the blocks back one at a time (``blocks``) to write the WAV or MP3, then
``discard`` deletes the spool. Memory per recorder is one block whatever the length, and
the media tick never touches fresh pages for a new block.

Writing a block is one ``write`` of 160 KB (mono) to the page cache from the media tick,
every 10 s per recorder. If a write fails (disk full, folder gone), ``append`` says so and
the spool takes no more blocks: the recorder keeps that block and the later ones in memory,
as before spooling existed, so nothing is lost and the order holds. A crash leaves the spool
file behind: raw blocks, recoverable by hand.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from io import FileIO
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

Block = np.ndarray[Any, np.dtype[np.int16]]


class BlockSpool:
    """Blocks of one shape appended to a file beside ``beside`` (created on the first)."""

    def __init__(self, beside: Path) -> None:
        self.path = beside.with_name(f".{beside.name}.{uuid.uuid4().hex[:12]}.spool")
        self.count = 0  # blocks held
        self.failed = False  # a write failed: no more blocks are taken
        self._file: FileIO | None = None
        self._shape: tuple[int, ...] = ()

    def append(self, block: Block) -> bool:
        """Write ``block`` (C-contiguous int16) after the others; False when it was not (the
        caller keeps it), which is also the answer to every later call."""
        if self.failed:
            return False
        try:
            if self._file is None:
                self._file = FileIO(self.path, "w+")
            self._file.seek(self.count * block.nbytes)
            data = block.data.cast("B")
            done = 0
            while done < len(data):
                done += self._file.write(data[done:]) or 0
        except OSError as exc:
            log.warning("recording spool %s: %s; keeping the audio in memory", self.path, exc)
            self.failed = True
            return False
        self._shape = block.shape
        self.count += 1
        return True

    def blocks(self) -> Iterator[Block]:
        """The blocks appended, in order, each read into a fresh array of its shape.

        Raises OSError when the file cannot be read."""
        for k in range(self.count):
            assert self._file is not None
            block: Block = np.empty(self._shape, dtype=np.int16)
            self._file.seek(k * block.nbytes)
            view = block.data.cast("B")
            done = 0
            while done < len(view):
                got = self._file.readinto(view[done:])
                if not got:
                    raise OSError(f"{self.path}: block {k} is cut short")
                done += got
            yield block

    def discard(self) -> None:
        """Close and delete the file (after the recording is written); idempotent."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)
        self.count = 0
