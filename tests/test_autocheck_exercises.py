"""Every exercise of every set (utils/autocheck/exercises/chNN.py) is well formed.

Nothing to add here for a new chapter: these tests find every set. For each exercise they prove
that the reference passes, that each declared known mistake is rejected with its own message (at
least three per function exercise), and that the notebooks and the set agree.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from utils.autocheck.compare import arrays_equal
from utils.autocheck.core import run_check
from utils.autocheck.result import Outcome
from utils.autocheck.spec import CHECK_CALL, all_sets

ROOT = Path(__file__).resolve().parents[1]
SETS = all_sets()
EXERCISES = [exercise for exercise_set in SETS for exercise in exercise_set.exercises]
MISTAKES = [(exercise, mistake) for exercise in EXERCISES for mistake in exercise.mistakes]


def _answer(exercise, function):
    """A value exercise is answered with the value a mistake computes, a function with itself."""
    return function() if exercise.is_value else function


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.id for e in EXERCISES])
def test_reference_passes(exercise):
    result = run_check(exercise, _answer(exercise, exercise.reference))
    assert result.outcome is Outcome.CORRECT, str(result)


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.id for e in EXERCISES])
def test_exercise_is_complete(exercise):
    assert len(exercise.mistakes) >= 3, f"{exercise.id}: declare at least three known mistakes"
    assert exercise.hints, f"{exercise.id}: give at least one hint"
    assert exercise.title and exercise.points > 0
    for case in exercise.cases:
        first, second = case.inputs(), case.inputs()
        assert first.keys() == second.keys()
        data = [k for k in first if not callable(first[k])]  # functions are rebuilt each time
        assert arrays_equal({k: first[k] for k in data}, {k: second[k] for k in data}), (
            f"{exercise.id}: inputs must come from the seed"
        )


@pytest.mark.parametrize(
    ("exercise", "mistake"),
    MISTAKES,
    ids=[f"{e.id}-mistake{e.mistakes.index(m) + 1}" for e, m in MISTAKES],
)
def test_known_mistake_is_rejected_with_its_own_message(exercise, mistake):
    result = run_check(exercise, _answer(exercise, mistake.answer))
    assert result.outcome is Outcome.INCORRECT, str(result)
    hints = [line for line in result.details if line.startswith("Hint: ")]
    assert hints == [f"Hint: {mistake.message}"], (
        f"{exercise.id}: the mistake {mistake.message!r} got {hints} — is it indistinguishable "
        "from an earlier mistake on these cases? Add a case that tells them apart."
    )


@pytest.mark.parametrize("exercise_set", SETS, ids=[s.chapter for s in SETS])
def test_notebooks_check_every_exercise_once(exercise_set):
    ids = [exercise.id for exercise in exercise_set.exercises]
    for folder in ("solutions", "exercises"):
        path = ROOT / folder / f"{exercise_set.notebook}.ipynb"
        assert path.exists(), f"{path} is missing"
        nb = nbformat.read(path, as_version=4)
        sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
        calls = [(m["id"], m["answer"]) for source in sources for m in CHECK_CALL.finditer(source)]
        assert [i for i, _ in calls] == ids, f"{path.name}: checks {calls}, exercises {ids}"
        names = {exercise.id: exercise.name for exercise in exercise_set.exercises}
        assert all(name == names[i] for i, name in calls), f"{path.name}: {calls}"
        assert sources[-1].strip() == "summary()", f"{path.name} must end with summary()"
