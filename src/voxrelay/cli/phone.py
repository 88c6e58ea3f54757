"""``voxrelay phone``: a virtual phone waits on a number until apps dial it.

``voxrelay phone --number +15550003333 --answer-after 1 --say "Hi" --record heard.wav``
registers the number with the server's SIP registrar (REGISTER with digest as the project;
only that project's ``calling.dial`` reaches it), answers each call after ``--answer-after`` seconds,
plays ``--play``/``--say``, presses ``--digits`` at ``--digits-at``, hangs up after
``--hangup-after`` (or when the app does), and writes what it heard to ``--record`` (with
several ``--calls``, one file per call: ``heard-1.wav``, ``heard-2.wav``...). Exits 0 once
``--calls`` calls were answered, 1 if one was not, 2 on a usage or connection error. The
server is found and trusted as by ``voxrelay call`` (``--host``, ``--ca``, ``--data-dir``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
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
from voxrelay.phone import PhoneError, PhoneReport


def _record_path(record: Path, index: int, total: int) -> Path:
    return record if total == 1 else record.with_stem(f"{record.stem}-{index}")


def phone(
    number: Annotated[str, typer.Option(help="The number apps dial to reach this phone.")],
    host: HostOption = None,
    project: ProjectOption = None,
    token: TokenOption = None,
    sip: SipOption = None,
    ca: CaOption = None,
    data_dir: DataDirOption = None,
    calls: Annotated[int, typer.Option(min=1, help="Calls to take before exiting.")] = 1,
    answer_after: Annotated[float, typer.Option(help="Seconds of ringing before answering.")] = 1.0,
    play: PlayOption = None,
    say: SayOption = None,
    digits: DigitsOption = None,
    digits_at: DigitsAtOption = 0.0,
    record: RecordOption = None,
    hangup_after: HangupAfterOption = None,
    max_duration: Annotated[float, typer.Option(help="Longest a call may last, seconds.")] = 300.0,
) -> None:
    """Wait on a number with a virtual phone and take the calls apps make to it."""
    device = open_phone(host, project, token, sip, ca, data_dir)
    try:
        reports: list[PhoneReport] = asyncio.run(
            device.answer_calls(
                number,
                calls=calls,
                answer_after=answer_after,
                play=play,
                say=say,
                digits=digits,
                digits_at=digits_at,
                hangup_after=hangup_after,
                max_duration=max_duration,
                on_state=print_state,
                on_ready=lambda: console.print(f"waiting for calls to {number}"),
            )
        )
    except (PhoneError, SourceError) as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    for index, report in enumerate(reports, 1):
        if record is not None:
            path = report.save(_record_path(record, index, len(reports)))
            console.print(
                f"call {report.call_id}: recorded {len(report.heard) / 8000:.1f} s to {path}"
            )
    if any(not r.answered for r in reports):
        raise typer.Exit(1)
