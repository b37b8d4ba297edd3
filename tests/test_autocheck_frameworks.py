"""The checker with torch and TensorFlow: tensors as answers and as inputs, and the oracles.

A learner may return a torch or TensorFlow tensor: it is converted to NumPy and the message says
so when its dtype or shape is wrong. Every exercise's reference is checked against its torch or
TensorFlow oracle on every case. (The one file that imports both frameworks, to pay their import
time once.)
"""

from __future__ import annotations

import numpy as np
import pytest

from utils.autocheck.compare import describe_value, difference, same_answer, to_numpy
from utils.autocheck.core import run_check
from utils.autocheck.result import Outcome
from utils.autocheck.spec import Case, Exercise, all_sets

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

DOUBLE = Exercise(
    id="98.1",
    name="double",
    title="Double every entry",
    reference=lambda x: 2.0 * x,
    cases=(Case("a vector", lambda rng: {"x": rng.normal(size=5)}, seed=1),),
)
VALUE = Exercise(id="98.2", name="answer", title="A value", reference=lambda: np.log(42.0))


# ---------------------------------------------------------------------------------------------
# Answers that are tensors
# ---------------------------------------------------------------------------------------------


def test_torch_answers_are_converted_and_named():
    assert run_check(DOUBLE, lambda x: 2 * torch.from_numpy(x)).passed
    assert run_check(DOUBLE, lambda x: torch.tensor(2 * x, requires_grad=True)).passed
    result = run_check(DOUBLE, lambda x: 2 * torch.from_numpy(x).float())
    assert result.outcome is Outcome.INCORRECT
    assert "has dtype float32; expected float64" in str(result)
    assert "You returned a torch.Tensor; it was converted to a NumPy array" in str(result)
    shaped = run_check(DOUBLE, lambda x: (2 * torch.from_numpy(x)).unsqueeze(0))
    assert "has shape (1, 5); expected shape (5,)" in str(shaped)
    nan = run_check(DOUBLE, lambda x: torch.full((5,), float("nan"), dtype=torch.float64))
    assert "contains NaN at 5 of 5 positions" in str(nan)


def test_tensorflow_answers_are_converted_and_named():
    assert run_check(DOUBLE, lambda x: 2 * tf.constant(x)).passed
    result = run_check(DOUBLE, lambda x: tf.constant(2 * x, dtype=tf.float32))
    assert "has dtype float32; expected float64" in str(result)
    assert "You returned a TensorFlow tensor" in str(result)
    shaped = run_check(DOUBLE, lambda x: tf.reshape(2 * tf.constant(x), (5, 1)))
    assert "has shape (5, 1); expected shape (5,)" in str(shaped)
    assert run_check(VALUE, tf.constant(np.log(42.0), dtype=tf.float64)).passed
    assert run_check(VALUE, torch.tensor(np.log(42.0))).passed


def test_tensor_inputs_are_copied_and_checked_for_mutation():
    exercise = Exercise(
        "98.3",
        "scale",
        "Scale a tensor",
        reference=lambda t: 3 * t,
        cases=(Case("a tensor", lambda rng: {"t": torch.from_numpy(rng.normal(size=4))}),),
    )
    assert run_check(exercise, lambda t: t * 3).passed
    assert "changed its input `t` in place" in str(run_check(exercise, lambda t: t.mul_(3)))
    variable = Exercise(
        "98.4",
        "scale",
        "Scale a variable",
        reference=lambda v: 3 * v.numpy(),
        cases=(Case("a variable", lambda rng: {"v": tf.Variable(rng.normal(size=4))}),),
    )
    assert run_check(variable, lambda v: 3 * v).passed


def test_compare_helpers_accept_every_framework():
    expected = np.arange(6.0).reshape(2, 3)
    for tensor in (
        torch.arange(6.0, dtype=torch.float64).reshape(2, 3),
        tf.reshape(tf.range(6.0, dtype=tf.float64), (2, 3)),
    ):
        assert difference(to_numpy(tensor)[0], expected) is None
        assert same_answer(tensor, expected)
        assert "of dtype" in describe_value(tensor) and "(2, 3)" in describe_value(tensor)
    converted, note = to_numpy((torch.ones(2), {"b": tf.ones(2)}))
    assert isinstance(converted[0], np.ndarray) and isinstance(converted[1]["b"], np.ndarray)
    assert note == "a torch.Tensor"
    assert to_numpy(torch.ones(2, dtype=torch.bfloat16))[0].dtype == np.float32


# ---------------------------------------------------------------------------------------------
# Every exercise's reference against its torch/TensorFlow oracle
# ---------------------------------------------------------------------------------------------

EXERCISES = [exercise for exercise_set in all_sets() for exercise in exercise_set.exercises]
WITH_ORACLE = [exercise for exercise in EXERCISES if exercise.oracle is not None]
#: An approximation (finite differences) has no exact oracle; its chapter tests check it instead.
WITHOUT_ORACLE = {"2.4"}


def test_every_exercise_has_an_oracle_unless_listed():
    assert {e.id for e in EXERCISES if e.oracle is None} == WITHOUT_ORACLE


@pytest.mark.parametrize("exercise", WITH_ORACLE, ids=[e.id for e in WITH_ORACLE])
def test_reference_agrees_with_its_framework_oracle(exercise):
    cases = [case.inputs() for case in exercise.cases] or [{}]
    for inputs in cases:
        expected = exercise.reference(*inputs.values())
        oracle = to_numpy(exercise.oracle(*inputs.values()))[0]
        # item by item for tuples and dicts; shapes must agree exactly
        mismatch = difference(oracle, expected, rtol=1e-10, atol=1e-12, path="the oracle")
        assert mismatch is None, f"exercise {exercise.id}: {mismatch}"
