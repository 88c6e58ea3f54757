"""What the batched media tick needs to know about its legs, kept between ticks.

Per tick, ``media.batch`` works on arrays over all legs. ``TickPlan`` holds what would
otherwise take a Python loop over the legs every 20 ms: where each leg's state is (its rows
in the jitter, reception and stream banks of the engine's ``Banks``) and who does what (which legs
send through the vectorised path or their own, are muted, listen, detect in-band DTMF, have
players; which listeners take a whole batch). The part that depends on the legs' settings
and components is rebuilt when the version of the legs' ``Banks`` moves (``Banks.changed``,
called by ``Leg`` and the socket set); the rows only change when legs join or leave an
engine, which makes a new plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from voxrelay.media.banks import Banks
from voxrelay.media.codecs import Codec
from voxrelay.media.player import Player
from voxrelay.media.soa import Ints

if TYPE_CHECKING:
    from voxrelay.media.leg import Leg

Matrix = np.ndarray[Any, np.dtype[np.int16]]
BatchFeed = Callable[[list[Any], Matrix, Matrix], None]


@dataclass(slots=True)
class Roles:
    """Who does what this tick (positions in the tick's list of legs)."""

    payload_type: Ints  # each leg's codec payload type
    codecs: list[tuple[Codec, Ints]]  # legs by codec
    fast_send: Ints  # legs whose packet the batch makes (no RFC 4733 keys being sent)
    own_send: list[int]  # legs sending keys: their own path
    muted: Any  # bool per fast_send entry: send encoded silence
    leg_slots: Ints  # socket set slot per leg, -1: none
    listening: Any  # bool per leg: someone listens to what it hears
    inband: list[int]  # legs detecting in-band DTMF
    solo: Ints  # legs with one Player: their frames come from the player bank at once
    solo_players: list[Player]
    solo_rows: Ints  # those players' bank rows
    mixing: list[int]  # legs with several players: ``Leg.said_source``
    rtcp_interval: Ints  # ticks between each leg's RTCP reports (0: none)
    rtcp_phase: Ints
    sending: Any  # bool per leg: it sends (RTP and RTCP)
    inactivity: Ints  # ticks without RTP before a watched leg's ``on_inactive`` (0: never)
    feeds: list[tuple[BatchFeed, list[Any], Ints]]  # batch listeners and their legs
    singles: list[tuple[int, Any]]  # other listeners with their leg


class TickPlan:
    """See module docstring. ``banks`` are the legs' (all of them in the same), ``slots_of``
    maps legs to socket set slots (-1: none)."""

    def __init__(
        self,
        legs: Sequence[Leg],
        banks: Banks,
        slots_of: Callable[[list[Any]], list[int]] | None = None,
    ) -> None:
        self.banks = banks
        self.jitter_row = np.array([leg.jitter.row for leg in legs], dtype=np.int64)
        self.reception_row = np.array([leg.reception.row for leg in legs], dtype=np.int64)
        self.stream_row = np.array([leg.stream.row for leg in legs], dtype=np.int64)
        if any(leg.banks is not banks for leg in legs):
            raise ValueError("a tick plan's legs must all be in its banks (one engine)")
        self._slots_of = slots_of
        self._roles: Roles | None = None
        self._version = -1

    def roles(self, legs: Sequence[Leg]) -> Roles:
        """Who does what, rebuilt after any ``Banks.changed``."""
        if self._roles is None or self._version != self.banks.version:
            self._version = self.banks.version
            self._roles = self._build(legs)
        return self._roles

    def _build(self, legs: Sequence[Leg]) -> Roles:
        fast: list[int] = []
        own: list[int] = []
        for i, leg in enumerate(legs):
            if leg.send is not None and leg.active:
                (own if leg.digit_senders else fast).append(i)
        by_codec: dict[str, list[int]] = {}
        for i, leg in enumerate(legs):
            by_codec.setdefault(leg.codec.name, []).append(i)
        fast_legs = [legs[i] for i in fast]
        leg_slots = np.array(
            self._slots_of(list(legs)) if self._slots_of else [-1] * len(legs), dtype=np.int64
        )
        solo = [
            i
            for i, leg in enumerate(legs)
            if len(leg.players) == 1 and isinstance(leg.players[0], Player)
        ]
        solo_players: list[Player] = [legs[i].players[0] for i in solo]  # type: ignore[misc]
        solo_set = set(solo)
        feeds: dict[BatchFeed, tuple[list[Any], list[int]]] = {}
        singles: list[tuple[int, Any]] = []
        for i, leg in enumerate(legs):
            for listener in leg.listeners:
                feed = getattr(type(listener), "on_frames", None)
                if feed is None:
                    singles.append((i, listener))
                else:
                    group = feeds.setdefault(feed, ([], []))
                    group[0].append(listener)
                    group[1].append(i)
        return Roles(
            payload_type=np.array([leg.codec.payload_type for leg in legs], dtype=np.int64),
            codecs=[(legs[m[0]].codec, np.array(m, dtype=np.int64)) for m in by_codec.values()],
            fast_send=np.array(fast, dtype=np.int64),
            own_send=own,
            muted=np.array([leg.muted for leg in fast_legs], dtype=np.bool_),
            leg_slots=leg_slots,
            listening=np.array(
                [bool(leg.listeners) or leg.inband is not None for leg in legs], dtype=np.bool_
            ),
            inband=[i for i, leg in enumerate(legs) if leg.inband is not None],
            solo=np.array(solo, dtype=np.int64),
            solo_players=solo_players,
            solo_rows=np.array([p.row for p in solo_players], dtype=np.int64),
            mixing=[i for i, leg in enumerate(legs) if leg.players and i not in solo_set],
            rtcp_interval=np.array([leg.rtcp_interval_ticks for leg in legs], dtype=np.int64),
            rtcp_phase=np.array([leg.rtcp_phase for leg in legs], dtype=np.int64),
            sending=np.isin(np.arange(len(legs)), fast + own),
            inactivity=np.array(
                [leg.inactivity_ticks if leg.on_inactive else 0 for leg in legs], dtype=np.int64
            ),
            feeds=[(f, ls, np.array(ix, dtype=np.int64)) for f, (ls, ix) in feeds.items()],
            singles=singles,
        )
