"""The layout's rules, checked like urlwatch's test_pep8: no import cycle between the project's modules (imports at module
level and inside functions alike; type-only imports under TYPE_CHECKING are not edges), the layers point down, all SQL lives in
storage/, and no module or function outgrows what a reader takes in at once (docs/architecture.md)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("watcher", "storage", "notifiers")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def _modules() -> dict[str, Module]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic's scripts are loaded by Alembic, not imported
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join(parts)
            found[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


MODULES = _modules()


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside `if TYPE_CHECKING:` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _resolve(mod: Module, level: int, target: str | None) -> str:
    if not level:
        return target or ""
    base = mod.name.split(".") if mod.is_package else mod.name.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(mod: Module) -> set[str]:
    """The project modules `mod` imports, at module level or in a function."""
    skip = _type_checking_nodes(mod.tree)
    edges: set[str] = set()
    for node in ast.walk(mod.tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(mod, node.level, node.module)
            # `from pkg import sub` imports the module pkg.sub; `from mod import name` imports mod
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # `import a.b.c` of a name inside a module: the module
                name = name.rpartition(".")[0]
            if name and name != mod.name:
                edges.add(name)
    return edges


GRAPH = {name: imports_of(mod) for name, mod in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_scan_sees_the_project():
    assert {"watcher.pipeline.poll", "storage.models", "notifiers.dispatch", "watcher.cli"} <= set(GRAPH)
    assert any(e.startswith("storage") for e in GRAPH["watcher.pipeline.poll"])


def test_function_level_imports_are_edges_and_type_only_imports_are_not():
    src = (
        "from typing import TYPE_CHECKING\n"
        "from . import models\n"
        "if TYPE_CHECKING:\n    from watcher.cli import main\n"
        "def f():\n    from watcher.errors import WatcherError\n    import storage.db\n"
    )
    fake = Module("storage.fake", ROOT / "storage" / "fake.py", ast.parse(src))
    assert imports_of(fake) == {"storage.models", "watcher.errors", "storage.db"}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


# Layers, bottom first: a module may import its own layer's siblings and anything below, never above.
LAYERS = [
    ("watcher.errors", "watcher.text", "watcher.crawl.retry", "watcher.i18n"),
    ("watcher.config.settings", "watcher.config.channels"),
    ("storage",),
    ("watcher.crawl", "watcher.extract", "watcher.attachments", "watcher.link"),
    ("notifiers",),
    ("watcher.config.loader", "watcher.config.sources_file"),
    ("watcher.pipeline", "watcher.views", "watcher.scheduler", "watcher.evaluation", "watcher.worker"),
    ("watcher.cli", "watcher.web", "watcher.demo", "watcher.__main__"),
]


def _layer(name: str) -> int | None:
    best, best_len = None, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    return best


def test_layers_point_down():
    wrong = []
    for name, edges in GRAPH.items():
        mine = _layer(name)
        for e in edges:
            theirs = _layer(e)
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(f"{name} -> {e}")
    assert wrong == []


def test_sql_lives_in_storage():
    """Nothing outside storage/ builds a query: it imports neither SQLAlchemy nor SQLModel (type-only imports aside) and
    touches no table object."""
    outside = []
    for name, mod in MODULES.items():
        if name.startswith("storage"):
            continue
        skip = _type_checking_nodes(mod.tree)
        for node in ast.walk(mod.tree):
            if id(node) in skip:
                continue
            roots = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            outside += [f"{name} imports {r}" for r in roots if r.split(".")[0] in ("sqlalchemy", "sqlmodel")]
            if isinstance(node, ast.Attribute) and node.attr == "__table__":
                outside.append(f"{name}:{node.lineno} uses __table__")
    assert outside == []


def test_no_module_too_long():
    long = [
        f"{m.path.relative_to(ROOT)}: {n}"
        for m in MODULES.values()
        if (n := len(m.path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


@pytest.mark.parametrize("pkg", PACKAGES)
def test_no_function_too_long(pkg):
    long = []
    for m in MODULES.values():
        if not m.name.startswith(pkg):
            continue
        for node in ast.walk(m.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                size = (node.end_lineno or node.lineno) - first + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{m.path.relative_to(ROOT)}:{node.lineno} {node.name} ({size} lines)")
    assert long == []
