"""solutions/*.ipynb → exercises/*.ipynb: committed copies are in sync, and stubs are right."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from utils.autocheck import build
from utils.autocheck.spec import Case, Exercise, ExerciseSet, Mistake, register, unregister

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


# ---------------------------------------------------------------------------------------------
# The committed exercise notebooks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_committed_exercise_notebook_is_what_the_build_writes(solution, tmp_path):
    committed = ROOT / "exercises" / solution.name
    assert committed.exists(), f"run `python -m utils.autocheck.build` to create {committed}"
    fresh = tmp_path / solution.name
    build.build_file(solution, fresh)
    assert json.loads(fresh.read_text()) == json.loads(committed.read_text()), (
        f"{committed.relative_to(ROOT)} is out of date: run `python -m utils.autocheck.build`"
    )
    assert fresh.read_text() == committed.read_text(), "same content, different formatting"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_no_solution_leaks_into_the_exercise_notebook(solution):
    exercise = (ROOT / "exercises" / solution.name).read_text()
    source = nbformat.read(solution, as_version=4)
    for cell in source.cells:
        if build.BEGIN not in cell.source:
            continue
        lines = cell.source.splitlines()
        inside = False
        for line in lines:
            if line.strip() in (build.BEGIN, build.END):
                inside = line.strip() == build.BEGIN
            elif inside and line.strip():
                assert json.dumps(line)[1:-1] not in exercise, f"solution line leaked: {line}"
    assert build.BEGIN not in exercise and build.END not in exercise
    assert "solution-only" not in exercise


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_solution_headings_are_written_from_the_spec(solution):
    """Titles and points live in utils/autocheck/exercises/chNN.py; notebooks copy them."""
    nb = nbformat.read(solution, as_version=4)
    assert build.with_headings(nb, solution.name) == nb, (
        f"{solution.relative_to(ROOT)}: a heading differs from the exercise set; run "
        "`python -m utils.autocheck.build`"
    )
    exercise_set = build.get_set(solution.name.split("_")[0])
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].source.startswith(build.notebook_title(exercise_set) + "\n")
    for exercise in exercise_set.exercises:
        assert build.exercise_heading(exercise) in markdown.splitlines(), exercise.id


def test_build_check_mode_finds_stale_copies(tmp_path, capsys):
    assert build.main(["--root", str(ROOT), "--check"]) == 0
    (tmp_path / "solutions").mkdir()
    for solution in SOLUTIONS:
        (tmp_path / "solutions" / solution.name).write_text(solution.read_text())
    assert build.main(["--root", str(tmp_path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert build.main(["--root", str(tmp_path)]) == 0
    assert build.main(["--root", str(tmp_path), "--check"]) == 0
    assert build.main(["--root", str(tmp_path)]) == 0
    assert "is up to date" in capsys.readouterr().out

    stale_heading = tmp_path / "solutions" / SOLUTIONS[0].name
    nb = nbformat.read(stale_heading, as_version=4)
    heading = next(c for c in nb.cells if c.source.startswith("## Exercise"))
    heading.source = heading.source.replace("point", "pt", 1)
    stale_heading.write_text(nbformat.writes(nb) + "\n")
    assert build.main(["--root", str(tmp_path), "--check"]) == 1
    assert str(stale_heading) in capsys.readouterr().err
    assert build.main(["--root", str(tmp_path)]) == 0
    assert stale_heading.read_text() == SOLUTIONS[0].read_text(), "the heading is written back"


# ---------------------------------------------------------------------------------------------
# The transformation, on small notebooks
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def exercise_set():
    square = Exercise(
        "97.1",
        "square",
        "Square",
        reference=lambda x: x**2,
        cases=(Case("v", lambda rng: {"x": rng.normal(size=3)}),),
        mistakes=(Mistake("m", lambda x: x),),
    )
    answer = Exercise("97.2", "answer", "Answer", reference=lambda: 42)
    register(ExerciseSet("97", "Build test", "97_build", (square, answer)))
    yield
    unregister("97")


def _notebook(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


FUNCTION = """\
import numpy as np


def square(x):
    \"\"\"Square every entry.\"\"\"
    ### BEGIN SOLUTION
    y = x * x
    return y
    ### END SOLUTION"""


def test_function_and_value_regions_become_stubs(exercise_set):
    solution_cell = new_code_cell(
        FUNCTION,
        outputs=[{"output_type": "stream", "name": "stdout", "text": "x"}],
        execution_count=3,
    )
    nb = _notebook(
        new_markdown_cell("# Solutions 97: Build test\n\nIntro."),
        new_markdown_cell("Only in the solutions.", metadata={"tags": ["solution-only"]}),
        new_markdown_cell("## Exercise 97.1: Square (1 point)\n\nSquare `x`."),
        solution_cell,
        new_code_cell('check("97.1", square)'),
        new_markdown_cell("## Exercise 97.2: Answer (1 point)"),
        new_code_cell("### BEGIN SOLUTION\nanswer = 6 * 7  # the answer\n### END SOLUTION"),
        new_code_cell('check("97.2", answer)'),
    )
    out = build.build_notebook(nb)
    assert [c.id for c in out.cells] == ["0", "1", "2", "3", "4", "5", "6"]
    assert out.cells[0].source == "# Exercises 97: Build test\n\nIntro."
    assert out.cells[2].source.endswith(
        '    """Square every entry."""\n'
        "    # YOUR CODE HERE\n"
        '    raise NotImplementedError("Exercise 97.1: implement square")'
    )
    assert out.cells[2].outputs == [] and out.cells[2].execution_count is None
    assert out.cells[5].source == "# YOUR ANSWER HERE\nanswer = ..."
    assert nb.cells[3].source == FUNCTION, "the solutions notebook must not be modified"
    assert build.build_notebook(nb) == out, "the build is deterministic"


def test_headings_are_written_from_the_spec(exercise_set):
    nb = _notebook(
        new_markdown_cell("# Solutions 97: an old title\n\nIntro."),
        new_markdown_cell("## Exercise 97.1: Squares, as I once called it (3 points)\n\nText."),
        new_code_cell(FUNCTION),
        new_code_cell('check("97.1", square)'),
        new_markdown_cell("## Exercise 97.2\n\nThe heading may hold the id alone."),
        new_code_cell('check("97.2", 42)'),
    )
    solution = build.with_headings(nb)
    assert solution.cells[0].source == "# Solutions 97: Build test\n\nIntro."
    assert solution.cells[1].source == "## Exercise 97.1: Square (1 point)\n\nText."
    assert solution.cells[4].source.startswith("## Exercise 97.2: Answer (1 point)\n")
    assert nb.cells[1].source.startswith("## Exercise 97.1: Squares"), "a copy is returned"
    exercise = build.build_notebook(nb)
    assert exercise.cells[0].source == "# Exercises 97: Build test\n\nIntro."
    assert exercise.cells[1].source == solution.cells[1].source


@pytest.mark.parametrize(
    ("cells", "error"),
    [
        (['check("97.1", square)'], "exercise 97.1 needs exactly one heading"),
        (
            ["## Exercise 97.1", 'check("97.1", square)', "## Exercise 97.1"],
            "needs exactly one heading `## Exercise 97.1` above its check in cell 2; found 2",
        ),
        (['check("97.1", square)', "## Exercise 97.1"], "found 1, in cell 2"),
        (["## Exercise 97.9: Lost"], "there is no exercise '97.9'"),
        (["# Solutions 96: Nothing"], "there is no exercise set for chapter 96"),
        (
            ["# Solutions 97: Build test", "## Exercise 1.1", 'check("1.1", mse)'],
            "the title says chapter 97, but the notebook checks 1.1",
        ),
    ],
)
def test_headings_that_cannot_be_written_are_refused(exercise_set, cells, error):
    nb = _notebook(
        *(new_code_cell(c) if c.startswith("check") else new_markdown_cell(c) for c in cells)
    )
    with pytest.raises(build.BuildError, match=re.escape(error)):
        build.with_headings(nb, "test.ipynb")


@pytest.mark.parametrize(
    ("cells", "error"),
    [
        ([FUNCTION.replace("    ### END SOLUTION", "")], "has no '### END SOLUTION'"),
        (["x = 1\n### END SOLUTION"], "without a '### BEGIN SOLUTION'"),
        ([FUNCTION], "has no check"),
        ([FUNCTION, 'check("97.9", square)'], "there is no exercise '97.9'"),
        ([FUNCTION, 'check("97.2", square)'], "checked as exercise 97.2, whose name is `answer`"),
        (
            ["### BEGIN SOLUTION\nx = 1\ny = 2\n### END SOLUTION", 'check("97.2", x)'],
            "one assignment",
        ),
    ],
)
def test_malformed_solutions_are_refused_with_a_reason(exercise_set, cells, error):
    headings = [new_markdown_cell(f"## Exercise 97.{n}") for n in (1, 2)]
    nb = _notebook(*headings, *(new_code_cell(source) for source in cells))
    with pytest.raises(build.BuildError, match=error.replace("(", r"\(").replace("*", r"\*")):
        build.build_notebook(nb, "test.ipynb")


def test_markers_in_markdown_are_refused(exercise_set):
    nb = _notebook(new_markdown_cell("### BEGIN SOLUTION\nsecret\n### END SOLUTION"))
    with pytest.raises(build.BuildError, match="only supported in code cells"):
        build.build_notebook(nb)
