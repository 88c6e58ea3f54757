"""Media methods and actions (reference §2.2-§2.6, §3.1-§3.4), without a server.

Requests go to a RecordingExecutor, so each test checks the exact params of every frame;
events are fed through ``Call._dispatch`` exactly as the client routes them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.relay.stubs import RecordingExecutor
from voxrelay.relay import (
    Call,
    CollectAction,
    DetectAction,
    PlayAction,
    PlayEvent,
    RecordAction,
    RecordEvent,
    RelayError,
    RelayEvent,
    StandaloneCollectAction,
    parse_event,
)
from voxrelay.relay.media import fold_media

REF = {"node_id": "n1", "call_id": "c1"}
CTL = {**REF, "control_id": "ctl"}


def make_call(executor: RecordingExecutor | None = None) -> tuple[Call, RecordingExecutor]:
    executor = executor or RecordingExecutor()
    call = Call(executor, {"call_id": "c1", "node_id": "n1", "call_state": "answered"})
    return call, executor


def event(event_type: str, control_id: str = "ctl", **params: Any) -> RelayEvent:
    return parse_event(
        f"calling.call.{event_type}", {"call_id": "c1", "control_id": control_id, **params}
    )


def facts(action: RecordAction) -> tuple[str, float | None, int | None]:
    return action.url, action.duration, action.size


def only_frame(executor: RecordingExecutor) -> tuple[str, dict[str, Any]]:
    assert len(executor.sent) == 1, executor.sent
    return executor.sent[0]


# -- wire params ----------------------------------------------------------------------


async def test_play_sends_only_given_options_and_folds_flat_items() -> None:
    call, executor = make_call()
    action = await call.play(
        [
            {"type": "audio", "url": "https://example.com/a.mp3"},
            {"type": "tts", "params": {"text": "hi"}},
        ],
        volume=-5.0,
        loop=0,
        control_id="ctl",
    )
    assert isinstance(action, PlayAction) and action.control_id == "ctl"
    assert only_frame(executor) == (
        "calling.play",
        {
            **CTL,
            "play": [
                {"type": "audio", "params": {"url": "https://example.com/a.mp3"}},
                {"type": "tts", "params": {"text": "hi"}},
            ],
            "volume": -5.0,
            "loop": 0,
        },
    )
    executor.sent.clear()
    await call.play([], direction="both", control_id="ctl2", status_url="https://cb")
    assert only_frame(executor) == (
        "calling.play",
        {**REF, "control_id": "ctl2", "play": [], "direction": "both", "status_url": "https://cb"},
    )


async def test_control_id_defaults_to_a_fresh_uuid() -> None:
    call, executor = make_call()
    a = await call.play_silence(1)
    b = await call.play_silence(1)
    assert len(a.control_id) == 36 and a.control_id != b.control_id
    assert [p["control_id"] for _, p in executor.sent] == [a.control_id, b.control_id]
    assert set(call._actions) == {a.control_id, b.control_id}


async def test_play_helpers_build_nested_items() -> None:
    call, executor = make_call()
    await call.play_tts("Hello", control_id="ctl")
    await call.play_tts(
        "Hola", language="es-ES", gender="male", voice="polly.Miguel", volume=3, control_id="ctl"
    )
    await call.play_audio("https://x/a.wav", control_id="ctl")
    await call.play_audio("https://x/a.wav", volume=-2, loop=2, control_id="ctl")
    await call.play_silence(1.5, control_id="ctl")
    await call.play_ringtone("us", control_id="ctl")
    await call.play_ringtone("uk", duration=5, volume=1, control_id="ctl")
    assert executor.sent == [
        ("calling.play", {**CTL, "play": [{"type": "tts", "params": {"text": "Hello"}}]}),
        (
            "calling.play",
            {
                **CTL,
                "play": [
                    {
                        "type": "tts",
                        "params": {
                            "text": "Hola",
                            "language": "es-ES",
                            "gender": "male",
                            "voice": "polly.Miguel",
                        },
                    }
                ],
                "volume": 3,
            },
        ),
        (
            "calling.play",
            {**CTL, "play": [{"type": "audio", "params": {"url": "https://x/a.wav"}}]},
        ),
        (
            "calling.play",
            {
                **CTL,
                "play": [{"type": "audio", "params": {"url": "https://x/a.wav"}}],
                "volume": -2,
                "loop": 2,
            },
        ),
        ("calling.play", {**CTL, "play": [{"type": "silence", "params": {"duration": 1.5}}]}),
        ("calling.play", {**CTL, "play": [{"type": "ringtone", "params": {"name": "us"}}]}),
        (
            "calling.play",
            {
                **CTL,
                "play": [{"type": "ringtone", "params": {"name": "uk", "duration": 5}}],
                "volume": 1,
            },
        ),
    ]


def test_fold_media() -> None:
    nested = {"type": "audio", "params": {"url": "u"}}
    assert fold_media([nested]) == [nested]
    assert fold_media([{"type": "tts", "text": "t", "voice": "v"}]) == [
        {"type": "tts", "params": {"text": "t", "voice": "v"}}
    ]
    # a value already nested wins over a flat duplicate
    assert fold_media([{"type": "tts", "text": "flat", "params": {"text": "nested"}}]) == [
        {"type": "tts", "params": {"text": "nested"}}
    ]
    assert fold_media({"type": "silence", "duration": 1}) == [
        {"type": "silence", "params": {"duration": 1}}
    ]
    assert fold_media(["junk", {"type": "silence"}]) == ["junk", {"type": "silence"}]


async def test_record_wraps_audio() -> None:
    call, executor = make_call()
    await call.record(control_id="ctl")
    await call.record({"beep": True, "format": "wav"}, control_id="ctl", status_url="https://cb")
    assert executor.sent == [
        ("calling.record", {**CTL, "record": {"audio": {}}}),
        (
            "calling.record",
            {
                **CTL,
                "record": {"audio": {"beep": True, "format": "wav"}},
                "status_url": "https://cb",
            },
        ),
    ]


async def test_play_and_collect_and_prompts() -> None:
    call, executor = make_call()
    collect = {"initial_timeout": 5.0, "digits": {"max": 4, "terminators": "#"}}
    action = await call.play_and_collect(
        [{"type": "tts", "text": "PIN?"}], collect, volume=2, control_id="ctl"
    )
    assert isinstance(action, CollectAction)
    await call.prompt_tts("PIN?", collect, language="en-GB", control_id="ctl")
    await call.prompt_audio("https://x/p.mp3", collect, control_id="ctl")
    assert executor.sent == [
        (
            "calling.play_and_collect",
            {
                **CTL,
                "play": [{"type": "tts", "params": {"text": "PIN?"}}],
                "collect": collect,
                "volume": 2,
            },
        ),
        (
            "calling.play_and_collect",
            {
                **CTL,
                "play": [{"type": "tts", "params": {"text": "PIN?", "language": "en-GB"}}],
                "collect": collect,
            },
        ),
        (
            "calling.play_and_collect",
            {
                **CTL,
                "play": [{"type": "audio", "params": {"url": "https://x/p.mp3"}}],
                "collect": collect,
            },
        ),
    ]


async def test_collect_sends_only_given_options() -> None:
    call, executor = make_call()
    action = await call.collect(digits={"max": 1}, control_id="ctl")
    assert isinstance(action, StandaloneCollectAction)
    await call.collect(
        digits={"max": 4},
        speech={"language": "en-US"},
        initial_timeout=3.0,
        partial_results=True,
        continuous=False,
        send_start_of_input=True,
        start_input_timers=False,
        control_id="ctl",
    )
    assert executor.sent == [
        ("calling.collect", {**CTL, "digits": {"max": 1}}),
        (
            "calling.collect",
            {
                **CTL,
                "digits": {"max": 4},
                "speech": {"language": "en-US"},
                "initial_timeout": 3.0,
                "partial_results": True,
                "continuous": False,
                "send_start_of_input": True,
                "start_input_timers": False,
            },
        ),
    ]


async def test_detect_variants() -> None:
    call, executor = make_call()
    action = await call.detect({"type": "machine"}, control_id="ctl")
    assert isinstance(action, DetectAction)
    await call.detect({"type": "fax", "params": {"tone": "CED"}}, timeout=10, control_id="ctl")
    await call.detect_digit(control_id="ctl")
    await call.detect_digit(digits="123", timeout=5, control_id="ctl")
    await call.detect_fax(tone="CNG", control_id="ctl")
    await call.detect_answering_machine(
        initial_timeout=4.5, detect_message_end=False, timeout=30, control_id="ctl"
    )
    assert executor.sent == [
        ("calling.detect", {**CTL, "detect": {"type": "machine", "params": {}}}),
        (
            "calling.detect",
            {**CTL, "detect": {"type": "fax", "params": {"tone": "CED"}}, "timeout": 10},
        ),
        ("calling.detect", {**CTL, "detect": {"type": "digit", "params": {}}}),
        (
            "calling.detect",
            {**CTL, "detect": {"type": "digit", "params": {"digits": "123"}}, "timeout": 5},
        ),
        ("calling.detect", {**CTL, "detect": {"type": "fax", "params": {"tone": "CNG"}}}),
        (
            "calling.detect",
            {
                **CTL,
                "detect": {
                    "type": "machine",
                    "params": {"initial_timeout": 4.5, "detect_message_end": False},
                },
                "timeout": 30,
            },
        ),
    ]


async def test_send_digits_returns_the_result() -> None:
    call, executor = make_call()
    result = await call.send_digits("12w#", control_id="ctl")
    assert result == {"code": "200", "message": "OK"}
    assert only_frame(executor) == ("calling.send_digits", {**CTL, "digits": "12w#"})
    assert call._actions == {}
    await call.send_digits("1")
    assert len(executor.sent[1][1]["control_id"]) == 36


# -- control frames ----------------------------------------------------------------------


async def test_control_frames_per_action() -> None:
    call, executor = make_call()
    play = await call.play_silence(1, control_id="ctl")
    await play.pause()
    await play.resume()
    await play.volume(10)
    await play.stop()
    record = await call.record(control_id="ctl")
    await record.pause()
    await record.pause(behavior="silence")
    await record.resume()
    await record.stop()
    prompt = await call.prompt_tts("x", {"digits": {"max": 1}}, control_id="ctl")
    await prompt.volume(-3)
    await prompt.start_input_timers()
    await prompt.stop()
    collect = await call.collect(digits={"max": 1}, control_id="ctl")
    await collect.start_input_timers()
    await collect.stop()
    detect = await call.detect_digit(control_id="ctl")
    await detect.stop()
    controls = [(m, p) for m, p in executor.sent if p.keys() <= {*CTL, "volume", "behavior"}]
    assert controls == [
        ("calling.play.pause", CTL),
        ("calling.play.resume", CTL),
        ("calling.play.volume", {**CTL, "volume": 10.0}),
        ("calling.play.stop", CTL),
        ("calling.record.pause", CTL),
        ("calling.record.pause", {**CTL, "behavior": "silence"}),
        ("calling.record.resume", CTL),
        ("calling.record.stop", CTL),
        ("calling.play_and_collect.volume", {**CTL, "volume": -3.0}),
        ("calling.collect.start_input_timers", CTL),
        ("calling.play_and_collect.stop", CTL),
        ("calling.collect.start_input_timers", CTL),
        ("calling.collect.stop", CTL),
        ("calling.detect.stop", CTL),
    ]
    assert not hasattr(record, "volume") and not hasattr(collect, "pause")
    assert not hasattr(detect, "pause")


# -- completion rules ------------------------------------------------------------------


@pytest.mark.parametrize("terminal", ["finished", "error"])
async def test_play_completes_on_finished_or_error(terminal: str) -> None:
    call, _ = make_call()
    action = await call.play_tts("hi", control_id="ctl")
    for state in ("playing", "paused", "playing"):
        call._dispatch(event("play", state=state))
    assert not action.is_done
    call._dispatch(event("play", control_id="other", state="finished"))
    assert not action.is_done
    call._dispatch(event("play", state=terminal))
    result = await action.wait(1)
    assert isinstance(result, PlayEvent) and result.state == terminal
    assert action.completed and "ctl" not in call._actions


async def test_collect_ignores_its_prompt_finishing() -> None:
    call, _ = make_call()
    action = await call.prompt_tts("PIN?", {"digits": {"max": 4}}, control_id="ctl")
    call._dispatch(event("play", state="playing"))
    call._dispatch(event("play", state="finished"))
    assert not action.is_done
    digits = {"type": "digit", "params": {"digits": "1234", "terminator": "#"}}
    call._dispatch(event("collect", result=digits))
    result = await action.wait(1)
    assert result.event_type == "calling.call.collect"
    assert result.params["result"] == digits


@pytest.mark.parametrize("method", ["prompt", "collect"])
async def test_collect_outcomes(method: str) -> None:
    call, _ = make_call()

    async def start() -> CollectAction | StandaloneCollectAction:
        if method == "prompt":
            return await call.prompt_tts("x", {"digits": {"max": 1}}, control_id="ctl")
        return await call.collect(digits={"max": 1}, control_id="ctl")

    # partial results, the start-of-input notice and continuous "collecting" do not end it
    action = await start()
    speech = {"type": "speech", "params": {"text": "hel", "confidence": 50.0}}
    call._dispatch(event("collect", result=speech, final=False))
    call._dispatch(event("collect", result={"type": "start_of_input"}))
    call._dispatch(event("collect", state="collecting", result=speech))
    call._dispatch(event("collect"))
    assert not action.is_done
    call._dispatch(event("collect", result={**speech, "params": {"text": "hello"}}, final=True))
    assert action.is_done and action.result is not None
    assert action.result.params["result"]["params"]["text"] == "hello"

    for state in ("finished", "error", "no_input", "no_match"):
        action = await start()
        call._dispatch(event("collect", state=state))
        assert action.is_done, state

    action = await start()
    call._dispatch(event("collect", result={"type": "no_input"}))
    assert action.is_done


async def test_detect_completes_on_the_first_detection() -> None:
    call, _ = make_call()
    action = await call.detect_answering_machine(control_id="ctl")
    call._dispatch(event("detect", detect={}))
    call._dispatch(event("play", state="finished"))
    assert not action.is_done
    human = {"type": "machine", "params": {"event": "HUMAN"}}
    call._dispatch(event("detect", detect=human))
    assert (await action.wait(1)).params["detect"] == human
    action = await call.detect_digit(control_id="ctl")
    call._dispatch(event("detect", state="finished"))
    assert action.is_done


async def test_record_url_duration_size() -> None:
    executor = RecordingExecutor({"code": "200", "message": "Recording", "url": "https://r/1.mp3"})
    call, _ = make_call(executor)
    action = await call.record(control_id="ctl")
    assert isinstance(action, RecordAction)
    assert facts(action) == ("https://r/1.mp3", None, None)
    call._dispatch(event("record", state="recording", url="https://r/1.mp3"))
    call._dispatch(event("record", state="paused"))
    assert not action.is_done
    call._dispatch(
        event("record", state="finished", record={"url": "https://r/2.mp3", "duration": 3.5})
    )
    result = await action.wait(1)
    assert isinstance(result, RecordEvent) and result.url == "https://r/2.mp3"
    assert facts(action) == ("https://r/2.mp3", 3.5, None)

    executor.result = {"code": "200", "message": "Recording"}
    action = await call.record(control_id="ctl")
    assert action.url == ""
    call._dispatch(event("record", state="no_input", url="https://r/3.mp3", duration=0, size=44))
    assert facts(action) == ("https://r/3.mp3", 0.0, 44)


# -- callbacks, waiting, gone calls -------------------------------------------------------


async def test_on_completed_sync_and_async() -> None:
    call, _ = make_call()
    seen: list[str] = []
    done = asyncio.Event()

    async def on_async(e: RelayEvent) -> None:
        seen.append("async " + e.params["state"])
        done.set()

    await call.play_silence(1, control_id="a", on_completed=lambda e: seen.append("sync"))
    await call.record(control_id="b", on_completed=on_async)
    call._dispatch(event("play", control_id="a", state="finished"))
    call._dispatch(event("play", control_id="a", state="finished"))
    call._dispatch(event("record", control_id="b", state="finished"))
    await asyncio.wait_for(done.wait(), 1)
    assert seen == ["sync", "async finished"]


async def test_wait_timeout_leaves_the_action_running() -> None:
    call, _ = make_call()
    action = await call.play_silence(5, control_id="ctl")
    with pytest.raises(TimeoutError):
        await action.wait(timeout=0.01)
    assert not action.is_done and "ctl" in call._actions
    waiter = asyncio.ensure_future(action.wait())
    await asyncio.sleep(0)
    call._dispatch(event("play", state="finished"))
    assert (await asyncio.wait_for(waiter, 1)).params["state"] == "finished"


@pytest.mark.parametrize("code", ["404", "410"])
async def test_gone_call_resolves_with_an_empty_typed_event(code: str) -> None:
    seen: list[RelayEvent] = []
    call, executor = make_call(RecordingExecutor({"code": code, "message": "gone"}))
    action = await call.play_tts("hi", on_completed=seen.append)
    result = await action.wait(0.1)
    assert isinstance(result, PlayEvent) and result.params == {} and result.state == ""
    assert seen == [result] and call._actions == {} and len(executor.sent) == 1
    record = await call.record()
    assert record.is_done and facts(record) == ("", None, None)
    assert await call.send_digits("1") == {}


async def test_ended_call_sends_nothing_and_resolves_at_once() -> None:
    call, executor = make_call()
    pending = await call.detect_digit(control_id="p")
    call._dispatch(parse_event("calling.call.state", {"call_id": "c1", "call_state": "ended"}))
    assert pending.is_done and pending.result is not None and pending.result.params == {}
    executor.sent.clear()
    for start in (
        call.play_silence(1),
        call.record(),
        call.prompt_audio("u", {"digits": {"max": 1}}),
        call.collect(digits={"max": 1}),
        call.detect_fax(),
    ):
        action = await start
        assert action.is_done and action.result is not None and action.result.params == {}
    assert executor.sent == [] and call._actions == {}


async def test_refused_start_raises_and_unregisters() -> None:
    call, _ = make_call(RecordingExecutor({"code": "400", "message": "bad collect"}))
    with pytest.raises(RelayError) as info:
        await call.collect(control_id="ctl")
    assert info.value.code == 400 and call._actions == {}
