"""The package itself: no import cycle between its modules, and a guide that quotes real code.

The import graph is read from the source with ``ast`` (every ``import`` and ``from ... import``,
at the top of a module or inside a function), so it also sees imports that only run later.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

import utils.autocheck

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "utils.autocheck"
PACKAGE_DIR = ROOT / "utils" / "autocheck"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _imported(module: str, path: Path) -> set[str]:
    """The modules of the package that ``module`` imports (itself excluded)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . / .. / .spec import ...
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from . import feedback` imports the module feedback, `from .spec import Case`
            # the module spec
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `import utils.autocheck.spec.x` → spec
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE) and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """``{module: the package's modules it imports}`` for every module of utils.autocheck."""
    return {module: _imported(module, path) for module, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as ``[a, b, ..., a]``, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" afterwards

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for neighbour in sorted(graph.get(node, ())):
            if state.get(neighbour) == "open":
                return path[path.index(neighbour) :] + [neighbour]
            if neighbour not in state:
                found = visit(neighbour, path + [neighbour])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert f"{PACKAGE}.feedback" in graph[f"{PACKAGE}.api"]  # from . import feedback
    assert f"{PACKAGE}.spec" in graph[f"{PACKAGE}.exercises.ch01"]  # from ..spec import ...
    assert f"{PACKAGE}.grade" in graph[f"{PACKAGE}.__main__"]  # inside a function


def test_no_import_cycle_in_utils_autocheck():
    graph = import_graph()
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_verdict_module_is_at_the_bottom():
    """result.py imports nothing of the package; the checking logic never imports the display."""
    graph = import_graph()
    assert graph[f"{PACKAGE}.result"] == set()
    for module in ("core", "compare", "spec", "grade", "build"):
        assert f"{PACKAGE}.feedback" not in graph[f"{PACKAGE}.{module}"], module
    for module in ("core", "feedback", "api", "grade"):
        assert f"{PACKAGE}.result" in graph[f"{PACKAGE}.{module}"], module


# ---------------------------------------------------------------------------------------------
# The authoring guide (utils/autocheck/__init__.py) quotes files of the repository
# ---------------------------------------------------------------------------------------------

# A literal block introduced by "(from ``path``)::", indented under it.
QUOTE = re.compile(r"\(from\s+``(?P<path>[^`]+)``\)::\n\n(?P<block>(?:(?: {4}.*)?\n)+)")
ELISION = "..."


def _quotes() -> list[tuple[str, str]]:
    return [(m["path"], m["block"]) for m in QUOTE.finditer(utils.autocheck.__doc__)]


def _text_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    return path.read_text(encoding="utf-8")


def test_the_guide_quotes_the_set_the_notebook_and_the_tests():
    assert {path for path, _ in _quotes()} == {
        "utils/autocheck/exercises/ch01.py",
        "solutions/01_loss_functions.ipynb",
        "tests/test_exercises_ch01.py",
    }


@pytest.mark.parametrize(("path", "block"), _quotes(), ids=[p for p, _ in _quotes()])
def test_every_quoted_line_is_in_the_file_named(path, block):
    """The quote, with ``...`` lines as elisions, appears in the file in that order."""
    text = _text_of(ROOT / path)
    position = 0
    chunks = "\n".join(
        line if line.strip() != ELISION else "\0" for line in textwrap.dedent(block).splitlines()
    )
    for chunk in (c.strip("\n") for c in chunks.split("\0")):
        if not chunk:
            continue
        found = text.find(chunk, position)
        assert found >= 0, f"the guide quotes {path}, which has no (or not here):\n{chunk}"
        position = found + len(chunk)
