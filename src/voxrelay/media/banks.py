"""The state one media engine keeps for all its legs and their components, as numpy banks.

``Banks`` holds one bank (``media.soa.Table``) per kind of per-stream state: jitter buffers,
reception statistics, RTP send streams, players and recorders' captures. A leg and its
components hold rows of them; a leg ticked alone has ``Banks`` of its own, a leg in an
``Engine`` its engine's, so one tick updates every leg with one numpy call per step.

Besides the banks it keeps what legs tell the tick between ticks: ``version``, counted up
by ``changed()`` whenever a leg changes what it does (a component or a setting; the tick's
plan is rebuilt then), and ``queued``, the datagrams waiting in its legs' inboxes.
"""

from __future__ import annotations

from voxrelay.media.jitterbuffer import JitterBank
from voxrelay.media.player import PlayerBank
from voxrelay.media.recorder import Recordings
from voxrelay.media.rtcp import ReceptionBank
from voxrelay.media.rtp import StreamBank


class Banks:
    """See module docstring. ``rows`` is the room each bank starts with (they grow)."""

    def __init__(self, rows: int = 16) -> None:
        self.jitter = JitterBank(rows=rows)
        self.reception = ReceptionBank(rows=rows)
        self.streams = StreamBank(rows=rows)
        self.players = PlayerBank(rows=rows)
        self.recordings = Recordings(rows=rows)
        self.version = 0
        self.queued = 0

    def changed(self) -> None:
        """A leg changed what it does: the tick plans anew before its next step."""
        self.version += 1
