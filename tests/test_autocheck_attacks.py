"""Attacks on the grader, for every exercise set (table-driven from ``spec.all_sets()``, so a new
chapter's set gets them for free).

For each set one submission is made from its solutions notebook (setup cell skipped) and five of
its function exercises are replaced, in a last cell the learner's checks never saw:

- **patch**: the function, when called, makes the kernel's ``utils.autocheck.core`` and
  ``compare`` and every exercise's reference always agree, then returns garbage;
- **wrong**: returns garbage (a wrong answer elsewhere must stay wrong after the patch);
- **swallow**: ``while True`` inside ``except BaseException: pass``, nested twice;
- **sigalrm**: ignores SIGALRM and SIGINT, then loops (the in-kernel limit cannot stop it);
- **exit**: calls ``os._exit(1)`` (kills the kernel).

A ``utils`` package planted next to the notebooks (a copy of the course's, whose grader module
leaves a mark when imported) must not be used by the grader. Each attack costs only its own
exercise; every other exercise keeps its grade; the grader itself finishes in bounded time.
"""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from utils.autocheck import grade
from utils.autocheck.spec import all_sets

ROOT = Path(__file__).resolve().parents[1]
SETS = [s for s in all_sets() if list(ROOT.glob(f"solutions/{int(s.chapter):02d}_*.ipynb"))]
ATTACKS = ["patch", "wrong", "swallow", "sigalrm", "exit"]
CASE_TIME_LIMIT = 1.0

BODIES = {
    "patch": """\
    import utils.autocheck.compare as compare
    import utils.autocheck.core as core
    from utils.autocheck.spec import all_sets

    def agree(*args, **kwargs):
        return None

    compare.difference = core.difference = agree
    core.same_answer = compare.same_answer = lambda *args, **kwargs: True
    for exercise_set in all_sets():
        for exercise in exercise_set.exercises:
            object.__setattr__(exercise, "reference", lambda *args, **kwargs: "garbage")
    return "garbage"
""",
    "wrong": """\
    return "garbage"
""",
    "swallow": """\
    while True:
        try:
            try:
                while True:
                    pass
            except BaseException:
                pass
        except BaseException:
            pass
""",
    "sigalrm": """\
    import signal

    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass
""",
    "exit": """\
    import os

    os._exit(1)
""",
}

PLANTED_MARK = "PLANTED_UTILS_WAS_IMPORTED"


def _attacked(exercise_set) -> list[dict]:
    """Per submission, the exercises attacked by attack name: the set's function exercises,
    in as many submissions as it takes to carry every attack (one for five or more)."""
    functions = [e for e in exercise_set.exercises if not e.is_value]
    assert functions, f"set {exercise_set.chapter} has no function exercise"
    # Every case is graded under CASE_TIME_LIMIT, shorter than the exercises' own limits. The
    # slow ones (7.7's torch loop has 15 s) are therefore attacked, and the exercises that must
    # stay correct are quick ones, which pass in 1 s. The attacks still go out in the set's
    # order, so the exercises after "patch" are collected in a patched kernel.
    if len(functions) > len(ATTACKS):
        slowest_first = sorted(functions, key=lambda e: -e.time_limit)
        chosen = {e.id for e in slowest_first[: len(ATTACKS)]}
        kept = [e.id for e in slowest_first[len(ATTACKS) :] if e.time_limit > 5]
        assert not kept, f"{kept} would be graded under {CASE_TIME_LIMIT} s and not attacked"
        functions = [e for e in functions if e.id in chosen]
    chunks = [ATTACKS[i : i + len(functions)] for i in range(0, len(ATTACKS), len(functions))]
    return [dict(zip(chunk, functions, strict=False)) for chunk in chunks]


def _submission(exercise_set, attacked: dict):
    (path,) = ROOT.glob(f"solutions/{int(exercise_set.chapter):02d}_*.ipynb")
    nb = nbformat.read(path, as_version=4)
    setup = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    nb.cells[setup].source = "# setup cell skipped in this test"
    lines = ["import utils.autocheck.api as _api", ""]
    for attack, exercise in attacked.items():
        # Submitted under the exercise's id only: the learner's own function of that name,
        # which their later exercises may call (5.3 calls 5.1's), stays the correct one.
        name = f"attack_{attack}"
        lines += [f"def {name}(*args, **kwargs):", BODIES[attack]]
        lines += [f"_api.SUBMITTED[{exercise.id!r}] = {name}", ""]
    nb.cells.append(new_code_cell("\n".join(lines)))
    return nb


def _plant_utils(folder: Path) -> None:
    planted = folder / "utils"
    shutil.copytree(ROOT / "utils", planted, ignore=shutil.ignore_patterns("__pycache__"))
    grader = planted / "autocheck" / "grade.py"
    mark = folder / PLANTED_MARK
    grader.write_text(grader.read_text() + f"\nopen({str(mark)!r}, 'w').close()\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attacks")
    _plant_utils(folder)
    for exercise_set in SETS:
        for number, attacked in enumerate(_attacked(exercise_set)):
            name = f"attack_{exercise_set.chapter}_{number}.ipynb"
            nbformat.write(_submission(exercise_set, attacked), folder / name)
    out = tmp_path_factory.mktemp("grades")
    start = time.monotonic()
    grade.grade(
        sorted(folder.glob("attack_*.ipynb")),
        out,
        jobs=2,
        progress=False,
        use_cache=False,
        timeout=120,
        cell_timeout=60,
        case_time_limit=CASE_TIME_LIMIT,
    )
    elapsed = time.monotonic() - start
    with (out / "grades.csv").open(newline="") as file:
        rows = {(Path(r["student_file"]).stem, r["exercise"]): r for r in csv.DictReader(file)}
    return rows, elapsed, folder


@pytest.mark.parametrize("exercise_set", SETS, ids=lambda s: f"set{s.chapter}")
def test_each_attack_costs_only_its_own_exercise(graded, exercise_set):
    rows, _, _ = graded
    for number, attacked in enumerate(_attacked(exercise_set)):
        _check_submission(rows, exercise_set, f"attack_{exercise_set.chapter}_{number}", attacked)


def _check_submission(rows, exercise_set, student, attacked):
    for attack, exercise in attacked.items():
        row = rows[student, exercise.id]
        assert float(row["points"]) == 0, (attack, row)
        assert row["outcome"] != "correct", (attack, row)
    outcomes = {attack: rows[student, e.id]["outcome"] for attack, e in attacked.items()}
    details = {attack: rows[student, e.id]["detail"] for attack, e in attacked.items()}
    assert outcomes.get("patch", "incorrect") == "incorrect", details
    assert outcomes.get("wrong", "incorrect") == "incorrect", details
    assert "ran for more than" in details.get("swallow", "ran for more than")
    if "sigalrm" in attacked:
        assert outcomes["sigalrm"] == "error"
        assert "the grader stopped the kernel" in details["sigalrm"]
    if "exit" in attacked:
        assert outcomes["exit"] == "crashed"
        assert f"the kernel died while running exercise {attacked['exit'].id}" in details["exit"]
    others = [e for e in exercise_set.exercises if e not in attacked.values()]
    for exercise in others:
        row = rows[student, exercise.id]
        assert row["outcome"] == "correct", row
        assert float(row["points"]) == exercise.points


def test_a_planted_utils_is_not_used_and_the_grader_finishes(graded):
    _, elapsed, folder = graded
    assert not (folder / PLANTED_MARK).exists()
    # A grader that waited out each attack's time limit would take far longer. The bound is
    # generous because other jobs slow grading: seven sets took 307 s and 499 s in two runs
    # on a busy 2-core machine.
    limit = 150 * len(SETS)
    assert elapsed < limit, f"grading the attack notebooks took {elapsed:.0f} s (> {limit} s)"
