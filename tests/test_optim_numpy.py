"""utils.optim.numpy against torch.optim (the oracle): classes, step functions, errors, memory."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from optim_cases import (
    BAD_HYPERPARAMETERS,
    CASES,
    HYPERPARAMETERS,
    SETTINGS,
    assert_params_close,
    bad_id,
    case_id,
    gradients,
    initial_params,
    learning_rates,
    torch_reference,
)

import utils.optim.numpy as optim

STEP_FUNCTIONS = {
    "SGD": (optim.sgd_step, optim.init_sgd_state),
    "Adagrad": (optim.adagrad_step, optim.init_adagrad_state),
    "RMSprop": (optim.rmsprop_step, optim.init_rmsprop_state),
    "Adam": (optim.adam_step, optim.init_adam_state),
    "AdamW": (optim.adamw_step, optim.init_adamw_state),
    "Adadelta": (optim.adadelta_step, optim.init_adadelta_state),
    "NAdam": (optim.nadam_step, optim.init_nadam_state),
}


def run_class(name, kwargs, params, grads, lrs) -> list[np.ndarray]:
    params = [p.copy() for p in params]
    optimizer = getattr(optim, name)(params, **kwargs)
    for step_grads, lr in zip(grads, lrs, strict=True):
        optimizer.lr = lr
        optimizer.step(step_grads)
    return params


def function_kwargs(kwargs) -> tuple[dict, dict]:
    """Split the class's arguments into the step function's and the state initializer's."""
    kwargs = dict(kwargs)
    init_kwargs = {}
    if "initial_accumulator_value" in kwargs:
        init_kwargs["initial_accumulator_value"] = kwargs.pop("initial_accumulator_value")
    if "betas" in kwargs:
        kwargs["beta1"], kwargs["beta2"] = kwargs.pop("betas")
    return kwargs, init_kwargs


def run_function(name, kwargs, params, grads, lrs) -> list[np.ndarray]:
    step, init = STEP_FUNCTIONS[name]
    step_kwargs, init_kwargs = function_kwargs(kwargs)
    params = list(params)
    states = [init(p, **init_kwargs) for p in params]
    for step_grads, lr in zip(grads, lrs, strict=True):
        for index, grad in enumerate(step_grads):
            params[index], states[index] = step(
                params[index], grad, states[index], **{**step_kwargs, "lr": lr}
            )
    return params


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_class_matches_torch(case, dtype):
    name, kwargs = case
    params, grads, lrs = initial_params(dtype), gradients(dtype), learning_rates(kwargs["lr"])
    ours = run_class(name, kwargs, params, grads, lrs)
    assert_params_close(ours, torch_reference(name, kwargs, params, grads, lrs), dtype)


@pytest.mark.parametrize("name", sorted(HYPERPARAMETERS))
@SETTINGS
@given(data=st.data())
def test_random_hyperparameters_match_torch(name, data):
    kwargs = data.draw(HYPERPARAMETERS[name], label="kwargs")
    params, grads = initial_params(np.float64), gradients(np.float64)
    lrs = learning_rates(kwargs["lr"])
    ours = run_class(name, kwargs, params, grads, lrs)
    assert_params_close(ours, torch_reference(name, kwargs, params, grads, lrs), np.float64)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_step_function_and_blocked_class_compute_the_same_numbers(case, monkeypatch):
    """One formula: the class, updating 5 numbers at a time, equals the step function exactly."""
    name, kwargs = case
    params, grads, lrs = initial_params(np.float32), gradients(np.float32), learning_rates(0.1)
    monkeypatch.setattr(optim, "BLOCK_SIZE", 5)
    blocked = run_class(name, kwargs, params, grads, lrs)
    reference = run_function(name, kwargs, params, grads, lrs)
    for ours, theirs in zip(blocked, reference, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", sorted(STEP_FUNCTIONS))
def test_step_function_is_pure(name):
    step, init = STEP_FUNCTIONS[name]
    param, grad = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    state = init(param)
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    new_param, new_state = step(param, grad, state, **kwargs)
    new_param, new_state = step(new_param, grad, new_state, **kwargs)
    np.testing.assert_array_equal(param, [1.0, -2.0])
    np.testing.assert_array_equal(grad, [0.5, 0.5])
    for field, initial in zip(state, init(param), strict=True):
        if initial is None:
            assert field is None
        else:
            np.testing.assert_array_equal(field, initial)
    assert not np.array_equal(new_param, param)
    assert isinstance(new_state, type(state))


def test_step_function_accepts_plain_numbers():
    param, state = optim.adam_step(1.0, 2.0, optim.init_adam_state(1.0), lr=0.1)
    assert param.shape == () and param.dtype == np.float64
    np.testing.assert_allclose(param, 1.0 - 0.1 * 2.0 / (2.0 + 1e-8))  # θ − γ m̂/(√v̂ + ε)
    assert state.step == 1 and state.exp_avg == pytest.approx(0.2)


def test_first_adadelta_step_by_hand():
    """u_0 = 0, so ε alone sets the first step: Δ_1 = √ε / √((1 − ρ) g² + ε) · g."""
    lr, rho, eps, grad = 0.5, 0.75, 1e-2, 2.0
    param, state = optim.adadelta_step(
        1.0, grad, optim.init_adadelta_state(1.0), lr=lr, rho=rho, eps=eps
    )
    delta = math.sqrt(eps) / math.sqrt((1 - rho) * grad**2 + eps) * grad
    assert param == pytest.approx(1.0 - lr * delta, rel=1e-15)
    assert state.square_avg == pytest.approx((1 - rho) * grad**2, rel=1e-15)
    assert state.acc_delta == pytest.approx((1 - rho) * delta**2, rel=1e-15)


def test_first_nadam_step_by_hand():
    """m̂_1 = μ₂ (1 − β₁) g / (1 − μ₁μ₂) + (1 − μ₁) g / (1 − μ₁), and v̂_1 = g²."""
    lr, beta1, psi, grad = 0.1, 0.9, 0.5, -3.0
    param, state = optim.nadam_step(
        1.0, grad, optim.init_nadam_state(1.0), lr=lr, beta1=beta1, momentum_decay=psi, eps=1e-300
    )
    mu1, mu2 = (beta1 * (1 - 0.5 * 0.96 ** (t * psi)) for t in (1, 2))
    m_hat = mu2 * (1 - beta1) * grad / (1 - mu1 * mu2) + grad  # (1 − μ₁)/(1 − μ₁) = 1
    assert param == pytest.approx(1.0 - lr * m_hat / abs(grad), rel=1e-15)
    assert state.step == 1 and state.mu_product == pytest.approx(mu1, rel=1e-15)


def test_nadam_state_keeps_the_product_of_the_momentum_schedule():
    beta1, psi = 0.8, 0.25
    param, state = np.zeros(2), optim.init_nadam_state(np.zeros(2))
    for _ in range(30):
        param, state = optim.nadam_step(param, np.ones(2), state, beta1=beta1, momentum_decay=psi)
    mus = [beta1 * (1 - 0.5 * 0.96 ** (t * psi)) for t in range(1, 31)]
    assert state.step == 30 and state.mu_product == pytest.approx(math.prod(mus), rel=1e-14)


def test_class_updates_the_given_arrays_in_place():
    weights, bias = np.ones((3, 2)), np.array(0.0)
    optimizer = optim.SGD([weights, bias], lr=0.5)
    optimizer.step([np.full((3, 2), 2.0), np.array(-1.0)])
    assert optimizer.params[0] is weights and optimizer.params[1] is bias
    np.testing.assert_array_equal(weights, np.zeros((3, 2)))
    assert bias == 0.5


def test_parameters_of_different_dtypes_share_one_optimizer():
    params = [np.ones(3, np.float32), np.ones(4, np.float64)]
    grads = [np.full(3, 0.5, np.float32), np.full(4, 0.25)]
    optim.Adam(params, lr=0.1, weight_decay=0.1).step(grads)
    alone = [[p.copy()] for p in (np.ones(3, np.float32), np.ones(4))]
    for param, grad in zip(alone, grads, strict=True):
        optim.Adam(param, lr=0.1, weight_decay=0.1).step([grad])
    for mixed, single in zip(params, alone, strict=True):
        assert mixed.dtype == single[0].dtype
        np.testing.assert_array_equal(mixed, single[0])


@pytest.mark.parametrize("name", sorted(STEP_FUNCTIONS))
def test_a_step_allocates_nothing_model_sized(name):
    """After the first step (which may create momentum buffers), a step only reuses memory."""
    params = [np.ones((500, 1000), np.float32), np.ones(300_000, np.float32)]
    grads = [np.full_like(p, 0.5) for p in params]
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    optimizer = getattr(optim, name)(params, weight_decay=0.1, **kwargs)
    optimizer.step(grads)
    tracemalloc.start()
    optimizer.step(grads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    param_bytes = sum(p.nbytes for p in params)
    assert peak < 0.01 * param_bytes, f"a step allocated {peak} bytes for {param_bytes} of params"


def test_step_needs_one_gradient_per_parameter():
    optimizer = optim.Adam([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="step\\(\\) got 1 gradients for 2 parameters"):
        optimizer.step([np.zeros(2)])


def test_step_names_the_gradient_of_the_wrong_shape():
    optimizer = optim.Adam([np.zeros(2), np.zeros((3, 4))])
    message = r"grads\[1\] has shape \(4, 3\) but params\[1\] has shape \(3, 4\)"
    with pytest.raises(ValueError, match=message):
        optimizer.step([np.zeros(2), np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"grad has shape \(4,\) but param has shape \(3,\)"):
        optim.sgd_step(np.zeros(3), np.zeros(4), optim.init_sgd_state(np.zeros(3)))


@pytest.mark.parametrize(
    "params, error, message",
    [
        ([], ValueError, "empty parameter list"),
        ([[1.0, 2.0]], TypeError, r"params\[0\] must be a NumPy array of floats"),
        ([np.zeros(2), np.arange(3)], TypeError, r"params\[1\] must be .* got ndarray int64"),
        ([np.zeros((3, 2)).T], ValueError, r"params\[0\] must be a writeable C-contiguous"),
    ],
    ids=["empty", "list", "integers", "transposed"],
)
def test_params_must_be_float_arrays_that_can_be_updated_in_place(params, error, message):
    with pytest.raises(error, match=message):
        optim.SGD(params, lr=0.1)


@pytest.mark.parametrize("bad", BAD_HYPERPARAMETERS, ids=bad_id)
def test_invalid_hyperparameters_raise_value_error_naming_them(bad):
    name, kwargs, message = bad
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(optim, name)([np.zeros(3)], **kwargs)


@pytest.mark.parametrize(
    "bad",
    [
        bad
        for bad in BAD_HYPERPARAMETERS
        if len(bad[1].get("betas", (0, 0))) == 2 and "initial_accumulator_value" not in bad[1]
    ],
    ids=bad_id,
)
def test_step_functions_validate_like_the_classes(bad):
    name, kwargs, message = bad
    step, init = STEP_FUNCTIONS[name]
    step_kwargs, _ = function_kwargs(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        step(np.zeros(3), np.ones(3), init(np.zeros(3)), **step_kwargs)


def test_importing_the_numpy_optimizers_imports_no_framework():
    code = (
        "import sys, utils.optim.numpy; "
        "bad = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
