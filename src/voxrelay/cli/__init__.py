"""The ``voxrelay`` command: ``serve`` runs a server, ``call`` places a call into a context
with a virtual phone, ``phone`` waits on a number for apps to dial it."""

from __future__ import annotations

import typer

from voxrelay.cli import call, phone, serve

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.command("serve")(serve.serve)
app.command("call")(call.call)
app.command("phone")(phone.phone)


def main() -> None:
    app()
