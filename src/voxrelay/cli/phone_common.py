"""What ``voxrelay call`` and ``voxrelay phone`` share: their options, and the phone they use.

The options are ``Annotated`` types, so both commands declare e.g. ``host: HostOption = None``
with the same flag, environment variable and help.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from voxrelay.cli.endpoints import http_base_url, local_ca, trust
from voxrelay.phone import StateChange, VirtualPhone
from voxrelay.server.config import default_data_dir

console = Console(soft_wrap=True)

HostOption = Annotated[
    str | None, typer.Option(envvar="SIGNALWIRE_SPACE", help="Server host[:port] or URL.")
]
ProjectOption = Annotated[str | None, typer.Option(envvar="SIGNALWIRE_PROJECT_ID")]
TokenOption = Annotated[str | None, typer.Option(envvar="SIGNALWIRE_API_TOKEN")]
CaOption = Annotated[
    Path | None,
    typer.Option(
        envvar="SIGNALWIRE_RELAY_CA_FILE",
        help="A CA to trust for a TLS server (default: the local CA in --data-dir, if any).",
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        envvar="VOXRELAY_DATA_DIR",
        help="The server's data directory, whose local CA (tls/ca.pem) is trusted.",
    ),
]
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
    host: str | None,
    project: str | None,
    token: str | None,
    sip: str | None,
    ca: Path | None = None,
    data_dir: Path | None = None,
) -> VirtualPhone:
    """The CLI's virtual phone for ``host`` (default 127.0.0.1:$VOXRELAY_PORT), trusting
    ``ca`` or the local CA of ``data_dir`` (``endpoints.local_ca``) for a TLS server; exits
    with status 2 and a message for missing credentials, a malformed ``--sip``, an unreadable
    ``--ca`` or a TLS server whose certificate is not trusted."""
    if not project or not token:
        console.print("[red]need --project and --token (or SIGNALWIRE_PROJECT_ID / _API_TOKEN)")
        raise typer.Exit(2)
    host = host or f"127.0.0.1:{os.environ.get('VOXRELAY_PORT', '8773')}"
    cafile = local_ca(ca, data_dir or default_data_dir())
    try:
        context = trust(cafile)
    except OSError as exc:  # ssl.SSLError included: not a CA file
        console.print(f"[red]--ca {cafile}: {exc}")
        raise typer.Exit(2) from None
    try:
        base = http_base_url(host, context if cafile else None)
    except ssl.SSLCertVerificationError as exc:
        console.print(
            f"[red]{host} speaks TLS with a certificate not trusted here ({exc.verify_message}):"
            " pass --ca FILE, or --data-dir with the server's data directory"
        )
        raise typer.Exit(2) from None
    try:
        return VirtualPhone(base, project, token, verify=context, sip=sip)
    except ValueError as exc:
        console.print(f"[red]--sip: {exc}")
        raise typer.Exit(2) from None
