"""Bodies of the REST calling API (reference §6): one model per command, a union on ``command``.

``POST /api/calling/calls`` takes ``{"command": "calling.play", "id": "<call id>", "params":
{...}}``. The params of a ``calling.*`` command are those of the RELAY method of the same
name (``voxrelay.protocol.models``), without ``call_id``/``node_id`` (the call is ``id``); a
command that starts a component may leave ``control_id`` out and gets one. ``dial`` and
``update`` are REST-only and carry no top-level ``id``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.json_schema import SkipJsonSchema

from voxrelay.protocol import models as relay
from voxrelay.protocol.components import COMPONENTS
from voxrelay.server import commands as _commands  # noqa: F401  (registers METHODS)
from voxrelay.server.dispatch import METHODS

ERROR_DOCS_URL = "https://github.com/voxrelay/voxrelay#rest-calling-api"

# RELAY methods callable over REST: command -> does it start a component (control_id optional).
# The components' starts and controls come from the vocabulary table (reference §6.2).
RELAY_COMMANDS: dict[str, bool] = {"calling.end": False}
for _row in COMPONENTS:
    if _row.served and _row.rest:
        if _row.rest_start:
            RELAY_COMMANDS[_row.start] = True
        RELAY_COMMANDS.update(dict.fromkeys((c.method for c in _row.controls), False))

# In the REST API of the reference (§6.2) but not (yet) implemented by this server.
NOT_IMPLEMENTED = frozenset(
    {
        "calling.disconnect",
        "calling.transfer",
        "calling.tap",
        "calling.tap.stop",
        "calling.stream",
        "calling.stream.stop",
        "calling.denoise",
        "calling.denoise.stop",
        "calling.transcribe",
        "calling.transcribe.stop",
        "calling.ai_message",
        "calling.ai_hold",
        "calling.ai_unhold",
        "calling.ai.stop",
        "calling.ai_sidecar",
        "calling.ai_sidecar.poke",
        "calling.ai_sidecar.ask",
        "calling.ai_sidecar.stop",
        "calling.ai_sidecar.status",
        "calling.live_transcribe",
        "calling.live_translate",
        "calling.send_fax.stop",
        "calling.receive_fax.stop",
        "calling.refer",
        "calling.user_event",
    }
)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be a valid http or https url")
    return value


HttpUrl = Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]
SwmlDocument = dict[str, Any] | Annotated[str, Field(min_length=1, max_length=128 * 1024)]
CallStatus = Literal[
    "queued",
    "initiated",
    "created",
    "ringing",
    "answered",
    "ending",
    "ended",
    "failed",
    "canceled",
    "completed",
]


def _only_ended() -> list[CallStatus]:
    return ["ended"]


Hidden = Annotated[str | None, SkipJsonSchema()]


# -- REST-only commands ------------------------------------------------------------------


class DialParams(relay.Open):
    """``dial``: call ``to`` from ``from``; the SWML document (``swml`` or at ``url``) runs
    once the callee answers."""

    from_: str = Field(alias="from", min_length=1, max_length=256)
    to: str = Field(min_length=1, max_length=256)
    url: HttpUrl | None = None
    swml: SwmlDocument | None = None
    caller_id: str | None = Field(default=None, max_length=256)
    fallback_url: HttpUrl | None = None
    status_url: HttpUrl | None = None
    status_events: list[CallStatus] = Field(default_factory=_only_ended, max_length=10)
    url_method: Literal["GET", "POST"] = "POST"
    codecs: list[str] | str | None = None
    timeout: int = Field(default=30, ge=1, le=600, description="seconds to ring")

    @model_validator(mode="after")
    def _one_document(self) -> DialParams:
        if (self.url is None) == (self.swml is None):
            raise ValueError("give exactly one of url and swml")
        return self


class UpdateParams(relay.Open):
    """``update``: cancel a ringing call, complete an answered one, or give it new SWML."""

    id: str = Field(min_length=1, max_length=128)
    status: Literal["canceled", "completed"] | None = None
    url: HttpUrl | None = None
    swml: SwmlDocument | None = None
    fallback_url: HttpUrl | None = None
    status_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _something(self) -> UpdateParams:
        if self.url is not None and self.swml is not None:
            raise ValueError("give at most one of url and swml")
        wanted = (self.status, self.url, self.swml, self.status_url)
        if all(value is None for value in wanted):
            raise ValueError("give status, url, swml or status_url")
        if self.status is not None and (self.url is not None or self.swml is not None):
            raise ValueError("give either status or a new document (url/swml), not both")
        return self


class DialCommand(BaseModel):
    model_config = ConfigDict(extra="allow")
    command: Literal["dial"]
    params: DialParams


class UpdateCommand(BaseModel):
    model_config = ConfigDict(extra="allow")
    command: Literal["update"]
    params: UpdateParams


# -- calling.* commands, derived from the RELAY models ----------------------------------------


def _camel(command: str) -> str:
    return "".join(part.capitalize() for part in command.replace("_", ".").split("."))


def rest_params(command: str) -> type[BaseModel]:
    """The RELAY params model of ``command`` without call_id/node_id (and control_id optional
    for a command that starts a component)."""
    base = METHODS[command].params
    fields: dict[str, Any] = {
        "call_id": (Hidden, None),
        "node_id": (Hidden, None),
    }
    if RELAY_COMMANDS[command]:
        fields["control_id"] = (
            str | None,
            Field(default=None, min_length=1, max_length=256, description="default: a new UUID"),
        )
    if "status_url" in base.model_fields:
        fields["status_url"] = (HttpUrl | None, None)
    if command == "calling.play":  # request-level TTS defaults (reference §2.2)
        fields["language"] = (str | None, Field(default=None, max_length=32))
        fields["gender"] = (Literal["male", "female"] | None, None)
        fields["voice"] = (str | None, Field(default=None, max_length=128))
    model: type[BaseModel] = create_model(f"{_camel(command)}Params", __base__=base, **fields)
    return model


def _command_model(command: str) -> type[BaseModel]:
    params = rest_params(command)
    model: type[BaseModel] = create_model(
        f"{_camel(command)}Command",
        __config__=ConfigDict(extra="allow"),
        command=(cast(Any, Literal)[command], ...),
        id=(str, Field(min_length=1, max_length=128, description="the call id")),
        params=(params, Field(default_factory=dict, validate_default=True)),
    )
    return model


COMMAND_MODELS: dict[str, type[BaseModel]] = {
    "dial": DialCommand,
    "update": UpdateCommand,
    **{name: _command_model(name) for name in RELAY_COMMANDS},
}


# -- responses -----------------------------------------------------------------------------


class ChargeDetail(BaseModel):
    description: str
    charge: float


class CallLeg(BaseModel):
    """A call as the REST API shows it (reference §6.1), plus the command's result fields
    (``code``, ``message``, ``control_id``, a recording's ``url``)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str
    from_: str | None = Field(alias="from")
    to: str | None
    direction: Literal["inbound", "outbound", "outbound-api"]
    status: CallStatus | None
    source: str = "realtime_api"
    url: str | None = None
    charge: float = 0
    created_at: str
    charge_details: list[ChargeDetail] = Field(default_factory=list)
    duration: int | None = None
    duration_ms: int | None = None
    billing_ms: int | None = None
    type: str = "relay_pstn_call"
    parent_id: str | None = None
    code: str | None = None
    message: str | None = None
    control_id: str | None = None


class ErrorItem(BaseModel):
    type: str
    code: str
    message: str
    attribute: str | None = None
    url: str = ERROR_DOCS_URL


class ErrorBody(BaseModel):
    """Every error answer: ``{"errors": [{type, code, message, attribute, url}]}``."""

    errors: list[ErrorItem] = Field(min_length=1)
