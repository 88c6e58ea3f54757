"""Server configuration: flags, environment variables and the optional TOML config file.

Precedence: command-line flag > environment variable > config file > default.

Config file (``--config`` / ``VOXRELAY_CONFIG``), TOML::

    [[projects]]
    id = "my-project"
    token = "PTsecret"

    [numbers]              # dial routing: a number (or SIP user) owned by a RELAY context
    "+15550002222" = "office"
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8773


@dataclass(frozen=True, slots=True)
class Project:
    """A tenant: its id and API token. Sessions and calls never cross projects."""

    id: str
    token: str


@dataclass(frozen=True, slots=True)
class SipUser:
    """A softphone account for the registrar: digest password and the number it owns."""

    name: str
    password: str
    number: str | None = None


@dataclass(slots=True)
class SipConfig:
    """SIP settings (``[sip]`` in the config file, ``--sip-host/--sip-port``)."""

    enabled: bool = True
    host: str | None = None  # default: the server's host
    port: int = 5060
    realm: str = "voxrelay"
    project: str | None = None  # the project SIP calls belong to (default: the first)
    default_context: str = "default"
    routes: dict[str, str] = field(default_factory=dict)  # Request-URI user -> context
    users: dict[str, SipUser] = field(default_factory=dict)
    trunk: str | None = None  # sip:host[:port] where phone numbers nobody owns are sent
    # registrar challenges, in order; ["MD5"] for phones that fail on SHA-256 (baresip 1.0)
    digest_algorithms: list[str] = field(default_factory=lambda: ["SHA-256", "MD5"])


@dataclass(slots=True)
class ServerConfig:
    """Everything `voxrelay serve` needs. Times are in seconds."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    projects: list[Project] = field(default_factory=list)
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    numbers: dict[str, str] = field(default_factory=dict)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_auto: bool = False
    node_id: str = field(default_factory=lambda: f"{uuid.uuid4()}@voxrelay")
    ping_interval: float = 10.0
    ping_failures: int = 3
    resume_grace: float = 60.0
    ring_timeout: float = 30.0
    max_frame_bytes: int = 1024 * 1024
    max_unacked_events: int = 10_000
    max_calls: int = 10_000
    rate_limit_per_s: float = 500.0
    rate_burst: float = 1_000.0
    rtp_host: str | None = None  # default: the same address as host
    rtp_ports: tuple[int, int] = (20000, 30000)
    rtp_timeout: float = 30.0  # seconds without RTP from the far end before the call ends
    # "native": batched socket I/O polled by the media tick (media.rtpio), "asyncio": one
    # event-loop transport per leg, "auto": native when its library loads
    rtp_io: str = "auto"
    media_dirs: list[Path] = field(default_factory=list)  # where file:// audio may come from
    media_allow_hosts: list[str] = field(default_factory=list)  # extra hosts audio URLs may use
    max_media_bytes: int = 50 * 1024 * 1024
    public_url: str | None = None  # base URL for recording links, if not http(s)://host:port
    sip: SipConfig = field(default_factory=SipConfig)
    media_fetch_timeout: float = 15.0

    @property
    def tls(self) -> bool:
        return self.tls_auto or (self.tls_cert is not None and self.tls_key is not None)

    def project(self, project_id: str) -> Project | None:
        return next((p for p in self.projects if p.id == project_id), None)


def default_data_dir() -> Path:
    """``$VOXRELAY_DATA_DIR`` or ``$XDG_DATA_HOME/voxrelay`` (``~/.local/share/voxrelay``)."""
    env = os.environ.get("VOXRELAY_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voxrelay"


def load_config_file(path: Path) -> tuple[list[Project], dict[str, str], SipConfig]:
    """Read projects, number routes and SIP settings from a TOML file.

    Raises ValueError with the offending key when the file does not have the documented shape.
    """
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    projects = []
    for i, entry in enumerate(doc.get("projects", [])):
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("token"):
            raise ValueError(f"{path}: projects[{i}] needs 'id' and 'token'")
        projects.append(Project(str(entry["id"]), str(entry["token"])))
    numbers = doc.get("numbers", {})
    if not isinstance(numbers, dict):
        raise ValueError(f"{path}: 'numbers' must be a table of number = context")
    return projects, {str(k): str(v) for k, v in numbers.items()}, _sip_config(path, doc)


def _sip_config(path: Path, doc: dict[str, object]) -> SipConfig:
    """``[sip]``: realm, project, default_context, trunk, digest_algorithms (["SHA-256", "MD5"]),
    ``[sip.routes]`` user = context,
    ``[sip.users.<name>]`` password = "...", number = "+1555..."."""
    raw = doc.get("sip", {})
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: 'sip' must be a table")
    users = {}
    for name, entry in dict(raw.get("users", {})).items():
        if not isinstance(entry, dict) or not entry.get("password"):
            raise ValueError(f"{path}: sip.users.{name} needs a password")
        number = entry.get("number")
        users[str(name)] = SipUser(
            str(name), str(entry["password"]), str(number) if number else None
        )
    algorithms = raw.get("digest_algorithms", ["SHA-256", "MD5"])
    if (
        not isinstance(algorithms, list)
        or not algorithms
        or any(str(a).upper() not in ("SHA-256", "MD5") for a in algorithms)
    ):
        raise ValueError(f'{path}: sip.digest_algorithms must be a list of "SHA-256", "MD5"')
    routes = raw.get("routes", {})
    if not isinstance(routes, dict):
        raise ValueError(f"{path}: sip.routes must be a table of user = context")
    return SipConfig(
        realm=str(raw.get("realm", "voxrelay")),
        project=str(raw["project"]) if raw.get("project") else None,
        default_context=str(raw.get("default_context", "default")),
        routes={str(k): str(v) for k, v in routes.items()},
        users=users,
        trunk=str(raw["trunk"]) if raw.get("trunk") else None,
        digest_algorithms=[str(a).upper() for a in algorithms],
    )


def local_project(data_dir: Path) -> Project:
    """The project of a flag-less local server: made once, kept in ``<data_dir>/credentials.json``."""
    path = data_dir / "credentials.json"
    if path.exists():
        doc = json.loads(path.read_text())
        return Project(doc["project"], doc["token"])
    data_dir.mkdir(parents=True, exist_ok=True)
    project = Project(str(uuid.uuid4()), "PT" + secrets.token_hex(20))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"project": project.id, "token": project.token}))
    tmp.chmod(0o600)
    tmp.replace(path)
    return project
