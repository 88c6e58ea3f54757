"""REST and RELAY together, written as a user of the official Python SDK (``signalwire-sdk``).

Run with the interop venv (``scripts/install-interop``), never with voxrelay's own venv::

    SIGNALWIRE_RELAY_CA_FILE=ca.pem .venv-interop/bin/python py_rest_and_relay.py

One program, one server address (``RELAY_HOST``, a loopback ``host:port``): the SDK's
``RelayClient`` dials ``wss://`` (trusting ``SIGNALWIRE_RELAY_CA_FILE``) and its ``RestClient``
uses ``http://`` (the SDK's rule for loopback hosts). The RelayClient listens on
RELAY_CONTEXT, then two calls:

1. The RestClient dials RELAY_NUMBER (a number of that context) with a SWML document that
   waits; the RelayClient receives that call and answers it; the RestClient completes its
   dialled leg and the RelayClient sees its call end.
2. The next call into the context (a caller with audio, placed by the test) is answered by
   the RelayClient; the RestClient plays speech on it and the RelayClient sees that play's
   ``calling.call.play`` events; the RestClient ends the call and the RelayClient sees it end.

Each thing it observes is one JSON line on stdout: ``ready``; ``rest_dial``,
``dial_received``, ``dial_answered``, ``rest_complete``, ``dial_ended``; ``received``,
``answered``, ``rest_play``, ``play_done``, ``rest_end``, ``ended``; ``done`` (``error`` on
failure). Logs go to stderr. Exit 0 when the whole flow ran, 1 otherwise.
Env: RELAY_HOST, RELAY_PROJECT, RELAY_TOKEN, RELAY_CONTEXT, RELAY_NUMBER, RELAY_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from flow_common import emit, run_flow
from signalwire.relay import RelayClient
from signalwire.rest import RestClient

STEP_TIMEOUT = 15.0
CALLER = "+15557770001"
WAIT_SWML = {"version": "1.0.0", "sections": {"main": [{"sleep": 30000}]}}


def device_numbers(call: Any) -> dict[str, str | None]:
    params = (getattr(call, "device", None) or {}).get("params") or {}
    return {"from": params.get("from_number"), "to": params.get("to_number")}


async def answer(call: Any) -> None:
    await call.answer()
    if call.state != "answered":
        await call.wait_for_answered(timeout=STEP_TIMEOUT)


async def wait_ended(call: Any) -> None:
    if call.state != "ended":
        await call.wait_for_ended(timeout=STEP_TIMEOUT)


async def dialled_call(rest: RestClient, calls: asyncio.Queue[Any], number: str) -> None:
    """Call 1: REST dials into the context; RELAY receives and answers; REST completes it."""
    leg = await asyncio.to_thread(rest.calling.dial, from_=CALLER, to=number, swml=WAIT_SWML)
    emit("rest_dial", id=leg["id"], status=leg.get("status"), to=leg.get("to"))
    call = await asyncio.wait_for(calls.get(), STEP_TIMEOUT)
    emit("dial_received", call_id=call.call_id, **device_numbers(call))
    await answer(call)
    emit("dial_answered", call_id=call.call_id, state=call.state)
    completed = await asyncio.to_thread(rest.calling.update, id=leg["id"], status="completed")
    emit("rest_complete", id=completed.get("id"), status=completed.get("status"))
    await wait_ended(call)
    emit("dial_ended", call_id=call.call_id, state=call.state)


async def played_call(rest: RestClient, calls: asyncio.Queue[Any]) -> None:
    """Call 2: RELAY answers a caller; REST plays on the call, RELAY sees the play; REST ends it."""
    call = await asyncio.wait_for(calls.get(), 2 * STEP_TIMEOUT)
    emit("received", call_id=call.call_id, **device_numbers(call))
    plays: list[tuple[str, str]] = []  # (control_id, state) of every calling.call.play
    finished = asyncio.Event()

    def on_play(event: Any) -> None:
        plays.append((event.params.get("control_id"), event.params.get("state")))
        if event.params.get("state") in ("finished", "error"):
            finished.set()

    call.on("calling.call.play", on_play)
    await answer(call)
    emit("answered", call_id=call.call_id, state=call.state)
    played = await asyncio.to_thread(
        rest.calling.play,
        call.call_id,
        play=[{"type": "tts", "text": "Played over REST, seen over RELAY."}],
    )
    control_id = played.get("control_id")
    emit("rest_play", control_id=control_id)
    await asyncio.wait_for(finished.wait(), STEP_TIMEOUT)
    emit(
        "play_done",
        control_ids=sorted({cid for cid, _ in plays}),
        states=[state for cid, state in plays if cid == control_id],
    )
    ended = await asyncio.to_thread(rest.calling.end, call.call_id)
    emit("rest_end", id=ended.get("id"))
    await wait_ended(call)
    emit("ended", call_id=call.call_id, state=call.state)


async def flow(context: str, number: str) -> None:
    env = os.environ
    host, project, token = env["RELAY_HOST"], env["RELAY_PROJECT"], env["RELAY_TOKEN"]
    rest = RestClient(project=project, token=token, host=host)
    client = RelayClient(project=project, token=token, host=host, contexts=[context])
    calls: asyncio.Queue[Any] = asyncio.Queue()

    @client.on_call
    async def on_call(call: Any) -> None:
        await calls.put(call)

    await client.connect()
    emit("ready", context=context)
    try:
        await dialled_call(rest, calls, number)
        await played_call(rest, calls)
    finally:
        await client.disconnect()
    emit("done")


def main() -> int:
    context = os.environ.get("RELAY_CONTEXT", "office")
    number = os.environ.get("RELAY_NUMBER", "+15550100001")
    timeout = float(os.environ.get("RELAY_TIMEOUT", "30"))
    return run_flow("py_rest_and_relay", flow(context, number), timeout)


if __name__ == "__main__":
    sys.exit(main())
