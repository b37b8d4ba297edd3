"""Exercises 2 (gradient descent and backpropagation) against hand-written learner code.

The generic tests (test_autocheck_exercises.py, test_autocheck_frameworks.py) feed each *declared*
mistake back to the checker and compare each reference with its torch oracle. Here the wrong
answers are written the way a learner would write them (loops, in-place updates, other names),
independently of the declarations, and each must get the intended message. Alternative correct
solutions must pass. Exercise 2.4 has no framework oracle (its answer is an approximation), so its
reference is checked here against torch.autograd's directional derivatives.
"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_tables import table_tests

from utils.autocheck.spec import get_exercise


def _softmax(z):
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# 2.1 linear_regression_grad
# ---------------------------------------------------------------------------------------------


def linreg_half_mse(w, b, x, y):
    residual = x @ w + b - y
    return x.T @ residual / len(y), residual.mean()  # the gradient of ½ MSE


def linreg_sum(w, b, x, y):
    residual = x @ w + b - y
    return 2 * x.T @ residual, 2 * residual.sum()


def linreg_target_minus_prediction(w, b, x, y):
    residual = y - (x @ w + b)
    return 2 * x.T @ residual / len(y), 2 * residual.mean()


def linreg_no_intercept(w, b, x, y):
    residual = x @ w - y
    return 2 * x.T @ residual / len(y), 2 * residual.mean()


def linreg_loop_no_input(w, b, x, y):
    grad_w, grad_b = np.zeros_like(w), 0.0
    for xi, yi in zip(x, y, strict=True):
        error = xi @ w + b - yi
        grad_w += 2 * error / len(y)  # forgot the factor xi
        grad_b += 2 * error / len(y)
    return grad_w, grad_b


def linreg_column_bias(w, b, x, y):
    residual = x @ w + b - y
    return 2 * x.T @ residual / len(y), np.array([2 * residual.mean()])


# ---------------------------------------------------------------------------------------------
# 2.2 gradient_descent
# ---------------------------------------------------------------------------------------------


def gd_ascent(grad_fn, theta0, lr, num_steps):
    theta, path = theta0.copy(), [theta0.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            theta = theta + lr * grad_fn(theta)
            if not np.isfinite(theta).all():
                break
            path.append(theta)
    return np.array(path)


def gd_in_place(grad_fn, theta0, lr, num_steps):
    theta, path = theta0, [theta0]
    for _ in range(num_steps):
        theta -= lr * grad_fn(theta)
        path.append(theta)
    return np.array(path)


def gd_without_start(grad_fn, theta0, lr, num_steps):
    theta, path = theta0.copy(), []
    for _ in range(num_steps):
        theta = theta - lr * grad_fn(theta)
        path.append(theta)
    return np.array(path)


def gd_one_step_too_many(grad_fn, theta0, lr, num_steps):
    theta, path = theta0.copy(), [theta0.copy()]
    for _ in range(num_steps + 1):
        theta = theta - lr * grad_fn(theta)
        path.append(theta)
    return np.array(path)


def gd_gradient_once(grad_fn, theta0, lr, num_steps):
    g = grad_fn(theta0)
    theta, path = theta0.copy(), [theta0.copy()]
    for _ in range(num_steps):
        theta = theta - lr * g
        path.append(theta)
    return np.array(path)


def gd_final_only(grad_fn, theta0, lr, num_steps):
    theta = theta0.copy()
    for _ in range(num_steps):
        theta = theta - lr * grad_fn(theta)
    return theta


def gd_never_stops(grad_fn, theta0, lr, num_steps):
    theta, path = theta0.copy(), [theta0.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            theta = theta - lr * grad_fn(theta)
            path.append(theta)
    return np.array(path)


def gd_keeps_the_overflow(grad_fn, theta0, lr, num_steps):
    path = [theta0.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            path.append(path[-1] - lr * grad_fn(path[-1]))
            if np.isinf(path[-1]).any() or np.isnan(path[-1]).any():
                break  # ...after appending the bad iterate
    return np.array(path)


def gd_stops_on_any_warning(grad_fn, theta0, lr, num_steps):
    theta, path = theta0.copy(), [theta0.copy()]
    for _ in range(num_steps):
        theta = theta - lr * grad_fn(theta)
        if np.abs(theta).max() > 1e10:  # "diverged" by a threshold of one's own
            break
        path.append(theta)
    return np.array(path)


def gd_tests_only_the_gradient(grad_fn, theta0, lr, num_steps):
    path = [theta0.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            grad = grad_fn(path[-1])
            if not np.isfinite(grad).all():  # the gradient is tested, the new θ is not
                break
            path.append(path[-1] - lr * grad)
    return np.array(path)


# ---------------------------------------------------------------------------------------------
# 2.3 mlp_backward
# ---------------------------------------------------------------------------------------------


def _forward(params, x):
    z1 = x @ params["W1"] + params["b1"]
    a1 = np.maximum(z1, 0)
    return z1, a1, a1 @ params["W2"] + params["b2"]


def _d_logits(logits, labels, n):
    d = _softmax(logits)
    d[np.arange(len(labels)), labels] -= 1
    return d / n


def _backward(params, x, z1, a1, d_logits, mask=True, bias_reduce=np.sum):
    d_z1 = d_logits @ params["W2"].T
    if mask:
        d_z1 = d_z1 * (z1 > 0)
    return {
        "W1": x.T @ d_z1,
        "b1": bias_reduce(d_z1, axis=0),
        "W2": a1.T @ d_logits,
        "b2": bias_reduce(d_logits, axis=0),
    }


def mlp_no_mask(params, x, labels):
    z1, a1, logits = _forward(params, x)
    return _backward(params, x, z1, a1, _d_logits(logits, labels, len(x)), mask=False)


def mlp_sum_loss(params, x, labels):
    z1, a1, logits = _forward(params, x)
    return _backward(params, x, z1, a1, _d_logits(logits, labels, 1))


def mlp_bias_mean(params, x, labels):
    z1, a1, logits = _forward(params, x)
    return _backward(params, x, z1, a1, _d_logits(logits, labels, len(x)), bias_reduce=np.mean)


def mlp_transposed_weights(params, x, labels):
    z1, a1, logits = _forward(params, x)
    grads = _backward(params, x, z1, a1, _d_logits(logits, labels, len(x)))
    grads["W1"] = grads["W1"].T  # (h, d) instead of (d, h)
    return grads


def mlp_mask_after_weights(params, x, labels):
    # Masks ∂L/∂A₁ with the activations of the output instead of the hidden layer: a shape error.
    z1, a1, logits = _forward(params, x)
    d_logits = _d_logits(logits, labels, len(x))
    d_z1 = (d_logits * (logits > 0)) @ params["W2"].T
    return {"W1": x.T @ d_z1, "b1": d_z1.sum(0), "W2": a1.T @ d_logits, "b2": d_logits.sum(0)}


def mlp_missing_key(params, x, labels):
    z1, a1, logits = _forward(params, x)
    grads = _backward(params, x, z1, a1, _d_logits(logits, labels, len(x)))
    del grads["b2"]
    return grads


# ---------------------------------------------------------------------------------------------
# 2.4 directional_check
# ---------------------------------------------------------------------------------------------


def dc_forward(f, grad_fn, x, direction, delta):
    numerical = (f(x + delta * direction) - f(x)) / delta  # one-sided
    return numerical, float((grad_fn(x) * direction).sum())


def dc_divide_by_delta(f, grad_fn, x, direction, delta):
    numerical = (f(x + delta * direction) - f(x - delta * direction)) / delta
    return numerical, float(np.vdot(grad_fn(x), direction))


def dc_ignores_direction(f, grad_fn, x, direction, delta):
    numerical = (f(x + delta * direction) - f(x - delta * direction)) / (2 * delta)
    return numerical, float(grad_fn(x).sum())  # the slope along (1, 1, ..., 1)


def dc_gradient_norm(f, grad_fn, x, direction, delta):
    numerical = (f(x + delta * direction) - f(x - delta * direction)) / (2 * delta)
    return numerical, float(np.sqrt((grad_fn(x) ** 2).sum()))


def dc_analytic_first(f, grad_fn, x, direction, delta):
    numerical = (f(x + delta * direction) - f(x - delta * direction)) / (2 * delta)
    return float(np.vdot(grad_fn(x), direction)), numerical


def dc_in_place(f, grad_fn, x, direction, delta):
    x += delta * direction
    f_plus = f(x)
    x -= 2 * delta * direction
    f_minus = f(x)
    x += delta * direction  # back where it was, up to rounding
    return (f_plus - f_minus) / (2 * delta), float(np.vdot(grad_fn(x), direction))


# ---------------------------------------------------------------------------------------------
# 2.5 max_stable_lr
# ---------------------------------------------------------------------------------------------


def lr_one_over_a_max(hessian):
    return 1 / np.max(np.linalg.eigvalsh(hessian))


def lr_smallest(hessian):
    return 2 / np.min(np.linalg.eigvalsh(hessian))


def lr_trace(hessian):
    return 2 / sum(np.linalg.eigvalsh(hessian))  # every eigenvalue summed: the trace


def lr_diagonal(hessian):
    return 2 / hessian.diagonal().max()


def lr_two_times_l(hessian):
    return 2 * np.linalg.eigvalsh(hessian)[-1]


# ---------------------------------------------------------------------------------------------
# 2.7 gradient_descent_until
# ---------------------------------------------------------------------------------------------


def until_counts_gradients(grad_fn, theta0, lr, tol, max_steps):
    theta = theta0.copy()
    evaluations, threshold = 0, None
    while True:
        grad = grad_fn(theta)
        evaluations += 1
        threshold = tol * np.linalg.norm(grad) if threshold is None else threshold
        if np.linalg.norm(grad) <= threshold or evaluations > max_steps:
            return theta, evaluations
        theta = theta - lr * grad


def until_tests_after_update(grad_fn, theta0, lr, tol, max_steps):
    theta = theta0.copy()
    threshold = tol * np.linalg.norm(grad_fn(theta0))
    steps = 0
    while steps < max_steps:
        grad = grad_fn(theta)
        theta, steps = theta - lr * grad, steps + 1
        if np.linalg.norm(grad) <= threshold:
            break
    return theta, steps


def until_absolute(grad_fn, theta0, lr, tol, max_steps):
    theta = theta0.copy()
    for step in range(max_steps):
        grad = grad_fn(theta)
        if np.sqrt(np.sum(grad**2)) <= tol:
            return theta, step
        theta = theta - lr * grad
    return theta, max_steps


def until_no_budget(grad_fn, theta0, lr, tol, max_steps):
    theta, steps = theta0.copy(), 0
    grad = grad_fn(theta)
    threshold = tol * np.linalg.norm(grad)
    while np.linalg.norm(grad) > threshold:  # max_steps never looked at
        theta = theta - lr * grad
        grad = grad_fn(theta)
        steps += 1
    return theta, steps


def until_strict_inequality(grad_fn, theta0, lr, tol, max_steps):
    theta, grad = theta0.copy(), grad_fn(theta0)
    first_norm = np.linalg.norm(grad)
    for step in range(max_steps):
        if np.linalg.norm(grad) < tol * first_norm:  # < where the rule says ≤
            return theta, step
        theta = theta - lr * grad
        grad = grad_fn(theta)
    return theta, max_steps


# ---------------------------------------------------------------------------------------------
# 2.8 largest_eigenvalue
# ---------------------------------------------------------------------------------------------


def pi_unnormalised(hvp, v0, num_iters):
    v = v0.copy()
    for _ in range(num_iters):
        v = hvp(v)  # never rescaled
    mu = v @ hvp(v) / (v @ v)
    if mu < 0:
        w = v0.copy()
        for _ in range(num_iters):
            w = hvp(w) - mu * w
        mu = w @ (hvp(w) - mu * w) / (w @ w) + mu
    return mu


def pi_norm_of_product(hvp, v0, num_iters):
    v = v0 / np.linalg.norm(v0)
    for _ in range(num_iters):
        v = hvp(v)
        v = v / np.linalg.norm(v)
    return float(np.linalg.norm(hvp(v)))


def pi_one_pass(hvp, v0, num_iters):
    v = v0 / np.linalg.norm(v0)
    for _ in range(num_iters):
        hv = hvp(v)
        v = hv / np.sqrt(hv @ hv)
    return float(v @ hvp(v))


def pi_builds_the_hessian(hvp, v0, num_iters):
    hessian = np.column_stack([hvp(unit) for unit in np.eye(len(v0))])  # d products
    return float(np.linalg.eigvalsh(hessian)[-1])


def pi_forgot_the_shift_back(hvp, v0, num_iters):
    mu = pi_one_pass(hvp, v0, num_iters)
    if mu < 0:
        mu = pi_one_pass(lambda v: hvp(v) - mu * v, v0, num_iters)  # a_max − μ, not a_max
    return mu


def pi_returns_the_rate(hvp, v0, num_iters):
    a_max = pi_shift_always(hvp, v0, num_iters)
    return 1 / a_max  # the learning rate 1/a_max instead of a_max


WRONG = [
    ("2.1", linreg_half_mse, "the factor 2 is missing"),
    ("2.1", linreg_sum, "the 1/n is missing"),
    ("2.1", linreg_target_minus_prediction, "your gradient has the wrong sign"),
    ("2.1", linreg_no_intercept, "your prediction leaves out the intercept"),
    ("2.1", linreg_loop_no_input, "∂L/∂w needs the inputs"),
    ("2.1", linreg_column_bias, "has shape (1,); expected a single number"),
    ("2.2", gd_ascent, "gradient *ascent*"),
    ("2.2", gd_in_place, "changed its input `theta0` in place"),
    ("2.2", gd_in_place, "every row of your trajectory is the same final θ"),
    ("2.2", gd_without_start, "has shape (25, 2); expected shape (26, 2)"),
    ("2.2", gd_one_step_too_many, "has shape (27, 2); expected shape (26, 2)"),
    ("2.2", gd_gradient_once, "you evaluated the gradient only once"),
    ("2.2", gd_final_only, "has shape (2,); expected shape (26, 2)"),
    ("2.2", gd_never_stops, "your run kept going after it diverged"),
    ("2.2", gd_keeps_the_overflow, "keeps the first non-finite iterate"),
    ("2.2", gd_stops_on_any_warning, "case 5 of 7 (a quadratic with η a ≈ 4 > 2"),
    # accepted before case 7 existed: its step overflows while the gradient is still finite
    ("2.2", gd_tests_only_the_gradient, "case 7 of 7 (a flat quadratic"),
    ("2.2", gd_tests_only_the_gradient, "you tested the gradient, not θ"),
    ("2.3", mlp_no_mask, "the ReLU mask is missing"),
    ("2.3", mlp_sum_loss, "every gradient is n times too large"),
    ("2.3", mlp_bias_mean, "your bias gradients are n times too small"),
    ("2.3", mlp_transposed_weights, "['W1'] has shape (6, 4); expected shape (4, 6)"),
    ("2.3", mlp_mask_after_weights, "['W1'] differs from the expected values"),
    ("2.3", mlp_missing_key, "expected keys ['W1', 'W2', 'b1', 'b2']"),
    ("2.4", dc_forward, "your first number is the forward difference"),
    ("2.4", dc_divide_by_delta, "your first number is twice the directional derivative"),
    ("2.4", dc_ignores_direction, "your second number ignores the direction"),
    ("2.4", dc_gradient_norm, "your second number is the gradient's norm"),
    ("2.4", dc_analytic_first, "your two numbers are swapped"),
    ("2.4", dc_in_place, "changed its input `x` in place"),
    ("2.5", lr_one_over_a_max, "1/a_max is a good learning rate, but not the largest stable one"),
    ("2.5", lr_smallest, "you used the smallest eigenvalue"),
    ("2.5", lr_trace, "the trace is the *sum* of the eigenvalues"),
    ("2.5", lr_diagonal, "the largest diagonal entry equals the largest eigenvalue only"),
    ("2.5", lr_two_times_l, "is not the expected value"),
    ("2.6", 0.2, "the stability *limit*"),
    ("2.6", 0.1, "the run is too slow"),
    ("2.6", 0.17, "Try a larger η"),
    ("2.6", 0.25, "the run diverges"),
    ("2.6", 0.19, "the steep direction oscillates"),
    ("2.6", 0.181, "Try a smaller η"),
    ("2.6", 5.0, "outside the range tried, 0 < η ≤ 0.3"),
    ("2.6", -0.18, "outside the range tried"),
    ("2.6", np.nan, "contains NaN"),
    ("2.6", [0.18], "expected a single number"),
    ("2.7", until_counts_gradients, "your step count is one too high"),
    ("2.7", until_tests_after_update, "you tested the rule after the update"),
    ("2.7", until_absolute, "you compared ‖∇L(θ_t)‖ with tol itself"),
    ("2.7", until_no_budget, "your loop has no max_steps guard"),
    ("2.7", until_strict_inequality, "strictly. When θ₀ is already the minimum"),
    ("2.8", pi_unnormalised, "you never normalised v"),
    ("2.8", pi_norm_of_product, "you returned ‖Hv‖"),
    ("2.8", pi_one_pass, "plain power iteration finds the eigenvalue of largest *magnitude*"),
    ("2.8", pi_one_pass, "case 5 of 7 (a saddle whose negative curvature dominates"),
    ("2.8", pi_forgot_the_shift_back, "forgot to add μ back"),
    ("2.8", pi_returns_the_rate, "case 1 of 7"),
    ("2.8", pi_builds_the_hessian, "hvp was called more than 52 times"),
    ("2.9", 1 / 6, "that is 1/a_max, a safe step"),
    ("2.9", 2 / 3, "you took the coefficient 3 as the curvature"),
    ("2.9", 1.0, "you used the smaller curvature"),
    ("2.9", 0.25, "you added the curvatures"),
    ("2.9", "1/3", "should be a number or an array, but it is str"),
    ("2.10", 1, "order Δ is the error of the forward difference"),
    ("2.10", 3, "the f‴ terms do not cancel"),
    ("2.10", 4, "a finite difference is exact only for special functions"),
    # 2.10 had no multiple-choice judge: a number that is no option got "not the expected value"
    ("2.10", 5, "answer with the number of one option, an int from 1 to 4"),
    ("2.11", 1, "does not converge, even slowly"),
    ("2.11", 2, "diverging needs |1 − η a| > 1"),
    ("2.11", 4, "not 2/a"),
    ("2.11", 3.0, "has dtype float64; expected integers"),
]


# ---------------------------------------------------------------------------------------------
# Other correct solutions pass
# ---------------------------------------------------------------------------------------------


def linreg_loop(w, b, x, y):
    grad_w, grad_b = np.zeros_like(w), 0.0
    for xi, yi in zip(x, y, strict=True):
        error = xi @ w + b - yi
        grad_w = grad_w + 2 * error * xi / len(y)
        grad_b = grad_b + 2 * error / len(y)
    return grad_w, grad_b


def linreg_design_matrix(w, b, x, y):
    design = np.hstack([x, np.ones((len(x), 1))])
    grad = 2 / len(y) * design.T @ (design @ np.append(w, b) - y)
    return grad[:-1], grad[-1]


def gd_preallocated(grad_fn, theta0, lr, num_steps):
    path = np.empty((num_steps + 1, theta0.size))
    path[0] = theta0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(num_steps):
            path[t + 1] = path[t] - lr * grad_fn(path[t])
            if not np.isfinite(path[t + 1]).all():
                return path[: t + 1]
    return path


def gd_stop_on_bad_gradient(grad_fn, theta0, lr, num_steps):
    theta, path = theta0.copy(), [theta0.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            grad = grad_fn(theta)
            step = theta - lr * grad
            if not (np.isfinite(grad).all() and np.isfinite(step).all()):
                break
            theta = step
            path.append(theta)
    return np.array(path)


def mlp_per_sample(params, x, labels):
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    for xi, label in zip(x, labels, strict=True):
        z1 = xi @ params["W1"] + params["b1"]
        a1 = np.maximum(z1, 0)
        p = _softmax((a1 @ params["W2"] + params["b2"])[None, :])[0]
        p[label] -= 1
        d_z1 = (params["W2"] @ p) * (z1 > 0)
        grads["W2"] += np.outer(a1, p) / len(x)
        grads["b2"] += p / len(x)
        grads["W1"] += np.outer(xi, d_z1) / len(x)
        grads["b1"] += d_z1 / len(x)
    return grads


def dc_loops(f, grad_fn, x, direction, delta):
    g = grad_fn(x)
    analytic = sum(g[index] * direction[index] for index in np.ndindex(x.shape))
    plus, minus = f(x + delta * direction), f(x - delta * direction)
    return float((plus - minus) / (2 * delta)), float(analytic)


def until_for_loop(grad_fn, theta0, lr, tol, max_steps):
    theta = np.array(theta0, dtype=float)
    g0 = np.linalg.norm(grad_fn(theta))
    for t in range(max_steps + 1):
        g = grad_fn(theta)
        if np.linalg.norm(g) <= tol * g0 or t == max_steps:
            return theta, t
        theta = theta - lr * g


def pi_shift_always(hvp, v0, num_iters):
    """One pass for |a| of largest magnitude, then H + |μ| I, whose top eigenvalue dominates."""

    def iterate(product):
        v = v0 / np.linalg.norm(v0)
        for _ in range(num_iters):
            v = product(v)
            v /= np.linalg.norm(v)
        return v @ product(v)

    shift = abs(iterate(hvp))
    return float(iterate(lambda v: hvp(v) + shift * v) - shift)


def lr_power_iteration(hessian):
    v = np.ones(len(hessian))
    for _ in range(2000):
        v = hessian @ v
        v /= np.linalg.norm(v)
    return 2 / (v @ hessian @ v)


RIGHT = [
    ("2.1", linreg_loop),
    ("2.1", linreg_design_matrix),
    ("2.2", gd_preallocated),
    ("2.2", gd_stop_on_bad_gradient),
    ("2.3", mlp_per_sample),
    ("2.4", dc_loops),
    ("2.5", lr_power_iteration),
    ("2.5", lambda hessian: 2 / np.linalg.norm(hessian, 2)),  # spectral norm of an SPD matrix
    ("2.6", 0.178),  # not on the grid, and as good as its best
    ("2.6", np.float64(0.18)),
    ("2.6", np.array(0.176)),
    ("2.7", until_for_loop),
    ("2.8", pi_shift_always),
    ("2.9", 1 / 3),
    ("2.9", 0.3333),
    ("2.10", 2),
    ("2.11", 3),
    ("2.11", np.int64(3)),
]


# ---------------------------------------------------------------------------------------------
# 2.4: the reference's two numbers against torch.autograd; the forward difference is told apart
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_number", range(4))
def test_directional_check_reference_matches_torch_autograd(case_number):
    import torch

    exercise = get_exercise("2.4")
    inputs = exercise.cases[case_number].inputs()
    f, grad_fn, x, u, delta = inputs.values()
    x_torch = torch.tensor(x, requires_grad=True)
    f.torch_version(x_torch).backward()
    slope = float((x_torch.grad * torch.from_numpy(u)).sum())  # ⟨∇f(x), u⟩ by autograd
    numerical, analytic = exercise.reference(*inputs.values())
    assert np.isclose(numerical, slope, rtol=1e-6, atol=1e-8), "the central difference is close"
    buggy = "buggy" in exercise.cases[case_number].description
    assert np.isclose(analytic, slope, rtol=1e-10) != buggy, "only the buggy grad_fn disagrees"
    forward, _ = dc_forward(*inputs.values())
    assert not np.isclose(forward, numerical, rtol=exercise.rtol, atol=exercise.atol), (
        "the cases must be able to tell a forward difference from a central one"
    )


def test_gradient_descent_reference_is_plain_gradient_descent():
    """The reference (utils' SGD) equals θ ← θ − η∇L(θ) written out, on every case."""
    exercise = get_exercise("2.2")
    for case in exercise.cases:
        inputs = case.inputs()
        expected = gd_preallocated(*inputs.values())
        np.testing.assert_allclose(
            exercise.reference(*case.inputs().values()), expected, rtol=1e-14
        )


(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(2, WRONG, RIGHT)


def test_power_iteration_cases_converge_and_the_rate_works():
    """2.8: a correct power iteration reaches eigvalsh on every case; η = 1/a_max then is safe."""
    exercise = get_exercise("2.8")
    for case in exercise.cases:
        inputs = case.inputs()
        expected = exercise.reference(*inputs.values())
        assert np.isclose(pi_shift_always(*inputs.values()), expected, rtol=1e-9)
    assert any(pi_one_pass(*c.inputs().values()) < 0 for c in exercise.cases), "a saddle case"


def test_stopping_rule_is_scale_free():
    """2.7's three valley cases differ only by the scale: the relative rule's steps do not."""
    exercise = get_exercise("2.7")
    theta0 = np.array([0.3, -1.2])
    steps = []
    for case in exercise.cases[:3]:
        grad_fn, _, lr, tol, max_steps = case.inputs().values()
        steps.append(exercise.reference(grad_fn, theta0, lr, tol, max_steps)[1])
    assert len(set(steps)) == 1, steps
