"""DTMF bench: voxrelay.media.dtmf against libspandsp's dtmf_rx on the conformance inputs.

    .venv/bin/python bench/dtmf_bench.py [--json bench/results/dtmf.json]

Prints a Markdown table: per category and condition, how many inputs each detector got right
(the digits Q.24 expects; "-" where the spec leaves it open, then the count detected); false
digits on the speech corpus (Asterisk prompts + espeak-ng); and our CPU cost per 20 ms frame.
"""

from __future__ import annotations

import argparse
import difflib
import json
import platform
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.media is shared

from tests.media import dtmf_cases
from tests.media.dtmf_cases import Audio, Case, ours_detect
from tests.media.spandsp import AVAILABLE, SpandspDtmfRx, spandsp_detect

from voxrelay.media.dtmf import FRAME_SAMPLES, DtmfDetector, digits_to_audio


def condition(case: Case) -> str:
    """The table row a case belongs to: its name without the key (and frame alignment)."""
    if case.category in ("S/N", "40/40 strings"):
        return case.name if case.category == "S/N" else "strings"
    if case.category == "duration":
        return case.name.split()[1] + " ms"
    return case.name.split(" ", 1)[1]


def matched(expected: str, found: str) -> int:
    """Digits of `expected` found in order, minus any extra digits reported."""
    blocks = difflib.SequenceMatcher(None, expected, found, autojunk=False).get_matching_blocks()
    hits = sum(block.size for block in blocks)
    return hits - (len(found) - hits)


def conformance() -> list[dict[str, object]]:
    """Run every synthetic case through both detectors, grouped by (category, condition)."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for case in dtmf_cases.all_tone_cases():
        key = (case.category, condition(case))
        ours = ours_detect(case.audio)
        theirs = spandsp_detect(case.audio) if AVAILABLE else ""
        count = tally[key]
        if case.expected and len(case.expected) > 1:  # strings: count digits, not inputs
            count[0] += len(case.expected)
            count[1] += matched(case.expected, ours)
            count[2] += matched(case.expected, theirs)
            count[3] += len(ours)
            count[4] += len(theirs)
            rows[key] = {"expected": "detect"}
            continue
        count[0] += 1
        count[1] += ours == case.expected
        count[2] += theirs == case.expected
        count[3] += bool(ours)
        count[4] += bool(theirs)
        rows[key] = {
            "expected": "open" if case.expected is None else "detect" if case.expected else "reject"
        }
    out = []
    for (category, cond), info in rows.items():
        n, ours_ok, theirs_ok, ours_hit, theirs_hit = tally[(category, cond)]
        out.append(
            {"category": category, "condition": cond, "spec": info["expected"], "inputs": n,
             "ours_ok": ours_ok, "spandsp_ok": theirs_ok, "ours_detected": ours_hit,
             "spandsp_detected": theirs_hit}
        )  # fmt: skip
    return out


def speech_corpus() -> dict[str, dict[str, object]]:
    """False digits on the Asterisk prompts and on espeak-ng, each detector."""
    corpora: dict[str, list[tuple[str, Audio]]] = {
        "Asterisk en_US_f_Allison prompts": [
            (p.name, dtmf_cases.read_8k(p)) for p in dtmf_cases.allison_prompts()
        ],
        "espeak-ng sentences": list(dtmf_cases.espeak_speech()),
    }
    out: dict[str, dict[str, object]] = {}
    for label, items in corpora.items():
        ours = {name: ours_detect(audio) for name, audio in items}
        theirs = {name: spandsp_detect(audio) if AVAILABLE else "" for name, audio in items}
        out[label] = {
            "files": len(items),
            "minutes": round(sum(a.size for _, a in items) / 8000 / 60, 2),
            "ours_false_digits": sum(map(len, ours.values())),
            "spandsp_false_digits": sum(map(len, theirs.values())),
            "ours_where": {k: v for k, v in ours.items() if v},
            "spandsp_where": {k: v for k, v in theirs.items() if v},
        }
    return out


def frames_of(audio: Audio, count: int = 3000) -> list[Audio]:
    """`count` 20 ms frames cut from `audio` repeated."""
    data = np.resize(audio, count * FRAME_SAMPLES)
    return [data[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES] for i in range(count)]


def per_frame_us(frames: list[Audio], spandsp: bool = False, repeats: int = 5) -> float:
    """Best-of-`repeats` mean CPU time per frame (process time, µs)."""
    best = float("inf")
    for _ in range(repeats):
        if spandsp:
            rx = SpandspDtmfRx()
            feed = rx.feed
        else:
            feed = DtmfDetector().feed  # type: ignore[assignment]
        start = time.process_time()
        for frame in frames:
            feed(frame)
        best = min(best, (time.process_time() - start) / len(frames) * 1e6)
        if spandsp:
            rx.close()
    return best


def cpu_cost() -> dict[str, dict[str, float | None]]:
    """Per-frame cost on silence, white noise, speech and continuous DTMF."""
    rng = np.random.default_rng(1)
    speech = np.concatenate([dtmf_cases.read_8k(p) for p in dtmf_cases.allison_prompts()[:60]])
    inputs = {
        "silence": np.zeros(FRAME_SAMPLES, dtype=np.int16),
        "white noise -20 dBm0": rng.normal(0, 1600, 48000).astype(np.int16),
        "speech (Allison prompts)": speech,
        "DTMF 100/100 ms": digits_to_audio("0123456789*#ABCD", 100, 100),
    }
    return {
        name: {
            "ours_us": round(per_frame_us(frames_of(audio)), 1),
            "spandsp_us": round(per_frame_us(frames_of(audio), spandsp=True), 1)
            if AVAILABLE
            else None,
        }
        for name, audio in inputs.items()
    }


def markdown(result: dict[str, object]) -> str:
    """The tables for BENCHMARKS.md."""
    lines = [
        "| category | condition | Q.24 | inputs | ours right | spandsp right | ours detected "
        "| spandsp detected |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["conformance"]:  # type: ignore[attr-defined]
        open_ = row["spec"] == "open"
        lines.append(
            f"| {row['category']} | {row['condition']} | {row['spec']} | {row['inputs']} | "
            f"{'-' if open_ else row['ours_ok']} | {'-' if open_ else row['spandsp_ok']} | "
            f"{row['ours_detected']} | {row['spandsp_detected']} |"
        )
    lines += ["", "| speech corpus | files | minutes | ours false digits | spandsp false digits |",
              "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for label, info in result["speech"].items():  # type: ignore[attr-defined]
        lines.append(
            f"| {label} | {info['files']} | {info['minutes']} | {info['ours_false_digits']} | "
            f"{info['spandsp_false_digits']} |"
        )
    lines += ["", "| CPU per 20 ms frame (one leg) | ours µs | spandsp µs (C, via ctypes) |",
              "| --- | ---: | ---: |"]  # fmt: skip
    for name, cost in result["cpu"].items():  # type: ignore[attr-defined]
        lines.append(f"| {name} | {cost['ours_us']} | {cost['spandsp_us']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, default=Path("bench/results/dtmf.json"))
    args = parser.parse_args()
    if not AVAILABLE:
        print("warning: libspandsp.so.2 missing, spandsp columns are empty", file=sys.stderr)
    result: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}, "
        f"numpy {np.__version__}",
        "conformance": conformance(),
        "speech": speech_corpus(),
        "cpu": cpu_cost(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(markdown(result))
    print(f"\n(JSON: {args.json})")


if __name__ == "__main__":
    main()
