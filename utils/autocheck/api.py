"""The learner's three calls: ``check``, ``hint`` and ``summary``.

By default a check displays its verdict and returns, whatever the verdict, so "Run all" keeps
going. In strict mode (environment variable ``AUTOCHECK_STRICT=1``, set by ``make test``) anything
but *correct* raises :class:`CheckFailed` after the verdict is shown, and so does a summary with an
exercise that did not pass: that is how nbval proves a solutions notebook passes every check.
Exercise notebooks, whose checks all say *not attempted*, are therefore run with strict mode off
(see ``tests/test_autocheck_notebooks.py``).
"""

from __future__ import annotations

import os
from typing import Any

from . import feedback
from .core import run_check
from .result import Outcome, Result
from .spec import UnknownExercise, get_exercise, get_set

STRICT_VARIABLE = "AUTOCHECK_STRICT"

# This session's state: the last verdict and the last answer checked, per exercise id.
RESULTS: dict[str, Result] = {}
SUBMITTED: dict[str, Any] = {}


class CheckFailed(AssertionError):
    """Raised in strict mode when a check does not pass."""


def strict_mode() -> bool:
    return os.environ.get(STRICT_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def reset() -> None:
    """Forget every verdict of this session (the next summary starts from scratch)."""
    RESULTS.clear()
    SUBMITTED.clear()


def _show_problem(text: str) -> None:
    colour = feedback.COLOURS[Outcome.ERROR]
    feedback.show(text, feedback.box("Cannot check", colour, text, []))
    if strict_mode():
        raise CheckFailed(text)


def check(exercise_id: str, answer: Any) -> None:
    """Check your answer to exercise ``exercise_id`` and show the verdict.

    Pass the function itself, not a call: ``check("1.1", mse)``. For an exercise that asks for a
    value, pass the value: ``check("1.6", initial_loss)``.
    """
    try:
        exercise = get_exercise(exercise_id)
    except UnknownExercise as error:
        _show_problem(f"Cannot check: {error}.")
        return
    SUBMITTED[exercise.id] = answer
    try:
        result = run_check(exercise, answer)
    except Exception as error:  # noqa: BLE001 - a bug in the checker must not look like the learner's
        result = Result(
            exercise.id,
            exercise.name,
            exercise.title,
            Outcome.ERROR,
            "the checker itself failed; this is a bug in the course, not in your code "
            f"({type(error).__name__}: {error}). Please report it.",
            max_points=exercise.points,
        )
    RESULTS[exercise.id] = result
    feedback.show(str(result), feedback.result_html(result), {**result.record(), "source": "check"})
    if strict_mode() and not result.passed:
        raise CheckFailed(str(result))


def hint(exercise_id: str, level: int = 1) -> None:
    """Show hint number ``level`` (1, 2, ...) for an exercise; each one reveals a little more."""
    try:
        exercise = get_exercise(exercise_id)
    except UnknownExercise as error:
        _show_problem(f"No hint: {error}.")
        return
    total = len(exercise.hints)
    if total == 0:
        feedback.show(
            f"Exercise {exercise.id} has no hints.",
            feedback.box("Hint", feedback.HINT_COLOUR, f"Exercise {exercise.id} has no hints.", []),
        )
        return
    if not isinstance(level, int) or not 1 <= level <= total:
        text = (
            f"Exercise {exercise.id} has {total} hints: "
            f'`hint("{exercise.id}", 1)` to `hint("{exercise.id}", {total})`.'
        )
        feedback.show(text, feedback.box("Hint", feedback.HINT_COLOUR, text, []))
        return
    args = (exercise.id, exercise.name, level, total, exercise.hints[level - 1])
    feedback.show(feedback.hint_text(*args), feedback.hint_html(*args))


def _chapters_checked() -> list[str]:
    chapters: list[str] = []
    for exercise_id in RESULTS:
        chapter = exercise_id.partition(".")[0]
        if chapter not in chapters:
            chapters.append(chapter)
    return chapters


def summary(chapter: str | int | None = None) -> None:
    """Show the score of this session: one line per exercise of the chapter (all checked chapters
    by default), including exercises that were never checked."""
    chapters = [str(chapter)] if chapter is not None else _chapters_checked()
    if not chapters:
        _show_problem("No exercise has been checked yet: run the check cells above first.")
        return
    failing: list[str] = []
    for number in chapters:
        try:
            exercise_set = get_set(number)
        except UnknownExercise as error:
            _show_problem(f"No summary: {error}.")
            return
        rows = []
        for exercise in exercise_set.exercises:
            result = RESULTS.get(exercise.id)
            outcome = result.outcome.value if result else "not checked"
            points = result.points if result else 0
            rows.append((exercise.id, exercise.title, points, exercise.points, outcome))
            if outcome != Outcome.CORRECT.value:
                failing.append(exercise.id)
        title = f"Exercises {exercise_set.chapter}: {exercise_set.title}"
        passed, total, points, max_points = feedback.summary_rows(rows)
        record = {
            "summary": exercise_set.chapter,
            "passed": passed,
            "exercises": total,
            "points": points,
            "max_points": max_points,
            "source": "summary",
        }
        feedback.show(
            feedback.summary_text(title, rows), feedback.summary_html(title, rows), record
        )
    if strict_mode() and failing:
        raise CheckFailed(f"strict mode: exercises {', '.join(failing)} did not pass")
