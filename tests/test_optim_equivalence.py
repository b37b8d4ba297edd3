"""Every implementation of every optimizer against every framework optimizer that has it.

One harness (``optim_cases.py``): implementation (NumPy fast, NumPy reading, PyTorch,
TensorFlow) × oracle (``torch.optim`` or Keras, as the description names them, with its mapping
of conventions) × the description's example settings, in float64 and float32; then random valid
settings drawn by hypothesis; then invalid ones, which must raise ``ValueError`` naming the
argument in every implementation.
"""

from __future__ import annotations

import math
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from optim_cases import (  # noqa: E402
    EQUIVALENCE_CASES,
    IMPLEMENTATIONS,
    INVALID_CASES,
    RUNNERS,
    SETTINGS,
    assert_params_close,
    case_id,
    gradients,
    initial_params,
    invalid_id,
    learning_rates,
    oracle_id,
    random_hyperparameters,
    run_oracle,
    shapes_for,
)

from utils.optim.spec import SPECS  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", EQUIVALENCE_CASES, ids=case_id)
def test_implementation_matches_the_oracle(case, implementation, dtype):
    shapes = shapes_for(case.spec)
    params, grads = initial_params(dtype, shapes=shapes), gradients(dtype, shapes=shapes)
    lrs = learning_rates(case.kwargs["lr"], constant=case.oracle.constant_lr)
    hyper = case.spec.bind((), case.kwargs)
    ours = RUNNERS[implementation](case.name, case.kwargs, params, grads, lrs)
    theirs = run_oracle(case.oracle, hyper, params, grads, lrs)
    tolerance = dict(rtol=case.oracle.rtol, atol=case.oracle.atol)
    assert_params_close(ours, theirs, dtype, **tolerance)
    moved = max(np.abs(a - b).max() for a, b in zip(ours, params, strict=True))
    assert moved > 1e-6, "the parameters did not move: the case tests nothing"


FIRST_ORACLES = [(spec, spec.oracles[0]) for spec in SPECS.values()]


@pytest.mark.parametrize("implementation", ["numpy", "torch"])
@pytest.mark.parametrize(
    "spec, oracle", FIRST_ORACLES, ids=[f"{s.name}-vs-{oracle_id(o)}" for s, o in FIRST_ORACLES]
)
@SETTINGS
@given(data=st.data())
def test_random_hyperparameters_match_the_oracle(spec, oracle, implementation, data):
    kwargs = data.draw(random_hyperparameters(spec, oracle), label="kwargs")
    shapes = shapes_for(spec)
    params = initial_params(np.float64, shapes=shapes)
    grads = gradients(np.float64, shapes=shapes)
    lrs = learning_rates(kwargs["lr"], constant=oracle.constant_lr)
    ours = RUNNERS[implementation](spec.name, kwargs, params, grads, lrs)
    theirs = run_oracle(oracle, spec.bind((), kwargs), params, grads, lrs)
    # A degenerate draw can make the oracle's own rounding decide: centered RMSprop with α = 0
    # has v − ḡ² = g² − g² = 0, which torch's fused multiply-add leaves slightly negative (NaN).
    assume(all(np.isfinite(t).all() for t in theirs))
    assert_params_close(ours, theirs, np.float64, rtol=oracle.rtol, atol=oracle.atol)


def test_every_optimizer_has_an_oracle_and_examples_each_oracle_can_check():
    for spec in SPECS.values():
        assert spec.oracles, f"{spec.name} has no framework optimizer to be tested against"
        for oracle in spec.oracles:
            assert any(c.spec is spec and c.oracle is oracle for c in EQUIVALENCE_CASES), (
                f"no example of {spec.name} has an equivalent in {oracle_id(oracle)}"
            )


def _construct(implementation, name, kwargs):
    """Every optimizer takes a matrix (Muon takes only matrices)."""
    if implementation == "numpy":
        import utils.optim.numpy as optim

        return getattr(optim, name)([np.zeros((2, 3))], **kwargs)
    if implementation == "numpy-reading":
        import utils.optim.numpy as optim

        state = optim.init_state(name, np.zeros((2, 3)))
        return optim.STEP_FUNCTIONS[name](np.zeros((2, 3)), np.ones((2, 3)), state, **kwargs)
    if implementation == "torch":
        import torch

        import utils.optim.torch as optim

        return getattr(optim, name)([torch.zeros(2, 3, requires_grad=True)], **kwargs)
    import utils.optim.tensorflow as optim

    return getattr(optim, name)(**kwargs)


def _names_the_argument(message: str, argument: str) -> bool:
    words = {"lr": "learning rate", "eps": "epsilon", "betas": "beta"}
    return argument in message or words.get(argument, argument) in message


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", INVALID_CASES, ids=invalid_id)
def test_invalid_hyperparameters_raise_value_error_naming_them(case, implementation):
    name, argument, value = case
    with pytest.raises(ValueError) as error:
        _construct(implementation, name, {argument: value})
    message = str(error.value)
    assert _names_the_argument(message, argument), message
    shown = value if not isinstance(value, tuple) or len(value) != 2 else None
    if shown is not None:
        assert str(shown) in message, message
    else:
        assert any(str(v) in message for v in value), message
    assert "expected" in message, message


# torch.optim's own words, kept so that a learner moving to torch meets the same messages.
TORCH_MESSAGES = [
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum > 0"),
    ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
    ("Adam", dict(betas=(1.5, 0.999)), "Invalid beta parameter at index 0: 1.5"),
    ("Adam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("Adagrad", dict(lr_decay=-0.5), "Invalid lr_decay value: -0.5"),
    ("RMSprop", dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", TORCH_MESSAGES, ids=lambda c: f"{c[0]}{c[1]}")
def test_messages_are_torch_s(case, implementation):
    name, kwargs, message = case
    with pytest.raises(ValueError, match=re.escape(message)):
        _construct(implementation, name, kwargs)
    import torch

    if "nesterov" not in kwargs:  # torch's own optimizer says the same
        with pytest.raises(ValueError, match=re.escape(message)):
            getattr(torch.optim, name)([torch.zeros(3, requires_grad=True)], **kwargs)


def test_the_harness_fails_a_wrong_optimizer():
    """Drop the bias correction from Adam: the harness must see it."""
    case = next(c for c in EQUIVALENCE_CASES if c.name == "Adam")
    params, grads = initial_params(np.float64), gradients(np.float64)
    lrs = learning_rates(case.kwargs["lr"])
    theirs = run_oracle(case.oracle, case.spec.bind((), case.kwargs), params, grads, lrs)
    wrong = [p.copy() for p in params]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    for step_grads, lr in zip(grads, lrs, strict=True):
        for param, grad, (m, v) in zip(wrong, step_grads, moments, strict=True):
            m[...] = 0.9 * m + 0.1 * grad
            v[...] = 0.999 * v + 0.001 * grad**2
            param -= lr * m / (np.sqrt(v) + 1e-8)
    with pytest.raises(AssertionError):
        assert_params_close(wrong, theirs, np.float64)
    assert math.isfinite(float(wrong[0]))
