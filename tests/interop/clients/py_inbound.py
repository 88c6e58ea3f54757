"""Inbound-call flow written as a user of the official Python SDK (``signalwire-sdk``).

Run with the interop venv (``scripts/install-interop``), never with voxrelay's own venv::

    SIGNALWIRE_RELAY_CA_FILE=ca.pem .venv-interop/bin/python py_inbound.py \
        --host 127.0.0.1:PORT --project P --token T --context office

Connects, answers the first inbound call, waits ``--hold`` seconds, hangs up and waits for the
call to end, then disconnects. Each thing it observes is one JSON line on stdout
(``{"event": "ready"}``, ``received``, ``answered``, ``hangup_sent``, ``ended``, ``done``; with
``--linger`` any later call is reported as ``extra_call``). Logs go to stderr. Exit 0 when
the whole flow ran, 1 with an ``error`` line otherwise; ``--timeout`` bounds the run.

Options may also come from the environment: RELAY_HOST, RELAY_PROJECT, RELAY_TOKEN,
RELAY_CONTEXT, RELAY_TIMEOUT, RELAY_HOLD, RELAY_LINGER.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from flow_common import emit, run_flow
from signalwire.relay import RelayClient


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default=env("RELAY_HOST"))
    ap.add_argument("--project", default=env("RELAY_PROJECT"))
    ap.add_argument("--token", default=env("RELAY_TOKEN"))
    ap.add_argument("--context", default=env("RELAY_CONTEXT", "default"))
    ap.add_argument("--timeout", type=float, default=float(env("RELAY_TIMEOUT", "20")))
    ap.add_argument("--hold", type=float, default=float(env("RELAY_HOLD", "0.5")))
    ap.add_argument("--linger", type=float, default=float(env("RELAY_LINGER", "0")))
    args = ap.parse_args()
    missing = [k for k in ("host", "project", "token") if not getattr(args, k)]
    if missing:
        ap.error("missing " + ", ".join("--" + k for k in missing))
    return args


def device_numbers(call: Any) -> tuple[str | None, str | None]:
    params = (getattr(call, "device", None) or {}).get("params") or {}
    return params.get("from_number"), params.get("to_number")


async def flow(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    handled: list[str] = []

    client = RelayClient(
        project=args.project, token=args.token, host=args.host, contexts=[args.context]
    )

    @client.on_call
    async def on_call(call: Any) -> None:
        from_number, to_number = device_numbers(call)
        info = {
            "call_id": call.call_id,
            "from": from_number,
            "to": to_number,
            "context": getattr(call, "context", None),
            "state": getattr(call, "state", None),
        }
        if handled:
            emit("extra_call", **info)
            return
        handled.append(call.call_id)
        emit("received", **info)
        try:
            await call.answer()
            if call.state != "answered":
                await call.wait_for_answered(timeout=10)
            emit("answered", call_id=call.call_id, state=call.state)
            await asyncio.sleep(args.hold)
            await call.hangup()
            emit("hangup_sent", call_id=call.call_id, state=call.state)
            if call.state != "ended":
                await call.wait_for_ended(timeout=10)
            emit("ended", call_id=call.call_id, state=call.state)
        except BaseException as exc:
            if not done.done():
                done.set_exception(RuntimeError(f"call flow failed: {exc!r}"))
            raise
        if not done.done():
            done.set_result(None)

    await client.connect()
    emit("ready", context=args.context, protocol=getattr(client, "relay_protocol", None))
    try:
        await done
        if args.linger:
            await asyncio.sleep(args.linger)
    finally:
        await client.disconnect()
    emit("done")


def main() -> int:
    args = parse_args()
    return run_flow("py_inbound", flow(args), args.timeout)


if __name__ == "__main__":
    sys.exit(main())
