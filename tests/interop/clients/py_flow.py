"""Full call flow written as a user of the official Python SDK (``signalwire-sdk`` 3.x).

Run with the interop venv (``scripts/install-interop``), never with voxrelay's own venv::

    SIGNALWIRE_RELAY_CA_FILE=ca.pem .venv-interop/bin/python py_flow.py

Answers the first call on RELAY_CONTEXT, plays TTS and changes its volume, pauses, resumes
and stops it, prompts for digits (the caller presses them), records what the caller says
until end of silence, hangs up and waits for the call to end. Each result is one JSON line
on stdout with its fields (``ready``, ``received``, ``answered``, ``play_started``,
``play_volume``, ``play_pause``, ``play_resume``, ``play_stop``, ``play_done``, ``prompt``,
``record``, ``hangup``, ``ended``, ``done``; ``error`` on failure); logs go to stderr.
Exit 0 when the whole flow ran, 1 otherwise. Env: RELAY_HOST, RELAY_PROJECT, RELAY_TOKEN,
RELAY_CONTEXT, RELAY_TIMEOUT (bounds the whole run), RELAY_LOG (logging level).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from flow_common import emit, run_flow
from signalwire.relay import RelayClient

STEP_TIMEOUT = 15.0  # any single wait in the flow


def device_numbers(call: Any) -> tuple[str | None, str | None]:
    params = (getattr(call, "device", None) or {}).get("params") or {}
    return params.get("from_number"), params.get("to_number")


async def call_flow(call: Any) -> None:
    answer = await call.answer()
    await call.wait_for_answered(timeout=STEP_TIMEOUT)
    emit("answered", call_id=call.call_id, state=call.state, code=answer.get("code"))

    play_events: list[tuple[str, str]] = []  # (control_id, state) of every play on the call
    call.on(
        "calling.call.play",
        lambda event: play_events.append(
            (event.params.get("control_id"), event.params.get("state"))
        ),
    )

    action = await call.play_tts(
        "Welcome to the voxrelay interop test. This sentence is long on purpose, "
        "so that it can be paused, resumed, made louder and stopped."
    )
    emit("play_started", control_id=action.control_id, completed=action.completed)
    await asyncio.sleep(0.6)
    volume = await action.volume(5.0)
    emit("play_volume", code=volume.get("code"), message=volume.get("message"))
    pause = await action.pause()
    emit("play_pause", code=pause.get("code"), message=pause.get("message"))
    await asyncio.sleep(0.3)
    resume = await action.resume()
    emit("play_resume", code=resume.get("code"), message=resume.get("message"))
    await asyncio.sleep(0.3)
    stop = await action.stop()
    emit("play_stop", code=stop.get("code"), message=stop.get("message"))
    done = await action.wait(timeout=STEP_TIMEOUT)
    emit(
        "play_done",
        completed=action.completed,
        state=done.params.get("state"),
        control_id=done.params.get("control_id"),
        states=[state for cid, state in play_events if cid == action.control_id],
    )

    prompt = await call.prompt_tts(
        "Enter your code, then hash.",
        {
            "digits": {"max": 4, "terminators": "#", "digit_timeout": 5},
            "initial_timeout": 10,
        },
    )
    collected = await prompt.wait(timeout=STEP_TIMEOUT)
    result = collected.params.get("result") or {}
    params = result.get("params") or {}
    emit(
        "prompt",
        control_id=collected.params.get("control_id"),
        type=result.get("type"),
        digits=params.get("digits"),
        terminator=params.get("terminator"),
    )

    record = await call.record(
        {"beep": False, "format": "wav", "initial_timeout": 8, "end_silence_timeout": 1.5}
    )
    recorded = await record.wait(timeout=STEP_TIMEOUT)
    emit(
        "record",
        control_id=recorded.params.get("control_id"),
        state=recorded.params.get("state"),
        url=getattr(recorded, "url", None),
        duration=getattr(recorded, "duration", None),
        size=getattr(recorded, "size", None),
    )

    hangup = await call.hangup()
    emit("hangup", code=hangup.get("code"), state=call.state)
    ended = await call.wait_for_ended(timeout=STEP_TIMEOUT)
    emit(
        "ended",
        call_id=call.call_id,
        state=call.state,
        end_reason=ended.params.get("end_reason"),
    )


async def run(host: str, project: str, token: str, context: str) -> None:
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    handled: list[str] = []
    client = RelayClient(project=project, token=token, host=host, contexts=[context])

    @client.on_call
    async def on_call(call: Any) -> None:
        from_number, to_number = device_numbers(call)
        info = {"call_id": call.call_id, "from": from_number, "to": to_number}
        if handled:
            emit("extra_call", **info)
            return
        handled.append(call.call_id)
        emit("received", **info)
        try:
            await call_flow(call)
        except BaseException as exc:
            if not finished.done():
                finished.set_exception(RuntimeError(f"call flow failed: {exc!r}"))
            raise
        if not finished.done():
            finished.set_result(None)

    await client.connect()
    emit("ready", context=context)
    try:
        await finished
    finally:
        await client.disconnect()
    emit("done")


def main() -> int:
    env = os.environ
    flow = run(
        env["RELAY_HOST"],
        env["RELAY_PROJECT"],
        env["RELAY_TOKEN"],
        env.get("RELAY_CONTEXT", "default"),
    )
    return run_flow("py_flow", flow, float(env.get("RELAY_TIMEOUT", "45")))


if __name__ == "__main__":
    sys.exit(main())
