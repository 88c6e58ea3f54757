"""Full call flow written as a user of the 2.x API (PyPI ``signalwire`` 2.x, ``Relay.Consumer``).

The same file runs with the official SDK (``.venv-interop-v2``) and, with only the import
line changed to ``from voxrelay.v2.consumer import Consumer``, with voxrelay's own v2 API.

Answers the first call on RELAY_CONTEXT, plays TTS and pauses/resumes/changes volume/stops
it, prompts for digits (the caller presses them), records (the caller speaks), hangs up.
Each result is one JSON line on stdout with its fields; ``done`` at the end, then it exits.
Env: RELAY_HOST, RELAY_PROJECT, RELAY_TOKEN, RELAY_CONTEXT, RELAY_TIMEOUT.
"""
# mypy: disable-error-code="no-untyped-def"

import asyncio

from signalwire.relay.consumer import Consumer
from v2_common import FirstCallFlow, emit, run


class FlowConsumer(FirstCallFlow, Consumer):
    async def flow(self, call):
        answer = await call.answer()
        emit("answered", successful=answer.successful, state=call.state)

        action = await call.play_tts_async(
            text="Welcome to the voxrelay interop test. This sentence is long on purpose, "
            "so that it can be paused, resumed, made louder and stopped."
        )
        emit(
            "play_started",
            control_id=action.control_id,
            state=action.state,
            completed=action.completed,
            payload_keys=sorted(action.payload),
        )
        await asyncio.sleep(0.6)
        volume = await action.volume(5.0)
        emit("play_volume", successful=volume.successful, kind=type(volume).__name__)
        pause = await action.pause()
        emit("play_pause", successful=pause.successful, kind=type(pause).__name__)
        await asyncio.sleep(0.3)
        resume = await action.resume()
        emit("play_resume", successful=resume.successful, kind=type(resume).__name__)
        await asyncio.sleep(0.3)
        stop = await action.stop()
        emit("play_stop", successful=stop.successful, kind=type(stop).__name__)
        for _ in range(50):
            if action.completed:
                break
            await asyncio.sleep(0.1)
        emit(
            "play_done",
            completed=action.completed,
            state=action.state,
            result_successful=action.result.successful if action.result else None,
        )

        prompt = await call.prompt_tts(
            prompt_type="digits",
            text="Enter your code, then hash.",
            digits_max=4,
            digits_terminators="#",
            digits_timeout=5,
            initial_timeout=10,
        )
        emit(
            "prompt",
            successful=prompt.successful,
            type=prompt.prompt_type,
            result=prompt.result,
            terminator=prompt.terminator,
            confidence=prompt.confidence,
        )

        record = await call.record(
            beep=False, record_format="wav", initial_timeout=8, end_silence_timeout=1.5
        )
        emit(
            "record",
            successful=record.successful,
            url=record.url,
            duration=record.duration,
            size=record.size,
        )

        hangup = await call.hangup()
        emit("hangup", successful=hangup.successful, reason=hangup.reason, state=call.state)
        emit("done")


if __name__ == "__main__":
    run(FlowConsumer)
