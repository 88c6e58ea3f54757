"""Players read their audio frame by frame, many at once through the player bank."""

from __future__ import annotations

import numpy as np

from voxrelay.media.frames import FRAME
from voxrelay.media.player import ENDED, PLAYED, SILENT, Player, PlayerBank, PlayState


class Holder:
    """Banks holding only a player bank (what ``Player.move_to`` needs)."""

    def __init__(self, players: PlayerBank) -> None:
        self.players = players


def framed(items: list[np.ndarray], rounds: int) -> np.ndarray:
    """What a player of ``items`` sends: each item padded to whole frames, ``rounds`` times."""
    padded = [np.pad(i, (0, -len(i) % FRAME)) for i in items]
    return np.concatenate(padded * rounds).reshape(-1, FRAME)


def test_many_players_in_one_call_play_their_own_audio_in_order() -> None:
    rng = np.random.default_rng(5)
    prompt = rng.integers(-9000, 9000, 50 * FRAME, dtype=np.int16)
    short = rng.integers(-9000, 9000, 3 * FRAME + 37, dtype=np.int16)  # ends mid-frame
    other = rng.integers(-9000, 9000, 2 * FRAME, dtype=np.int16)
    ended: list[str] = []
    bank = PlayerBank()
    players = [
        Player("a", [prompt], bank=bank),
        Player("b", [prompt[10 * FRAME :]], bank=bank),  # a slice of the same array: gathered
        Player("c", [short, other], loop=2, on_state=lambda p: ended.append(p.control_id)),
        Player("d", [], on_state=lambda p: ended.append(p.control_id), bank=bank),
    ]
    players[2].move_to(Holder(bank))  # a player joining the bank keeps its place
    expected = {"a": framed([prompt], 1), "c": framed([short, other], 2)}
    rows = np.array([p.row for p in players])
    heard: dict[str, list[np.ndarray]] = {"a": [], "b": [], "c": []}
    for tick in range(60):
        if tick == 10:
            players[1].pause()
        frames, status = bank.next_frames(players, rows)
        for k, player in enumerate(players):
            if status[k] == PLAYED:
                heard[player.control_id].append(frames[k])
            elif player.control_id == "b":
                assert status[k] == SILENT and not frames[k].any()
    assert np.array_equal(np.array(heard["a"]), expected["a"])
    assert np.array_equal(np.array(heard["b"]), expected["a"][10:20])
    assert np.array_equal(np.array(heard["c"]), expected["c"])  # two rounds, then the end
    assert ended == ["d", "c"]
    assert players[2].state is PlayState.FINISHED and players[2].frames_played == 12
    assert bank.next_frames(players, rows)[1].tolist() == [ENDED, SILENT, ENDED, ENDED]


def test_volume_is_the_gain_each_player_reports() -> None:
    quiet, loud = Player("q", [np.ones(FRAME, np.int16)], volume=-6.0), Player("l", [], volume=60)
    assert np.allclose([quiet.factor, loud.factor], [10 ** (-6 / 20), 100.0])
    bank = PlayerBank()
    quiet.move_to(Holder(bank))
    loud.move_to(Holder(bank))
    factors = bank.factor[[quiet.row, loud.row]]
    assert np.allclose(factors, [10 ** (-6 / 20), 100.0])  # +60 dB is clamped to +40
