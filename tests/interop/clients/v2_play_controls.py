"""A 2.x user program (PyPI ``signalwire`` 2.x): play_async, then volume, pause, resume, stop.

Answers the first call on RELAY_CONTEXT, starts a long TTS with ``play_tts_async``, turns it
up, pauses it, resumes it and stops it, printing one JSON line per step with the action's
``state`` and ``completed`` and every ``play.stateChange`` the call reported; ``done`` at the
end (after the hangup), then it exits. The same file runs with voxrelay.v2 by changing only
the import line. Env: RELAY_HOST, RELAY_PROJECT, RELAY_TOKEN, RELAY_CONTEXT, RELAY_TIMEOUT.
"""
# mypy: disable-error-code="no-untyped-def"

import asyncio
import json
import os
import sys
import threading

from signalwire.relay.consumer import Consumer


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def snapshot(action):
    result = action.result
    return {
        "state": action.state,
        "completed": action.completed,
        "result_successful": result.successful if result is not None else None,
        "result_type": type(result).__name__ if result is not None else None,
    }


class PlayControlsConsumer(Consumer):
    def setup(self):
        self.project = os.environ["RELAY_PROJECT"]
        self.token = os.environ["RELAY_TOKEN"]
        self.host = os.environ["RELAY_HOST"]
        self.contexts = [os.environ.get("RELAY_CONTEXT", "default")]
        self.busy = False

    async def ready(self):
        emit("ready")

    async def on_incoming_call(self, call):
        if self.busy:
            return
        self.busy = True
        try:
            await self.flow(call)
        except Exception as exc:
            emit("error", message=repr(exc))
        os._exit(0)

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
        hangup = await call.hangup()
        emit("done", hangup=hangup.successful)


def main():
    timeout = float(os.environ.get("RELAY_TIMEOUT", "40"))

    def hard_stop():
        emit("error", message=f"flow did not complete within {timeout} s")
        os._exit(2)

    timer = threading.Timer(timeout, hard_stop)
    timer.daemon = True
    timer.start()
    PlayControlsConsumer().run()


if __name__ == "__main__":
    main()
