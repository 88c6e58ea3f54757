"""What ``voxrelay call`` and ``voxrelay phone`` share: their options, and the phone they use.

The options are ``Annotated`` types, so both commands declare e.g. ``host: HostOption = None``
with the same flag, environment variable and help.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from voxrelay.cli.endpoints import http_base_url
from voxrelay.phone import StateChange, VirtualPhone

console = Console(soft_wrap=True)

HostOption = Annotated[
    str | None, typer.Option(envvar="SIGNALWIRE_SPACE", help="Server host[:port] or URL.")
]
ProjectOption = Annotated[str | None, typer.Option(envvar="SIGNALWIRE_PROJECT_ID")]
TokenOption = Annotated[str | None, typer.Option(envvar="SIGNALWIRE_API_TOKEN")]
SipOption = Annotated[
    str | None, typer.Option(help="The server's SIP host:port (default: asked of the server).")
]
PlayOption = Annotated[Path | None, typer.Option(help="Audio file to play once answered.")]
SayOption = Annotated[str | None, typer.Option(help="Text to speak once answered.")]
DigitsOption = Annotated[str | None, typer.Option(help="DTMF keys to press (0-9*#A-D, w, W).")]
DigitsAtOption = Annotated[float, typer.Option(help="Seconds after answer to press them.")]
RecordOption = Annotated[Path | None, typer.Option(help="Write what the phone heard to this WAV.")]
HangupAfterOption = Annotated[
    float | None, typer.Option(help="Hang up this many seconds after answer.")
]


def print_state(change: StateChange) -> None:
    reason = f" ({change.end_reason})" if change.end_reason else ""
    console.print(f"[dim]{change.time:7.2f}s[/dim]  {change.call_state}{reason}")


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
