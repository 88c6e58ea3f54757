"""Speech recognition behind one small interface, and the default engine on pocketsphinx.

The interface (what the collector needs, nothing more):

* ``SpeechEngine.recognizer(language, hints) -> Recognizer``: one per utterance. Creating it
  must be cheap (it happens on the media tick); it may raise ``SpeechError`` (e.g. an
  unsupported language).
* ``Recognizer.feed(samples)``: 8 kHz int16 audio, called on the media tick: must be cheap.
* ``Recognizer.partial() -> str | None`` and ``Recognizer.finish() -> Hypothesis``: may take
  tens of milliseconds or more, so the owner runs them off the media clock (the collector
  hands them to its ``submit``). ``finish`` returns ``Hypothesis("", 0.0)`` when nothing was
  recognised (the collector reports that as ``no_match``).

Default engine: pocketsphinx 5.1.1 with the en-US model that its wheel ships.

* The model is wideband: ``samprate=8000`` fails ("Upper frequency 6800.0 is higher than
  samprate/2"), so 8 kHz audio is upsampled to 16 kHz with soxr. Telephone-band audio is a
  mismatch for this model; see the recognition table in ``tests/media/test_collector.py``.
* With hints, the search is a JSGF grammar: one alternative per hint phrase (lower-cased,
  punctuation dropped, the digits 0-9 spelt as words). Phrases with a word missing from the
  CMU dictionary are left out (logged). The result text is the hint as given. A grammar always
  forces the closest phrase, so out-of-grammar speech is only rejected (``""``) when the
  decoder finds no path through the grammar or only silence; other out-of-grammar speech comes
  back as the nearest hint (the confidence does not tell them apart). When the search ends
  part-way through a phrase ("final result does not match the grammar") the result is ``""``.
* Without usable hints: the free en-US trigram LM, best-effort (poor on 8 kHz audio).
* Loading the model takes ~0.65 s, and a ``Decoder`` is not thread-safe, so the engine keeps a
  pool of decoders per process, each loaded once and reused; every decode takes one from the
  pool for its duration. A recognizer holds only its audio, so an abandoned one costs nothing.
* Confidence: the lattice posterior probability of the best hypothesis (pocketsphinx's
  ``Hypothesis.prob``, computed with ``bestpath``) times 100, rounded to 0.1. It is 100 when
  no competing path survives in the lattice and about 50 when two near-equal paths do (often
  the same words with and without a pause). It is a weak signal on telephone audio: treat it
  as a ranking, not as a calibrated probability.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import soxr

from voxrelay.media.frames import RATE, Frame

log = logging.getLogger(__name__)

DECODER_RATE = 16000


class SpeechError(Exception):
    """A recognizer that cannot be made or run (unsupported language, engine failure)."""


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """What was said (``""`` if nothing was recognised) and a confidence of 0-100."""

    text: str
    confidence: float


class Recognizer(Protocol):
    """One utterance. ``feed`` on the media tick; ``partial``/``finish`` off it."""

    def feed(self, samples: Frame) -> None: ...

    def partial(self) -> str | None: ...

    def finish(self) -> Hypothesis: ...


class SpeechEngine(Protocol):
    def recognizer(self, language: str, hints: Sequence[str]) -> Recognizer: ...


# -- pocketsphinx ---------------------------------------------------------------------------

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_WORD = re.compile(r"[a-z0-9']+")


def normalise(phrase: str) -> list[str]:
    """A hint phrase as dictionary words: lower case, no punctuation, digits spelt out."""
    words: list[str] = []
    for token in _WORD.findall(phrase.lower()):
        if token.isdigit():
            words.extend(_DIGIT_WORDS[int(d)] for d in token)
        else:
            words.append(token.strip("'"))
    return [w for w in words if w]


def jsgf(phrases: Sequence[Sequence[str]]) -> str:
    """A JSGF grammar accepting exactly one of ``phrases`` (each a list of words)."""
    alternatives = " | ".join(" ".join(words) for words in phrases)
    return f"#JSGF V1.0;\ngrammar hints;\npublic <hint> = {alternatives} ;\n"


class PocketSphinxEngine:
    """The default engine. One per process (``default_engine()``); thread-safe."""

    def __init__(self) -> None:
        self._free: list[_Decoder] = []
        self._lock = threading.Lock()

    def recognizer(self, language: str, hints: Sequence[str]) -> PocketSphinxRecognizer:
        tag = (language or "en-US").split(":")[-1].lower()  # "Deepgram:en-US" -> "en-us"
        if not tag.startswith("en"):
            raise SpeechError(f"language {language!r} is not supported (pocketsphinx: en-US only)")
        return PocketSphinxRecognizer(self, tuple(hints))

    def warm(self) -> None:
        """Load one decoder now (the first decode otherwise pays ~0.65 s)."""
        self._release(self._acquire())

    def decode(self, samples: Frame, hints: Sequence[str]) -> Hypothesis:
        """Decode a whole utterance (8 kHz int16). Blocking; thread-safe."""
        decoder = self._acquire()
        try:
            return decoder.decode(samples, hints)
        finally:
            self._release(decoder)

    def _acquire(self) -> _Decoder:
        with self._lock:
            if self._free:
                return self._free.pop()
        return _Decoder()

    def _release(self, decoder: _Decoder) -> None:
        with self._lock:
            self._free.append(decoder)


class PocketSphinxRecognizer:
    """Buffers the utterance; every ``partial``/``finish`` decodes all of it from the start."""

    def __init__(self, engine: PocketSphinxEngine, hints: tuple[str, ...]) -> None:
        self.engine = engine
        self.hints = hints
        self._frames: list[Frame] = []

    def feed(self, samples: Frame) -> None:
        self._frames.append(samples)

    def partial(self) -> str | None:
        hypothesis = self._decode()
        return hypothesis.text or None

    def finish(self) -> Hypothesis:
        return self._decode()

    def _decode(self) -> Hypothesis:
        frames = list(self._frames)  # a snapshot: feed() may append meanwhile
        if not frames:
            return Hypothesis("", 0.0)
        return self.engine.decode(np.concatenate(frames), self.hints)


class _Decoder:
    """One pocketsphinx Decoder and the grammar searches added to it so far."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self.decoder: Any = Decoder(samprate=DECODER_RATE, loglevel="FATAL")
        self.lm_search: str = self.decoder.current_search()
        self.searches: set[str] = set()  # grammar searches added so far

    def decode(self, samples: Frame, hints: Sequence[str]) -> Hypothesis:
        search, phrases = self._search(hints)
        pcm = soxr.resample(samples.astype(np.float32) / 32768.0, RATE, DECODER_RATE, quality="HQ")
        raw = np.clip(np.round(pcm * 32767.0), -32768, 32767).astype(np.int16).tobytes()
        d = self.decoder
        if d.current_search() != search:
            d.activate_search(search)
        d.start_utt()
        d.process_raw(raw, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or not hyp.hypstr.strip():
            return Hypothesis("", 0.0)
        words = " ".join(hyp.hypstr.split())
        if phrases and words not in phrases:  # "final result does not match the grammar"
            return Hypothesis("", 0.0)
        text = phrases.get(words, words)
        confidence = round(max(0.0, min(1.0, float(hyp.prob))) * 100.0, 1)
        return Hypothesis(text, confidence)

    def _search(self, hints: Sequence[str]) -> tuple[str, dict[str, str]]:
        """The search for ``hints``: a grammar, added once per decoder; else the free LM."""
        phrases: dict[str, str] = {}
        for hint in hints:
            words = normalise(hint)
            if not words:
                continue
            missing = [w for w in words if self.decoder.lookup_word(w) is None]
            if missing:
                log.warning("speech hint %r left out: not in the dictionary: %s", hint, missing)
                continue
            phrases.setdefault(" ".join(words), hint)
        if not phrases:
            return self.lm_search, {}
        grammar = jsgf([p.split() for p in phrases])
        name = "hints_" + hashlib.sha1(grammar.encode()).hexdigest()[:16]
        if name not in self.searches:
            self.decoder.add_jsgf_string(name, grammar)
            self.searches.add(name)
        return name, phrases


@functools.cache
def default_engine() -> PocketSphinxEngine:
    """The process-wide pocketsphinx engine (its decoders load on first use).

    The one piece of module-level state in ``voxrelay.media``, on purpose: it is a pool of
    loaded decoders (about 0.65 s each to load), the same for every caller, never part of a
    media tick nor of any leg's or engine's state, and thread-safe; sharing it across calls
    and engines is its point. Whoever wants another passes its own engine to ``Collector``."""
    return PocketSphinxEngine()
