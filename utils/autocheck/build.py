"""Write each exercise notebook from its solutions notebook: ``python -m utils.autocheck.build``.

A solutions notebook ``solutions/<name>.ipynb`` is the single source. In its code cells, the
learner's part sits between two marker lines (the nbgrader convention)::

    def logsumexp(z):
        ### BEGIN SOLUTION
        m = np.max(z, axis=-1, keepdims=True)
        return np.squeeze(m, axis=-1) + np.log(np.sum(np.exp(z - m), axis=-1))
        ### END SOLUTION

and ``exercises/<name>.ipynb`` gets, at the indentation of the ``BEGIN`` marker::

    def logsumexp(z):
        # YOUR CODE HERE
        raise NotImplementedError("Exercise 1.3: implement logsumexp")

A region at the top level of a cell must be a single assignment, ``initial_loss = np.log(10)``,
and becomes ``initial_loss = ...``. The exercise id comes from the first ``check("1.3", ...)``
after the region (same cell or a later one) and must exist in the chapter's exercise set, whose
``name`` must be the function (or variable) the region belongs to.

Also: outputs and execution counts are cleared; cells tagged ``solution-only`` are dropped; a
title ``# Solutions 1: ...`` in the first cell becomes ``# Exercises 1: ...``. Every other cell
(the setup cell, statements, checks, ``summary()``) is copied unchanged. Cell ids are numbered
0, 1, 2, ... as ``nbstripout`` does, so the output is deterministic and passes ``make lint``.

Usage::

    python -m utils.autocheck.build                 # every solutions/*.ipynb → exercises/
    python -m utils.autocheck.build solutions/01_loss_functions.ipynb
    python -m utils.autocheck.build --check         # exit 1 if a committed exercise is stale
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
import textwrap
from pathlib import Path

import nbformat

from .spec import UnknownExercise, get_exercise

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTION_ONLY_TAG = "solution-only"
MAX_LINE = 88  # the longest code line a notebook may have (tests/test_notebook_portability.py)
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d+\.\d+)["']""")
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")


class BuildError(ValueError):
    """A solutions notebook that cannot be turned into an exercise notebook, and why."""


def _next_check_id(cells: list, cell_index: int, after_line: int) -> str | None:
    """The id in the first ``check("x.y", ...)`` after line ``after_line`` of that cell."""
    rest = cells[cell_index].source.splitlines()[after_line + 1 :]
    sources = ["\n".join(rest)] + [
        cell.source for cell in cells[cell_index + 1 :] if cell.cell_type == "code"
    ]
    for source in sources:
        match = CHECK_CALL.search(source)
        if match:
            return match.group(1)
    return None


def _enclosing_function(lines: list[str], begin: int, indent: str) -> str | None:
    for line in reversed(lines[:begin]):
        match = _DEF.match(line)
        if match and len(match.group(1)) < len(indent):
            return match.group(2)
    return None


def _assigned_name(region: list[str]) -> str | None:
    """The variable of a region that is exactly one ``name = value`` statement, else None."""
    try:
        tree = ast.parse(textwrap.dedent("\n".join(region)))
    except SyntaxError:
        return None
    if len(tree.body) != 1:
        return None
    statement = tree.body[0]
    targets = (
        statement.targets
        if isinstance(statement, ast.Assign)
        else [getattr(statement, "target", None)]
    )
    if len(targets) == 1 and isinstance(targets[0], ast.Name):
        return targets[0].id
    return None


def _stub_cell(cells: list, cell_index: int, where: str) -> str:
    """The source of code cell ``cell_index`` with every solution region replaced by its stub."""
    lines = cells[cell_index].source.splitlines()
    output: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == END:
            raise BuildError(f"{where}: '{END}' on line {i + 1} without a '{BEGIN}' before it")
        if lines[i].strip() != BEGIN:
            output.append(lines[i])
            i += 1
            continue
        begin, indent = i, lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        end = next(
            (j for j in range(begin + 1, len(lines)) if lines[j].strip() in (BEGIN, END)), None
        )
        if end is None or lines[end].strip() != END:
            raise BuildError(f"{where}: '{BEGIN}' on line {begin + 1} has no '{END}' after it")
        region = lines[begin + 1 : end]
        exercise_id = _next_check_id(cells, cell_index, end)
        if exercise_id is None:
            raise BuildError(
                f'{where}: the solution on lines {begin + 1}-{end + 1} has no check("x.y", ...) '
                "after it, so its exercise is unknown"
            )
        try:
            exercise = get_exercise(exercise_id)
        except UnknownExercise as error:
            raise BuildError(f"{where}: {error}") from None
        function = _enclosing_function(lines, begin, indent)
        variable = None if function else _assigned_name(region)
        owner = function or variable
        if owner is None:
            raise BuildError(
                f"{where}: a solution region outside a function must be one assignment "
                f"`name = value` (lines {begin + 1}-{end + 1})"
            )
        if owner != exercise.name:
            raise BuildError(
                f"{where}: the solution of `{owner}` is checked as exercise {exercise.id}, whose "
                f"name is `{exercise.name}`"
            )
        if function:
            stub = f'raise NotImplementedError("Exercise {exercise.id}: implement {owner}")'
            if len(indent + stub) > MAX_LINE:  # notebooks keep code lines within 88 characters
                message = stub.removeprefix("raise NotImplementedError(").removesuffix(")")
                stub = f"raise NotImplementedError(\n{indent}    {message}\n{indent})"
            output += [f"{indent}# YOUR CODE HERE", f"{indent}{stub}"]
        else:
            output += [f"{indent}# YOUR ANSWER HERE", f"{indent}{owner} = ..."]
        i = end + 1
    return "\n".join(output)


def build_notebook(
    solution: nbformat.NotebookNode, name: str = "notebook"
) -> nbformat.NotebookNode:
    """Return the exercise notebook made from a solutions notebook (which is not modified)."""
    nb = copy.deepcopy(solution)
    nb.cells = [
        c for c in nb.cells if SOLUTION_ONLY_TAG not in c.get("metadata", {}).get("tags", [])
    ]
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index + 1}"
        if cell.cell_type == "markdown" and (BEGIN in cell.source or END in cell.source):
            raise BuildError(f"{where}: solution markers are only supported in code cells")
        if cell.cell_type == "code":
            if BEGIN in cell.source or END in cell.source:
                cell.source = _stub_cell(nb.cells, index, where)
            cell.outputs = []
            cell.execution_count = None
            for key in ("execution", "ExecuteTime", "collapsed", "scrolled"):
                cell.metadata.pop(key, None)
    for index, cell in enumerate(nb.cells):
        cell.id = str(index)  # what nbstripout writes, so that `make lint` finds nothing to strip
    if nb.cells and nb.cells[0].cell_type == "markdown":
        nb.cells[0].source = re.sub(r"^# Solutions\b", "# Exercises", nb.cells[0].source)
    nbformat.validate(nb)
    return nb


def build_file(solution_path: Path, exercise_path: Path) -> bool:
    """Write ``exercise_path`` from ``solution_path``; return True if its content changed."""
    solution = nbformat.read(solution_path, as_version=4)
    exercise = build_notebook(solution, solution_path.name)
    text = nbformat.writes(exercise) + "\n"
    if exercise_path.exists() and exercise_path.read_text(encoding="utf-8") == text:
        return False
    exercise_path.parent.mkdir(parents=True, exist_ok=True)
    exercise_path.write_text(text, encoding="utf-8")
    return True


def is_stale(solution_path: Path, exercise_path: Path) -> bool:
    """True when ``exercise_path`` is missing or differs in content from a fresh build."""
    if not exercise_path.exists():
        return True
    fresh = build_notebook(nbformat.read(solution_path, as_version=4), solution_path.name)
    committed = nbformat.read(exercise_path, as_version=4)
    return fresh != committed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utils.autocheck.build",
        description="Write exercises/<name>.ipynb from solutions/<name>.ipynb.",
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: solutions/*.ipynb")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course repository")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if an exercise is out of date"
    )
    args = parser.parse_args(argv)
    sources = args.notebooks or sorted((args.root / "solutions").glob("*.ipynb"))
    if not sources:
        print(f"no solutions notebooks under {args.root / 'solutions'}", file=sys.stderr)
        return 1
    stale = []
    for source in sources:
        target = args.root / "exercises" / source.name
        try:
            if args.check:
                if is_stale(source, target):
                    stale.append(target)
            elif build_file(source, target):
                print(f"wrote {target}")
            else:
                print(f"{target} is up to date")
        except BuildError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if stale:
        names = ", ".join(str(p) for p in stale)
        print(f"out of date: {names}; run `python -m utils.autocheck.build`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
