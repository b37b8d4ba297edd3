"""The tests every exercise set gets from its hand-written tables of answers.

Each ``tests/test_exercises_chNN.py`` writes, by hand and independently of the mistakes the
exercise module declares:

- ``WRONG``: ``(exercise id, wrong answer, fragment of the message it must get)``, at least three
  per exercise;
- ``RIGHT``: ``(exercise id, another correct answer)``, solutions written differently from the
  reference that must still pass;

and gets its tests with ``table_tests(set_number, WRONG, RIGHT)``.
"""

from __future__ import annotations

import dataclasses

import pytest

from utils.autocheck.core import run_check
from utils.autocheck.result import Outcome
from utils.autocheck.spec import get_exercise, get_set


def _name(answer) -> str:
    return getattr(answer, "__name__", repr(answer))


def table_tests(set_number: int, wrong: list, right: list):
    """Return the three test functions for one exercise set's ``WRONG`` and ``RIGHT`` tables."""

    @pytest.mark.parametrize(
        ("exercise_id", "answer", "message"),
        wrong,
        ids=[f"{i}-{_name(a)}-{n}" for n, (i, a, _) in enumerate(wrong)],
    )
    def test_wrong_answer_gets_the_intended_message(exercise_id, answer, message):
        result = run_check(exercise_id, answer)
        assert result.outcome in (Outcome.INCORRECT, Outcome.ERROR)
        assert message in str(result), str(result)

    def test_every_exercise_has_three_hand_written_wrong_answers():
        for exercise in get_set(set_number).exercises:
            variants = {id(answer) for i, answer, _ in wrong if i == exercise.id}
            assert len(variants) >= 3, exercise.id

    @pytest.mark.parametrize(
        ("exercise_id", "answer"),
        right,
        ids=[f"{i}-{_name(a)}-{n}" for n, (i, a) in enumerate(right)],
    )
    def test_other_correct_solutions_pass(exercise_id, answer):
        result = run_check(exercise_id, answer)
        assert result.outcome is Outcome.CORRECT, str(result)

    return (
        test_wrong_answer_gets_the_intended_message,
        test_every_exercise_has_three_hand_written_wrong_answers,
        test_other_correct_solutions_pass,
    )


def separation_test(rows: list):
    """A test that each case in ``rows`` is what catches its wrong answer.

    ``rows``: ``(exercise id, wrong answer, description of the case that separates it)``. Without
    that case the wrong answer must pass (so the case is needed), with it it must not.
    """

    @pytest.mark.parametrize(
        ("exercise_id", "answer", "description"),
        rows,
        ids=[f"{i}-{_name(a)}" for i, a, _ in rows],
    )
    def test_this_case_is_what_catches_the_wrong_answer(exercise_id, answer, description):
        exercise = get_exercise(exercise_id)
        kept = tuple(case for case in exercise.cases if case.description != description)
        assert len(kept) == len(exercise.cases) - 1, f"no case {description!r}"
        without = dataclasses.replace(exercise, cases=kept)
        assert run_check(without, answer).outcome is Outcome.CORRECT, "caught without the case"
        assert run_check(exercise, answer).outcome is Outcome.INCORRECT

    return test_this_case_is_what_catches_the_wrong_answer
