"""The recorder: real audio in through on_frame (and over RTP), real files out, read back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from voxrelay.media import recorder as recorder_module
from voxrelay.media.codecs import PCMU
from voxrelay.media.digitsender import DigitSender
from voxrelay.media.frames import FRAME, RATE, SILENCE, Frame, chunk, rms_dbfs, rows_dbfs
from voxrelay.media.player import Player
from voxrelay.media.recorder import Recorder, RecordError, RecordState, beep
from voxrelay.media.sources import silence, synthesize, tone

from .test_leg import pair

SPEECH_TEXT = "Please leave a message after the tone"


@pytest.fixture(scope="module")
def speech() -> Frame:
    return synthesize(SPEECH_TEXT)


def feed(rec: Recorder, heard: Frame, said: Frame | None = None) -> int:
    """Feed whole frames until the samples run out or the recorder ends; frames fed."""
    heard_frames = chunk(heard)
    said_frames = chunk(said) if said is not None else [SILENCE] * len(heard_frames)
    fed = 0
    for h, s in zip(heard_frames, said_frames, strict=True):
        if not rec.active:
            break
        rec.on_frame(h, s)
        fed += 1
    return fed


def read(path: Path) -> tuple[np.ndarray[Any, Any], int]:
    data, rate = soundfile.read(path, dtype="int16", always_2d=False)
    return data, int(rate)


def level_at(samples: np.ndarray[Any, Any], hz: float) -> float:
    """Spectral magnitude near ``hz`` in dB (relative, for comparisons)."""
    x = samples.astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    band = (freqs > hz - 20) & (freqs < hz + 20)
    return float(20 * np.log10(spectrum[band].max() + 1e-9))


def dominant_hz(samples: np.ndarray[Any, Any]) -> float:
    x = samples.astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[int(np.argmax(spectrum))])


def envelope(samples: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per-frame level in dBFS, floored at -60."""
    return np.array([rms_dbfs(f) for f in chunk(samples)]).clip(-60)


def states_of(calls: list[RecordState]) -> Any:
    def on_state(rec: Recorder) -> None:
        calls.append(rec.state)

    return on_state


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


HIGH = tone((1000.0,), 1.0, level_dbfs=-16)  # the caller speaks: heard
LOW = tone((400.0,), 1.0, level_dbfs=-16)  # the caller hears: said


# -- directions and channels ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "present", "absent"),
    [("speak", 1000.0, 400.0), ("listen", 400.0, 1000.0)],
)
def test_direction_picks_heard_or_said(
    tmp_path: Path, direction: str, present: float, absent: float
) -> None:
    rec = Recorder("r", tmp_path / "a.wav", direction=direction, end_silence_timeout=0)
    assert feed(rec, HIGH, LOW) == 50
    rec.stop()
    data, rate = read(tmp_path / "a.wav")
    assert rate == 8000 and data.ndim == 1 and len(data) == 8000
    assert rec.duration == 1.0 and rec.size == (tmp_path / "a.wav").stat().st_size
    assert abs(dominant_hz(data) - present) < 10
    assert level_at(data, present) - level_at(data, absent) > 60


def test_both_mono_mixes_and_stereo_separates(tmp_path: Path) -> None:
    mono = Recorder("m", tmp_path / "mono.wav", direction="both", end_silence_timeout=0)
    feed(mono, HIGH, LOW)
    mono.stop()
    data, _ = read(tmp_path / "mono.wav")
    assert data.ndim == 1
    assert abs(level_at(data, 1000) - level_at(data, 400)) < 1  # both, equally loud

    stereo = Recorder(
        "s", tmp_path / "st.wav", direction="both", stereo=True, end_silence_timeout=0
    )
    feed(stereo, HIGH, LOW)
    stereo.stop()
    data, _ = read(tmp_path / "st.wav")
    assert data.shape == (8000, 2)
    left, right = data[:, 0], data[:, 1]
    assert abs(dominant_hz(left) - 1000) < 10 and abs(dominant_hz(right) - 400) < 10
    assert level_at(left, 1000) - level_at(left, 400) > 60  # speak only on the left
    assert level_at(right, 400) - level_at(right, 1000) > 60  # listen only on the right
    np.testing.assert_array_equal(left, HIGH)
    np.testing.assert_array_equal(right, LOW)


def test_stereo_with_one_direction_keeps_the_layout(tmp_path: Path) -> None:
    rec = Recorder("s", tmp_path / "s.wav", direction="listen", stereo=True, end_silence_timeout=0)
    feed(rec, HIGH, LOW)
    rec.stop()
    data, _ = read(tmp_path / "s.wav")
    assert data.shape == (8000, 2) and not data[:, 0].any()
    np.testing.assert_array_equal(data[:, 1], LOW)


# -- speech timers ----------------------------------------------------------------------------


def test_speech_then_end_silence_finishes_and_keeps_everything(
    tmp_path: Path, speech: Frame
) -> None:
    calls: list[RecordState] = []
    rec = Recorder("r", tmp_path / "msg.wav", end_silence_timeout=1.0, on_state=states_of(calls))
    lead = silence(0.5)
    feed(rec, np.concatenate([lead, speech, silence(5.0)]))
    assert calls == [RecordState.FINISHED] and rec.state is RecordState.FINISHED
    assert rec.speech_detected
    # the last frame at or above -45 dBFS, then exactly 50 frames of silence
    levels = [rms_dbfs(f) for f in chunk(np.concatenate([lead, speech]))]
    last_voiced = max(i for i, lv in enumerate(levels) if lv >= -45)
    assert rec.frames_recorded == last_voiced + 1 + 50
    data, _ = read(tmp_path / "msg.wav")
    assert len(data) == rec.frames_recorded * FRAME
    assert abs(rec.duration - len(data) / RATE) < 1e-9
    # nothing trimmed: the whole utterance is in the file, sample for sample
    np.testing.assert_array_equal(
        data[: len(lead) + len(speech)][len(lead) :][:last_voiced], speech[:last_voiced]
    )
    assert abs(rms_dbfs(data[len(lead) : len(lead) + len(speech)]) - rms_dbfs(speech)) < 0.1


def test_no_speech_gives_no_input_with_a_finalised_file(tmp_path: Path) -> None:
    calls: list[RecordState] = []
    sizes: list[int] = []

    def on_state(rec: Recorder) -> None:
        calls.append(rec.state)
        sizes.append(rec.size)

    rec = Recorder("r", tmp_path / "none.wav", initial_timeout=4.0, on_state=on_state)
    noise = (np.random.default_rng(1).normal(0, 50, 8000 * 10)).astype(np.int16)  # ~-56 dBFS
    assert feed(rec, noise) == 200  # exactly 4.0 s of frames
    assert calls == [RecordState.NO_INPUT] and not rec.speech_detected
    assert rec.finalized and sizes == [(tmp_path / "none.wav").stat().st_size]
    data, _ = read(tmp_path / "none.wav")
    np.testing.assert_array_equal(data, noise[: 200 * FRAME])  # nothing lost
    assert rec.duration == 4.0


def test_zero_timeouts_disable_them_and_a_click_is_not_speech(tmp_path: Path) -> None:
    rec = Recorder("r", tmp_path / "z.wav", initial_timeout=0, end_silence_timeout=0)
    feed(rec, silence(20.0))
    assert rec.active and not rec.speech_detected
    click = np.concatenate([tone((1000.0,), 0.02), silence(5.0)])
    timed = Recorder("t", tmp_path / "t.wav", initial_timeout=2.0)
    assert feed(timed, click) == 100  # the one loud frame did not count as speech
    assert timed.state is RecordState.NO_INPUT
    rec.close()
    assert rec.state is RecordState.FINISHED and rec.duration == 20.0


# -- controls ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("behavior", "seconds"), [("skip", 2.0), ("silence", 3.0)])
def test_pause_skip_omits_and_silence_fills(tmp_path: Path, behavior: str, seconds: float) -> None:
    calls: list[RecordState] = []
    rec = Recorder("r", tmp_path / "p.wav", end_silence_timeout=0, on_state=states_of(calls))
    feed(rec, HIGH)
    assert rec.pause(behavior) and not rec.pause(behavior)
    feed(rec, LOW)  # said while paused: never in the file
    assert rec.resume() and not rec.resume()
    feed(rec, HIGH)
    rec.stop()
    assert calls == [RecordState.PAUSED, RecordState.RECORDING, RecordState.FINISHED]
    data, _ = read(tmp_path / "p.wav")
    assert len(data) / RATE == seconds == rec.duration
    assert level_at(data, 400) < level_at(data, 1000) - 60
    if behavior == "silence":
        assert not data[8000:16000].any() and data[16000:].any()


def test_terminator_keys_finish_and_nothing_more_is_recorded(tmp_path: Path) -> None:
    calls: list[RecordState] = []
    rec = Recorder("r", tmp_path / "t.wav", terminators="#*", on_state=states_of(calls))
    feed(rec, HIGH)
    rec.on_digit("1")
    assert rec.state is RecordState.RECORDING
    rec.on_digit("*")
    assert calls == [RecordState.FINISHED]
    assert feed(rec, HIGH) == 0
    rec.on_frame(HIGH[:FRAME], SILENCE)
    data, _ = read(tmp_path / "t.wav")
    assert len(data) == 8000
    lower = Recorder("l", tmp_path / "l.wav", terminators="a")
    lower.on_digit("A")
    assert lower.state is RecordState.FINISHED


def test_max_length_finishes_at_exactly_that_length(tmp_path: Path) -> None:
    rec = Recorder("r", tmp_path / "m.wav", max_length=2, end_silence_timeout=0)
    assert feed(rec, np.tile(HIGH, 5)) == 100
    assert rec.state is RecordState.FINISHED
    data, _ = read(tmp_path / "m.wav")
    assert len(data) == 2 * RATE and rec.duration == 2.0
    # silence written while paused counts towards max_length too
    held = Recorder("h", tmp_path / "h.wav", max_length=1, end_silence_timeout=0)
    feed(held, HIGH[:4000])
    held.pause("silence")
    assert feed(held, HIGH) == 25 and held.state is RecordState.FINISHED


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        Recorder("r", tmp_path / "a.ogg", format="ogg")
    with pytest.raises(ValueError, match="direction"):
        Recorder("r", tmp_path / "a.wav", direction="in")
    with pytest.raises(ValueError, match="terminator"):
        Recorder("r", tmp_path / "a.wav", terminators="#x")
    with pytest.raises(ValueError, match="max_length"):
        Recorder("r", tmp_path / "a.wav", max_length=-1)
    with pytest.raises(RecordError, match="cannot write"):
        Recorder("r", tmp_path / "missing" / "a.wav")
    rec = Recorder("r", tmp_path / "a.wav")
    with pytest.raises(ValueError, match="behavior"):
        rec.pause("mute")


def test_beep_is_a_quarter_second_at_1khz(tmp_path: Path) -> None:
    assert Recorder("r", tmp_path / "a.wav").beep_frames() == []
    frames = Recorder("r", tmp_path / "a.wav", beep=True).beep_frames()
    assert all(len(f) == FRAME for f in frames) and len(frames) == 13
    samples = beep()
    assert len(samples) == RATE // 4
    assert abs(dominant_hz(samples) - 1000) < 5
    assert -15.5 < rms_dbfs(samples) < -14.5  # a -12 dBFS peak sine is -15 dBFS RMS
    assert abs(int(samples[0])) < 100 and abs(int(samples[-1])) < 100  # faded, no click


# -- files ------------------------------------------------------------------------------------


def test_mp3_reads_back_with_its_duration_and_content(tmp_path: Path, speech: Frame) -> None:
    rec = Recorder("r", tmp_path / "a.mp3", format="mp3", end_silence_timeout=0)
    feed(rec, np.concatenate([HIGH, speech]))
    rec.stop()
    data, rate = soundfile.read(tmp_path / "a.mp3", dtype="int16")
    assert rate == 8000 and abs(len(data) / RATE - rec.duration) < 0.1
    assert rec.size == (tmp_path / "a.mp3").stat().st_size < len(data) * 2 / 4  # compressed
    assert abs(dominant_hz(data[:6000]) - 1000) < 10
    tail = data[8000:]
    assert abs(rms_dbfs(tail) - rms_dbfs(speech)) < 2
    stereo = Recorder("s", tmp_path / "s.mp3", format="mp3", stereo=True, direction="both")
    feed(stereo, HIGH, LOW)
    stereo.stop()
    data, _ = soundfile.read(tmp_path / "s.mp3", dtype="int16")
    assert data.shape[1] == 2 and abs(len(data) / RATE - 1.0) < 0.1
    assert abs(dominant_hz(data[:, 0]) - 1000) < 10 and abs(dominant_hz(data[:, 1]) - 400) < 10


def test_empty_recordings_are_valid_files(tmp_path: Path) -> None:
    for fmt in ("wav", "mp3"):
        rec = Recorder("r", tmp_path / f"e.{fmt}", format=fmt)
        rec.stop()
        info = soundfile.info(tmp_path / f"e.{fmt}")
        assert abs(info.duration - rec.duration) < 0.03 and rec.size > 0


def test_write_is_atomic_and_leaves_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "a.wav"
    seen: list[tuple[bool, float]] = []
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        # at the moment of the rename the temp file is complete and the final name untouched
        seen.append((Path(dst).exists(), soundfile.info(src).duration))
        assert Path(src).parent == Path(dst).parent
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    rec = Recorder("r", final, end_silence_timeout=0)
    feed(rec, np.tile(HIGH, 3))
    rec.stop()
    assert seen == [(False, 3.0)]
    assert no_temp_files(tmp_path) and sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_a_failed_write_leaves_the_old_file_and_keeps_the_audio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "a.wav"
    final.write_bytes(b"previous recording")
    real_write = soundfile.SoundFile.write
    written = [0]

    def failing_write(self: soundfile.SoundFile, data: Any) -> None:
        written[0] += 1
        if written[0] > 1:
            raise OSError(28, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(soundfile.SoundFile, "write", failing_write)
    calls: list[RecordState] = []
    rec = Recorder("r", final, end_silence_timeout=0, on_state=states_of(calls))
    feed(rec, np.tile(HIGH, 25))  # 25 s: more than one 10 s write block
    rec.stop()  # finalises, fails, reports
    assert calls == [RecordState.FINISHED] and rec.error and "No space" in rec.error
    assert not rec.finalized and final.read_bytes() == b"previous recording"
    assert no_temp_files(tmp_path)
    with pytest.raises(RecordError):
        rec.finalize()
    monkeypatch.setattr(soundfile.SoundFile, "write", real_write)
    rec.finalize()  # the audio was kept: the retry writes all of it
    data, _ = read(final)
    assert len(data) == 25 * RATE and rec.error is None and calls == [RecordState.FINISHED]


CRASH = """
import os, sys
import numpy as np, soundfile
from voxrelay.media.recorder import Recorder
from voxrelay.media.sources import tone
real = soundfile.SoundFile.write
count = [0]
def write(self, data):
    count[0] += 1
    if count[0] == 2:
        os._exit(3)  # the process dies in the middle of writing
    real(self, data)
soundfile.SoundFile.write = write
rec = Recorder("r", sys.argv[1], end_silence_timeout=0)
for frame in np.tile(tone((1000.0,), 1.0), 25).reshape(-1, 160):
    rec.on_frame(frame, frame)
rec.stop()
"""


def test_a_crash_while_writing_never_leaves_a_partial_file(tmp_path: Path) -> None:
    final = tmp_path / "a.wav"
    done = subprocess.run([sys.executable, "-c", CRASH, str(final)], check=False, timeout=60)
    assert done.returncode == 3
    assert not final.exists()  # only a hidden temp file can be partial
    assert [p.name.startswith(".a.wav.") for p in tmp_path.iterdir()] == [True]


def test_finalize_twice_and_close_after_the_end_are_harmless(tmp_path: Path) -> None:
    calls: list[RecordState] = []
    rec = Recorder("r", tmp_path / "a.wav", end_silence_timeout=0, on_state=states_of(calls))
    feed(rec, HIGH)
    rec.finalize()  # still recording: finalize ends it first
    first = (tmp_path / "a.wav").stat()
    rec.finalize()
    rec.close()
    assert not rec.stop()
    second = (tmp_path / "a.wav").stat()
    assert (first.st_ino, first.st_mtime_ns) == (second.st_ino, second.st_mtime_ns)
    assert calls == [RecordState.FINISHED] and rec.size == first.st_size and rec.duration == 1.0


async def test_on_a_loop_the_encoding_runs_off_the_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    real = recorder_module._write_atomically

    def spy(*args: Any) -> int:
        threads.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(recorder_module, "_write_atomically", spy)
    ended = asyncio.Event()
    rec = Recorder(
        "r",
        tmp_path / "a.mp3",
        format="mp3",
        end_silence_timeout=0,
        on_state=lambda r: ended.set(),
    )
    feed(rec, HIGH)
    rec.stop()  # returns at once: the state is final, the file comes later
    assert rec.state is RecordState.FINISHED
    await asyncio.wait_for(ended.wait(), 10)
    assert rec.finalized and rec.size == (tmp_path / "a.mp3").stat().st_size
    assert threads and threads[0] != threading.get_ident()
    await rec.aclose()  # harmless afterwards
    assert len(threads) == 1


# -- over RTP ---------------------------------------------------------------------------------


async def test_a_leg_records_tts_played_by_its_peer_over_udp(tmp_path: Path, speech: Frame) -> None:
    a, b, clock, transports = await pair(PCMU)
    ended = asyncio.Event()
    rec = Recorder(
        "rec",
        tmp_path / "call.wav",
        end_silence_timeout=0,
        terminators="#",
        on_state=lambda r: ended.set() if not r.active else None,
    )
    b.add_listener(rec)
    b.add_digit_listener(rec)
    a.add_player(
        Player("say", [speech], on_state=lambda p: a.add_digit_sender(DigitSender("d", "#")))
    )
    await asyncio.wait_for(ended.wait(), 10)
    await clock.stop()
    for t in transports:
        t.close()  # type: ignore[attr-defined]
    b.remove("rec")
    assert rec.state is RecordState.FINISHED and rec.finalized
    data, _ = read(tmp_path / "call.wav")
    speech_s = len(speech) / RATE
    assert speech_s <= len(data) / RATE == rec.duration < speech_s + 0.5
    voiced = [rms_dbfs(f) >= -45 for f in chunk(data)]
    assert sum(voiced) >= 0.9 * sum(rms_dbfs(f) >= -45 for f in chunk(speech))
    assert abs(rms_dbfs(data) - rms_dbfs(speech)) < 1.5  # the speech, through G.711
    # the words are where they should be: the envelopes line up (lag found by correlation)
    ours, theirs = envelope(data), envelope(speech)
    scores = [
        np.corrcoef(ours[lag : lag + len(theirs)], theirs)[0, 1]
        for lag in range(0, len(ours) - len(theirs) + 1)
    ]
    assert max(scores) > 0.95


def test_rows_dbfs_matches_rms_dbfs_row_by_row() -> None:
    rows = np.stack([tone((440.0,), 0.02, level_dbfs=-6.0), np.zeros(160, dtype=np.int16),
                     tone((1000.0,), 0.02, level_dbfs=-30.0)])  # fmt: skip
    assert rows_dbfs(rows).tolist() == pytest.approx([rms_dbfs(row) for row in rows])
    assert rows_dbfs(rows)[1] == float("-inf")
