"""``voxrelay call``: place a call into a context, as a phone calling in, and follow it.

Prints a transcript (seconds since start, call state) and exits 0 when the call was answered,
1 when it ended unanswered, 2 on a usage or connection error. Server address and credentials
come from ``--host/--project/--token`` or the SDK's variables ``SIGNALWIRE_SPACE``,
``SIGNALWIRE_PROJECT_ID``, ``SIGNALWIRE_API_TOKEN``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from typing import Annotated

import httpx
import typer
from rich.console import Console

from voxrelay.cli.endpoints import http_base_url

console = Console(soft_wrap=True)


def _follow(
    client: httpx.Client, call_id: str, start: float, hangup_after: float | None
) -> str | None:
    """Stream the call's progress; returns the ``end_reason`` once ended. Hangs up on a timer."""
    answered = False
    timer: threading.Timer | None = None
    with client.stream("GET", f"/api/virtual/calls/{call_id}/events", timeout=None) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if not line:
                continue
            update = json.loads(line)
            state = update["call_state"]
            reason = f" ({update['end_reason']})" if update.get("end_reason") else ""
            console.print(f"[dim]{time.monotonic() - start:7.2f}s[/dim]  {state}{reason}")
            if state == "answered" and not answered:
                answered = True
                if hangup_after is not None:
                    timer = threading.Timer(hangup_after, _hang_up, (client, call_id))
                    timer.daemon = True
                    timer.start()
            if state == "ended":
                if timer is not None:
                    timer.cancel()
                return "answered" if answered else update.get("end_reason")
    return None


def _hang_up(client: httpx.Client, call_id: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        client.delete(f"/api/virtual/calls/{call_id}")


def call(
    context: Annotated[str, typer.Option(help="RELAY context the call is offered to.")] = "default",
    from_: Annotated[str, typer.Option("--from", help="Caller number.")] = "+15550001111",
    to: Annotated[str, typer.Option(help="Called number.")] = "+15550002222",
    host: Annotated[
        str | None, typer.Option(envvar="SIGNALWIRE_SPACE", help="Server host[:port] or URL.")
    ] = None,
    project: Annotated[str | None, typer.Option(envvar="SIGNALWIRE_PROJECT_ID")] = None,
    token: Annotated[str | None, typer.Option(envvar="SIGNALWIRE_API_TOKEN")] = None,
    hangup_after: Annotated[
        float | None, typer.Option(help="Hang up this many seconds after answer.")
    ] = None,
    ring_timeout: Annotated[
        float, typer.Option(help="Give up if unanswered after this many seconds.")
    ] = 30.0,
) -> None:
    """Call into a context and print the call's progress until it ends."""
    if not project or not token:
        console.print(
            "[red]need --project and --token (or SIGNALWIRE_PROJECT_ID / SIGNALWIRE_API_TOKEN)"
        )
        raise typer.Exit(2)
    base = http_base_url(host or f"127.0.0.1:{os.environ.get('VOXRELAY_PORT', '8773')}")
    ca = os.environ.get("SIGNALWIRE_RELAY_CA_FILE")
    start = time.monotonic()
    with httpx.Client(
        base_url=base, auth=(project, token), verify=ca or True, timeout=10.0
    ) as client:
        body = {"context": context, "from": from_, "to": to, "ring_timeout": ring_timeout}
        try:
            resp = client.post("/api/virtual/calls", json=body)
        except httpx.HTTPError as exc:
            console.print(f"[red]cannot reach {base}: {exc}")
            raise typer.Exit(2) from None
        if resp.status_code != 201:
            console.print(f"[red]server refused the call: {resp.status_code} {resp.text}")
            raise typer.Exit(2)
        call_id = resp.json()["call_id"]
        console.print(f"calling {to} from {from_} into context '{context}' (call {call_id})")
        try:
            outcome = _follow(client, call_id, start, hangup_after)
        except KeyboardInterrupt:
            _hang_up(client, call_id)
            raise typer.Exit(130) from None
    if outcome != "answered":
        console.print(f"[red]call was not answered: {outcome}")
        raise typer.Exit(1)
