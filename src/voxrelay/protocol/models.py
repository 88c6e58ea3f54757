"""Typed models of RELAY messages (reference §1.4-1.8, §2.1, §3.5).

Every model tolerates unknown keys (the production schemas are "open shape"), validates the
keys it knows, and reports a bad field by its dotted path (see ``validate``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from voxrelay.protocol.states import EndReason

JsonDict = dict[str, Any]
M = TypeVar("M", bound=BaseModel)


class InvalidParams(ValueError):
    """Params that do not fit a method's model. ``field`` is the dotted path of the first bad key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"invalid '{field}': {message}" if field else message)
        self.field = field


class Open(BaseModel):
    """Base of every wire model: extra keys are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def validate(model: type[M], params: object) -> M:
    """Validate ``params`` against ``model``; raise InvalidParams naming the first bad field."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        raise InvalidParams(path, str(err["msg"])) from None


# -- signalwire.* -------------------------------------------------------------------------


class Version(Open):
    major: int
    minor: int = 0
    revision: int = 0


class Authentication(Open):
    """``{project, token}`` or ``{jwt_token}`` (reference §1.4)."""

    project: str | None = None
    token: str | None = None
    jwt_token: str | None = None


class ConnectParams(Open):
    """``signalwire.connect`` params. Any version is accepted (2.0.0 Python, 3.0.0 JS)."""

    version: Version
    agent: str | None = None
    event_acks: bool = False
    authentication: Authentication
    contexts: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    protocol: str | None = None
    authorization_state: str | None = None


class Authorization(Open):
    project: str
    expires_at: float | None = None
    scopes: list[str] = Field(default_factory=lambda: ["calling", "messaging", "tasking"])
    signature: str


class ConnectResult(Open):
    """``signalwire.connect`` result; required: session_restored, sessionid, nodeid, master_nodeid."""

    session_restored: bool
    sessionid: str
    nodeid: str
    master_nodeid: str = "00000000-0000-0000-0000-000000000000"
    identity: str
    protocol: str
    authorization: Authorization
    authorizations: list[Any] = Field(default_factory=list)
    accesses: list[Any] = Field(default_factory=list)
    protocols: list[Any] = Field(default_factory=list)
    protocols_uncertified: list[str] = Field(default_factory=lambda: ["signalwire"])
    subscriptions: list[Any] = Field(default_factory=list)
    ice_servers: list[Any] = Field(default_factory=list)


class ContextsParams(Open):
    """``signalwire.receive`` / ``signalwire.unreceive`` params."""

    contexts: list[str] = Field(min_length=1)

    @field_validator("contexts")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not name or len(name) > 128:
                raise ValueError("each context must be 1 to 128 characters")
        return v


class PingParams(Open):
    timestamp: float | None = None
    payload: Any = None


class DisconnectParams(Open):
    restart: bool = False


class EventParams(Open):
    """Outer params of ``signalwire.event``; the payload is ``params`` (reference §1.7)."""

    event_type: str
    event_channel: str | None = None
    timestamp: float | None = None
    project_id: str | None = None
    space_id: str | None = None
    node_id: str | None = None
    params: JsonDict = Field(default_factory=dict)


# -- calling.* ------------------------------------------------------------------------------


class CallRef(Open):
    """Every call command names its call: ``call_id`` (required) and ``node_id``."""

    call_id: str = Field(min_length=1)
    node_id: str | None = None


class AnswerParams(CallRef):
    max_duration: int | None = Field(default=None, ge=0)
    codecs: list[str] | None = None


class EndParams(CallRef):
    reason: EndReason = EndReason.HANGUP


class PassParams(CallRef):
    pass


class Device(Open):
    """One dial target ``{type, params}`` (reference §3.5)."""

    type: str = Field(min_length=1)
    params: JsonDict = Field(default_factory=dict)


class DialParams(Open):
    """``calling.dial``: devices is outer serial, inner parallel; first answer wins."""

    tag: str | None = None
    devices: list[list[Device]] = Field(min_length=1)
    region: str | None = None
    max_duration: int | None = Field(default=None, ge=0)
    node_id: str | None = None

    @field_validator("devices")
    @classmethod
    def _no_empty_step(cls, v: list[list[Device]]) -> list[list[Device]]:
        if any(not step for step in v):
            raise ValueError("every serial step must hold at least one device")
        return v


# -- media (reference §2.2-2.6, §3.1) ------------------------------------------------------


class MediaItem(Open):
    """A play item in the nested wire form ``{type, params}`` (reference §3.1).

    The flat form ``{"type": "tts", "text": ...}`` some SDKs and docs use is folded into the
    nested one. Each type's required parameter is checked: audio ``url``, tts ``text``,
    silence ``duration`` (> 0 s), ringtone ``name``.
    """

    type: Literal["audio", "tts", "silence", "ringtone"]
    params: JsonDict = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _fold_flat(cls, data: Any) -> Any:
        if isinstance(data, dict) and "params" not in data and "type" in data:
            return {"type": data["type"], "params": {k: v for k, v in data.items() if k != "type"}}
        return data

    @model_validator(mode="after")
    def _required(self) -> MediaItem:
        key = {"audio": "url", "tts": "text", "silence": "duration", "ringtone": "name"}[self.type]
        value = self.params.get(key)
        if value is None or value == "":
            raise ValueError(f"{self.type} item needs params.{key}")
        if key == "duration" and (not isinstance(value, int | float) or value <= 0):
            raise ValueError("silence params.duration must be a number of seconds > 0")
        if key in ("url", "text", "name") and not isinstance(value, str):
            raise ValueError(f"{self.type} params.{key} must be a string")
        return self


Volume = Annotated[float, Field(ge=-40.0, le=40.0)]


class ControlRef(CallRef):
    """A command on a running component: its ``control_id``."""

    control_id: str = Field(min_length=1, max_length=256)


class PlayParams(ControlRef):
    play: list[MediaItem] = Field(min_length=1, max_length=100)
    volume: Volume = 0.0
    direction: Literal["listen", "speak", "both"] = "listen"
    loop: int = Field(default=1, ge=0)
    status_url: str | None = None


class VolumeParams(ControlRef):
    volume: Volume


class SendDigitsParams(ControlRef):
    digits: str = Field(min_length=1, max_length=256, pattern=r"^[0-9*#A-Da-dwW]+$")


class DetectSpec(Open):
    type: Literal["machine", "fax", "digit"]
    params: JsonDict = Field(default_factory=dict)


class DetectParams(ControlRef):
    detect: DetectSpec
    timeout: float = Field(default=30.0, gt=0, le=3600)
    status_url: str | None = None


class RecordAudio(Open):
    """``record.audio`` (reference §3.3); defaults follow the REST spec where sources differ."""

    beep: bool = False
    format: Literal["wav", "mp3"] = "mp3"
    stereo: bool = False
    direction: Literal["listen", "speak", "both"] = "speak"
    initial_timeout: float = Field(default=4.0, ge=0, le=3600)
    end_silence_timeout: float = Field(default=1.0, ge=0, le=3600)
    terminators: str = Field(default="#", pattern=r"^[0-9*#A-Da-d]*$", max_length=16)
    max_length: float = Field(default=0, ge=0, le=4 * 3600)
    input_sensitivity: float = Field(default=44.0, ge=0, le=100)


class RecordSpec(Open):
    audio: RecordAudio = Field(default_factory=RecordAudio)


class RecordParams(ControlRef):
    record: RecordSpec = Field(default_factory=RecordSpec)
    status_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _top_level_audio(cls, data: Any) -> Any:
        """Accept ``params.audio`` (what one SDK's REST client sends) as ``record.audio``."""
        if isinstance(data, dict) and "record" not in data and "audio" in data:
            return {**data, "record": {"audio": data["audio"]}}
        return data


class RecordPauseParams(ControlRef):
    behavior: Literal["skip", "silence"] = "skip"


class DigitsParams(Open):
    """``collect.digits`` (reference §3.2)."""

    max: int = Field(ge=1, le=128)
    terminators: str = Field(default="", pattern=r"^[0-9*#A-Da-d]*$", max_length=16)
    digit_timeout: float = Field(default=5.0, ge=0, le=600)


class SpeechParams(Open):
    """``collect.speech`` (reference §3.2)."""

    end_silence_timeout: float = Field(default=1.0, ge=0, le=600)
    speech_timeout: float = Field(default=60.0, ge=0, le=3600)
    language: str = Field(default="en-US", max_length=32)
    hints: list[str] = Field(default_factory=list, max_length=500)


class CollectSpec(Open):
    """What to collect; at least one of ``digits`` and ``speech``."""

    initial_timeout: float = Field(default=4.0, ge=0, le=3600)
    digits: DigitsParams | None = None
    speech: SpeechParams | None = None
    partial_results: bool = False
    continuous: bool = False
    send_start_of_input: bool = False
    start_input_timers: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> CollectSpec:
        if self.digits is None and self.speech is None:
            raise ValueError("collect needs digits, speech or both")
        return self


class CollectParams(ControlRef, CollectSpec):
    """``calling.collect``: the collect fields at the top level."""

    status_url: str | None = None


class PlayAndCollectParams(ControlRef):
    play: list[MediaItem] = Field(min_length=1, max_length=100)
    collect: CollectSpec
    volume: Volume = 0.0
    status_url: str | None = None
