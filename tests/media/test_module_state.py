"""The media engine keeps its state in engine objects (``media.engine.Engine`` and its
``Banks``), never in its modules. (Import cycles: ``tests/test_import_cycles.py``.)"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import logging
import pathlib
import pkgutil
import re
import struct
import types
import typing
from collections.abc import Iterator

import numpy as np

import voxrelay.media

_IMMUTABLE = (
    int, float, complex, str, bytes, bool, type(None), frozenset, range, struct.Struct,
    types.MappingProxyType, pathlib.PurePath, re.Pattern, enum.Enum,
)  # fmt: skip
_DEFINITIONS = (
    types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, typing.TypeVar,
    types.GenericAlias, logging.Logger,
)  # fmt: skip


def _immutable(value: object) -> bool:
    if isinstance(value, _DEFINITIONS) or type(value).__module__ in ("typing", "__future__"):
        return True
    if isinstance(value, tuple):
        return all(_immutable(item) for item in value)
    if isinstance(value, np.ndarray):
        return not value.flags.writeable
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return bool(type(value).__dataclass_params__.frozen)  # type: ignore[attr-defined]
    return isinstance(value, _IMMUTABLE) or hasattr(value, "cache_info")  # functools.cache


def _media_modules() -> Iterator[types.ModuleType]:
    prefix = voxrelay.media.__name__ + "."
    for info in pkgutil.walk_packages(voxrelay.media.__path__, prefix):
        if not info.name.rpartition(".")[2].startswith("_"):  # _rtpio is the C library
            yield importlib.import_module(info.name)


def test_no_module_of_the_media_engine_keeps_mutable_state() -> None:
    mutable = [
        f"{module.__name__}.{name} ({type(value).__name__})"
        for module in _media_modules()
        for name, value in vars(module).items()
        if not name.startswith("__") and not _immutable(value)
    ]
    assert mutable == []
