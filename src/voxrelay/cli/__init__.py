"""The ``voxrelay`` command: ``serve`` runs a server, ``call`` places a call into a context."""

from __future__ import annotations

import typer

from voxrelay.cli import call, serve

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.command("serve")(serve.serve)
app.command("call")(call.call)


def main() -> None:
    app()
