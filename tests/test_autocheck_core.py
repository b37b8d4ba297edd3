"""Unit tests of the checker: verdicts, messages, safety (copies, seeds, time limits), display.

NumPy only; answers and inputs from torch and TensorFlow are in test_autocheck_frameworks.py.

They use a small exercise set of their own (chapter 99), registered for the duration of each test,
so that they do not depend on any chapter's exercises.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest

from utils import autocheck
from utils.autocheck import api, feedback
from utils.autocheck.core import call_with_time_limit, describe_exception, run_check
from utils.autocheck.result import MIME_TYPE, Outcome
from utils.autocheck.spec import (
    Case,
    Exercise,
    ExerciseSet,
    Mistake,
    UnknownExercise,
    get_exercise,
    register,
    unregister,
)


def _vector(rng):
    return {"x": rng.normal(size=5)}


def _matrix(rng):
    return {"x": rng.normal(size=(2, 3))}


DOUBLE = Exercise(
    id="99.1",
    name="double",
    title="Double every entry",
    reference=lambda x: 2.0 * x,
    cases=(Case("a vector", _vector, seed=1), Case("a matrix", _matrix, seed=2)),
    mistakes=(
        Mistake("you halved instead of doubling.", lambda x: x / 2),
        Mistake("you squared instead of doubling.", lambda x: x**2),
    ),
    hints=("Multiply.", "By two."),
    points=2,
    time_limit=0.5,
)
ANSWER = Exercise(
    id="99.2",
    name="answer",
    title="A value",
    reference=lambda: np.log(42.0),
    mistakes=(Mistake("that is log base 10.", lambda: np.log10(42.0)),),
    hints=("Natural log.",),
)
MEAN = Exercise(
    id="99.3",
    name="mean",
    title="Mean of all entries",
    reference=lambda x: np.mean(x),
    cases=(Case("a matrix", _matrix, seed=3),),
)
STATS = Exercise(
    id="99.4",
    name="stats",
    title="Mean and spread",
    reference=lambda x: (np.mean(x), {"std": np.std(x)}),
    cases=(Case("a vector", _vector, seed=4),),
)
SET = ExerciseSet("99", "Test exercises", "99_test", (DOUBLE, ANSWER, MEAN, STATS))


@pytest.fixture(autouse=True)
def exercise_set(monkeypatch):
    monkeypatch.delenv(api.STRICT_VARIABLE, raising=False)  # `make test` sets it for notebooks
    monkeypatch.delenv("AUTOCHECK_TIME_LIMIT", raising=False)
    register(SET)
    api.reset()
    yield SET
    api.reset()
    unregister("99")


def text_of(result) -> str:
    return str(result)


# ---------------------------------------------------------------------------------------------
# The four verdicts
# ---------------------------------------------------------------------------------------------


def test_correct_answer_passes_with_its_points():
    result = run_check("99.1", lambda x: x + x)
    assert result.outcome is Outcome.CORRECT
    assert (result.points, result.max_points) == (2, 2)
    assert "all 2 cases pass" in text_of(result)


def test_wrong_values_name_the_case_and_the_first_index_without_the_expected_value():
    def nearly_double(x):
        y = 2.0 * x
        y.flat[3] += 0.5
        return y

    result = run_check("99.1", nearly_double)
    text = text_of(result)
    assert result.outcome is Outcome.INCORRECT
    assert result.points == 0
    assert "case 1 of 2 (a vector" in text
    assert "at 1 of 5 positions" in text and "index [3]" in text
    expected = 2.0 * DOUBLE.cases[0].inputs()["x"]
    got = nearly_double(DOUBLE.cases[0].inputs()["x"])
    assert f"{got[3]:.6g}" in text  # what the learner got is shown
    assert f"{expected[3]:.6g}" not in text  # the expected value is not
    assert "Hint:" not in text


def test_known_mistake_adds_its_targeted_hint():
    result = run_check("99.1", lambda x: x * 0.5)
    assert result.outcome is Outcome.INCORRECT
    assert "Hint: you halved instead of doubling." in result.details


def test_mistake_must_match_on_every_case():
    def halves_vectors_only(x):
        return x / 2 if x.ndim == 1 else 2 * x

    result = run_check("99.1", halves_vectors_only)
    assert result.outcome is Outcome.INCORRECT
    assert not any("halved" in line for line in result.details)


def test_stub_is_not_attempted():
    def double(x):
        raise NotImplementedError("Exercise 99.1: implement double")

    result = run_check("99.1", double)
    assert result.outcome is Outcome.NOT_ATTEMPTED
    assert "replace `raise NotImplementedError(...)` in `double`" in text_of(result)


def test_ellipsis_value_is_not_attempted():
    result = run_check("99.2", ...)
    assert result.outcome is Outcome.NOT_ATTEMPTED
    assert "replace the `...` in `answer = ...`" in text_of(result)


def test_calling_another_exercises_stub_is_an_error_not_a_skip():
    def mean(x):
        raise NotImplementedError("Exercise 99.1: implement double")

    result = run_check("99.3", mean)
    assert result.outcome is Outcome.ERROR
    assert "`double`, which is still the unfinished stub of exercise 99.1" in text_of(result)


def _raises_on_purpose(x):
    scale = 0
    return x / scale if isinstance(x, int) else {}["missing key"]


def test_exception_shows_one_line_with_the_learners_line_number():
    result = run_check("99.1", _raises_on_purpose)
    text = text_of(result)
    lines, first = inspect.getsourcelines(_raises_on_purpose)
    raising = first + next(i for i, line in enumerate(lines) if "missing key" in line)
    assert result.outcome is Outcome.ERROR
    assert "your code raised KeyError: 'missing key'" in text
    assert f"line {raising} of `_raises_on_purpose`" in text
    assert 'return x / scale if isinstance(x, int) else {}["missing key"]' in text
    assert "Traceback" not in text and len(text.splitlines()) == 1


def test_exception_inside_numpy_points_at_the_learners_line_not_numpys():
    def inverse(x):
        return np.linalg.inv(x)  # a (2, 3) matrix has no inverse

    result = run_check("99.3", inverse)
    assert result.outcome is Outcome.ERROR
    assert "LinAlgError" in text_of(result)
    assert "of `inverse`: `return np.linalg.inv(x)" in text_of(result)


def test_none_return_asks_about_return():
    def double(x):
        2 * x  # noqa: B018 - the missing return is the point

    result = run_check("99.1", double)
    assert result.outcome is Outcome.INCORRECT
    assert "returned None" in text_of(result) and "forget `return`" in text_of(result)


def test_mutating_an_input_is_reported_even_when_the_result_is_right():
    def double(x):
        x *= 2
        return x

    result = run_check("99.1", double)
    assert result.outcome is Outcome.INCORRECT
    assert "changed its input `x` in place" in text_of(result)


def test_checks_work_on_copies_and_never_touch_the_global_seed():
    seen = []

    def double(x):
        seen.append(x)
        return 2 * x

    state = np.random.get_state()[1].copy()
    run_check("99.1", double)
    run_check("99.1", double)
    assert np.array_equal(np.random.get_state()[1], state)
    assert np.array_equal(seen[0], seen[2])  # same seeded inputs every time...
    assert seen[0] is not seen[2]  # ...but fresh copies


def test_infinite_loop_ends_with_a_time_out_message():
    def double(x):
        while True:
            try:
                pass
            except Exception:  # a learner's broad except must not swallow the time limit
                pass

    result = run_check("99.1", double)
    assert result.outcome is Outcome.ERROR
    assert "ran for more than 0.5 s on case 1 of 2" in text_of(result)


def test_time_limit_can_be_overridden_and_restores_the_previous_handler(monkeypatch):
    import signal

    monkeypatch.setenv("AUTOCHECK_TIME_LIMIT", "0.2")

    def slow(x):
        while True:
            pass

    before = signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGINT)
    assert "more than 0.2 s" in text_of(run_check("99.1", slow))
    assert (signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGINT)) == before
    assert call_with_time_limit(max, (2, 3), None) == 3  # no limit at all


def test_passing_a_value_instead_of_the_function():
    result = run_check("99.1", np.zeros(5))
    assert result.outcome is Outcome.INCORRECT
    assert 'Pass the name without calling it: `check("99.1", double)`' in text_of(result)


def test_value_exercise_hides_the_size_of_the_error():
    wrong = run_check("99.2", 3.0)
    assert wrong.outcome is Outcome.INCORRECT
    assert "off by" not in text_of(wrong) and "tolerance" not in text_of(wrong)
    assert run_check("99.2", np.log(42.0)).passed
    assert "Hint: that is log base 10." in run_check("99.2", np.log10(42.0)).details


def test_grading_mode_rejects_the_course_reference():
    from utils import losses

    exercise = Exercise(
        "99.5",
        "mse",
        "MSE",
        losses.mse,
        cases=(Case("v", lambda rng: {"p": rng.normal(size=3), "t": rng.normal(size=3)}),),
    )
    assert run_check(exercise, losses.mse).passed
    graded = run_check(exercise, losses.mse, grading=True)
    assert graded.outcome is Outcome.INCORRECT
    assert "the course's own `utils.losses.mse`" in text_of(graded)


# ---------------------------------------------------------------------------------------------
# Order of diagnoses: type, shape, dtype, NaN/inf, values
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda x: (2 * x).astype(np.float32)[:, None], "has shape (5, 1); expected shape (5,)"),
        (lambda x: (2 * x).astype(np.float32), "has dtype float32; expected float64"),
        (lambda x: np.round(2 * x).astype(int), "has integer dtype int64"),
        (lambda x: np.where(x > 0, np.nan, 2 * x), "contains NaN at"),
        (lambda x: np.where(x > 0, np.inf, 2 * x), "contains inf at"),
        (lambda x: "double", "should be a number or an array, but it is str"),
        (lambda x: 2 * x > 0, "holds booleans (dtype bool)"),
    ],
)
def test_structure_is_diagnosed_before_values(answer, message):
    result = run_check("99.1", answer)
    assert result.outcome is Outcome.INCORRECT
    assert message in text_of(result)
    assert "differs from the expected values" not in text_of(result)


def test_scalar_expected_but_array_returned():
    result = run_check("99.3", lambda x: np.mean(x, axis=0, keepdims=True)[:1, :1].ravel())
    assert "has shape (1,); expected a single number (shape ())" in text_of(result)


def test_nested_results_name_the_wrong_item():
    assert run_check("99.4", lambda x: (np.mean(x), {"std": np.std(x)})).passed
    wrong = run_check("99.4", lambda x: (np.mean(x), {"std": np.var(x)}))
    assert "Your result[1]['std']" in text_of(wrong)
    short = run_check("99.4", lambda x: (np.mean(x),))
    assert "Your result has 1 item; expected 2" in text_of(short)


# ---------------------------------------------------------------------------------------------
# check / hint / summary, strict mode and display
# ---------------------------------------------------------------------------------------------


def test_check_displays_and_does_not_raise_by_default(capsys):
    assert autocheck.check("99.1", lambda x: x) is None
    out = capsys.readouterr().out
    assert out.startswith("Incorrect — Exercise 99.1 (`double`): case 1 of 2")


@pytest.mark.parametrize(
    ("answer", "raises"),
    [
        (lambda x: 2 * x, False),
        (lambda x: x, True),
        (lambda x: 1 / 0, True),
    ],
)
def test_strict_mode_raises_on_anything_but_correct(monkeypatch, capsys, answer, raises):
    monkeypatch.setenv("AUTOCHECK_STRICT", "1")
    if raises:
        with pytest.raises(autocheck.CheckFailed, match="Exercise 99.1"):
            autocheck.check("99.1", answer)
    else:
        autocheck.check("99.1", answer)
    assert "Exercise 99.1" in capsys.readouterr().out  # the verdict is shown before raising


def test_strict_mode_raises_for_a_stub(monkeypatch, capsys):
    monkeypatch.setenv("AUTOCHECK_STRICT", "1")
    with pytest.raises(autocheck.CheckFailed, match="Not attempted"):
        autocheck.check("99.2", ...)


def test_unknown_exercise_is_explained(capsys):
    autocheck.check("99.9", lambda x: x)
    assert "there is no exercise '99.9'; chapter 99 has 99.1, 99.2, 99.3, 99.4" in (
        capsys.readouterr().out
    )
    with pytest.raises(UnknownExercise, match="ids look like"):
        get_exercise("mse")


def test_hints_are_revealed_one_at_a_time(capsys):
    autocheck.hint("99.1")
    first = capsys.readouterr().out
    assert first.startswith("Hint 1 of 2 — Exercise 99.1 (`double`): Multiply.")
    assert 'Next: `hint("99.1", 2)`' in first
    autocheck.hint("99.1", 2)
    second = capsys.readouterr().out
    assert "Hint 2 of 2" in second and "By two." in second and "Next" not in second
    autocheck.hint("99.1", 3)
    assert 'has 2 hints: `hint("99.1", 1)` to `hint("99.1", 2)`' in capsys.readouterr().out
    autocheck.hint("99.3")
    assert "has no hints" in capsys.readouterr().out


def test_summary_counts_passed_failed_and_unchecked(capsys):
    autocheck.check("99.1", lambda x: 2 * x)
    autocheck.check("99.3", lambda x: 0.0)
    capsys.readouterr()
    autocheck.summary()
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Exercises 99: Test exercises: 1/4 passed, 2/5 points"
    assert "99.2  A value" in out and "not checked" in out
    assert "99.3  Mean of all entries" in out and "incorrect" in out


def test_summary_before_any_check_and_in_strict_mode(monkeypatch, capsys):
    autocheck.summary()
    assert "No exercise has been checked yet" in capsys.readouterr().out
    monkeypatch.setenv("AUTOCHECK_STRICT", "1")
    autocheck.check("99.1", lambda x: 2 * x)
    with pytest.raises(autocheck.CheckFailed, match="99.2, 99.3, 99.4 did not pass"):
        autocheck.summary()


def test_a_bug_in_the_checker_is_not_blamed_on_the_learner(capsys):
    broken = Exercise(
        "99.7", "broken", "Broken", reference=lambda x: 1 / 0, cases=(Case("v", _vector),)
    )
    register(ExerciseSet("99", "Test", "99_test", (*SET.exercises, broken)))
    autocheck.check("99.7", lambda x: x)
    assert "the checker itself failed; this is a bug in the course" in capsys.readouterr().out


def test_jupyter_gets_html_text_and_a_machine_readable_record(monkeypatch):
    shown = []
    monkeypatch.setattr(feedback, "_shell", lambda: object())
    monkeypatch.setattr(
        "IPython.display.display", lambda obj, raw, metadata: shown.append((obj, metadata))
    )
    autocheck.check("99.1", lambda x: x / 2)
    ((bundle, metadata),) = shown
    assert set(bundle) == {"text/plain", "text/html"}
    assert metadata[MIME_TYPE] == {
        "exercise": "99.1",
        "outcome": "incorrect",
        "points": 0,
        "max_points": 2,
        "message": metadata[MIME_TYPE]["message"],
        "source": "check",
    }
    html = bundle["text/html"]
    assert "#c62828" in html and ">Incorrect</strong>" in html
    assert ">double</code>" in html and "Hint:</strong> you halved" in html


def test_html_escapes_learner_text():
    result = run_check("99.1", lambda x: 1 / 0 if x.size else "<script>")
    html = feedback.result_html(result)
    assert "<script>" not in html


def test_describe_exception_without_learner_frames():
    try:
        int("x")
    except ValueError as error:
        error.__traceback__ = None
        assert (
            describe_exception(error) == "ValueError: invalid literal for int() with base 10: 'x'"
        )


def test_importing_autocheck_imports_neither_torch_nor_tensorflow():
    code = (
        "import sys; import utils.autocheck as a; a.get_set(1); "
        "from utils.autocheck import grade, build; "
        "bad = [m for m in ('torch', 'tensorflow', 'IPython', 'nbclient') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
