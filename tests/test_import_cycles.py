"""No import cycles among voxrelay's modules.

An edge A -> B is an import of B that runs when A is imported, or that a type checker follows:
every ``import``/``from ... import`` outside function bodies, including those under
``if TYPE_CHECKING:``, ``try:`` and class bodies; relative imports resolved.
``from pkg import name`` is an edge to the module ``pkg.name`` when there is one, else to
``pkg`` itself. A cycle is a strongly connected component of that graph; the failure names
one cycle path per component with the file and line of each import.
"""

from __future__ import annotations

import ast
import itertools
from collections import deque
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the import}


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``root/package``."""
    names = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Imports that are not inside a function (they run, or type-check, at import time)."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending = list(ast.iter_child_nodes(tree))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif not isinstance(node, FUNCTIONS):
            pending.extend(ast.iter_child_nodes(node))
    return found


def imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict[str, Path]
) -> list[str]:
    """The modules an import statement in ``module`` refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]


def import_graph(root: Path, package: str) -> tuple[Graph, dict[str, Path]]:
    modules = module_names(root, package)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in import_nodes(tree):
            for target in imported(node, name, path.name == "__init__.py", modules):
                if target in modules and target != name:
                    graph[name].setdefault(target, node.lineno)
    return graph, modules


def components(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            target = next(edges, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(graph[target])))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def shortest_cycle(graph: Graph, component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, as a module path."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in graph[node]:
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target in members and target not in came_from:
                came_from[target] = node
                queue.append(target)
    raise AssertionError(f"{component} is not a cycle")


def describe(graph: Graph, files: dict[str, Path], root: Path, cycle: list[str]) -> str:
    steps = [
        f"  {a} -> {b}  ({files[a].relative_to(root)}:{graph[a][b]})"
        for a, b in itertools.pairwise(cycle)
    ]
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def cycles(root: Path, package: str) -> list[str]:
    """One description per strongly connected component: a cycle, and the other modules
    caught in the same knot if there are more."""
    graph, files = import_graph(root, package)
    found = []
    for component in components(graph):
        cycle = shortest_cycle(graph, component)
        text = describe(graph, files, root, cycle)
        others = sorted(set(component) - set(cycle))
        found.append(text + (f"\n  also in this knot: {', '.join(others)}" if others else ""))
    return found


def test_voxrelay_has_no_import_cycles() -> None:
    found = cycles(SRC, "voxrelay")
    if found:
        pytest.fail(f"{len(found)} import cycle(s):\n" + "\n".join(found), pytrace=False)


def test_the_check_sees_relative_type_only_and_package_imports(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "from pkg.sub import thing\n",
        "pkg/sub/__init__.py": "from .a import thing\n",
        "pkg/sub/a.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ..b import B\nthing = 1\n"
        ),
        "pkg/b.py": "from pkg.sub import a\n\ndef later():\n    import pkg.c\n",
        "pkg/c.py": "import pkg.b\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = cycles(tmp_path, "pkg")
    assert len(found) == 1, found  # pkg.c -> pkg.b is no cycle: b imports c in a function
    assert found[0].splitlines()[0] == "pkg.b -> pkg.sub.a -> pkg.b"
    assert "(pkg/sub/a.py:3)" in found[0]
