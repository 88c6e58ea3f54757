"""The README's first command, as a user runs it: a real SIP call (baresip) into the IVR.

Asserts what a user checks: the keys the IVR collected are the ones the phone pressed; the
phone's recording holds the greeting (recognised by pocketsphinx among other phrases); the
voicemail holds the phone's message and has its length. And a newcomer's changed greeting is
what the phone hears on the next run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voxrelay.baresip import available, read_wav_data
from voxrelay.media.frames import RATE
from voxrelay.media.speech import default_engine

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.py"
IVR = ROOT / "examples" / "ivr.py"
ORIGINAL = "Welcome to the demo line."
CHANGED = "Thank you for calling the pizza shop."

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))


def run_demo(workdir: Path, app: Path = IVR) -> str:
    done = subprocess.run(
        [sys.executable, str(DEMO), "--app", str(app), "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def greeting_heard(workdir: Path) -> str:
    """The phrase pocketsphinx hears in the first seconds of the phone's recording."""
    (heard,) = workdir.glob("baresip-caller-*/rec/dump-*-dec.wav")
    audio = read_wav_data(heard)
    voiced = np.flatnonzero(np.abs(audio[: len(audio) // 160 * 160].reshape(-1, 160)).max(1) > 800)
    start = int(voiced[0]) * 160
    hyp = default_engine().decode(audio[start : start + int(3.0 * RATE)], [ORIGINAL, CHANGED])
    return hyp.text


def test_the_ivr_call_end_to_end(tmp_path: Path) -> None:
    out = run_demo(tmp_path)
    assert "keys collected     12" in out and "result             OK" in out
    assert greeting_heard(tmp_path) == ORIGINAL
    (voicemail,) = (tmp_path / "data" / "recordings").glob("*/*.wav")
    audio = read_wav_data(voicemail)
    voiced = np.abs(audio[: len(audio) // 160 * 160].reshape(-1, 160)).max(axis=1) > 1000
    spoken = voiced.sum() * 0.02
    assert 3.0 < spoken < 6.5  # the caller's ~4.5 s message, nothing of the IVR's prompts
    assert 4.5 < len(audio) / RATE < 12  # the message plus the end-of-message silence


def test_a_changed_greeting_is_what_the_phone_hears(tmp_path: Path) -> None:
    app = tmp_path / "ivr.py"
    app.write_text(IVR.read_text().replace(ORIGINAL, CHANGED))
    run_demo(tmp_path / "run", app)
    assert greeting_heard(tmp_path / "run") == CHANGED
