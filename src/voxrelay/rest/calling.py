"""``client.calling``: one method per command of the REST calling API (reference §6.2).

Every method builds ``{"command", "id", "params"}`` and posts it to ``/api/calling/calls``;
keyword arguments left at None are not sent, ``extras`` is merged into ``params`` and
``request_options`` (``timeout``, ``headers``) applies to that one request. Python names map
to the wire where Python needs it (``from_`` -> ``from``). Flat media items in ``play`` are
folded into the nested wire form.

The methods are written once: ``Calling`` (sync) returns the response dict, ``AsyncCalling``
returns an awaitable of it. The control commands of running components (``play_pause``,
``record_stop``, ``collect_start_input_timers``...) are generated from the RELAY vocabulary
(``voxrelay.protocol.components``): each is a typed descriptor named
``<component>_<verb>`` that sends ``calling.<component>.<verb>`` with the ``control_id``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, overload

from voxrelay.protocol.components import CONTROLS
from voxrelay.relay.media import fold_media, present

JsonDict = dict[str, Any]
R = TypeVar("R", JsonDict, Awaitable[JsonDict])
R_co = TypeVar("R_co", covariant=True)
Options = Mapping[str, Any] | None


class ControlCall(Protocol[R_co]):
    """``(call_id, *, control_id, extras=None, request_options=None)``."""

    def __call__(
        self,
        call_id: str,
        *,
        control_id: str,
        extras: Options = None,
        request_options: Options = None,
    ) -> R_co: ...


class VolumeCall(Protocol[R_co]):
    """``(call_id, *, control_id, volume, extras=None, request_options=None)``; dB -40..+40."""

    def __call__(
        self,
        call_id: str,
        *,
        control_id: str,
        volume: float,
        extras: Options = None,
        request_options: Options = None,
    ) -> R_co: ...


class PauseCall(Protocol[R_co]):
    """``(call_id, *, control_id, behavior=None, extras=None, request_options=None)``;
    ``behavior`` ``skip`` or ``silence`` (a recording's paused audio)."""

    def __call__(
        self,
        call_id: str,
        *,
        control_id: str,
        behavior: str | None = None,
        extras: Options = None,
        request_options: Options = None,
    ) -> R_co: ...


class _ControlCommand:
    """A REST control command of the vocabulary table, bound to its commands on access.

    Named ``<component>_<verb>`` in the class body; sends ``calling.<component>.<verb>``
    with ``control_id`` and the control's params (those left at None are not sent).
    """

    takes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, method: str) -> None:
        self.component, self.control = CONTROLS[method]
        if not self.component.rest or self.control.params + self.control.optional != self.takes:
            raise TypeError(f"{method} is not a REST control taking {self.takes}")
        self.name = f"{self.component.name}_{self.control.verb}"
        self.__doc__ = f"``{method}`` (reference {self.component.reference}, §6.2): " + (
            self.control.summary
        )

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.name:
            raise TypeError(f"{self.control.method} must be named {self.name}, not {name}")

    def _bind(self, commands: CallingCommands[Any]) -> Callable[..., Any]:
        method = self.control.method

        def send(
            call_id: str,
            *,
            control_id: str,
            extras: Options = None,
            request_options: Options = None,
            **values: Any,
        ) -> Any:
            params = {"control_id": control_id} | present(**values)
            return commands._call(method, call_id, params, extras, request_options)

        send.__name__ = send.__qualname__ = self.name
        send.__doc__ = self.__doc__
        return send


class control(_ControlCommand):
    """A control taking nothing but the control_id (``play_stop``, ``detect_stop``...)."""

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, obj: CallingCommands[R], owner: type | None = None) -> ControlCall[R]: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else self._bind(obj)


class volume_control(_ControlCommand):
    """A control taking ``volume`` in dB (``play_volume``)."""

    takes = ("volume",)

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, obj: CallingCommands[R], owner: type | None = None) -> VolumeCall[R]: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else self._bind(obj)


class pause_control(_ControlCommand):
    """A pause taking an optional ``behavior`` (``record_pause``)."""

    takes = ("behavior",)

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, obj: CallingCommands[R], owner: type | None = None) -> PauseCall[R]: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else self._bind(obj)


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

    play_pause = control("calling.play.pause")
    play_resume = control("calling.play.resume")
    play_volume = volume_control("calling.play.volume")
    play_stop = control("calling.play.stop")

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

    record_pause = pause_control("calling.record.pause")
    record_resume = control("calling.record.resume")
    record_stop = control("calling.record.stop")

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

    collect_stop = control("calling.collect.stop")
    collect_start_input_timers = control("calling.collect.start_input_timers")

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

    detect_stop = control("calling.detect.stop")

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

    tap_stop = control("calling.tap.stop")

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

    stream_stop = control("calling.stream.stop")

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

    transcribe_stop = control("calling.transcribe.stop")

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

    # -- fax (REST stops a fax, it cannot start one) ----------------------------------------

    send_fax_stop = control("calling.send_fax.stop")
    receive_fax_stop = control("calling.receive_fax.stop")
