"""``voxrelay call``: a virtual phone calls into a context and follows the call.

It is a SIP user agent (``voxrelay.phone``): it INVITEs the server's SIP port, naming the
context in ``X-Relay-Context`` and answering the digest challenge as the project, and sends
and receives real RTP: plays a WAV/MP3 (``--play``) or speech (``--say``) once
answered, presses DTMF keys (``--digits '1234#' --digits-at 3.0``), records what it hears
(``--record heard.wav``) and hangs up after ``--hangup-after`` seconds or when the far end
does. Prints a transcript (seconds since the call was placed, call state) and exits 0 when
the call was answered, 1 when it ended unanswered, 2 on a usage or connection error or when
the server refuses the call (HTTP 401 or SIP 403 for wrong credentials). The SIP address
comes from ``GET /api/virtual/sip`` unless ``--sip host:port`` gives it. Server
address and credentials come from ``--host/--project/--token`` or the SDK's variables
``SIGNALWIRE_SPACE``, ``SIGNALWIRE_PROJECT_ID``, ``SIGNALWIRE_API_TOKEN``
(``SIGNALWIRE_RELAY_CA_FILE`` for a TLS server with a local CA).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from voxrelay.cli.endpoints import http_base_url
from voxrelay.media.sources import SourceError
from voxrelay.phone import PhoneError, StateChange, VirtualPhone

console = Console(soft_wrap=True)


def print_state(change: StateChange) -> None:
    reason = f" ({change.end_reason})" if change.end_reason else ""
    console.print(f"[dim]{change.time:7.2f}s[/dim]  {change.call_state}{reason}")


def call(
    context: Annotated[str, typer.Option(help="RELAY context the call is offered to.")] = "default",
    from_: Annotated[str, typer.Option("--from", help="Caller number.")] = "+15550001111",
    to: Annotated[str, typer.Option(help="Called number.")] = "+15550002222",
    host: Annotated[
        str | None, typer.Option(envvar="SIGNALWIRE_SPACE", help="Server host[:port] or URL.")
    ] = None,
    project: Annotated[str | None, typer.Option(envvar="SIGNALWIRE_PROJECT_ID")] = None,
    token: Annotated[str | None, typer.Option(envvar="SIGNALWIRE_API_TOKEN")] = None,
    sip: Annotated[
        str | None,
        typer.Option(help="The server's SIP host:port (default: asked of the server)."),
    ] = None,
    play: Annotated[Path | None, typer.Option(help="Audio file to play once answered.")] = None,
    say: Annotated[str | None, typer.Option(help="Text to speak once answered.")] = None,
    play_at: Annotated[float, typer.Option(help="Seconds after answer to start playing.")] = 0.0,
    digits: Annotated[str | None, typer.Option(help="DTMF keys to press (0-9*#A-D, w, W).")] = None,
    digits_at: Annotated[float, typer.Option(help="Seconds after answer to press them.")] = 0.0,
    record: Annotated[
        Path | None, typer.Option(help="Write what the phone heard to this WAV.")
    ] = None,
    hangup_after: Annotated[
        float | None, typer.Option(help="Hang up this many seconds after answer.")
    ] = None,
    ring_timeout: Annotated[
        float, typer.Option(help="Give up if unanswered after this many seconds.")
    ] = 30.0,
    max_duration: Annotated[float, typer.Option(help="Hang up after this many seconds.")] = 300.0,
) -> None:
    """Call into a context with a virtual phone and print the call's progress until it ends."""
    phone = open_phone(host, project, token, sip)
    console.print(f"calling {to} from {from_} into context '{context}'")
    try:
        report = asyncio.run(
            phone.call(
                context,
                from_,
                to,
                play=play,
                say=say,
                play_at=play_at,
                digits=digits,
                digits_at=digits_at,
                hangup_after=hangup_after,
                ring_timeout=ring_timeout,
                max_duration=max_duration,
                on_state=print_state,
            )
        )
    except (PhoneError, SourceError) as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if record is not None:
        report.save(record)
        console.print(
            f"recorded {len(report.heard) / 8000:.1f} s of what the phone heard to {record}"
        )
    if not report.answered:
        console.print(f"[red]call was not answered: {report.end_reason}")
        raise typer.Exit(1)


def open_phone(
    host: str | None, project: str | None, token: str | None, sip: str | None
) -> VirtualPhone:
    """The CLI's virtual phone for ``host`` (default 127.0.0.1:$VOXRELAY_PORT); exits with
    status 2 and a message for missing credentials or a malformed ``--sip``."""
    if not project or not token:
        console.print("[red]need --project and --token (or SIGNALWIRE_PROJECT_ID / _API_TOKEN)")
        raise typer.Exit(2)
    base = http_base_url(host or f"127.0.0.1:{os.environ.get('VOXRELAY_PORT', '8773')}")
    try:
        return VirtualPhone(
            base,
            project,
            token,
            verify=os.environ.get("SIGNALWIRE_RELAY_CA_FILE") or True,
            sip=sip,
        )
    except ValueError as exc:
        console.print(f"[red]--sip: {exc}")
        raise typer.Exit(2) from None
