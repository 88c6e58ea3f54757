"""An IVR on voxrelay: greet, take a menu choice (keys or speech), play a jingle, take a
voicemail after the beep, read the keys back, hang up.

Run it against a server (``voxrelay serve`` prints the values to use)::

    SIGNALWIRE_PROJECT_ID=... SIGNALWIRE_API_TOKEN=... SIGNALWIRE_SPACE=127.0.0.1:8773 \\
        python examples/ivr.py

Written as for the SignalWire RELAY SDK: only the import line differs. Change ``GREETING``
and call again to hear the difference. Every call event is printed with its time, and one
``IVR-RESULT {...}`` line sums each call up (keys, speech, voicemail).
"""

import json
import os
import time
from pathlib import Path

from voxrelay.relay import RelayClient

GREETING = "Welcome to the demo line."
MENU = "For sales, press 1 or say sales. For support, press 2 or say support. Then press pound."
JINGLE = Path(__file__).parent / "audio" / "chimes.wav"  # served from --media-dir examples/audio

client = RelayClient(contexts=["default"])  # project, token and host from the environment


def log_events(call):
    """Print every event of the call as it happens, with seconds since the call arrived."""
    start = time.monotonic()

    def show(event):
        p = event.params
        detail = p.get("call_state") or p.get("state") or p.get("result") or ""
        print(f"[ivr] {time.monotonic() - start:6.2f}s {event.event_type} {detail}", flush=True)

    for kind in (
        "calling.call.state",
        "calling.call.play",
        "calling.call.collect",
        "calling.call.record",
    ):
        call.on(kind, show)


def spoken(digits):
    """'12' -> '1, 2' so TTS reads the keys one by one."""
    return ", ".join(digits) if digits else "nothing"


@client.on_call
async def handle_call(call):
    log_events(call)
    await call.answer()
    await (await call.play_tts(GREETING)).wait()

    # The menu: keys (ended by #) or a spoken choice; a key press stops the prompt.
    menu = await call.prompt_tts(
        MENU,
        {
            "initial_timeout": 10.0,
            "digits": {"max": 4, "terminators": "#", "digit_timeout": 3.0},
            "speech": {"end_silence_timeout": 1.0, "hints": ["sales", "support"]},
        },
    )
    outcome = (await menu.wait(60)).params.get("result") or {}
    digits = outcome.get("params", {}).get("digits", "") if outcome.get("type") == "digit" else ""
    speech = outcome.get("params", {}).get("text", "") if outcome.get("type") == "speech" else ""

    await (await call.play_audio(f"file://{JINGLE.resolve()}")).wait()

    await (await call.play_tts("Please leave a message after the beep.")).wait()
    voicemail = await call.record(
        {
            "beep": True,
            "format": "wav",
            "initial_timeout": 10.0,
            "end_silence_timeout": 2.0,
            "max_length": 60,
        }
    )
    await voicemail.wait(90)

    await (await call.play_tts(f"You entered {spoken(digits)}. Goodbye.")).wait()
    await call.hangup()
    print(
        "IVR-RESULT "
        + json.dumps(
            {
                "call_id": call.call_id,
                "digits": digits,
                "speech": speech,
                "voicemail": {
                    "url": voicemail.url,
                    "duration": voicemail.duration,
                    "size": voicemail.size,
                },
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    print(f"[ivr] waiting for calls (server {os.environ.get('SIGNALWIRE_SPACE')})", flush=True)
    client.run()
