"""Media methods of :class:`~voxrelay.relay.call.Call`: play, record, collect, detect, DTMF
(reference §2.2-§2.6).

Wire rules shared by every method here:

- options left at None are not sent (the server applies its defaults);
- extra ``**kwargs`` are merged into the request params verbatim (e.g. ``status_url``);
- ``control_id`` defaults to a fresh UUID; the action is registered under it before the
  request goes out, so no event can be missed;
- media lists are folded into the nested wire form (:mod:`voxrelay.relay.media`);
- on an ended call, or a 404/410 answer, the returned action is already completed with an
  empty event; any other non-2xx answer raises :class:`~voxrelay.relay.errors.RelayError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voxrelay.relay.action import ActionT
from voxrelay.relay.actions import (
    CollectAction,
    DetectAction,
    PlayAction,
    RecordAction,
    StandaloneCollectAction,
)
from voxrelay.relay.event import RelayEvent
from voxrelay.relay.media import audio, fold_media, present, ringtone, silence, tts

JsonDict = dict[str, Any]
OnCompleted = Callable[[RelayEvent], Any]


def _control_id(control_id: str | None) -> str:
    return control_id or str(uuid.uuid4())


class MediaMethods:
    """Mixed into Call; relies on its ``call_id``, ``_execute`` and ``_start_action``."""

    if TYPE_CHECKING:
        call_id: str

        async def _execute(self, method: str, extra: JsonDict | None = None) -> JsonDict: ...

        async def _start_action(
            self, action: ActionT, method: str, params: JsonDict
        ) -> ActionT: ...

    # -- play ----------------------------------------------------------------------------

    async def play(
        self,
        media: list[JsonDict],
        *,
        volume: float | None = None,
        direction: str | None = None,
        loop: int | None = None,
        control_id: str | None = None,
        on_completed: OnCompleted | None = None,
        **kwargs: Any,
    ) -> PlayAction:
        """Play ``media`` (``calling.play``): a list of items such as
        ``{"type": "audio", "params": {"url": ...}}`` (flat items are folded).

        ``volume`` in dB (-40..+40), ``direction`` ``listen`` (the caller hears it),
        ``speak`` or ``both``, ``loop`` times to play (0 = until stopped). Returns a
        :class:`PlayAction` that completes on ``finished`` or ``error``.
        """
        action = PlayAction(self, _control_id(control_id), on_completed=on_completed)
        params = {
            "play": fold_media(media),
            **present(volume=volume, direction=direction, loop=loop),
            **kwargs,
        }
        return await self._start_action(action, "play", params)

    async def play_tts(
        self,
        text: str,
        *,
        language: str | None = None,
        gender: str | None = None,
        voice: str | None = None,
        volume: float | None = None,
        **kwargs: Any,
    ) -> PlayAction:
        """Speak ``text``: :meth:`play` of one ``tts`` item (``language`` e.g. ``en-US``,
        ``gender`` male|female, ``voice`` a provider voice name)."""
        item = tts(text, language=language, gender=gender, voice=voice)
        return await self.play([item], volume=volume, **kwargs)

    async def play_audio(
        self, url: str, *, volume: float | None = None, **kwargs: Any
    ) -> PlayAction:
        """Play the audio file at ``url`` (http/https): :meth:`play` of one ``audio`` item."""
        return await self.play([audio(url)], volume=volume, **kwargs)

    async def play_silence(self, duration: float, **kwargs: Any) -> PlayAction:
        """Play ``duration`` seconds of silence."""
        return await self.play([silence(duration)], **kwargs)

    async def play_ringtone(
        self,
        name: str,
        *,
        duration: float | None = None,
        volume: float | None = None,
        **kwargs: Any,
    ) -> PlayAction:
        """Play the ``name`` country's ringtone (``us``, ``uk``...), for ``duration`` seconds
        or until stopped."""
        return await self.play([ringtone(name, duration=duration)], volume=volume, **kwargs)

    # -- record --------------------------------------------------------------------------

    async def record(
        self,
        audio: JsonDict | None = None,
        *,
        control_id: str | None = None,
        on_completed: OnCompleted | None = None,
        **kwargs: Any,
    ) -> RecordAction:
        """Record the call (``calling.record`` with ``record: {"audio": audio}``).

        ``audio`` holds the recording options (``beep``, ``format``, ``stereo``,
        ``direction``, ``initial_timeout``, ``end_silence_timeout``, ``terminators``...);
        None sends ``{}``, the server defaults. Returns a :class:`RecordAction` completing on
        ``finished`` or ``no_input`` with ``url``, ``duration`` and ``size``.
        """
        action = RecordAction(self, _control_id(control_id), on_completed=on_completed)
        params = {"record": {"audio": dict(audio) if audio else {}}, **kwargs}
        return await self._start_action(action, "record", params)

    # -- input ---------------------------------------------------------------------------

    async def play_and_collect(
        self,
        media: list[JsonDict],
        collect: JsonDict,
        *,
        volume: float | None = None,
        control_id: str | None = None,
        on_completed: OnCompleted | None = None,
        **kwargs: Any,
    ) -> CollectAction:
        """Play a prompt and collect digits and/or speech (``calling.play_and_collect``).

        ``collect`` is sent as given, e.g. ``{"initial_timeout": 5, "digits": {"max": 4,
        "terminators": "#"}}``. The returned :class:`CollectAction` completes on the
        collect outcome (``result.type`` digit, speech, no_input, no_match or error), not
        when the prompt ends.
        """
        action = CollectAction(self, _control_id(control_id), on_completed=on_completed)
        params = {
            "play": fold_media(media),
            "collect": collect,
            **present(volume=volume),
            **kwargs,
        }
        return await self._start_action(action, "play_and_collect", params)

    async def prompt_tts(
        self,
        text: str,
        collect: JsonDict,
        *,
        language: str | None = None,
        gender: str | None = None,
        voice: str | None = None,
        volume: float | None = None,
        **kwargs: Any,
    ) -> CollectAction:
        """:meth:`play_and_collect` with a spoken ``text`` prompt."""
        item = tts(text, language=language, gender=gender, voice=voice)
        return await self.play_and_collect([item], collect, volume=volume, **kwargs)

    async def prompt_audio(
        self, url: str, collect: JsonDict, *, volume: float | None = None, **kwargs: Any
    ) -> CollectAction:
        """:meth:`play_and_collect` with the audio file at ``url`` as the prompt."""
        return await self.play_and_collect([audio(url)], collect, volume=volume, **kwargs)

    async def collect(
        self,
        *,
        digits: JsonDict | None = None,
        speech: JsonDict | None = None,
        initial_timeout: float | None = None,
        partial_results: bool | None = None,
        continuous: bool | None = None,
        send_start_of_input: bool | None = None,
        start_input_timers: bool | None = None,
        control_id: str | None = None,
        on_completed: OnCompleted | None = None,
        **kwargs: Any,
    ) -> StandaloneCollectAction:
        """Collect input without a prompt (``calling.collect``).

        Give ``digits`` (``{"max", "terminators", "digit_timeout"}``) and/or ``speech``
        (``{"end_silence_timeout", "speech_timeout", "language", "hints"...}``); the server
        answers 400 without either. ``initial_timeout`` in seconds. With
        ``start_input_timers=False`` the timers wait for
        :meth:`StandaloneCollectAction.start_input_timers`.
        """
        action = StandaloneCollectAction(self, _control_id(control_id), on_completed=on_completed)
        params = {
            **present(
                digits=digits,
                speech=speech,
                initial_timeout=initial_timeout,
                partial_results=partial_results,
                continuous=continuous,
                send_start_of_input=send_start_of_input,
                start_input_timers=start_input_timers,
            ),
            **kwargs,
        }
        return await self._start_action(action, "collect", params)

    # -- detect --------------------------------------------------------------------------

    async def detect(
        self,
        detect: JsonDict,
        *,
        timeout: float | None = None,
        control_id: str | None = None,
        on_completed: OnCompleted | None = None,
        **kwargs: Any,
    ) -> DetectAction:
        """Run a detector (``calling.detect``): ``detect`` is ``{"type": "machine"|"fax"|
        "digit", "params": {...}}`` (``params`` sent as ``{}`` when missing); ``timeout`` in
        seconds. The :class:`DetectAction` completes on the first detection."""
        action = DetectAction(self, _control_id(control_id), on_completed=on_completed)
        body = dict(detect)
        body.setdefault("params", {})
        params = {"detect": body, **present(timeout=timeout), **kwargs}
        return await self._start_action(action, "detect", params)

    async def detect_answering_machine(
        self,
        *,
        initial_timeout: float | None = None,
        end_silence_timeout: float | None = None,
        machine_voice_threshold: float | None = None,
        machine_words_threshold: int | None = None,
        detect_interruptions: bool | None = None,
        detect_message_end: bool | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> DetectAction:
        """:meth:`detect` of type ``machine`` (events HUMAN, MACHINE, UNKNOWN, READY...)."""
        machine = present(
            initial_timeout=initial_timeout,
            end_silence_timeout=end_silence_timeout,
            machine_voice_threshold=machine_voice_threshold,
            machine_words_threshold=machine_words_threshold,
            detect_interruptions=detect_interruptions,
            detect_message_end=detect_message_end,
        )
        return await self.detect({"type": "machine", "params": machine}, timeout=timeout, **kwargs)

    async def detect_fax(
        self, *, tone: str | None = None, timeout: float | None = None, **kwargs: Any
    ) -> DetectAction:
        """:meth:`detect` of type ``fax``; ``tone`` ``CED`` or ``CNG`` (None: either)."""
        return await self.detect(
            {"type": "fax", "params": present(tone=tone)}, timeout=timeout, **kwargs
        )

    async def detect_digit(
        self, *, digits: str | None = None, timeout: float | None = None, **kwargs: Any
    ) -> DetectAction:
        """:meth:`detect` of type ``digit``; ``digits`` limits which DTMF digits count."""
        return await self.detect(
            {"type": "digit", "params": present(digits=digits)}, timeout=timeout, **kwargs
        )

    # -- DTMF ----------------------------------------------------------------------------

    async def send_digits(self, digits: str, *, control_id: str | None = None) -> JsonDict:
        """Send DTMF ``digits`` (``0-9 * # A-D``; ``w`` pauses 0.5 s, ``W`` 1 s) with
        ``calling.send_digits``. Returns the result dict (no action); the server then emits
        ``calling.call.send_digits`` with state ``finished``."""
        return await self._execute(
            "send_digits", {"control_id": _control_id(control_id), "digits": digits}
        )
