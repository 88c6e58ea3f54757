"""SWML: a call driven by a document of verbs (REST ``dial``/``update``; later transfer).

A document is ``{"version": "1.0.0", "sections": {"main": [verb, ...], ...}}`` given as an
object, as JSON or YAML text, or fetched from a URL. Execution starts at ``main``; a verb is
a bare name (``"answer"``, ``"hangup"``) or a one-key object ``{"play": {...}}``. Verbs:

- ``answer`` (a no-op on a call that is already up), ``hangup`` ``{reason?}``
- ``play`` ``{url | urls, volume?, say_voice?, say_language?, say_gender?}``; a URL is
  ``http(s)://...``, ``say:<text>``, ``silence:<seconds>`` or ``ring:<country>``
  (``ring:<seconds>:<country>`` for a duration)
- ``prompt`` ``{play, volume?, say_*?, max_digits?, terminators?, digit_timeout?,
  initial_timeout?, speech_hints?, speech_timeout?, speech_end_timeout?, speech_language?}``
  sets ``prompt_result`` (match_digits, match_speech, no_input, no_match, failed),
  ``prompt_value``, ``prompt_input_type`` and ``prompt_digit_terminator``
- ``record`` ``{format?, stereo?, direction?, beep?, terminators?, initial_timeout?,
  end_silence_timeout?, max_length?, input_sensitivity?}`` (blocks until the recording
  ends) sets ``record_url``, ``record_result`` (success, no_input, failed), ``record_duration``
- ``sleep`` ``<ms>`` or ``{duration: <ms>}``; ``set`` ``{name: value, ...}``;
  ``execute`` ``{dest: <section>}`` runs a section and comes back
- ``%{name}`` in a string is replaced by the variable (``call.call_id``, ``call.from``,
  ``call.to`` are set).

Verbs run the same RELAY command handlers as clients do (``calling.play``,
``calling.play_and_collect``, ``calling.record``), and wait for their components' events.
The call hangs up when the document ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import yaml

from voxrelay.protocol.models import InvalidParams, validate
from voxrelay.protocol.states import CallState, EndReason
from voxrelay.server.audio import AudioError
from voxrelay.server.calls import Call
from voxrelay.server.dispatch import METHODS, CommandError, RequestContext, Requester
from voxrelay.server.node import Node

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
VERBS = frozenset({"answer", "hangup", "play", "prompt", "record", "sleep", "set", "execute"})
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_STEPS = 10_000
MAX_DEPTH = 16
_VAR = re.compile(r"%\{([A-Za-z0-9_.]+)\}")


class SwmlError(ValueError):
    """A document that cannot run; ``path`` says where (``sections.main.2.play``)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def parse(document: object) -> dict[str, list[Any]]:
    """The sections of a document (object, JSON or YAML text). Raises SwmlError."""
    if isinstance(document, str | bytes):
        if len(document) > MAX_DOCUMENT_BYTES:
            raise SwmlError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
        try:
            document = yaml.safe_load(document)  # JSON is YAML too
        except yaml.YAMLError as exc:
            raise SwmlError(f"not JSON nor YAML: {exc}") from None
    if not isinstance(document, dict):
        raise SwmlError("a document is an object with sections")
    sections = document.get("sections")
    if not isinstance(sections, dict) or not isinstance(sections.get("main"), list):
        raise SwmlError("needs sections.main, a list of verbs", "sections")
    for name, verbs in sections.items():
        if not isinstance(verbs, list):
            raise SwmlError("a section is a list of verbs", f"sections.{name}")
        for i, verb in enumerate(verbs):
            _check_verb(verb, sections, f"sections.{name}.{i}")
    return {str(k): v for k, v in sections.items()}


def _check_verb(verb: object, sections: dict[str, Any], path: str) -> None:
    if isinstance(verb, str):
        name: object = verb
    elif isinstance(verb, dict) and len(verb) == 1:
        name = next(iter(verb))
    else:
        raise SwmlError("a verb is a name or an object with one key", path)
    if name not in VERBS:
        raise SwmlError(f"unsupported verb {name!r}; supported: {', '.join(sorted(VERBS))}", path)
    if name == "execute" and isinstance(verb, dict):
        dest = (verb["execute"] or {}).get("dest") if isinstance(verb["execute"], dict) else None
        if dest not in sections:
            raise SwmlError(f"execute dest {dest!r} is not a section", path)


def media_item(url: str, say: JsonDict) -> JsonDict:
    """One SWML play URL as a RELAY media item."""
    scheme, _, rest = url.partition(":")
    if scheme == "say":
        return {"type": "tts", "params": {"text": rest, **say}}
    if scheme == "silence":
        return {"type": "silence", "params": {"duration": _number(rest, "silence")}}
    if scheme == "ring":
        duration, _, country = rest.rpartition(":")
        params: JsonDict = {"name": country}
        if duration:
            params["duration"] = _number(duration, "ring")
        return {"type": "ringtone", "params": params}
    return {"type": "audio", "params": {"url": url}}


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SwmlError(f"{what}: {text!r} is not a number of seconds") from None


class VerbFailed(Exception):
    """A verb whose command was refused; the document goes on with the next verb."""


class Interpreter:
    """Runs a document on one call, issuing commands as ``requester``."""

    def __init__(
        self,
        node: Node,
        requester: Requester,
        call: Call,
        sections: dict[str, list[Any]],
        variables: JsonDict | None = None,
    ) -> None:
        self.node, self.requester, self.call, self.sections = node, requester, call, sections
        self.vars: JsonDict = {
            "call.call_id": call.call_id,
            "call.from": call.device.get("params", {}).get("from_number"),
            "call.to": call.device.get("params", {}).get("to_number"),
            **(variables or {}),
        }
        self.steps = 0
        self._running: tuple[str, str] | None = None  # (stop method, control_id)

    async def run(self, hang_up_at_end: bool = True) -> None:
        """Run ``main``; hang up when it ends. Cancelling stops the verb under way."""
        try:
            await self._section("main", 0)
        except asyncio.CancelledError:
            await self._stop_running()
            raise
        if hang_up_at_end and self.call.active:
            self.call.hang_up(EndReason.HANGUP)

    async def _section(self, name: str, depth: int) -> bool:
        """Run a section; False once the call is over (stop everything)."""
        if depth > MAX_DEPTH:
            raise SwmlError(f"execute nested deeper than {MAX_DEPTH}")
        for verb in self.sections[name]:
            if not self.call.active:
                return False
            self.steps += 1
            if self.steps > MAX_STEPS:
                log.warning("call %s: SWML ran %d verbs, stopping", self.call.call_id, MAX_STEPS)
                return False
            verb_name, params = (verb, {}) if isinstance(verb, str) else next(iter(verb.items()))
            params = self._substitute(params)
            try:
                if verb_name == "execute":
                    if not await self._section(str(params["dest"]), depth + 1):
                        return False
                else:
                    await getattr(self, f"_verb_{verb_name}")(params)
            except (VerbFailed, SwmlError) as exc:
                log.info("call %s: SWML %s failed: %s", self.call.call_id, verb_name, exc)
        return True

    def _substitute(self, value: Any) -> Any:
        if isinstance(value, str):
            return _VAR.sub(lambda m: str(self.vars.get(m.group(1), "")), value)
        if isinstance(value, list):
            return [self._substitute(v) for v in value]
        if isinstance(value, dict):
            return {k: self._substitute(v) for k, v in value.items()}
        return value

    # -- verbs --------------------------------------------------------------------------------

    async def _verb_answer(self, params: Any) -> None:
        if self.call.state is not CallState.ANSWERED:
            raise VerbFailed("only calls that are up can run SWML here")

    async def _verb_hangup(self, params: Any) -> None:
        reason = params.get("reason", "hangup") if isinstance(params, dict) else "hangup"
        try:
            self.call.hang_up(EndReason(reason))
        except ValueError:
            self.call.hang_up(EndReason.HANGUP)

    async def _verb_set(self, params: Any) -> None:
        if isinstance(params, dict):
            self.vars.update({str(k): v for k, v in params.items()})

    async def _verb_sleep(self, params: Any) -> None:
        ms = params.get("duration", 0) if isinstance(params, dict) else params
        seconds = _number(str(ms), "sleep") / 1000
        ended = asyncio.get_running_loop().create_future()

        def watch(call: Call) -> None:
            if not call.active and not ended.done():
                ended.set_result(None)

        self.call.watchers.append(watch)
        try:
            await asyncio.wait_for(asyncio.shield(ended), timeout=max(0.0, seconds))
        except TimeoutError:
            pass
        finally:
            self.call.watchers.remove(watch)

    def _media(self, params: JsonDict, key: str = "url") -> list[JsonDict]:
        urls = params.get(key) if key in params else params.get("urls")
        if urls is None and key == "url":
            urls = params.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls:
            raise SwmlError(f"needs {key} (or urls)")
        say = {
            k: params[f"say_{k}"] for k in ("voice", "language", "gender") if f"say_{k}" in params
        }
        return [media_item(str(u), say) for u in urls]

    async def _verb_play(self, params: Any) -> None:
        if isinstance(params, str):
            params = {"url": params}
        play: JsonDict = {"play": self._media(params)}
        if "volume" in params:
            play["volume"] = params["volume"]
        await self._component(
            "calling.play",
            play,
            lambda event, p: (
                event == "calling.call.play" and p.get("state") in ("finished", "error")
            ),
        )

    async def _verb_prompt(self, params: Any) -> None:
        params = params if isinstance(params, dict) else {"play": params}
        speech_keys = {k for k in params if k.startswith("speech_")}
        collect: JsonDict = {"initial_timeout": params.get("initial_timeout", 5.0)}
        if "max_digits" in params or not speech_keys:
            collect["digits"] = {
                "max": params.get("max_digits", 1),
                "terminators": params.get("terminators", ""),
                "digit_timeout": params.get("digit_timeout", 5.0),
            }
        if speech_keys:
            speech: JsonDict = {"hints": params.get("speech_hints", [])}
            for ours, theirs in (
                ("speech_timeout", "speech_timeout"),
                ("speech_end_timeout", "end_silence_timeout"),
                ("speech_language", "language"),
            ):
                if ours in params:
                    speech[theirs] = params[ours]
            collect["speech"] = speech
        command: JsonDict = {"play": self._media(params, "play"), "collect": collect}
        if "volume" in params:
            command["volume"] = params["volume"]
        self.vars.update(prompt_result="failed", prompt_value="", prompt_input_type="")
        event = await self._component(
            "calling.play_and_collect",
            command,
            lambda event, p: event == "calling.call.collect" and "result" in p,
        )
        result = event.get("result") or {}
        kind, found = result.get("type"), result.get("params") or {}
        if kind == "digit":
            self.vars.update(
                prompt_result="match_digits",
                prompt_value=found.get("digits", ""),
                prompt_input_type="dtmf",
                prompt_digit_terminator=found.get("terminator", ""),
            )
        elif kind == "speech":
            self.vars.update(
                prompt_result="match_speech",
                prompt_value=found.get("text", ""),
                prompt_input_type="speech",
            )
        elif kind in ("no_input", "no_match"):
            self.vars["prompt_result"] = kind

    async def _verb_record(self, params: Any) -> None:
        audio = dict(params) if isinstance(params, dict) else {}
        audio.pop("status_url", None)
        self.vars.update(record_result="failed", record_url="", record_duration=0)
        event = await self._component(
            "calling.record",
            {"record": {"audio": audio}},
            lambda event, p: (
                event == "calling.call.record"
                and p.get("state") in ("finished", "no_input", "error")
            ),
        )
        state = event.get("state")
        self.vars.update(
            record_result="success" if state == "finished" else state,
            record_url=event.get("url", ""),
            record_duration=event.get("duration", 0),
        )

    # -- commands -------------------------------------------------------------------------------

    async def _component(
        self, method: str, params: JsonDict, done: Callable[[str, JsonDict], bool]
    ) -> JsonDict:
        """Start a component with ``method`` and wait for the event ``done`` accepts."""
        control_id = str(uuid.uuid4())
        finished: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()

        def tap(event_type: str, payload: JsonDict) -> None:
            if payload.get("control_id") != control_id or finished.done():
                return
            if done(event_type, payload):
                finished.set_result(payload)

        def gone(call: Call) -> None:
            if call.ended and not finished.done():
                finished.set_result({})

        self.call.event_taps.append(tap)
        self.call.watchers.append(gone)
        try:
            await self._command(method, {**params, "control_id": control_id})
            self._running = (f"{method}.stop", control_id)
            return await finished
        finally:
            self._running = None
            self.call.event_taps.remove(tap)
            self.call.watchers.remove(gone)

    async def _stop_running(self) -> None:
        running, self._running = self._running, None
        if running is not None and self.call.active:
            with contextlib.suppress(VerbFailed):
                await self._command(running[0], {"control_id": running[1]})

    async def _command(self, method: str, params: JsonDict) -> JsonDict:
        spec = METHODS[method]
        try:
            model = validate(spec.params, {**params, "call_id": self.call.call_id})
            result: JsonDict = await spec.handler(RequestContext(self.node, self.requester), model)
        except InvalidParams as exc:
            raise VerbFailed(str(exc)) from None
        except CommandError as exc:
            raise VerbFailed(f"{exc.code} {exc.message}") from None
        return result


async def fetch(node: Node, url: str, method: str, call_info: JsonDict) -> str:
    """Fetch a document from ``url`` (SSRF policy of audio URLs, size and time limits).

    POST sends ``{"call": call_info, "vars": {}}``. Raises SwmlError.
    """
    try:
        await node.audio.check_host(url)
    except AudioError as exc:
        raise SwmlError(str(exc)) from None
    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
            if method == "GET":
                request = client.build_request("GET", url)
            else:
                request = client.build_request("POST", url, json={"call": call_info, "vars": {}})
            resp = await client.send(request, stream=True)
            try:
                if resp.status_code != 200:
                    raise SwmlError(f"{url}: HTTP {resp.status_code}")
                chunks, size = [], 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_DOCUMENT_BYTES:
                        raise SwmlError(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
                    chunks.append(chunk)
            finally:
                await resp.aclose()
    except httpx.HTTPError as exc:
        raise SwmlError(f"{url}: {exc}") from None
    try:
        return b"".join(chunks).decode()
    except UnicodeDecodeError:
        raise SwmlError(f"{url}: not text") from None
