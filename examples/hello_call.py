"""The smallest voxrelay app: answer every call to context "default", then hang up.

Run it against a server (``voxrelay serve`` prints the values to use)::

    SIGNALWIRE_PROJECT_ID=... SIGNALWIRE_API_TOKEN=... SIGNALWIRE_SPACE=127.0.0.1:8773 \
        python examples/hello_call.py

Written exactly as for the SignalWire RELAY SDK; only the import line differs.
"""

import asyncio

from voxrelay.relay import RelayClient

client = RelayClient(contexts=["default"])  # credentials and host come from the environment


@client.on_call
async def handle_call(call):  # type: ignore[no-untyped-def]
    numbers = call.device.get("params", {})
    print(f"[app] call {call.call_id} from {numbers.get('from_number')}", flush=True)
    await call.answer()
    print("[app] answered; hanging up in 1 s", flush=True)
    await asyncio.sleep(1.0)
    await call.hangup()
    await call.wait_for_ended(timeout=10)
    print(f"[app] call ended ({call.state})", flush=True)


if __name__ == "__main__":
    print("[app] waiting for calls on context 'default'", flush=True)
    client.run()
