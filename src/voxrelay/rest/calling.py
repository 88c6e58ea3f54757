"""``client.calling``: one method per command of the REST calling API (reference §6.2).

Every method builds ``{"command", "id", "params"}`` and posts it to ``/api/calling/calls``;
keyword arguments left at None are not sent, ``extras`` is merged into ``params`` and
``request_options`` (``timeout``, ``headers``) applies to that one request. Python names map
to the wire where Python needs it (``from_`` -> ``from``). Flat media items in ``play`` are
folded into the nested wire form.

The methods are written once: ``Calling`` (sync) returns the response dict, ``AsyncCalling``
returns an awaitable of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from voxrelay.relay.media import fold_media, present

JsonDict = dict[str, Any]
R = TypeVar("R", JsonDict, Awaitable[JsonDict])


class CallingCommands(Generic[R]):
    """The commands; ``send(body, request_options)`` posts one body."""

    def __init__(self, send: Callable[[JsonDict, Mapping[str, Any] | None], R]) -> None:
        self._send: Callable[[JsonDict, Mapping[str, Any] | None], R] = send

    def _call(
        self,
        command: str,
        call_id: str | None,
        params: JsonDict,
        extras: Mapping[str, Any] | None,
        request_options: Mapping[str, Any] | None,
    ) -> R:
        body: JsonDict = {"command": command, "params": {**params, **(extras or {})}}
        if call_id is not None:
            body["id"] = call_id
        return self._send(body, request_options)

    # -- calls -----------------------------------------------------------------------------

    def dial(
        self,
        *,
        from_: str,
        to: str,
        url: str | None = None,
        swml: Mapping[str, Any] | str | None = None,
        caller_id: str | None = None,
        fallback_url: str | None = None,
        status_url: str | None = None,
        status_events: list[str] | None = None,
        url_method: str | None = None,
        codecs: list[str] | str | None = None,
        timeout: int | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        """Call ``to``; the SWML at ``url`` (or ``swml``) runs once it answers."""
        params = {"from": from_, "to": to} | present(
            url=url,
            swml=dict(swml) if isinstance(swml, Mapping) else swml,
            caller_id=caller_id,
            fallback_url=fallback_url,
            status_url=status_url,
            status_events=status_events,
            url_method=url_method,
            codecs=codecs,
            timeout=timeout,
        )
        return self._call("dial", None, params, extras, request_options)

    def update(
        self,
        *,
        id: str,
        status: str | None = None,
        url: str | None = None,
        swml: Mapping[str, Any] | str | None = None,
        fallback_url: str | None = None,
        status_url: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        """Cancel (``status="canceled"``) or complete a call, or give it new SWML."""
        params = {"id": id} | present(
            status=status,
            url=url,
            swml=dict(swml) if isinstance(swml, Mapping) else swml,
            fallback_url=fallback_url,
            status_url=status_url,
        )
        return self._call("update", None, params, extras, request_options)

    def end(
        self,
        call_id: str,
        *,
        reason: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._call("calling.end", call_id, present(reason=reason), extras, request_options)

    def transfer(
        self,
        call_id: str,
        *,
        dest: str | Mapping[str, Any],
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._call("calling.transfer", call_id, {"dest": dest}, extras, request_options)

    def disconnect(
        self,
        call_id: str,
        *,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._call("calling.disconnect", call_id, {}, extras, request_options)

    def refer(
        self,
        call_id: str,
        *,
        device: Mapping[str, Any],
        status_url: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = {"device": dict(device)} | present(status_url=status_url)
        return self._call("calling.refer", call_id, params, extras, request_options)

    def user_event(
        self,
        call_id: str,
        *,
        event: Any,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._call("calling.user_event", call_id, {"event": event}, extras, request_options)

    # -- components: a control_id and nothing else ------------------------------------------

    def _control(
        self,
        command: str,
        call_id: str,
        control_id: str,
        extras: Mapping[str, Any] | None,
        request_options: Mapping[str, Any] | None,
        **more: Any,
    ) -> R:
        params = {"control_id": control_id} | present(**more)
        return self._call(command, call_id, params, extras, request_options)

    # -- play ----------------------------------------------------------------------------------

    def play(
        self,
        call_id: str,
        *,
        play: list[Mapping[str, Any]],
        control_id: str | None = None,
        volume: float | None = None,
        direction: str | None = None,
        loop: int | None = None,
        status_url: str | None = None,
        language: str | None = None,
        voice: str | None = None,
        gender: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        """Play media items; the answer carries the ``control_id`` (made by the server when
        not given) for ``play_pause/resume/stop/volume``."""
        params = {"play": fold_media(play)} | present(
            control_id=control_id,
            volume=volume,
            direction=direction,
            loop=loop,
            status_url=status_url,
            language=language,
            voice=voice,
            gender=gender,
        )
        return self._call("calling.play", call_id, params, extras, request_options)

    def play_pause(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.play.pause", call_id, control_id, extras, request_options)

    def play_resume(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.play.resume", call_id, control_id, extras, request_options)

    def play_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.play.stop", call_id, control_id, extras, request_options)

    def play_volume(
        self,
        call_id: str,
        *,
        control_id: str,
        volume: float,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control(
            "calling.play.volume", call_id, control_id, extras, request_options, volume=volume
        )

    # -- record --------------------------------------------------------------------------------

    def record(
        self,
        call_id: str,
        *,
        control_id: str | None = None,
        audio: Mapping[str, Any] | None = None,
        status_url: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        """Record the call; ``audio`` is the record object of reference §3.3 (sent as
        ``params.record.audio``). The answer's ``url`` is where the file will be."""
        params = {"record": {"audio": dict(audio or {})}} | present(
            control_id=control_id, status_url=status_url
        )
        return self._call("calling.record", call_id, params, extras, request_options)

    def record_pause(
        self,
        call_id: str,
        *,
        control_id: str,
        behavior: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control(
            "calling.record.pause", call_id, control_id, extras, request_options, behavior=behavior
        )

    def record_resume(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.record.resume", call_id, control_id, extras, request_options)

    def record_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.record.stop", call_id, control_id, extras, request_options)

    # -- collect -------------------------------------------------------------------------------

    def collect(
        self,
        call_id: str,
        *,
        control_id: str | None = None,
        initial_timeout: float | None = None,
        digits: Mapping[str, Any] | None = None,
        speech: Mapping[str, Any] | None = None,
        continuous: bool | None = None,
        partial_results: bool | None = None,
        send_start_of_input: bool | None = None,
        start_input_timers: bool | None = None,
        status_url: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = present(
            control_id=control_id,
            initial_timeout=initial_timeout,
            digits=dict(digits) if digits is not None else None,
            speech=dict(speech) if speech is not None else None,
            continuous=continuous,
            partial_results=partial_results,
            send_start_of_input=send_start_of_input,
            start_input_timers=start_input_timers,
            status_url=status_url,
        )
        return self._call("calling.collect", call_id, params, extras, request_options)

    def collect_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.collect.stop", call_id, control_id, extras, request_options)

    def collect_start_input_timers(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control(
            "calling.collect.start_input_timers", call_id, control_id, extras, request_options
        )

    # -- detect, tap, stream, transcribe, denoise ---------------------------------------------

    def detect(
        self,
        call_id: str,
        *,
        detect: Mapping[str, Any],
        control_id: str | None = None,
        timeout: float | None = None,
        status_url: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = {"detect": dict(detect)} | present(
            control_id=control_id, timeout=timeout, status_url=status_url
        )
        return self._call("calling.detect", call_id, params, extras, request_options)

    def detect_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.detect.stop", call_id, control_id, extras, request_options)

    def tap(
        self,
        call_id: str,
        *,
        tap: Mapping[str, Any],
        device: Mapping[str, Any],
        control_id: str | None = None,
        status_url: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = {"tap": dict(tap), "device": dict(device)} | present(
            control_id=control_id, status_url=status_url
        )
        return self._call("calling.tap", call_id, params, extras, request_options)

    def tap_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.tap.stop", call_id, control_id, extras, request_options)

    def stream(
        self,
        call_id: str,
        *,
        url: str,
        control_id: str | None = None,
        name: str | None = None,
        codec: str | None = None,
        track: str | None = None,
        status_url: str | None = None,
        status_url_method: str | None = None,
        authorization_bearer_token: str | None = None,
        custom_parameters: Mapping[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = {"url": url} | present(
            control_id=control_id,
            name=name,
            codec=codec,
            track=track,
            status_url=status_url,
            status_url_method=status_url_method,
            authorization_bearer_token=authorization_bearer_token,
            custom_parameters=dict(custom_parameters) if custom_parameters else None,
        )
        return self._call("calling.stream", call_id, params, extras, request_options)

    def stream_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.stream.stop", call_id, control_id, extras, request_options)

    def transcribe(
        self,
        call_id: str,
        *,
        control_id: str | None = None,
        status_url: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = present(control_id=control_id, status_url=status_url)
        return self._call("calling.transcribe", call_id, params, extras, request_options)

    def transcribe_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control(
            "calling.transcribe.stop", call_id, control_id, extras, request_options
        )

    def denoise(
        self,
        call_id: str,
        *,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._call("calling.denoise", call_id, {}, extras, request_options)

    def denoise_stop(
        self,
        call_id: str,
        *,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._call("calling.denoise.stop", call_id, {}, extras, request_options)

    # -- AI and live transcription ----------------------------------------------------------

    def ai_message(
        self,
        call_id: str,
        *,
        message_text: str | None = None,
        role: str | None = None,
        reset: Mapping[str, Any] | None = None,
        global_data: Mapping[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = present(
            message_text=message_text,
            role=role,
            reset=dict(reset) if reset is not None else None,
            global_data=dict(global_data) if global_data is not None else None,
        )
        return self._call("calling.ai_message", call_id, params, extras, request_options)

    def ai_hold(
        self,
        call_id: str,
        *,
        timeout: int | str | None = None,
        prompt: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        """``timeout`` is sent as a string of seconds, as the API wants it."""
        params = present(timeout=None if timeout is None else str(timeout), prompt=prompt)
        return self._call("calling.ai_hold", call_id, params, extras, request_options)

    def ai_unhold(
        self,
        call_id: str,
        *,
        prompt: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._call(
            "calling.ai_unhold", call_id, present(prompt=prompt), extras, request_options
        )

    def ai_stop(
        self,
        call_id: str,
        *,
        control_id: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = present(control_id=control_id)
        return self._call("calling.ai.stop", call_id, params, extras, request_options)

    def live_transcribe(
        self,
        call_id: str,
        *,
        action: Any,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = {"action": action}
        return self._call("calling.live_transcribe", call_id, params, extras, request_options)

    def live_translate(
        self,
        call_id: str,
        *,
        action: Any,
        status_url: str | None = None,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        params = {"action": action} | present(status_url=status_url)
        return self._call("calling.live_translate", call_id, params, extras, request_options)

    # -- fax -----------------------------------------------------------------------------------

    def send_fax_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control("calling.send_fax.stop", call_id, control_id, extras, request_options)

    def receive_fax_stop(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Mapping[str, Any] | None = None,
        request_options: Mapping[str, Any] | None = None,
    ) -> R:
        return self._control(
            "calling.receive_fax.stop", call_id, control_id, extras, request_options
        )
