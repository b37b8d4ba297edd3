"""What every exercise of every set must withstand, generated from the sets themselves.

A new chapter's set gets these tests by existing. For each exercise:

- the reference, wrapped as a learner's function (or the reference value), is *correct*, and so
  are the same results as torch tensors (tensors are accepted by policy);
- the same results with every array turned into a list are *incorrect*, saying to use
  ``np.asarray`` (the type policy: an array is asked for, an array is expected);
- a function that swallows every exception in a loop is stopped at the time limit;
- a function returning a string, or None, is *incorrect* with a message, never *correct*;
- submitting the reference itself to the grader is not credited when it is course code.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest

from utils.autocheck.compare import to_numpy
from utils.autocheck.core import run_check
from utils.autocheck.result import Outcome
from utils.autocheck.spec import all_sets

EXERCISES = [exercise for exercise_set in all_sets() for exercise in exercise_set.exercises]
FUNCTIONS = [exercise for exercise in EXERCISES if not exercise.is_value]
IDS = [exercise.id for exercise in EXERCISES]


def _as(exercise, convert):
    """The reference's answer with ``convert`` applied to every array in it."""
    if exercise.is_value:
        return convert(to_numpy(exercise.reference())[0])

    def answer(*args):
        return convert(to_numpy(exercise.reference(*copy.deepcopy(args)))[0])

    answer.__module__ = "__main__"  # a learner's function, not course code
    return answer


def _map_arrays(value, function):
    if isinstance(value, np.ndarray) and value.ndim:
        return function(value)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_map_arrays(item, function) for item in value)
    if isinstance(value, list):
        return [_map_arrays(item, function) for item in value]
    if isinstance(value, dict):
        return {key: _map_arrays(item, function) for key, item in value.items()}
    return value


def _has_array(value) -> bool:
    found = []
    _map_arrays(value, lambda array: found.append(array) or array)
    return bool(found)


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_the_reference_as_an_answer_is_correct(exercise):
    result = run_check(exercise, _as(exercise, lambda value: value))
    assert result.outcome is Outcome.CORRECT, str(result)
    assert result.points == exercise.points


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_torch_tensors_are_accepted(exercise):
    torch = pytest.importorskip("torch")
    result = run_check(exercise, _as(exercise, lambda v: _map_arrays(v, torch.from_numpy)))
    assert result.outcome is Outcome.CORRECT, str(result)


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_lists_where_arrays_are_expected_are_incorrect(exercise):
    args = exercise.cases[0].inputs().values() if exercise.cases else ()
    expected = to_numpy(exercise.reference(*args))[0]
    if not _has_array(expected):
        pytest.skip("the answer holds no array")
    result = run_check(exercise, _as(exercise, lambda v: _map_arrays(v, np.ndarray.tolist)))
    assert result.outcome is Outcome.INCORRECT, str(result)
    assert "np.asarray" in str(result)


@pytest.mark.parametrize("exercise", FUNCTIONS, ids=[e.id for e in FUNCTIONS])
def test_a_loop_that_swallows_the_time_limit_is_stopped(exercise, monkeypatch):
    monkeypatch.setenv("AUTOCHECK_TIME_LIMIT", "0.2")

    def stubborn(*args):
        while True:
            try:
                while True:
                    try:
                        pass
                    except BaseException:
                        pass
            except:  # noqa: E722 - the point of the test
                pass

    start = time.monotonic()
    result = run_check(exercise, stubborn)
    assert result.outcome is Outcome.ERROR
    assert "ran for more than 0.2 s on case 1" in str(result)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
@pytest.mark.parametrize("returned", ["a string", None], ids=["str", "None"])
def test_nonsense_is_never_correct(exercise, returned):
    answer = returned if exercise.is_value else (lambda *args: returned)
    result = run_check(exercise, answer)
    assert result.outcome is Outcome.INCORRECT, str(result)
    assert result.points == 0
    assert result.message


@pytest.mark.parametrize("exercise", FUNCTIONS, ids=[e.id for e in FUNCTIONS])
def test_the_course_code_itself_gets_no_credit_from_the_grader(exercise):
    module = getattr(exercise.reference, "__module__", "") or ""
    if not module.startswith("utils."):
        pytest.skip("the reference is not a course function")
    result = run_check(exercise, exercise.reference, grading=True)
    assert result.outcome is Outcome.INCORRECT
    assert "the course's own" in str(result)
