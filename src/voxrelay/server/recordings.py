"""Where recordings live (served by ``voxrelay.server.recording_http``).

Files go to ``<data_dir>/recordings/<project>/<recording_id>.<format>``; the recording id is
a random UUID (hex), so URLs cannot be guessed. ``GET /recordings/<id>.<format>`` serves a
file to its own project only (HTTP Basic ``project:token``); ``find`` accepts only names of
that exact form, so no path can escape the folder.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

NAME = re.compile(r"^[0-9a-f]{32}\.(wav|mp3)$")


class RecordingStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "recordings"

    def _folder(self, project: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", project)
        return self.root / safe

    def new(self, project: str, fmt: str) -> tuple[str, Path]:
        """A fresh ``(file name, path)`` for a recording of ``project``; the folder exists."""
        name = f"{uuid.uuid4().hex}.{fmt}"
        folder = self._folder(project)
        folder.mkdir(parents=True, exist_ok=True)
        return name, folder / name

    def find(self, project: str, name: str) -> Path | None:
        """The finished recording ``name`` of ``project``, or None."""
        if not NAME.match(name):
            return None
        path = self._folder(project) / name
        return path if path.is_file() else None


def url_for(request_base: str, name: str) -> str:
    return f"{request_base.rstrip('/')}/recordings/{name}"
