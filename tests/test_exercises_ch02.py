"""Exercises 2 (gradient descent and backpropagation) against hand-written learner code.

The generic tests (test_autocheck_exercises.py, test_autocheck_frameworks.py) feed each *declared*
mistake back to the checker and compare each reference with its torch oracle. Here the wrong
answers are written the way a learner would write them (loops, in-place updates, other names),
independently of the declarations, and each must get the intended message. Alternative correct
solutions must pass. Exercise 2.4 has no framework oracle (its answer is an approximation), so its
reference is checked here against the exact gradients from ``utils``.
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
    for _ in range(num_steps):
        theta = theta + lr * grad_fn(theta)
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
    # Masks ∂ℒ/∂A₁ with the activations of the output instead of the hidden layer: a shape error.
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
# 2.4 numerical_gradient
# ---------------------------------------------------------------------------------------------


def fd_forward(f, x, h):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x)) / h  # one-sided: from x to x + h only
    return grad


def fd_divide_by_h(f, x, h):
    x = x.copy()
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = f(x)
        x[index] = old - h
        minus = f(x)
        x[index] = old
        grad[index] = (plus - minus) / h
    return grad


def fd_never_restored(f, x, h):
    x = x.astype(float)  # a copy, so the caller's x is safe...
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x[index] = x[index] + h
        forward = f(x)
        x[index] = x[index] - 2 * h  # ...but each entry is left at its value − h
        backward = f(x)
        grad[index] = (forward - backward) / (2 * h)
    return grad


def fd_restore_by_arithmetic(f, x, h):
    # Undoes the perturbation with += h: rounding leaves x off by an ulp in some entries.
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x[index] += h
        plus = f(x)
        x[index] -= 2 * h
        minus = f(x)
        x[index] += h
        grad[index] = (plus - minus) / (2 * h)
    return grad


def fd_whole_array(f, x, h):
    return np.full_like(x, (f(x + h) - f(x - h)) / (2 * h))


def fd_flat(f, x, h):
    flat = x.ravel().copy()
    grad = np.zeros_like(flat)
    for i in range(flat.size):
        step = np.zeros_like(flat)
        step[i] = h
        grad[i] = (f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape))) / (2 * h)
    return grad  # forgot to reshape


# ---------------------------------------------------------------------------------------------
# 2.5 max_stable_lr
# ---------------------------------------------------------------------------------------------


def lr_one_over_l(hessian):
    return 1 / np.max(np.linalg.eigvalsh(hessian))


def lr_smallest(hessian):
    return 2 / np.min(np.linalg.eigvalsh(hessian))


def lr_trace(hessian):
    return 2 / sum(np.linalg.eigvalsh(hessian))  # every eigenvalue summed: the trace


def lr_diagonal(hessian):
    return 2 / hessian.diagonal().max()


def lr_two_times_l(hessian):
    return 2 * np.linalg.eigvalsh(hessian)[-1]


WRONG = [
    ("2.1", linreg_half_mse, "the factor 2 is missing"),
    ("2.1", linreg_sum, "the 1/n is missing"),
    ("2.1", linreg_target_minus_prediction, "your gradient has the wrong sign"),
    ("2.1", linreg_no_intercept, "your prediction leaves out the intercept"),
    ("2.1", linreg_loop_no_input, "∂ℒ/∂w needs the inputs"),
    ("2.1", linreg_column_bias, "has shape (1,); expected a single number"),
    ("2.2", gd_ascent, "gradient *ascent*"),
    ("2.2", gd_in_place, "changed its input `theta0` in place"),
    ("2.2", gd_in_place, "every row of your trajectory is the same final θ"),
    ("2.2", gd_without_start, "has shape (25, 2); expected shape (26, 2)"),
    ("2.2", gd_one_step_too_many, "has shape (27, 2); expected shape (26, 2)"),
    ("2.2", gd_gradient_once, "you evaluated the gradient only once"),
    ("2.2", gd_final_only, "has shape (2,); expected shape (26, 2)"),
    ("2.3", mlp_no_mask, "the ReLU mask is missing"),
    ("2.3", mlp_sum_loss, "every gradient is n times too large"),
    ("2.3", mlp_bias_mean, "your bias gradients are n times too small"),
    ("2.3", mlp_transposed_weights, "['W1'] has shape (6, 4); expected shape (4, 6)"),
    ("2.3", mlp_mask_after_weights, "['W1'] differs from the expected values"),
    ("2.3", mlp_missing_key, "expected keys ['W1', 'W2', 'b1', 'b2']"),
    ("2.4", fd_forward, "that is the forward difference"),
    ("2.4", fd_divide_by_h, "your result is twice the gradient"),
    ("2.4", fd_never_restored, "you did not restore each entry"),
    ("2.4", fd_restore_by_arithmetic, "changed its input `x` in place"),
    ("2.4", fd_whole_array, "you moved every entry of x at once"),
    ("2.4", fd_flat, "has shape (12,); expected shape (3, 4)"),
    ("2.5", lr_one_over_l, "1/L is a good learning rate, but not the largest stable one"),
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
]


def test_the_arithmetic_restore_really_leaves_a_rounding_error():
    """The message for fd_restore_by_arithmetic is only right if += h, −= 2h, += h is inexact."""
    exercise = get_exercise("2.4")
    changed = False
    for case in exercise.cases:
        inputs = case.inputs()
        x = inputs["x"].copy()
        fd_restore_by_arithmetic(inputs["f"], x, inputs["h"])
        changed = changed or not np.array_equal(x, inputs["x"])
    assert changed


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
    for t in range(num_steps):
        path[t + 1] = path[t] - lr * grad_fn(path[t])
    return path


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


def fd_with_unit_vectors(f, x, h):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


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
    ("2.3", mlp_per_sample),
    ("2.4", fd_with_unit_vectors),
    ("2.5", lr_power_iteration),
    ("2.5", lambda hessian: 2 / np.linalg.norm(hessian, 2)),  # spectral norm of an SPD matrix
    ("2.6", 0.178),  # not on the grid, and as good as its best
    ("2.6", np.float64(0.18)),
    ("2.6", np.array(0.176)),
]


# ---------------------------------------------------------------------------------------------
# 2.4: the reference approximates the exact gradient; the forward difference does not
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_number", range(3))
def test_central_difference_reference_matches_the_exact_gradient(case_number):
    exercise = get_exercise("2.4")
    inputs = exercise.cases[case_number].inputs()
    f, x, h = inputs["f"], inputs["x"], inputs["h"]
    exact = f.exact_gradient(x)
    np.testing.assert_allclose(exercise.reference(f, x, h), exact, rtol=1e-7, atol=1e-8)
    forward = fd_forward(f, x, h)
    assert not np.allclose(forward, exact, rtol=exercise.rtol, atol=exercise.atol), (
        "the cases must be able to tell a forward difference from a central one"
    )


def test_gradient_descent_reference_is_plain_gradient_descent():
    """The reference (utils' SGD) equals θ ← θ − η∇ℒ(θ) written out, on every case."""
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
