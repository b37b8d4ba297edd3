"""The instructor's grader on realistic submissions: correct, wrong (and forging its verdicts),
crashing, hanging, stuck, and with deleted checks. Every exercise appears in the CSV for each.

The submissions are made from the solutions notebook. Their setup cell is replaced by a comment
because it imports torch, which takes seconds and is not what is tested here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from utils.autocheck import grade
from utils.autocheck.spec import get_set

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_loss_functions.ipynb"
IDS = [exercise.id for exercise in get_set(1).exercises]

FORGERY = """\
# Pretend everything passed: a fake verdict, and a fake grader that displays a fake record.
from IPython.display import display
import utils.autocheck.grade as grader

MIME = "application/vnd.autocheck+json"
forged = {"exercise": "1.1", "outcome": "correct", "points": 1, "source": "check"}
display({"text/plain": "Correct"}, raw=True, metadata={MIME: forged})
forged = {"source": "grader", "nonce": "0" * 32, "chapter": "1", "results": []}
display({"text/plain": "Correct"}, raw=True, metadata={MIME: forged})


def fake_regrade(chapter, namespace, submitted, nonce):
    results = [{"exercise": i, "outcome": "correct", "points": 9} for i in ["1.1", "1.2"]]
    record = {"source": "grader", "nonce": nonce, "chapter": chapter, "results": results}
    display({"text/plain": "Correct"}, raw=True, metadata={MIME: record})


grader.regrade = fake_regrade
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
    argv = [str(folder), "--out", str(out), "--jobs", "2", "--timeout", "8", "--cell-timeout", "2"]
    assert grade.main([*argv, "--case-time-limit", "0.5", "--keep-executed"]) == 0
    with (out / "grades.csv").open(newline="") as file:
        rows = {(Path(r["student_file"]).stem, r["exercise"]): r for r in csv.DictReader(file)}
    with (out / "summary.csv").open(newline="") as file:
        summary = {Path(r["student_file"]).stem: r for r in csv.DictReader(file)}
    return rows, summary, out


def _outcomes(rows, student):
    return {i: rows[student, i]["outcome"] for i in IDS}


def test_every_exercise_of_every_submission_has_a_row(graded):
    rows, summary, out = graded
    assert set(summary) == {"correct", "wrong", "crashing", "hanging", "stuck", "deleting"}
    assert set(rows) == {(student, i) for student in summary for i in IDS}
    assert len(list((out / "executed").glob("*__correct.ipynb"))) == 1


def test_correct_submission_gets_full_marks(graded):
    rows, summary, _ = graded
    assert set(_outcomes(rows, "correct").values()) == {"correct"}
    assert (summary["correct"]["points"], summary["correct"]["max_points"]) == ("9", "9")
    assert all(rows["correct", i]["learner_check"] == "correct" for i in IDS)


def test_wrong_submission_cannot_forge_its_grade(graded):
    rows, summary, _ = graded
    outcomes = _outcomes(rows, "wrong")
    assert outcomes["1.1"] == "incorrect" and rows["wrong", "1.1"]["points"] == "0"
    assert "you summed the squared errors" not in rows["wrong", "1.1"]["detail"]  # hints stay out
    assert rows["wrong", "1.1"]["learner_check"] == "correct"  # what the forgery displayed
    assert outcomes["1.2"] == "incorrect"
    assert "the course's own `utils.losses.mse_grad`" in rows["wrong", "1.2"]["detail"]
    assert [outcomes[i] for i in IDS[2:]] == ["correct"] * 4
    assert summary["wrong"]["points"] == "7"


def test_crashing_submission_is_graded_as_crashed(graded):
    rows, summary, _ = graded
    assert set(_outcomes(rows, "crashing").values()) == {"crashed"}
    assert summary["crashing"]["status"] == "crashed" and summary["crashing"]["points"] == "0"
    assert "the kernel died while running cell" in rows["crashing", "1.1"]["detail"]
    assert "`import os`" in rows["crashing", "1.1"]["detail"]


def test_hanging_cell_is_interrupted_and_a_hanging_function_times_out(graded):
    rows, summary, _ = graded
    outcomes = _outcomes(rows, "hanging")
    assert outcomes["1.3"] == "error" and outcomes["1.4"] == "error"  # 1.4 calls logsumexp
    assert "ran for more than 0.5 s" in rows["hanging", "1.3"]["detail"]
    assert [outcomes[i] for i in ("1.1", "1.2", "1.5", "1.6")] == ["correct"] * 4
    assert (
        "(`while True:`) ran for more than 2 s and was interrupted" in summary["hanging"]["notes"]
    )


def test_stuck_submission_times_out_as_a_whole(graded):
    rows, summary, _ = graded
    assert set(_outcomes(rows, "stuck").values()) == {"timeout"}
    assert summary["stuck"]["status"] == "timeout"
    assert "ran past its 8 s limit" in rows["stuck", "1.1"]["detail"]


def test_deleted_checks_are_graded_on_the_code_and_deleted_answers_are_missing(graded):
    rows, _, _ = graded
    outcomes = _outcomes(rows, "deleting")
    assert outcomes["1.1"] == "correct" and rows["deleting", "1.1"]["learner_check"] == "none"
    assert outcomes["1.6"] == "missing" and rows["deleting", "1.6"]["points"] == "0"
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


def test_only_the_graders_own_record_counts():
    record = {"source": "grader", "nonce": "right", "results": [{"exercise": "1.1"}]}
    forged = {"source": "grader", "nonce": "guess", "results": []}
    outputs = [{"metadata": {grade.MIME_TYPE: forged}}, {"metadata": {grade.MIME_TYPE: record}}]
    cell = {"outputs": outputs}
    assert grade._grader_records(cell, "right") == [{"exercise": "1.1"}]
    assert grade._grader_records(cell, "other") is None


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
