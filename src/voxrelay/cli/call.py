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
``SIGNALWIRE_SPACE``, ``SIGNALWIRE_PROJECT_ID``, ``SIGNALWIRE_API_TOKEN``. A loopback
``--host host:port`` is reached over https when the server speaks TLS there, else http; a TLS
server's certificate is checked against ``--ca`` (``SIGNALWIRE_RELAY_CA_FILE``) or else the
local CA in ``--data-dir`` (``VOXRELAY_DATA_DIR``; the server's own default), and the
system's CAs.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from voxrelay.cli.phone_common import (
    CaOption,
    DataDirOption,
    DigitsAtOption,
    DigitsOption,
    HangupAfterOption,
    HostOption,
    PlayOption,
    ProjectOption,
    RecordOption,
    SayOption,
    SipOption,
    TokenOption,
    console,
    open_phone,
    print_state,
)
from voxrelay.media.sources import SourceError
from voxrelay.phone import PhoneError


def call(
    context: Annotated[str, typer.Option(help="RELAY context the call is offered to.")] = "default",
    from_: Annotated[str, typer.Option("--from", help="Caller number.")] = "+15550001111",
    to: Annotated[str, typer.Option(help="Called number.")] = "+15550002222",
    host: HostOption = None,
    project: ProjectOption = None,
    token: TokenOption = None,
    sip: SipOption = None,
    ca: CaOption = None,
    data_dir: DataDirOption = None,
    play: PlayOption = None,
    say: SayOption = None,
    play_at: Annotated[float, typer.Option(help="Seconds after answer to start playing.")] = 0.0,
    digits: DigitsOption = None,
    digits_at: DigitsAtOption = 0.0,
    record: RecordOption = None,
    hangup_after: HangupAfterOption = None,
    ring_timeout: Annotated[
        float, typer.Option(help="Give up if unanswered after this many seconds.")
    ] = 30.0,
    max_duration: Annotated[float, typer.Option(help="Hang up after this many seconds.")] = 300.0,
) -> None:
    """Call into a context with a virtual phone and print the call's progress until it ends."""
    phone = open_phone(host, project, token, sip, ca, data_dir)
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
