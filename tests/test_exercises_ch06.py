"""Exercises 6 (momentum, adaptive methods, clipping) against hand-written learner code.

The generic tests (test_autocheck_exercises.py, test_autocheck_frameworks.py) feed each *declared*
mistake back to the checker and compare each reference with its oracle (the step matrix of
torch.optim.SGD, torch.optim.Adam and AdamW, torch.nn.utils.clip_grad_norm_, a loop stepped by
torch.optim.SGD). Here the wrong answers are written the way a learner would write them (loops,
other NumPy calls, Python numbers), independently of the declarations, and each must get the
intended message. Alternative correct solutions must pass; the experiment of 6.5 and the broken
loop of 6.6 are checked against what the notebook shows.
"""

from __future__ import annotations

import cmath
import math
from pathlib import Path

import nbformat
import numpy as np
from exercise_tables import table_tests

from utils.autocheck.core import run_check
from utils.autocheck.exercises import ch06
from utils.autocheck.result import Outcome
from utils.autocheck.spec import get_exercise
from utils.losses import mse, mse_grad
from utils.optim.numpy import SGD

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "06_momentum_and_adaptive_methods.ipynb"

# ---------------------------------------------------------------------------------------------
# 6.1 heavy_ball_rate
# ---------------------------------------------------------------------------------------------


def _roots(lam, lr, momentum):
    trace = 1 + momentum - lr * lam
    root = cmath.sqrt(trace * trace - 4 * momentum)
    return (trace + root) / 2, (trace - root) / 2


def rate_real_part(A, lr, momentum):
    rate = 0.0
    for lam in np.linalg.eigvalsh(A):
        trace = 1 + momentum - lr * lam
        disc = trace**2 - 4 * momentum
        if disc >= 0:
            candidates = [abs(trace + math.sqrt(disc)) / 2, abs(trace - math.sqrt(disc)) / 2]
        else:
            candidates = [abs(trace) / 2]  # the real part of the complex pair
        rate = max(rate, *candidates)
    return rate


def rate_no_abs(A, lr, momentum):
    return max(np.roots([1, -(1 + momentum - lr * lam), momentum]).real.max() for lam in
               np.linalg.eigvalsh(A))  # fmt: skip


def rate_spectral_norm_only(A, lr, momentum):
    lam = np.linalg.norm(A, 2)  # the largest eigenvalue of a symmetric PD matrix
    return max(abs(z) for z in _roots(lam, lr, momentum))


def rate_gradient_descent(A, lr, momentum):
    return float(np.max(np.abs(1 - lr * np.linalg.eigvals(A))))


def rate_squared(A, lr, momentum):
    return max(abs(z * z.conjugate()) for lam in np.linalg.eigvalsh(A) for z in
               _roots(lam, lr, momentum))  # fmt: skip


def rate_per_eigenvalue(A, lr, momentum):
    return np.array([max(abs(z) for z in _roots(lam, lr, momentum)) for lam in
                     np.linalg.eigvalsh(A)])  # fmt: skip


def rate_beta_squared(A, lr, momentum):
    return max(abs(z) for lam in np.linalg.eigvalsh(A) for z in
               np.roots([1, -(1 + momentum - lr * lam), momentum**2]))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# 6.2 adam_update
# ---------------------------------------------------------------------------------------------


def adam_loop_no_correction(param, grad, m, v, t, lr, betas, eps):
    new_param, new_m, new_v = param.copy(), m.copy(), v.copy()
    for i in np.ndindex(param.shape):
        new_m[i] = betas[0] * m[i] + (1 - betas[0]) * grad[i]
        new_v[i] = betas[1] * v[i] + (1 - betas[1]) * grad[i] ** 2
        new_param[i] = param[i] - lr * new_m[i] / (math.sqrt(new_v[i]) + eps)
    return new_param, new_m, new_v


def adam_only_v_corrected(param, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m_new = b1 * m + (1 - b1) * grad
    v_new = b2 * v + (1 - b2) * np.square(grad)
    return param - lr * m_new / (np.sqrt(v_new / (1 - b2**t)) + eps), m_new, v_new


def adam_only_m_corrected(param, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m_new = np.add(b1 * m, (1 - b1) * grad)
    v_new = np.add(b2 * v, (1 - b2) * grad * grad)
    return param - lr * (m_new / (1 - b1**t)) / (np.sqrt(v_new) + eps), m_new, v_new


def adam_eps_under_root(param, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m_new = b1 * m + (1 - b1) * grad
    v_new = b2 * v + (1 - b2) * grad**2
    denom = np.sqrt(v_new / (1 - b2**t) + eps)
    return param - lr / (1 - b1**t) * m_new / denom, m_new, v_new


def adam_kingma_ba_alpha_t(param, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m_new = b1 * m + (1 - b1) * grad
    v_new = b2 * v + (1 - b2) * grad**2
    alpha_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    return param - alpha_t * m_new / (np.sqrt(v_new) + eps), m_new, v_new


def adam_betas_swapped(param, grad, m, v, t, lr, betas, eps):
    beta2, beta1 = betas  # unpacked the wrong way round
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    m_hat, v_hat = m_new / (1 - beta1**t), v_new / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def adam_in_place(param, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    v += (1 - b2) * grad**2
    param -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return param, m, v


def adam_step_plus_one(param, grad, m, v, t, lr, betas, eps):
    t = t + 1  # "the next step"
    b1, b2 = betas
    m_new = b1 * m + (1 - b1) * grad
    v_new = b2 * v + (1 - b2) * grad**2
    return param - lr * m_new / (1 - b1**t) / (np.sqrt(v_new / (1 - b2**t)) + eps), m_new, v_new


# ---------------------------------------------------------------------------------------------
# 6.3 clip_by_global_norm
# ---------------------------------------------------------------------------------------------


def _norm(grads):
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads))


def clip_each_tensor(grads, max_norm):
    clipped = []
    for g in grads:
        n = np.linalg.norm(g)
        clipped.append(g * max_norm / n if n > max_norm else g.copy())
    return clipped, _norm(grads)


def clip_values(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads], _norm(grads)


def clip_logs_norm_after(grads, max_norm):
    norm = _norm(grads)
    factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
    clipped = [factor * g for g in grads]
    return clipped, _norm(clipped)  # the norm after clipping


def clip_article_min_length(grads, max_norm):
    norm = _norm(grads)
    return [g * min(norm, max_norm) for g in grads], norm


def clip_rescale_always(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    return [g / norm * max_norm if norm else g for g in grads], float(norm)


def clip_in_place(grads, max_norm):
    norm = _norm(grads)
    if norm > max_norm:
        for g in grads:
            g *= max_norm / norm
    return grads, norm


def clip_direction_times_length(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    with np.errstate(invalid="ignore"):
        return [g / norm * min(norm, max_norm) for g in grads], norm  # 0/0 when all zero


# ---------------------------------------------------------------------------------------------
# 6.4 adamw_update
# ---------------------------------------------------------------------------------------------


def _adam(param, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m_new = b1 * m + (1 - b1) * grad
    v_new = b2 * v + (1 - b2) * grad**2
    step = lr * (m_new / (1 - b1**t)) / (np.sqrt(v_new / (1 - b2**t)) + eps)
    return param - step, m_new, v_new


def adamw_as_l2(param, grad, m, v, t, lr, betas, eps, weight_decay):
    return _adam(param, grad + weight_decay * param, m, v, t, lr, betas, eps)


def adamw_decay_not_scaled(param, grad, m, v, t, lr, betas, eps, weight_decay):
    return _adam(param - weight_decay * param, grad, m, v, t, lr, betas, eps)


def adamw_decay_last(param, grad, m, v, t, lr, betas, eps, weight_decay):
    new_param, m_new, v_new = _adam(param, grad, m, v, t, lr, betas, eps)
    return new_param - lr * weight_decay * new_param, m_new, v_new


def adamw_without_decay(param, grad, m, v, t, lr, betas, eps, weight_decay):
    return _adam(param, grad, m, v, t, lr, betas, eps)


# ---------------------------------------------------------------------------------------------
# 6.6 train_fixed
# ---------------------------------------------------------------------------------------------


def _grad(theta, features, y):
    return 2 / len(y) * features.T @ (features @ theta - y)


def train_still_twice(theta0, features, y, lr, momentum, steps):
    theta, velocity, buffer = theta0.copy(), np.zeros_like(theta0), None
    for _ in range(steps):
        velocity = momentum * velocity + _grad(theta, features, y)
        buffer = velocity.copy() if buffer is None else momentum * buffer + velocity
        theta = theta - lr * buffer
    return theta


def train_plain_gradient_descent(theta0, features, y, lr, momentum, steps):
    theta = theta0.copy()
    for _ in range(steps):
        theta = theta - lr * _grad(theta, features, y)
    return theta


def train_average_velocity(theta0, features, y, lr, momentum, steps):
    theta = theta0.copy()
    velocity = np.zeros_like(theta)
    optimizer = SGD([theta], lr=lr)
    for _ in range(steps):
        grad = features.T @ mse_grad(features @ theta, y)
        velocity = momentum * velocity + (1 - momentum) * grad  # an exponential average
        optimizer.step([velocity])
    return theta


def train_nesterov(theta0, features, y, lr, momentum, steps):
    theta, buffer = theta0.copy(), np.zeros_like(theta0)
    for _ in range(steps):
        grad = _grad(theta, features, y)
        buffer = momentum * buffer + grad
        theta = theta - lr * (grad + momentum * buffer)
    return theta


def train_no_copy(theta0, features, y, lr, momentum, steps):
    theta = theta0  # the optimizer updates theta0 itself
    optimizer = SGD([theta], lr=lr, momentum=momentum)
    for _ in range(steps):
        optimizer.step([_grad(theta, features, y)])
    return theta


def train_one_step_short(theta0, features, y, lr, momentum, steps):
    theta = theta0.copy()
    optimizer = SGD([theta], lr=lr, momentum=momentum)
    for _ in range(1, steps):
        optimizer.step([_grad(theta, features, y)])
    return theta


WRONG = [
    ("6.1", rate_real_part, "you took the real part of complex roots"),
    ("6.1", rate_no_abs, "without its absolute value"),
    ("6.1", rate_spectral_norm_only, "you used only the largest eigenvalue of A"),
    ("6.1", rate_gradient_descent, "that is the rate of plain gradient descent"),
    ("6.1", rate_squared, "you returned |z|², the squared modulus"),
    ("6.1", rate_per_eigenvalue, "expected a single number"),
    ("6.1", rate_beta_squared, "case 1 of 5 (A = diag(1, 100), η = 0.01, β = 0.5"),
    ("6.2", adam_loop_no_correction, "you left out the bias correction (6.9)"),
    ("6.2", adam_only_v_corrected, "you corrected v_t but not m_t"),
    ("6.2", adam_only_m_corrected, "you corrected m_t but not v_t"),
    ("6.2", adam_eps_under_root, "ε goes outside the square root"),
    ("6.2", adam_kingma_ba_alpha_t, "that is Keras' form"),
    ("6.2", adam_betas_swapped, "you swapped the betas"),
    ("6.2", adam_in_place, "in place"),
    ("6.2", adam_step_plus_one, "your bias correction uses t + 1"),
    ("6.3", clip_each_tensor, "you clipped each tensor by its own norm"),
    ("6.3", clip_values, "that is clipping by value"),
    ("6.3", clip_logs_norm_after, "the norm to return is the one *before* clipping"),
    ("6.3", clip_article_min_length, "you multiplied the gradient by min(‖g‖, c), a length"),
    ("6.3", clip_rescale_always, "clipping only ever shrinks"),
    ("6.3", clip_in_place, "in place"),
    ("6.3", clip_direction_times_length, "NaN"),
    ("6.4", adamw_as_l2, "that is Adam with L2 regularisation"),
    ("6.4", adamw_decay_not_scaled, "not θ(1 − λ)"),
    ("6.4", adamw_decay_last, "you applied the decay after Adam's step"),
    ("6.4", adamw_without_decay, "there is no weight decay in your step"),
    ("6.5", 0.0, "β = 0 is plain gradient descent"),
    ("6.5", 0, "That is too little momentum"),
    ("6.5", 0.9, "0.9 is the usual default"),
    ("6.5", 0.95, "That is too much momentum"),
    ("6.5", 0.6, "That is too little momentum"),
    ("6.5", (math.sqrt(100) - 1) ** 2 / (math.sqrt(100) + 1) ** 2, "β* of (6.5) is optimal"),
    ("6.5", 1.0, "choose β with 0 ≤ β < 1"),
    ("6.5", 1.5, "choose β with 0 ≤ β < 1"),
    ("6.5", -0.2, "choose β with 0 ≤ β < 1"),
    ("6.5", float("nan"), "contains NaN where a finite value is expected"),
    ("6.5", np.array([0.8, 0.85]), "expected a single number"),
    ("6.5", "0.8", "str"),
    ("6.6", train_still_twice, "momentum is still applied twice"),
    ("6.6", train_plain_gradient_descent, "you removed momentum altogether"),
    ("6.6", train_average_velocity, "your velocity is an average"),
    ("6.6", train_nesterov, "that is Nesterov's momentum (6.3)"),
    ("6.6", train_no_copy, "changed its input `theta0` in place"),
    ("6.6", train_one_step_short, "case 1 of 4 (n = 32, d = 3, η = 0.05, β = 0.9, 40 steps"),
    ("6.7", 1, "1 is the ratio *with* the bias correction"),
    ("6.7", (1 - 0.9) / (1 - 0.999), "you forgot the square root over v₁"),
    ("6.7", 1 - 0.9, "that is 1 − β₁ alone"),
    ("6.7", math.sqrt(1 - 0.999) / (1 - 0.9), "your ratio is upside down"),
    ("6.7", 3.16, "relative"),
    ("6.7", [3.1622776601683795], "expected a single number"),
]

# ---------------------------------------------------------------------------------------------
# Other correct solutions pass
# ---------------------------------------------------------------------------------------------


def rate_closed_form(A, lr, momentum):
    rate = 0.0
    for lam in np.linalg.eigvalsh(A):
        trace = 1 + momentum - lr * lam
        disc = trace**2 - 4 * momentum
        if disc < 0:
            rate = max(rate, math.sqrt(momentum))  # |z|² = z z̄ = β
        else:
            rate = max(rate, (abs(trace) + math.sqrt(disc)) / 2)
    return rate


def rate_companion_matrices(A, lr, momentum):
    rates = []
    for lam in np.linalg.eigvalsh(A):
        companion = np.array([[1 + momentum - lr * lam, -momentum], [1.0, 0.0]])
        rates.append(np.abs(np.linalg.eigvals(companion)).max())
    return max(rates)


def adam_torch_order(param, grad, m, v, t, lr, betas, eps):
    """torch's arithmetic: the step size and √(1 − β₂ᵗ) apart, as torch.optim.Adam does."""
    b1, b2 = betas
    m_new = m + (grad - m) * (1 - b1)  # lerp
    v_new = v * b2 + (1 - b2) * grad * grad
    step_size = lr / (1 - b1**t)
    denom = np.sqrt(v_new) / math.sqrt(1 - b2**t) + eps
    return param - step_size * m_new / denom, m_new, v_new


def clip_like_tensorflow(grads, max_norm):
    norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads]))
    return [g * max_norm / max(norm, max_norm) for g in grads], norm


def clip_like_torch(grads, max_norm):
    norm = np.linalg.norm([np.linalg.norm(g) for g in grads])
    factor = min(max_norm / (norm + 1e-6), 1.0)
    return [g * factor for g in grads], float(norm)


def adamw_loshchilov_hutter(param, grad, m, v, t, lr, betas, eps, weight_decay):
    """θ − η(update + λθ): the decay beside the update, from θ_{t−1}, is the same step."""
    b1, b2 = betas
    m_new = b1 * m + (1 - b1) * grad
    v_new = b2 * v + (1 - b2) * grad**2
    update = (m_new / (1 - b1**t)) / (np.sqrt(v_new / (1 - b2**t)) + eps)
    return param - lr * (update + weight_decay * param), m_new, v_new


def adamw_through_torch_order(param, grad, m, v, t, lr, betas, eps, weight_decay):
    param = param.copy()
    param *= 1 - lr * weight_decay  # on a copy: the input stays as it was
    return adam_torch_order(param, grad, m, v, t, lr, betas, eps)


def train_velocity_without_optimizer_momentum(theta0, features, y, lr, momentum, steps):
    theta = theta0.copy()
    velocity = np.zeros_like(theta)
    optimizer = SGD([theta], lr=lr)  # momentum once: by hand
    for _ in range(steps):
        velocity = momentum * velocity + features.T @ mse_grad(features @ theta, y)
        optimizer.step([velocity])
    return theta


def train_sutskever_form(theta0, features, y, lr, momentum, steps):
    """(6.2): v ← μv − εg, θ ← θ + v, the same run as (6.1) with v = −ηb."""
    theta, velocity = theta0.copy(), np.zeros_like(theta0)
    for _ in range(steps):
        velocity = momentum * velocity - lr * _grad(theta, features, y)
        theta = theta + velocity
    return theta


RIGHT = [
    ("6.1", rate_closed_form),
    ("6.1", rate_companion_matrices),
    ("6.2", adam_torch_order),
    ("6.2", lambda *args: ch06._adam_variant(*args)),
    ("6.3", clip_like_tensorflow),
    ("6.3", clip_like_torch),
    ("6.4", adamw_loshchilov_hutter),
    ("6.4", adamw_through_torch_order),
    ("6.5", 0.8),
    ("6.5", 0.81),
    ("6.5", np.float64(0.76)),
    ("6.5", 0.89),
    ("6.6", train_velocity_without_optimizer_momentum),
    ("6.6", train_sutskever_form),
    ("6.7", math.sqrt(10)),
    ("6.7", np.float64(0.1) / np.sqrt(0.001)),
]


# ---------------------------------------------------------------------------------------------
# The experiment of 6.5 and the broken loop of 6.6
# ---------------------------------------------------------------------------------------------


def _notebook_function(folder, name, namespace):
    notebook = nbformat.read(ROOT / folder / NOTEBOOK, 4)
    (source,) = [c.source for c in notebook.cells if f"def {name}(" in c.source]
    definition = source.split("\n\n\nprint(")[0]  # the function, not a demo print
    exec(compile(definition, f"{folder}: {name}", "exec"), namespace)
    return namespace[name]


def test_the_accepted_momenta_of_6_5_form_one_interval_around_the_best():
    exercise = get_exercise("6.5")
    betas = np.linspace(0.0, 0.999, 1000)
    accepted = np.array([exercise.judge(beta) is None for beta in betas])
    first, last = np.flatnonzero(accepted)[[0, -1]]
    assert accepted[first : last + 1].all(), "the accepted momenta are one interval"
    assert betas[first] < exercise.reference() < betas[last]
    # the window the statement and the solutions notebook describe
    assert 0.74 < betas[first] < 0.76 and 0.89 < betas[last] < 0.9, (betas[first], betas[last])
    assert exercise.reference() == 0.81


def test_the_notebooks_final_loss_is_the_judges():
    """What a learner tries with `final_loss` in the notebook is what the check then runs."""
    for folder in ("solutions", "exercises"):
        final_loss = _notebook_function(folder, "final_loss", {"np": np, "SGD": SGD})
        for beta in (0.0, 0.5, 0.81, 0.9, 0.99):
            assert final_loss(beta) == ch06._quadratic_final_loss(beta), (folder, beta)


def test_the_judge_of_6_5_is_quick_and_deterministic():
    import time

    exercise = get_exercise("6.5")
    start = time.perf_counter()
    verdicts = [exercise.judge(0.95) for _ in range(3)]
    assert time.perf_counter() - start < 1.0
    assert verdicts[0] is not None and verdicts.count(verdicts[0]) == 3


def test_the_notebooks_broken_loop_is_the_declared_one():
    """The `train` the notebook hands out is the mistake the check recognises, and it diverges."""
    rng = np.random.default_rng(5)
    features, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    for folder in ("solutions", "exercises"):
        train = _notebook_function(folder, "train", {"np": np, "SGD": SGD, "mse_grad": mse_grad})
        for steps in (1, 5, 30):
            args = (rng.normal(size=3), features, y, 0.05, 0.9, steps)
            assert np.array_equal(train(*args), ch06.buggy_train(*args)), (folder, steps)
    theta = ch06.buggy_train(np.zeros(3), features, y, 0.05, 0.9, 80)
    fixed = ch06._train_fixed(np.zeros(3), features, y, 0.05, 0.9, 80)
    assert mse(features @ theta, y) > 1e3 * mse(features @ fixed, y)


def test_6_1_cases_have_no_double_root():
    """The oracle (eigenvalues of a step matrix) is exact only away from a double root."""
    for case in get_exercise("6.1").cases:
        inputs = case.inputs()
        lam = np.linalg.eigvalsh(inputs["A"])
        trace = 1 + inputs["momentum"] - inputs["lr"] * lam
        assert np.min(np.abs(trace**2 - 4 * inputs["momentum"])) > 1e-2, case.description


def test_6_3_passes_with_and_without_torchs_epsilon():
    for answer in (clip_like_tensorflow, clip_like_torch):
        assert run_check("6.3", answer).outcome is Outcome.CORRECT


(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(6, WRONG, RIGHT)
