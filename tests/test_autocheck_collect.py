"""The two steps of a check: ``collect`` (in the learner's kernel) and ``judge`` (anywhere).

- The time limit stops code that catches the time-out exception: bare ``except:``, ``except
  BaseException``, nested handlers, ``finally: continue``, sleeps, generators.
- ``judge`` trusts nothing in a record: hand-made and random records give an *error* verdict
  with no points, never an exception, and never *correct*.
- A record written to a file and read back (:mod:`utils.autocheck.plain`) is judged the same.
- Partial credit and experiment exercises (``Exercise.judge``).

Own exercise set (chapter 98), registered for each test.
"""

from __future__ import annotations

import _thread
import signal
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utils.autocheck import plain
from utils.autocheck.core import (
    TimeLimitExceeded,
    call_with_time_limit,
    collect,
    judge,
    run_check,
)
from utils.autocheck.result import Outcome
from utils.autocheck.spec import (
    Case,
    Exercise,
    ExerciseSet,
    Mistake,
    multiple_choice,
    register,
    unregister,
)


def _vector(rng):
    return {"x": rng.normal(size=4)}


def _best_rate(rate):
    """An experiment's judge: the rate must make x ← x − rate·2x shrink 10 steps below 1e-3."""
    rate = float(rate)
    if not 0 < rate < 1:
        return f"`rate` = {rate:g} makes the iterates grow or stand still; try 0 < rate < 1."
    if abs(1 - 2 * rate) ** 10 > 1e-3:
        return f"`rate` = {rate:g} is too slow: after 10 steps x is still above 1e-3 of x₀."
    return None


TRIPLE = Exercise(
    id="98.1",
    name="triple",
    title="Triple every entry",
    reference=lambda x: 3.0 * x,
    cases=tuple(Case(f"vector {i}", _vector, seed=i) for i in range(4)),
    mistakes=(Mistake("you doubled instead of tripling.", lambda x: 2.0 * x),),
    points=2,
    time_limit=0.3,
    partial_credit=True,
)
RATE = Exercise(
    id="98.2",
    name="rate",
    title="Pick a step size",
    reference=lambda: 0.5,
    judge=_best_rate,
    mistakes=(Mistake("that is the step that makes x oscillate for ever.", lambda: 1.0),),
)
SET = ExerciseSet("98", "Collect and judge", "98_test", (TRIPLE, RATE))


@pytest.fixture(autouse=True)
def exercise_set(monkeypatch):
    monkeypatch.delenv("AUTOCHECK_TIME_LIMIT", raising=False)
    register(SET)
    yield SET
    unregister("98")


# ---------------------------------------------------------------------------------------------
# The time limit
# ---------------------------------------------------------------------------------------------


def plain_loop(x):
    while True:
        pass


def bare_except(x):
    while True:
        try:
            pass
        except:  # noqa: E722 - the point of the test
            pass


def nested_handlers(x):
    while True:
        try:
            while True:
                try:
                    pass
                except BaseException:
                    pass
        except BaseException:
            pass


def three_deep(x):
    while True:
        try:
            while True:
                try:
                    while True:
                        try:
                            x = x + 1
                        except BaseException:
                            continue
                except BaseException:
                    continue
        except BaseException:
            continue


def finally_continue(x):
    while True:
        try:
            while True:
                pass
        finally:
            continue  # noqa: B012 - swallows whatever is raised


def sleeping(x):
    while True:
        try:
            time.sleep(10)
        except BaseException:
            pass


def generator_loop(x):
    def numbers():
        while True:
            try:
                yield 1
            except BaseException:
                pass

    for _ in numbers():
        try:
            pass
        except BaseException:
            pass


def numpy_loop(x):
    while True:
        try:
            np.linalg.inv(np.eye(20) + x[0])
        except BaseException:
            pass


HOSTILE = [
    plain_loop,
    bare_except,
    nested_handlers,
    three_deep,
    finally_continue,
    sleeping,
    generator_loop,
    numpy_loop,
]


@pytest.mark.parametrize("function", HOSTILE, ids=[f.__name__ for f in HOSTILE])
def test_the_time_limit_stops_loops_that_catch_everything(function):
    handlers = signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGINT)
    start = time.monotonic()
    result = run_check("98.1", function)
    elapsed = time.monotonic() - start
    assert result.outcome is Outcome.ERROR
    assert "ran for more than 0.3 s on case 1 of 4" in str(result)
    assert elapsed < 1.5, elapsed  # one case, stopped: the other three never ran
    assert (signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGINT)) == handlers
    time.sleep(0.05)  # nothing left pending fires afterwards
    assert run_check("98.1", lambda x: 3 * x).outcome is Outcome.CORRECT


def test_call_with_time_limit_raises_and_returns():
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(nested_handlers, (0,), 0.1)
    assert call_with_time_limit(sum, ([1, 2],), 0.1) == 3
    time.sleep(0.15)  # the timer of the call that returned does not fire later


def test_interrupt_before_the_deadline_is_still_a_keyboard_interrupt():
    def interrupted(x):
        _thread.interrupt_main()  # what Jupyter's Interrupt button does
        for _ in range(10**6):
            pass
        return x

    with pytest.raises(KeyboardInterrupt):
        call_with_time_limit(interrupted, (1,), 5.0)


def test_after_a_time_out_the_remaining_cases_run_only_with_partial_credit():
    calls = []

    def slow_first(x):
        calls.append(1)
        if len(calls) == 1:
            while True:
                pass
        return 3.0 * x

    result = run_check("98.1", slow_first)
    assert len(calls) == 4  # partial credit: every case runs
    assert result.outcome is Outcome.ERROR
    assert result.points == 1.5  # 3 of 4 cases, of 2 points


# ---------------------------------------------------------------------------------------------
# Partial credit and experiment exercises
# ---------------------------------------------------------------------------------------------


def test_partial_credit_counts_passing_cases():
    calls = []

    def right_on_cases_1_2_4(x):
        calls.append(1)
        return 2.0 * x if len(calls) == 3 else 3.0 * x

    result = judge("98.1", collect("98.1", right_on_cases_1_2_4))
    assert result.outcome is Outcome.INCORRECT
    assert "case 3 of 4" in str(result)
    assert result.points == 1.5
    assert "3 of 4 cases pass: 1.5 of 2 points" in str(result)


def test_an_experiment_accepts_any_choice_its_judge_accepts():
    assert run_check("98.2", 0.5).outcome is Outcome.CORRECT
    assert run_check("98.2", 0.45).outcome is Outcome.CORRECT  # not the reference, but good
    slow = run_check("98.2", 0.1)
    assert slow.outcome is Outcome.INCORRECT and "too slow" in str(slow)
    oscillating = run_check("98.2", 1.0)
    assert "grow or stand still" in str(oscillating)
    assert "oscillate for ever" in str(oscillating)  # the known mistake's hint
    assert "expected a single number" in str(run_check("98.2", [0.5]))  # structure too


def test_a_multiple_choice_judge_accepts_the_option_its_reference_computes():
    judge = multiple_choice(4, lambda: 3)
    assert judge(3) is None and judge(np.int64(3)) is None and judge(3.0) is None
    assert "option 2 is not the right one" in judge(2)
    for outside in (0, 5, 2.5, -1):
        assert "an int from 1 to 4; you gave" in judge(outside)
    assert multiple_choice(3, 1)(1) is None and multiple_choice(3, 1)(3) is not None


# ---------------------------------------------------------------------------------------------
# judge trusts nothing
# ---------------------------------------------------------------------------------------------


def test_judge_is_the_same_on_a_record_read_back_from_a_file(tmp_path):
    for answer in (lambda x: 3 * x, lambda x: 2 * x, lambda x: None, lambda x: 1 / 0):
        record = collect("98.1", answer)
        plain.dump(tmp_path / "r.zip", record)
        again = judge("98.1", plain.load(tmp_path / "r.zip"))
        assert str(again) == str(judge("98.1", record))


def _forged_runs(output):
    run = {"output": output, "inputs_after": None, "error": None, "timed_out": False}
    return {"exercise": "98.1", "kind": "function", "runs": [run] * 4, "time_limit": 1.0}


@pytest.mark.parametrize(
    "record",
    [
        None,
        [],
        "correct",
        {"exercise": "98.1"},
        {"exercise": "98.2", "kind": "function", "runs": []},  # another exercise's record
        {"exercise": "98.1", "kind": "function", "runs": "all passed"},
        {"exercise": "98.1", "kind": "function", "runs": [{}] * 4},
        {"exercise": "98.1", "kind": "function", "runs": [{"timed_out": "no"}]},
        {"exercise": "98.1", "kind": "function", "runs": [None] * 5},
        {"exercise": "98.1", "kind": "value", "value": 1.0},
        {"exercise": "98.1", "kind": "correct"},
        {"exercise": "98.1", "kind": "course code", "name": 7},
        _forged_runs(plain.opaque("ndarray")),
        _forged_runs(plain.TooLarge("a float64 array of shape (10**9,)")),
    ],
)
def test_a_malformed_or_forged_record_gets_no_points(record):
    result = judge("98.1", record)
    assert result.outcome is not Outcome.CORRECT
    assert result.points == 0


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(["exercise", "kind", "runs", "output", "error", "timed_out"]),
                children,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_judge_never_raises_on_random_records(record):
    for exercise_id in ("98.1", "98.2"):
        result = judge(exercise_id, record)
        assert result.outcome is not Outcome.CORRECT
