"""The instructor's grader on realistic submissions: correct, wrong (and forging its verdicts),
crashing, hanging, stuck, with deleted checks, and renamed with reordered and duplicated cells.
Every exercise appears in the CSV for each; a second run reuses the cache; the exports have the
columns Canvas and Gradescope import. (Attacks on every set: tests/test_autocheck_attacks.py.)

The submissions are made from the solutions notebook. Their setup cell is replaced by a comment
because it imports torch, which takes seconds and is not what is tested here.
"""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from utils.autocheck import grade
from utils.autocheck.spec import get_set

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_loss_functions.ipynb"
IDS = [exercise.id for exercise in get_set(1).exercises]
MAX_POINTS = get_set(1).max_points
WRONG_POINTS = MAX_POINTS - get_set(1)["1.1"].points - get_set(1)["1.2"].points  # 1.1, 1.2 lost

FORGERY = """\
# Pretend everything passed: a fake verdict, and a fake grader that displays a fake record.
from IPython.display import display
import utils.autocheck.grade as grader

MIME = "application/vnd.autocheck+json"
forged = {"exercise": "1.1", "outcome": "correct", "points": 1, "source": "check"}
display({"text/plain": "Correct"}, raw=True, metadata={MIME: forged})


def fake_collect_into(exercise_id, namespace, submitted, out_path):
    record = {"exercise": exercise_id, "kind": "value", "value": 1.0}
    from utils.autocheck import plain

    plain.dump(out_path, record)


grader.collect_into = fake_collect_into
"""

STUCK = """\
import time

while True:  # ignores the grader's interrupt
    try:
        time.sleep(0.1)
    except KeyboardInterrupt:
        pass
"""


def _solution():
    nb = nbformat.read(SOLUTION, as_version=4)
    setup = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    nb.cells[setup].source = "# setup cell skipped in this test"
    return nb


def _index(nb, text: str) -> int:
    """The first code cell containing ``text`` (or a markdown cell starting with it)."""
    return next(
        i
        for i, cell in enumerate(nb.cells)
        if (text in cell.source if cell.cell_type == "code" else cell.source.startswith(text))
    )


def _replace_body(nb, name: str, body: str) -> None:
    cell = nb.cells[_index(nb, f"def {name}(")]
    header = cell.source.split("### BEGIN SOLUTION")[0]
    cell.source = header + body


def _submissions() -> dict[str, nbformat.NotebookNode]:
    subs = {"correct": _solution()}

    wrong = _solution()
    _replace_body(wrong, "mse", "return np.sum((pred - target) ** 2)")
    wrong.cells[_index(wrong, "def mse_grad(")].source = "from utils.losses import mse_grad"
    wrong.cells.insert(len(wrong.cells) - 1, new_code_cell(FORGERY))  # before summary()
    subs["wrong"] = wrong

    crashing = _solution()
    crashing.cells.insert(
        _index(crashing, 'check("1.2"') + 1, new_code_cell("import os\nos._exit(1)")
    )
    subs["crashing"] = crashing

    hanging = _solution()
    hanging.cells.insert(_index(hanging, 'check("1.1"') + 1, new_code_cell("while True:\n    pass"))
    _replace_body(hanging, "logsumexp", "while True:\n        pass")
    subs["hanging"] = hanging

    stuck = _solution()
    stuck.cells.insert(_index(stuck, 'check("1.1"') + 1, new_code_cell(STUCK))
    subs["stuck"] = stuck

    reordered = _solution()
    start, end = _index(reordered, "## Exercise 1.3"), _index(reordered, "## Exercise 1.4")
    moved = reordered.cells[start:end]
    del reordered.cells[start:end]
    reordered.cells[len(reordered.cells) - 1 : len(reordered.cells) - 1] = moved  # before summary
    duplicate = reordered.cells[_index(reordered, 'check("1.1"')]
    copy = nbformat.from_dict({**duplicate, "id": "duplicated-check"})
    reordered.cells.insert(1, copy)  # a duplicate of 1.1's check, before mse is defined
    subs["renamed and reordered"] = reordered

    deleting = _solution()
    for text in ('check("1.1"', 'check("1.2"', 'check("1.6"', "initial_loss =", "## Exercise 1.6"):
        del deleting.cells[_index(deleting, text)]
    subs["deleting"] = deleting
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for name, nb in _submissions().items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "correct-checkpoint.ipynb").write_text("{}")
    out = tmp_path_factory.mktemp("grades")
    argv = [str(folder), "--out", str(out), "--jobs", "2", "--timeout", "30", "--cell-timeout", "5"]
    argv += ["--case-time-limit", "0.5"]
    assert grade.main([*argv, "--keep-executed"]) == 0
    first = (out / "grades.csv").read_text()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert grade.main(argv) == 0  # every notebook unchanged: nothing regraded
    assert f"reused {len(_submissions())} unchanged" in err.getvalue()
    assert (out / "grades.csv").read_text() == first
    with (out / "grades.csv").open(newline="") as file:
        rows = {(Path(r["student_file"]).stem, r["exercise"]): r for r in csv.DictReader(file)}
    with (out / "summary.csv").open(newline="") as file:
        summary = {Path(r["student_file"]).stem: r for r in csv.DictReader(file)}
    return rows, summary, out


def _outcomes(rows, student):
    return {i: rows[student, i]["outcome"] for i in IDS}


def test_every_exercise_of_every_submission_has_a_row(graded):
    rows, summary, out = graded
    assert set(summary) == {
        "correct",
        "wrong",
        "crashing",
        "hanging",
        "stuck",
        "deleting",
        "renamed and reordered",
    }
    assert set(rows) == {(student, i) for student in summary for i in IDS}
    assert len(list((out / "executed").glob("*__correct.ipynb"))) == 1


def test_correct_submission_gets_full_marks(graded):
    rows, summary, _ = graded
    assert set(_outcomes(rows, "correct").values()) == {"correct"}
    correct = summary["correct"]
    assert (float(correct["points"]), correct["max_points"]) == (MAX_POINTS, str(MAX_POINTS))
    assert all(rows["correct", i]["learner_check"] == "correct" for i in IDS)


def test_wrong_submission_cannot_forge_its_grade(graded):
    rows, summary, _ = graded
    outcomes = _outcomes(rows, "wrong")
    assert outcomes["1.1"] == "incorrect" and float(rows["wrong", "1.1"]["points"]) == 0
    assert "you summed the squared errors" not in rows["wrong", "1.1"]["detail"]  # hints stay out
    assert rows["wrong", "1.1"]["learner_check"] == "correct"  # what the forgery displayed
    assert outcomes["1.2"] == "incorrect"
    assert "the course's own `utils.losses.mse_grad`" in rows["wrong", "1.2"]["detail"]
    assert [outcomes[i] for i in IDS[2:]] == ["correct"] * len(IDS[2:])
    assert float(summary["wrong"]["points"]) == WRONG_POINTS


def test_crashing_submission_is_graded_as_crashed(graded):
    rows, summary, _ = graded
    assert set(_outcomes(rows, "crashing").values()) == {"crashed"}
    assert summary["crashing"]["status"] == "crashed"
    assert float(summary["crashing"]["points"]) == 0
    assert "the kernel died while running cell" in rows["crashing", "1.1"]["detail"]
    assert "`import os`" in rows["crashing", "1.1"]["detail"]


def test_hanging_cell_is_interrupted_and_a_hanging_function_times_out(graded):
    rows, summary, _ = graded
    outcomes = _outcomes(rows, "hanging")
    assert outcomes["1.3"] == "error" and outcomes["1.4"] == "error"  # 1.4 calls logsumexp
    assert "ran for more than 0.5 s" in rows["hanging", "1.3"]["detail"]
    assert [outcomes[i] for i in ("1.1", "1.2", "1.5", "1.6")] == ["correct"] * 4
    assert (
        "(`while True:`) ran for more than 5 s and was interrupted" in summary["hanging"]["notes"]
    )


def test_stuck_submission_times_out_as_a_whole(graded):
    rows, summary, _ = graded
    assert set(_outcomes(rows, "stuck").values()) == {"timeout"}
    assert summary["stuck"]["status"] == "timeout"
    assert "ran past its 30 s limit" in rows["stuck", "1.1"]["detail"]


def test_deleted_checks_are_graded_on_the_code_and_deleted_answers_are_missing(graded):
    rows, _, _ = graded
    outcomes = _outcomes(rows, "deleting")
    assert outcomes["1.1"] == "correct" and rows["deleting", "1.1"]["learner_check"] == "none"
    assert outcomes["1.6"] == "missing" and float(rows["deleting", "1.6"]["points"]) == 0
    assert "defines no `initial_loss`" in rows["deleting", "1.6"]["detail"]


# ---------------------------------------------------------------------------------------------
# Without a kernel
# ---------------------------------------------------------------------------------------------


def test_exercise_set_is_detected_from_checks_file_name_or_option(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[new_code_cell('check("1.2", mse_grad)')])
    assert grade.detect_set(nb, tmp_path / "anything.ipynb").chapter == "1"
    empty = nbformat.v4.new_notebook()
    assert grade.detect_set(empty, tmp_path / "01_mine.ipynb").chapter == "1"
    assert grade.detect_set(empty, tmp_path / "x.ipynb", chapter="1").chapter == "1"
    with pytest.raises(LookupError, match="pass --set"):
        grade.detect_set(empty, tmp_path / "mine.ipynb")


def test_unreadable_or_unknown_notebooks_are_rows_not_crashes(tmp_path):
    broken = tmp_path / "01_broken.ipynb"
    broken.write_text("{not json")
    rows, summary, nb = grade.grade_notebook(broken)
    assert nb is None and [r.outcome for r in rows] == ["missing"] * len(IDS)
    assert summary.status == "unreadable"
    unknown = tmp_path / "mine.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), unknown)
    rows, summary, _ = grade.grade_notebook(unknown)
    assert rows[0].exercise == "?" and summary.status == "unknown set"


def test_renamed_notebook_with_moved_and_duplicated_cells_grades_by_id(graded):
    rows, summary, _ = graded
    outcomes = _outcomes(rows, "renamed and reordered")
    assert set(outcomes.values()) == {"correct"}, outcomes
    assert float(summary["renamed and reordered"]["points"]) == MAX_POINTS


def test_exports_have_the_columns_canvas_and_gradescope_import(graded):
    _, summary, out = graded
    with (out / "canvas.csv").open(newline="") as file:
        canvas = list(csv.DictReader(file))
    assert list(canvas[0]) == [*grade.CANVAS_COLUMNS, "Exercises 1"]
    assert {r["Student"]: float(r["Exercises 1"]) for r in canvas}["wrong"] == WRONG_POINTS
    with (out / "gradescope.csv").open(newline="") as file:
        gradescope = list(csv.DictReader(file))
    assert list(gradescope[0]) == ["Name", "SID", "Email", "Score"]
    assert {r["Name"] for r in gradescope} == set(summary)


def test_student_identity_from_canvas_names_stems_or_folders():
    assert grade.student_of("sub/doejane_12345_678901_01_loss.ipynb") == ("doejane", "12345")
    assert grade.student_of("doejane_LATE_12345_678901_x.ipynb") == ("doejane", "12345")
    assert grade.student_of("class/alice/01_loss_functions.ipynb") == ("alice", "")
    assert grade.student_of("class/bob.ipynb") == ("bob", "")


def test_outputs_the_kernel_wrote_are_judged_and_never_trusted(tmp_path):
    exercise = get_set(1).exercises[0]
    forged = tmp_path / "forged.autocheck"
    forged.write_bytes(b"PK not a zip")
    outcome, points, detail = grade.judge_file(exercise, forged)
    assert (outcome, points) == ("error", 0) and "could not read the outputs" in detail
    from utils.autocheck import plain

    plain.dump(tmp_path / "none.autocheck", {"exercise": exercise.id, "kind": "none"})
    assert grade.judge_file(exercise, tmp_path / "none.autocheck")[0] == "missing"
    claim = {"exercise": exercise.id, "kind": "function", "outcome": "correct", "points": 9}
    plain.dump(tmp_path / "claim.autocheck", claim)
    outcome, points, _ = grade.judge_file(exercise, tmp_path / "claim.autocheck")
    assert outcome == "error" and points == 0


def test_cli_without_notebooks(tmp_path, capsys):
    assert grade.main([str(tmp_path)]) == 2
    assert "no notebooks found" in capsys.readouterr().err


def test_a_grader_bug_on_one_notebook_becomes_a_row(monkeypatch, tmp_path):
    def broken(path, **settings):
        raise RuntimeError("boom")

    monkeypatch.setattr(grade, "grade_notebook", broken)
    rows, summary, text = grade._grade_one((tmp_path / "x.ipynb", {}))
    assert rows[0].outcome == "crashed" and "RuntimeError: boom" in rows[0].detail
    assert summary.status == "grader error" and text is None
