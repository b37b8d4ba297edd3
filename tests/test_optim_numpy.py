"""utils.optim.numpy against torch.optim (the oracle): classes, step functions, errors, memory."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from optim_cases import (
    EQUIVALENCE_CASES,
    case_id,
    gradients,
    initial_params,
    learning_rates,
    run_numpy,
    run_numpy_reading,
    shapes_for,
)

import utils.optim.numpy as optim
from utils.optim.spec import SPECS


@pytest.mark.parametrize("case", EQUIVALENCE_CASES, ids=case_id)
def test_fast_blocked_form_equals_the_reading_form(case, monkeypatch):
    """The class, updating 5 numbers at a time in place, computes the formula of the reading
    form to rounding (the two order their operations differently)."""
    shapes = shapes_for(case.spec)
    params, grads = initial_params(np.float64, shapes=shapes), gradients(np.float64, shapes=shapes)
    lrs = learning_rates(case.kwargs["lr"])
    monkeypatch.setattr(optim, "BLOCK_SIZE", 5)
    blocked = run_numpy(case.name, case.kwargs, params, grads, lrs)
    reading = run_numpy_reading(case.name, case.kwargs, params, grads, lrs)
    for ours, theirs in zip(blocked, reading, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_step_function_is_pure(name):
    step = optim.STEP_FUNCTIONS[name]
    param, grad = np.array([[1.0, -2.0], [3.0, 0.5]]), np.array([[0.5, 0.5], [-1.0, 2.0]])
    state = optim.init_state(name, param)
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    new_param, new_state = step(param, grad, state, **kwargs)
    new_param, new_state = step(new_param, grad, new_state, **kwargs)
    np.testing.assert_array_equal(param, [[1.0, -2.0], [3.0, 0.5]])
    np.testing.assert_array_equal(grad, [[0.5, 0.5], [-1.0, 2.0]])
    for field, initial in zip(state, optim.init_state(name, param), strict=True):
        if initial is None:
            assert field is None
        else:
            np.testing.assert_array_equal(field, initial)
    assert not np.array_equal(new_param, param)
    assert isinstance(new_state, type(state))


def test_step_function_accepts_plain_numbers():
    param, state = optim.adam_step(1.0, 2.0, optim.init_state("Adam", 1.0), lr=0.1)
    assert param.shape == () and param.dtype == np.float64
    np.testing.assert_allclose(param, 1.0 - 0.1 * 2.0 / (2.0 + 1e-8))  # θ − γ m̂/(√v̂ + ε)
    assert state.step == 1 and state.exp_avg == pytest.approx(0.2)


def test_first_adadelta_step_by_hand():
    """u_0 = 0, so ε alone sets the first step: Δ_1 = √ε / √((1 − ρ) g² + ε) · g."""
    lr, rho, eps, grad = 0.5, 0.75, 1e-2, 2.0
    param, state = optim.adadelta_step(
        1.0, grad, optim.init_state("Adadelta", 1.0), lr=lr, rho=rho, eps=eps
    )
    delta = math.sqrt(eps) / math.sqrt((1 - rho) * grad**2 + eps) * grad
    assert param == pytest.approx(1.0 - lr * delta, rel=1e-15)
    assert state.square_avg == pytest.approx((1 - rho) * grad**2, rel=1e-15)
    assert state.acc_delta == pytest.approx((1 - rho) * delta**2, rel=1e-15)


def test_first_nadam_step_by_hand():
    """m̂_1 = μ₂ (1 − β₁) g / (1 − μ₁μ₂) + (1 − μ₁) g / (1 − μ₁), and v̂_1 = g²."""
    lr, beta1, psi, grad = 0.1, 0.9, 0.5, -3.0
    state = optim.init_state("NAdam", 1.0)
    param, state = optim.nadam_step(
        1.0, grad, state, lr=lr, betas=(beta1, 0.999), momentum_decay=psi, eps=1e-300
    )
    mu1, mu2 = (beta1 * (1 - 0.5 * 0.96 ** (t * psi)) for t in (1, 2))
    m_hat = mu2 * (1 - beta1) * grad / (1 - mu1 * mu2) + grad  # (1 − μ₁)/(1 − μ₁) = 1
    assert param == pytest.approx(1.0 - lr * m_hat / abs(grad), rel=1e-15)
    assert state.step == 1 and state.mu_product == pytest.approx(mu1, rel=1e-15)


def test_nadam_state_keeps_the_product_of_the_momentum_schedule():
    beta1, psi = 0.8, 0.25
    param, state = np.zeros(2), optim.init_state("NAdam", np.zeros(2))
    for _ in range(30):
        param, state = optim.nadam_step(
            param, np.ones(2), state, betas=(beta1, 0.999), momentum_decay=psi
        )
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


BLOCKED = sorted(name for name in SPECS if getattr(optim, name).blocked)
WHOLE_ARRAY = sorted(name for name in SPECS if not getattr(optim, name).blocked)


@pytest.mark.parametrize("name", BLOCKED)
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


@pytest.mark.parametrize("name", WHOLE_ARRAY)
def test_a_whole_array_step_allocates_a_few_temporaries(name):
    """Adafactor: one parameter-sized temporary (U_t); Muon: B̃_t and Newton–Schulz's
    products, about five times the parameter."""
    params = [np.ones((500, 1000), np.float32), np.ones((300, 1000), np.float32)]
    grads = [np.full_like(p, 0.5) for p in params]
    optimizer = getattr(optim, name)(params, weight_decay=0.1)
    optimizer.step(grads)
    tracemalloc.start()
    optimizer.step(grads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    largest = max(p.nbytes for p in params)
    limit = {"Adafactor": 1.1, "Muon": 6.0}[name]
    assert peak < limit * largest, f"a step allocated {peak} bytes for {largest} of param"


def test_adafactor_keeps_row_and_column_means_of_a_matrix():
    params = [np.zeros((1024, 512), np.float32), np.zeros(512, np.float32)]
    optimizer = optim.Adafactor(params)
    matrix_state, vector_state = optimizer.state
    assert matrix_state.row_var.shape == (1024, 1) and matrix_state.col_var.shape == (1, 512)
    assert matrix_state.variance is None and vector_state.row_var is None
    assert vector_state.variance.shape == (512,)
    assert optimizer.state_bytes() == 4 * (1024 + 512 + 512)  # Adam: 2 × 4 × (1024·512 + 512)


def test_muon_takes_matrices_only_and_says_which_shape_it_got():
    with pytest.raises(
        ValueError, match=r"Muon takes 2-D parameters only; params\[1\] has shape \(5,\)"
    ):
        optim.Muon([np.zeros((3, 4)), np.zeros(5)])
    with pytest.raises(ValueError, match=r"has shape \(2, 3, 4\)"):
        optim.muon_step(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), None)


def test_newton_schulz_pushes_singular_values_towards_one():
    """NS_5 keeps the singular vectors of a matrix and maps its singular values (here spread
    over a factor of 2) into about [0.6, 1.2]; a tall matrix is done transposed."""
    rng = np.random.default_rng(0)
    for shape in [(8, 5), (5, 8)]:
        matrix = rng.standard_normal(shape)
        u, s, vt = np.linalg.svd(matrix, full_matrices=False)
        assert s.max() / s.min() > 2
        orthogonal = optim.newton_schulz(matrix)
        assert orthogonal.shape == shape
        singular = np.linalg.svd(orthogonal, compute_uv=False)
        assert singular.min() > 0.5 and singular.max() < 1.3, singular
        core = u.T @ orthogonal @ vt.T  # the same singular vectors: Uᵀ O V is diagonal
        np.testing.assert_allclose(core - np.diag(np.diag(core)), 0, atol=1e-10)
    with pytest.raises(ValueError, match="2-D matrix"):
        optim.newton_schulz(np.zeros(3))


def test_adafactor_clips_the_update_to_rms_d():
    """One step on a 1-D θ: V̂_1 = g², so U_1 = sign(g) has RMS 1, and α_1 = max(ε₂, RMS(θ)) ρ_1."""
    param, grad = np.array([3.0, -4.0]), np.array([0.5, -2.0])
    new, state = optim.adafactor_step(param, grad, optim.init_state("Adafactor", param), lr=0.1)
    alpha = max(1e-3, math.sqrt((9 + 16) / 2)) * min(0.1, 1.0)
    np.testing.assert_allclose(new, param - alpha * np.sign(grad), rtol=1e-12)
    np.testing.assert_allclose(state.variance, grad**2)  # β̂₂,1 = 1 − 1ᶜ = 0


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
        optim.sgd_step(np.zeros(3), np.zeros(4), optim.init_state("SGD", np.zeros(3)))


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


def test_importing_the_numpy_optimizers_imports_no_framework():
    code = (
        "import sys, utils.optim.numpy; "
        "bad = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("case", EQUIVALENCE_CASES[::3], ids=case_id)
def test_state_dict_resumes_training_exactly(case):
    shapes = shapes_for(case.spec)
    grads = gradients(np.float64, steps=20, shapes=shapes)
    params = [p.copy() for p in initial_params(np.float64, shapes=shapes)]
    optimizer = getattr(optim, case.name)(params, **case.kwargs)
    for step_grads in grads[:10]:
        optimizer.step(step_grads)
    saved_params, saved = [p.copy() for p in params], optimizer.state_dict()
    for step_grads in grads[10:]:
        optimizer.step(step_grads)
    uninterrupted = [p.copy() for p in params]

    for param, value in zip(params, saved_params, strict=True):
        param[...] = value
    resumed = getattr(optim, case.name)(params, lr=0.5)  # the state dict restores lr too
    resumed.load_state_dict(saved)
    assert resumed.hyperparameters == optimizer.hyperparameters
    for step_grads in grads[10:]:
        resumed.step(step_grads)
    for param, expected in zip(params, uninterrupted, strict=True):
        np.testing.assert_array_equal(param, expected)


def test_state_dict_is_a_copy_and_load_checks_it():
    params = [np.zeros(3)]
    optimizer = optim.Adam(params, lr=0.1)
    optimizer.step([np.ones(3)])
    saved = optimizer.state_dict()
    optimizer.step([np.ones(3)])
    assert saved["state"][0]["step"] == 1 and optimizer.state[0].step == 2
    assert not np.array_equal(saved["state"][0]["exp_avg"], optimizer.state[0].exp_avg)
    with pytest.raises(ValueError, match=r"state\[0\].exp_avg has shape \(2,\)"):
        bad = optimizer.state_dict()
        bad["state"][0]["exp_avg"] = np.zeros(2)
        optimizer.load_state_dict(bad)
    with pytest.raises(ValueError, match="holds 2 parameters' state"):
        optimizer.load_state_dict({**saved, "state": saved["state"] * 2})
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optimizer.load_state_dict({**saved, "hyperparameters": {"lr": -1}})
    with pytest.raises(ValueError, match=r"Adam keeps \['step', 'exp_avg'"):
        optim.Adam([np.zeros(3)]).load_state_dict(optim.SGD([np.zeros(3)]).state_dict())


def test_repr_signature_and_docstring_come_from_the_description():
    optimizer = optim.Adam([np.zeros(3)], lr=0.5, amsgrad=True)
    assert repr(optimizer) == (
        "Adam(1 parameters, lr=0.5, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=True)"
    )
    assert str(inspect.signature(optim.NAdam)) == (
        "(params, lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, "
        "momentum_decay=0.004, decoupled_weight_decay=False)"
    )
    assert "momentum_decay" in str(inspect.signature(optim.nadam_step))
    for name in SPECS:
        for documented in (getattr(optim, name), optim.STEP_FUNCTIONS[name]):
            assert SPECS[name].math.strip().splitlines()[0] in documented.__doc__


def test_positional_and_unknown_arguments():
    assert optim.SGD([np.zeros(2)], 0.5, 0.9).momentum == 0.9
    with pytest.raises(TypeError, match="unexpected argument 'beta1'; its hyper-parameters"):
        optim.Adam([np.zeros(2)], beta1=0.9)
    with pytest.raises(TypeError, match="multiple values for argument 'lr'"):
        optim.SGD([np.zeros(2)], 0.5, lr=0.1)


def test_a_hyperparameter_set_by_hand_is_checked_at_the_next_step():
    optimizer = optim.SGD([np.zeros(2)], lr=0.1)
    optimizer.momentum = -0.9
    with pytest.raises(ValueError, match="Invalid momentum value: -0.9"):
        optimizer.step([np.ones(2)])


def test_first_lion_steps_by_hand():
    """m_0 = 0: the first step is −γ sign(g_1); the second mixes m_1 = (1 − β₂) g_1 and g_2."""
    lr, beta1, beta2 = 0.1, 0.9, 0.99
    state = optim.init_state("Lion", np.zeros(2))
    param, state = optim.lion_step(np.zeros(2), np.array([3.0, -0.5]), state, lr=lr)
    np.testing.assert_array_equal(param, [-lr, lr])
    np.testing.assert_allclose(state.exp_avg, (1 - beta2) * np.array([3.0, -0.5]))
    g2 = np.array([-1.0, -1.0])  # c = 0.9·0.03 − 0.1 < 0 and 0.9·(−0.005) − 0.1 < 0
    param, state = optim.lion_step(param, g2, state, lr=lr, betas=(beta1, beta2))
    np.testing.assert_allclose(param, [-lr + lr, lr + lr])


def test_weight_decay_kinds_are_pieces_outside_the_kernels():
    """L2 joins the gradient, decoupled decay shrinks θ: with g = 0 Adam and AdamW differ."""
    theta = np.array([2.0])
    l2_param, _ = optim.adam_step(
        theta, 0 * theta, optim.init_state("Adam", theta), lr=0.1, weight_decay=0.5
    )
    decoupled_param, _ = optim.adamw_step(
        theta, 0 * theta, optim.init_state("AdamW", theta), lr=0.1, weight_decay=0.5
    )
    np.testing.assert_allclose(l2_param, 2.0 - 0.1 * 1.0 / (1.0 + 1e-8))  # m̂/√v̂ = sign(λθ)
    np.testing.assert_allclose(decoupled_param, 2.0 * (1 - 0.1 * 0.5))
    np.testing.assert_allclose(optim.l2(np.ones(2), theta, 0.5), [2.0, 2.0])
    np.testing.assert_allclose(optim.decoupled_decay(theta, 0.1, 0.5), [1.9])


def test_schedule_free_average_is_the_mean_of_the_z_sequence():
    """Without warm-up the weights w_t are equal: x_t is the plain mean of z_1 ... z_t, the
    parameters are y_t = (1 − β₁) z_t + β₁ x_t, and z_0 = x_0 are copies of θ_0."""
    rng = np.random.default_rng(3)
    theta = rng.standard_normal(4)
    state = optim.init_state("ScheduleFreeAdamW", theta)
    assert state.z is not theta and state.x is not theta
    np.testing.assert_array_equal(state.z, theta)
    zs = []
    for _ in range(20):
        param, state = optim.schedulefreeadamw_step(
            theta, rng.standard_normal(4), state, lr=0.1, betas=(0.9, 0.99)
        )
        zs.append(state.z)
        np.testing.assert_allclose(state.x, np.mean(zs, axis=0), rtol=1e-12)
        np.testing.assert_allclose(param, 0.1 * state.z + 0.9 * state.x, rtol=1e-12)
        theta = param
    assert state.weight_sum == pytest.approx(20 * 0.1**2)


def test_schedule_free_decay_pulls_z_towards_zero_at_y():
    """With g = 0 the only change of z is −γλ y_{t−1}: z_1 = θ_0 (1 − γλ)."""
    theta = np.array([2.0, -4.0])
    state = optim.init_state("ScheduleFreeAdamW", theta)
    param, state = optim.schedulefreeadamw_step(theta, np.zeros(2), state, lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(state.z, theta * (1 - 0.05))
    np.testing.assert_allclose(param, state.z)  # c_1 = 1: x_1 = z_1 = y_1
