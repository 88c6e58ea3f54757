"""The media engine's structure: its state lives in engine objects, never in its modules, and
its modules import each other without cycles (``media.engine`` owns the tick)."""

from __future__ import annotations

import ast
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

import voxrelay
import voxrelay.media

SRC = pathlib.Path(voxrelay.__file__).parent.parent
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


def _imports(path: pathlib.Path, name: str, known: set[str]) -> set[str]:
    """Modules of ours ``name`` imports at module level (under ``if TYPE_CHECKING`` too)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = [*tree.body, *(n for s in tree.body if isinstance(s, ast.If) for n in s.body)]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found |= {full} if full in known else {base} & known
    return found


def test_the_media_engine_and_the_servers_calls_import_without_cycles() -> None:
    paths = {
        ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (SRC / "voxrelay").rglob("*.py")
    }
    graph = {name: _imports(path, name, set(paths)) for name, path in paths.items()}
    watched = ("voxrelay.media", "voxrelay.server.calls", "voxrelay.server.media")
    for start in (n for n in graph if n.startswith(watched)):
        reached, todo = set(), list(graph[start])
        while todo:
            name = todo.pop()
            if name not in reached:
                reached.add(name)
                todo.extend(graph[name])
        assert start not in reached, f"{start} imports itself through its imports"
