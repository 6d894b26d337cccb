"""The one rule of the layout: a module imports only from its own layer or the layers below it,
and no modules import each other in a loop (README, Layout).

    safeshare/ (the doors: CLI, web)   6
    deployments/ (serving, the stack)  5
    flows/ (in what order)             4
    tasks/ (where facts are written)   3
    foundations/ (database, settings,  2
      sealing, tokens, audit trail, backups)
    models/ (pure rules and values)    1

An import written inside a function is allowed only in the doors (safeshare/), where start-up
time asks for it (a command imports what it alone needs), and in migrations, which are frozen
history."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("models", "foundations", "tasks", "flows", "deployments", "safeshare")
LOCAL_IMPORTS_ALLOWED = ("safeshare/", "foundations/migrations/")


def sources() -> Iterator[Path]:
    for package in LAYERS:
        yield from sorted((ROOT / package).rglob("*.py"))


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """(module imported, line, written inside a function) for each import of ours."""
    tree = ast.parse(path.read_text(), str(path))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] in LAYERS:
                yield name, node.lineno, id(node) in inside


def known(name: str, modules: set[str]) -> str | None:
    """The module of ours that an imported name is (or lies in)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    paths = {module_of(path): path for path in sources()}
    modules = set(paths)
    edges: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in paths.items():
        for name, _line, _inside in imports(path):
            target = known(name, modules)
            if target is not None and target != module:
                edges[module].add(target)
    return edges


def test_every_import_goes_down_or_stays_on_its_floor() -> None:
    upward = []
    for path in sources():
        floor = LAYERS.index(path.relative_to(ROOT).parts[0])
        for name, line, _inside in imports(path):
            if LAYERS.index(name.split(".")[0]) > floor:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert upward == []


def loops_in(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every loop a depth-first walk of the import graph meets, each as the modules around it."""
    loops: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                loops.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            walk(module, [module])
    return loops


def test_no_modules_import_each_other_in_a_loop() -> None:
    assert loops_in(graph()) == []


def test_a_loop_of_three_is_found() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert loops_in(edges) == [["a", "b", "c", "a"]]
    assert loops_in({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_only_where_start_up_time_asks() -> None:
    hidden = [
        f"{path.relative_to(ROOT)}:{line} imports {name} inside a function"
        for path in sources()
        if not str(path.relative_to(ROOT)).startswith(LOCAL_IMPORTS_ALLOWED)
        for name, line, inside in imports(path)
        if inside
    ]
    assert hidden == []
