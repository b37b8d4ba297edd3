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

An exercise's title and points are written once, in its :class:`~utils.autocheck.spec.Exercise`.
The build writes them into the headings of *both* notebooks: each statement's heading line
``## Exercise 1.3`` (whatever follows the id) becomes ``## Exercise 1.3: Stable log-sum-exp
(2 points)``, and the first line of the first cell, ``# Solutions 1``, becomes ``# Solutions 1:
Loss functions``, the set's title (``# Exercises 1: ...`` in the exercise notebook). So the
solutions notebook is rewritten too when a heading differs from the spec; edit titles and points
in ``utils/autocheck/exercises/chNN.py``, never in a notebook. Every exercise a notebook checks
must have exactly one heading, above its check.

Also: outputs and execution counts are cleared; cells tagged ``solution-only`` are dropped. Every
other cell (the setup cell, statements, checks, ``summary()``) is copied unchanged. Cell ids are
numbered 0, 1, 2, ... as ``nbstripout`` does, so the output is deterministic and passes
``make lint``.

Usage::

    python -m utils.autocheck.build                 # every solutions/*.ipynb → exercises/
    python -m utils.autocheck.build solutions/01_loss_functions.ipynb
    python -m utils.autocheck.build --check         # exit 1 if a heading or an exercise is stale
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

from .spec import (
    CHECK_CALL,
    Exercise,
    ExerciseSet,
    UnknownExercise,
    get_exercise,
    get_set,
    stub_message,
)

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTION_ONLY_TAG = "solution-only"
MAX_LINE = 88  # the longest code line a notebook may have (tests/test_notebook_portability.py)
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")
#: A statement's heading, ``## Exercise 1.3: ...``; the build rewrites the whole line.
HEADING = re.compile(r"^## Exercise (?P<id>\d+\.\d+)\b.*$")
#: The notebook's title, the first line of its first cell: ``# Solutions 1: Loss functions``.
TITLE = re.compile(r"^# (?P<kind>Solutions|Exercises) (?P<chapter>\d+)\b.*$")


class BuildError(ValueError):
    """A solutions notebook that cannot be turned into an exercise notebook, and why."""


# ---------------------------------------------------------------------------------------------
# Headings: written from the exercise set
# ---------------------------------------------------------------------------------------------


def exercise_heading(exercise: Exercise) -> str:
    """``## Exercise 1.3: Stable log-sum-exp (2 points)``, from the exercise's spec."""
    unit = "point" if exercise.points == 1 else "points"
    return f"## Exercise {exercise.id}: {exercise.title} ({exercise.points} {unit})"


def notebook_title(exercise_set: ExerciseSet, kind: str = "Solutions") -> str:
    """``# Solutions 1: Loss functions`` (or ``# Exercises 1: ...``), from the set's spec."""
    return f"# {kind} {exercise_set.chapter}: {exercise_set.title}"


def _lookup(exercise_id: str, where: str) -> Exercise:
    try:
        return get_exercise(exercise_id)
    except UnknownExercise as error:
        raise BuildError(f"{where}: {error}") from None


def write_headings(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Rewrite, in place, the title and every exercise heading of ``nb`` from the spec.

    Returns ``nb``. Raises :class:`BuildError` for a heading of an unknown exercise, and for an
    exercise that is checked without exactly one heading above its first check.
    """
    checked_in: dict[str, int] = {}  # exercise id → the cell of its first check
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for match in CHECK_CALL.finditer(cell.source):
                checked_in.setdefault(match["id"], index)
    headings: dict[str, list[int]] = {}  # exercise id → the cells with its heading
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for number, line in enumerate(lines):
            match = HEADING.match(line)
            if match:
                exercise = _lookup(match["id"], f"{name}, cell {index + 1}")
                headings.setdefault(exercise.id, []).append(index)
                lines[number] = exercise_heading(exercise)
        cell.source = "\n".join(lines)
    for exercise_id, check_index in checked_in.items():
        _lookup(exercise_id, f"{name}, cell {check_index + 1}")
        cells = headings.get(exercise_id, [])
        if len(cells) != 1 or cells[0] > check_index:
            raise BuildError(
                f"{name}: exercise {exercise_id} needs exactly one heading "
                f"`## Exercise {exercise_id}` above its check in cell {check_index + 1}; found "
                f"{len(cells)}" + (f", in cell {cells[0] + 1}" if len(cells) == 1 else "")
            )
    if nb.cells and nb.cells[0].cell_type == "markdown":
        first_line, newline, rest = nb.cells[0].source.partition("\n")
        match = TITLE.match(first_line)
        if match:
            try:
                exercise_set = get_set(match["chapter"])
            except UnknownExercise as error:
                raise BuildError(f"{name}, cell 1: {error}") from None
            ids = {exercise.id for exercise in exercise_set.exercises}
            strangers = sorted(i for i in checked_in if i not in ids)
            if strangers:
                raise BuildError(
                    f"{name}: the title says chapter {exercise_set.chapter}, but the notebook "
                    f"checks {', '.join(strangers)}"
                )
            nb.cells[0].source = notebook_title(exercise_set, match["kind"]) + newline + rest
    return nb


def _next_check_id(cells: list, cell_index: int, after_line: int) -> str | None:
    """The id in the first ``check("x.y", ...)`` after line ``after_line`` of that cell."""
    rest = cells[cell_index].source.splitlines()[after_line + 1 :]
    sources = ["\n".join(rest)] + [
        cell.source for cell in cells[cell_index + 1 :] if cell.cell_type == "code"
    ]
    for source in sources:
        match = CHECK_CALL.search(source)
        if match:
            return match["id"]
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
            stub = f'raise NotImplementedError("{stub_message(exercise.id, owner)}")'
            if len(indent + stub) > MAX_LINE:  # notebooks keep code lines within 88 characters
                message = stub.removeprefix("raise NotImplementedError(").removesuffix(")")
                stub = f"raise NotImplementedError(\n{indent}    {message}\n{indent})"
            output += [f"{indent}# YOUR CODE HERE", f"{indent}{stub}"]
        else:
            output += [f"{indent}# YOUR ANSWER HERE", f"{indent}{owner} = ..."]
        i = end + 1
    return "\n".join(output)


def with_headings(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the solutions notebook with its headings written from the spec (a copy)."""
    return write_headings(copy.deepcopy(solution), name)


def build_notebook(
    solution: nbformat.NotebookNode, name: str = "notebook"
) -> nbformat.NotebookNode:
    """Return the exercise notebook made from a solutions notebook (which is not modified)."""
    nb = with_headings(solution, name)
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


def _write(path: Path, nb: nbformat.NotebookNode) -> bool:
    """Write ``nb`` as the repository stores notebooks; return True if the file changed."""
    text = nbformat.writes(nb) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def write_solution_headings(solution_path: Path) -> bool:
    """Rewrite the headings of ``solution_path`` from the spec; return True if it changed."""
    solution = nbformat.read(solution_path, as_version=4)
    synced = with_headings(solution, solution_path.name)
    return synced != solution and _write(solution_path, synced)


def build_file(solution_path: Path, exercise_path: Path) -> bool:
    """Write ``exercise_path`` from ``solution_path``; return True if its content changed."""
    solution = nbformat.read(solution_path, as_version=4)
    return _write(exercise_path, build_notebook(solution, solution_path.name))


def stale_files(solution_path: Path, exercise_path: Path) -> list[Path]:
    """The files a build would change: the solutions notebook if a heading differs from the
    spec, the exercise notebook if it is missing or differs from a fresh build."""
    solution = nbformat.read(solution_path, as_version=4)
    stale = [solution_path] if with_headings(solution, solution_path.name) != solution else []
    fresh = build_notebook(solution, solution_path.name)
    if not exercise_path.exists() or fresh != nbformat.read(exercise_path, as_version=4):
        stale.append(exercise_path)
    return stale


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
                stale += stale_files(source, target)
                continue
            if write_solution_headings(source):
                print(f"wrote the headings of {source} from the exercise set")
            if build_file(source, target):
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
