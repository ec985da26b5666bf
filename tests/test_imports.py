"""The package's imports, read with the standard library's ``ast`` (nothing is imported): no
module imports itself round a circle, and the write path (``study.write``) imports downward
only, in the order its package text gives (validate → check → write).

Every import counts, also those inside functions (a lazy import is still a dependency);
imports under ``if TYPE_CHECKING:`` do not (they never run). ``from study import store``
depends on ``study.store``, not on the package ``study`` itself.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "study"

#: The write path's modules, lowest first: each may import only those before it (and the
#: shared modules below the write path).
WRITE_LAYERS = (
    "study.write.rules",
    "study.write.summary",
    "study.write.cells",
    "study.write.checks",
    "study.write.insert",
    "study.write.events",
    "study.write.groups",
    "study.write.frame",
    "study.write.contacts",
    "study.write.batch",
)
#: What the write path stands on: the vocabulary (validate), the tables, errors, identities.
BELOW_WRITE = {"study.errors", "study.vocabulary", "study.store", "study.identity"}
#: Circles allowed outside the write path and the core: none since the simulator's frames
#: (study.simulate.simframes) and the report's section registry (parts load by name) were
#: untied; a new circle anywhere fails.
KNOWN_ELSEWHERE: set[frozenset[str]] = set()


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of the package that ``name`` imports (anywhere but TYPE_CHECKING)."""
    wanted: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if _is_type_checking(node.test):
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            wanted.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                base = name.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
            wanted.update(subs)
            if len(subs) < len(node.names):
                wanted.add(module)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    found = set()
    for module in wanted:
        while module and module not in known:
            module = module.rpartition(".")[0]
        if module and module != name:
            found.add(module)
    return found


@functools.lru_cache(maxsize=1)
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def circles(g: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_reader_finds_a_circle_when_there_is_one(tmp_path):
    """The check itself can fail: two modules importing each other, one lazily."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.a import x\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n"
    )
    (pkg / "d.py").write_text("from pkg import c\n")
    known = {"pkg": pkg / "__init__.py", **{f"pkg.{m}": pkg / f"{m}.py" for m in "abcd"}}
    g = {name: imports_of(name, path, known) for name, path in known.items()}
    assert g["pkg.b"] == {"pkg.a"} and g["pkg.c"] == set() and g["pkg.d"] == {"pkg.c"}
    assert circles(g) == [frozenset({"pkg.a", "pkg.b"})]


def test_no_new_import_circle_in_the_package():
    found = set(circles(graph()))
    assert found <= KNOWN_ELSEWHERE, sorted(sorted(c) for c in found - KNOWN_ELSEWHERE)


def test_the_write_path_and_the_core_are_in_no_circle():
    core = {"study", "study.api", "study.store", "study.migrations", "study.frames", *WRITE_LAYERS}
    for circle in circles(graph()):
        assert not circle & core, sorted(circle)


@pytest.mark.parametrize("module", WRITE_LAYERS)
def test_the_write_path_imports_downward_only(module):
    g = graph()
    below = set(WRITE_LAYERS[: WRITE_LAYERS.index(module)]) | BELOW_WRITE
    assert g[module] <= below, sorted(g[module] - below)


def test_every_module_of_the_write_package_has_its_layer():
    written = {m for m in modules() if m.startswith("study.write.")}
    assert written == set(WRITE_LAYERS)


def test_the_api_stands_on_the_write_path_not_beside_it():
    g = graph()
    assert "study.write.batch" in g["study.api"]
    assert not any(m.startswith("study.write") and "study.api" in g[m] for m in g)
