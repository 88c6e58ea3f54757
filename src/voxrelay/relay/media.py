"""Media items for ``play``, ``play_and_collect`` and connect ringback (reference §3.1).

On the wire every item is nested: ``{"type": "tts", "params": {"text": "Hi"}}``. Docs and
older SDKs also write the flat form ``{"type": "tts", "text": "Hi"}``; the official Python SDK
sends whatever it is given, and a server following the RELAY schemas rejects flat items.
voxrelay folds flat items into the nested form before sending (:func:`fold_media`), so both
spellings work against any server. Items already nested are sent unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

JsonDict = dict[str, Any]


def fold_item(item: Any) -> Any:
    """One media item in nested form.

    Keys besides ``type`` and ``params`` move into ``params`` (a value already in
    ``params`` wins). Anything that is not a mapping is returned as is, for the server to judge.
    """
    if not isinstance(item, Mapping):
        return item
    flat = {k: v for k, v in item.items() if k not in ("type", "params")}
    if not flat:
        return dict(item)
    nested = item.get("params")
    folded: JsonDict = {k: item[k] for k in ("type",) if k in item}
    folded["params"] = {**flat, **(nested if isinstance(nested, Mapping) else {})}
    return folded


def fold_media(media: Iterable[Any]) -> list[Any]:
    """A media list with every item in nested form (see :func:`fold_item`)."""
    if isinstance(media, Mapping):  # a single item where a list was expected
        return [fold_item(media)]
    return [fold_item(item) for item in media]


def present(**values: Any) -> JsonDict:
    """The keyword arguments that are not None: the options the user actually gave."""
    return {k: v for k, v in values.items() if v is not None}


def tts(
    text: str,
    *,
    language: str | None = None,
    gender: str | None = None,
    voice: str | None = None,
) -> JsonDict:
    """``{"type": "tts", "params": {"text", ...}}``; unset options are left to the server."""
    return {
        "type": "tts",
        "params": {"text": text, **present(language=language, gender=gender, voice=voice)},
    }


def audio(url: str) -> JsonDict:
    """``{"type": "audio", "params": {"url"}}``."""
    return {"type": "audio", "params": {"url": url}}


def silence(duration: float) -> JsonDict:
    """``{"type": "silence", "params": {"duration"}}`` (seconds)."""
    return {"type": "silence", "params": {"duration": duration}}


def ringtone(name: str, *, duration: float | None = None) -> JsonDict:
    """``{"type": "ringtone", "params": {"name", "duration"?}}``; ``name`` is a country code
    (``us``, ``uk``, ``de``...); without ``duration`` it rings until stopped."""
    return {"type": "ringtone", "params": {"name": name, **present(duration=duration)}}
