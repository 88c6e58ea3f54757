"""A 2.x user program (PyPI ``signalwire`` 2.x): play_async, then volume, pause, resume, stop.

Answers the first call on RELAY_CONTEXT, starts a long TTS with ``play_tts_async``, turns it
up, pauses it, resumes it and stops it, printing one JSON line per step with the action's
``state`` and ``completed`` and every ``play.stateChange`` the call reported; ``done`` at the
end (after the hangup), then it exits. The same file runs with voxrelay.v2 by changing only
the import line. Env: RELAY_HOST, RELAY_PROJECT, RELAY_TOKEN, RELAY_CONTEXT, RELAY_TIMEOUT.
"""
# mypy: disable-error-code="no-untyped-def"

import asyncio

from signalwire.relay.consumer import Consumer
from v2_common import FirstCallFlow, emit, run


def snapshot(action):
    result = action.result
    return {
        "state": action.state,
        "completed": action.completed,
        "result_successful": result.successful if result is not None else None,
        "result_type": type(result).__name__ if result is not None else None,
    }


class PlayControlsConsumer(FirstCallFlow, Consumer):
    async def flow(self, call):
        seen = []
        call.on("play.stateChange", lambda params: seen.append(params.get("state")))
        answer = await call.answer()
        emit("answered", successful=answer.successful)
        action = await call.play_tts_async(
            text="This announcement is long on purpose. It goes on and on, so that it can "
            "be turned up, paused, resumed and stopped before it ends by itself."
        )
        emit("started", **snapshot(action))
        await asyncio.sleep(0.5)
        results = {}
        results["volume"] = await action.volume(6.0)
        emit("volume", successful=results["volume"].successful, **snapshot(action))
        results["pause"] = await action.pause()
        await asyncio.sleep(0.5)
        emit("pause", successful=results["pause"].successful, **snapshot(action))
        results["resume"] = await action.resume()
        await asyncio.sleep(0.5)
        emit("resume", successful=results["resume"].successful, **snapshot(action))
        results["stop"] = await action.stop()
        for _ in range(50):
            if action.completed:
                break
            await asyncio.sleep(0.1)
        emit("stop", successful=results["stop"].successful, **snapshot(action))
        await asyncio.sleep(0.3)  # any event after the stop would show in "seen"
        emit("states", seen=seen, **snapshot(action))
        prompt = await call.prompt_tts_async(
            prompt_type="digits", text="Press a key, or wait for this to be stopped.", digits_max=1
        )
        await asyncio.sleep(0.5)
        prompt_stop = await prompt.stop()
        for _ in range(50):
            if prompt.completed:
                break
            await asyncio.sleep(0.1)
        emit("prompt_stop", successful=prompt_stop.successful, **snapshot(prompt))
        hangup = await call.hangup()
        emit("done", hangup=hangup.successful)


if __name__ == "__main__":
    run(PlayControlsConsumer)
