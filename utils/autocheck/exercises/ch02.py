"""Exercises 2: Gradient descent and backpropagation (NumPy).

Notebook: ``solutions/02_gradient_descent.ipynb`` (source) →
``exercises/02_gradient_descent.ipynb``.
Expected answers come from :mod:`utils.losses`, :mod:`utils.optim.numpy` and
:mod:`utils.functions`, and each is checked against torch: autograd, ``torch.optim.SGD``,
``torch.linalg.eigvalsh``, declared as each exercise's ``oracle`` and compared item by item
(tuples and dicts included) by ``tests/test_autocheck_frameworks.py``.

Exercise 2.4 asks for an *approximation*, so its reference is the central-difference algorithm
itself and it has no oracle (the generic oracle test demands agreement to 1e-10). Instead, each of
its test functions carries its exact gradient from :mod:`utils` as ``f.exact_gradient``, and
``tests/test_exercises_ch02.py`` checks the reference against it.
"""

from __future__ import annotations

import numpy as np

from utils import losses
from utils.data import linear_regression
from utils.functions import ill_conditioned_quadratic, quadratic, rosenbrock
from utils.optim.numpy import SGD

from ..spec import Case, Exercise, ExerciseSet, Mistake

# ---------------------------------------------------------------------------------------------
# References: the quantities each exercise asks for, computed with the course's utils
# ---------------------------------------------------------------------------------------------


def _linear_regression_grad(w, b, x, y):
    """(∂ℒ/∂w, ∂ℒ/∂b) of ℒ = mean((x w + b − y)²), by the chain rule through utils.losses."""
    grad_pred = losses.mse_grad(x @ w + b, y)  # ∂ℒ/∂ŷ = (2/n)(ŷ − y)
    return x.T @ grad_pred, grad_pred.sum()  # ∂ŷᵢ/∂w = xᵢ, ∂ŷᵢ/∂b = 1


def _gradient_descent(grad_fn, theta0, lr, num_steps):
    """Iterates θ_0, ..., θ_T of plain gradient descent, with utils.optim.numpy.SGD."""
    theta = np.array(theta0, dtype=np.float64)
    optimizer = SGD([theta], lr=lr)
    path = [theta.copy()]
    for _ in range(num_steps):
        optimizer.step([grad_fn(theta)])
        path.append(theta.copy())
    return np.array(path)


def _mlp_forward(params, x):
    z1 = x @ params["W1"] + params["b1"]
    a1 = np.maximum(z1, 0.0)
    return a1 @ params["W2"] + params["b2"], z1, a1


def _mlp_backward(params, x, labels):
    """Gradients of the mean cross-entropy of a two-layer ReLU classifier (backpropagation)."""
    logits, z1, a1 = _mlp_forward(params, x)
    d_logits = losses.cross_entropy_grad(logits, labels)  # (softmax − one-hot) / n
    d_z1 = (d_logits @ params["W2"].T) * (z1 > 0)
    return {
        "W1": x.T @ d_z1,
        "b1": d_z1.sum(axis=0),
        "W2": a1.T @ d_logits,
        "b2": d_logits.sum(axis=0),
    }


def _central_difference(f, x, h):
    """Central differences, entry by entry, on a copy of x."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def _max_stable_lr(hessian):
    """2 / λ_max of a symmetric Hessian, via utils.functions.quadratic's eigenvalues."""
    return 2.0 / quadratic(hessian).L


# ---------------------------------------------------------------------------------------------
# Oracles: the same quantities from torch (imported only when a test calls them)
# ---------------------------------------------------------------------------------------------


def _torch_linear_regression_grad(w, b, x, y):
    import torch

    w_t = torch.tensor(w, requires_grad=True)
    b_t = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    pred = torch.tensor(x) @ w_t + b_t
    torch.nn.functional.mse_loss(pred, torch.tensor(y)).backward()
    return w_t.grad.numpy(), b_t.grad.numpy()


def _torch_gradient_descent(grad_fn, theta0, lr, num_steps):
    import torch

    theta = torch.tensor(theta0, dtype=torch.float64)
    optimizer = torch.optim.SGD([theta], lr=lr)
    path = [theta.numpy().copy()]
    for _ in range(num_steps):
        theta.grad = torch.from_numpy(np.asarray(grad_fn(theta.numpy().copy()), dtype=np.float64))
        optimizer.step()
        path.append(theta.numpy().copy())
    return np.array(path)


def _torch_mlp_backward(params, x, labels):
    import torch

    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    hidden = torch.relu(torch.tensor(x) @ tensors["W1"] + tensors["b1"])
    logits = hidden @ tensors["W2"] + tensors["b2"]
    torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).backward()
    return {name: tensor.grad.numpy() for name, tensor in tensors.items()}


def _torch_max_stable_lr(hessian):
    import torch

    return 2.0 / torch.linalg.eigvalsh(torch.tensor(hessian))[-1].item()


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def _regression_inputs(n, d, from_utils=False):
    def make(rng):
        if from_utils:  # the chapter's data set, y = 2x + 1 + noise
            x, y = linear_regression(n=n, seed=int(rng.integers(1000)))
            y = y[:, 0]
        else:
            x = rng.normal(size=(n, d))
            y = x @ rng.normal(size=d) + rng.normal() + 0.1 * rng.normal(size=n)
        return {"w": rng.normal(size=x.shape[1]), "b": float(rng.normal()), "x": x, "y": y}

    return make


def _quadratic_gd_inputs(rng):
    q = rng.normal(size=(2, 2))
    matrix = q @ q.T + np.eye(2)  # symmetric positive definite
    target = rng.normal(size=2)

    def grad_fn(theta):
        return matrix @ (theta - target)  # ∇ of ½ (θ − t)ᵀ A (θ − t)

    lr = float(1.0 / np.linalg.eigvalsh(matrix)[-1])
    return {"grad_fn": grad_fn, "theta0": rng.normal(size=2), "lr": lr, "num_steps": 25}


def _rosenbrock_gd_inputs(rng):
    banana = rosenbrock()

    def grad_fn(theta):
        return banana.grad(theta)

    return {"grad_fn": grad_fn, "theta0": np.array([-1.2, 1.0]), "lr": 1e-3, "num_steps": 40}


def _one_dimensional_gd_inputs(rng):
    def grad_fn(theta):
        return 4.0 * theta**3 - 3.0 * theta  # ∇ of θ⁴ − 1.5 θ²: a double well

    return {"grad_fn": grad_fn, "theta0": np.array([rng.uniform(0.2, 1.5)]), "lr": 0.05,
            "num_steps": 15}  # fmt: skip


def _no_step_gd_inputs(rng):
    inputs = _quadratic_gd_inputs(rng)
    inputs["num_steps"] = 0
    return inputs


def _mlp_inputs(n, d, h, c):
    def make(rng):
        params = {
            "W1": rng.normal(size=(d, h)) / np.sqrt(d),
            "b1": 0.1 * rng.normal(size=h),
            "W2": rng.normal(size=(h, c)) / np.sqrt(h),
            "b2": 0.1 * rng.normal(size=c),
        }
        return {
            "params": params,
            "x": rng.normal(size=(n, d)),
            "labels": rng.integers(0, c, size=n),
        }

    return make


def _with_exact_gradient(f, exact_gradient):
    f.exact_gradient = exact_gradient  # for the tests; learners only call f(x)
    return f


def _rosenbrock_fd_inputs(rng):
    banana = rosenbrock()

    def f(x):
        return float(banana.f(x))

    return {"f": _with_exact_gradient(f, banana.grad), "x": rng.uniform(-1.5, 1.5, size=2),
            "h": 1e-5}  # fmt: skip


def _mse_fd_inputs(rng):
    target = rng.normal(size=(3, 4))

    def f(x):
        return float(losses.mse(x, target))

    return {"f": _with_exact_gradient(f, lambda x: losses.mse_grad(x, target)),
            "x": rng.normal(size=(3, 4)), "h": 1e-3}  # fmt: skip


def _cross_entropy_fd_inputs(rng):
    labels = rng.integers(0, 3, size=5)

    def f(x):
        return float(losses.cross_entropy(x, labels))

    return {"f": _with_exact_gradient(f, lambda x: losses.cross_entropy_grad(x, labels)),
            "x": 2.0 * rng.normal(size=(5, 3)), "h": 1e-4}  # fmt: skip


def _diagonal_hessian(rng):
    return {"hessian": np.diag(rng.uniform(0.5, 20.0, size=3))}


def _dense_hessian(size):
    def make(rng):
        rotation, _ = np.linalg.qr(rng.normal(size=(size, size)))
        eigenvalues = rng.uniform(0.1, 10.0, size=size)
        hessian = rotation @ np.diag(eigenvalues) @ rotation.T
        return {"hessian": (hessian + hessian.T) / 2}  # exactly symmetric

    return make


def _linear_regression_hessian(rng):
    x, _ = linear_regression(n=50, w=[2.0, -1.0], seed=int(rng.integers(1000)))
    design = np.hstack([x, np.ones((len(x), 1))])
    return {"hessian": 2.0 / len(x) * design.T @ design}  # ∇² of the MSE


# ---------------------------------------------------------------------------------------------
# Mistaken answers that need more than a lambda
# ---------------------------------------------------------------------------------------------


def _gd_frozen_gradient(grad_fn, theta0, lr, num_steps):
    g0 = np.asarray(grad_fn(np.array(theta0, dtype=np.float64)))
    steps = np.arange(num_steps + 1)[:, None]
    return theta0[None, :] - lr * steps * g0  # θ_t = θ_0 − t η ∇ℒ(θ_0)


def _gd_aliased(grad_fn, theta0, lr, num_steps):
    theta = theta0  # no copy: the update below changes theta0 itself
    path = []
    for _ in range(num_steps):
        path.append(theta)
        theta -= lr * grad_fn(theta)
    path.append(theta)
    return np.array(path)  # every row is the same array object: the final θ


def _mlp_without_relu_mask(params, x, labels):
    logits, _, a1 = _mlp_forward(params, x)
    d_logits = losses.cross_entropy_grad(logits, labels)
    d_z1 = d_logits @ params["W2"].T  # no "* (z1 > 0)"
    return {"W1": x.T @ d_z1, "b1": d_z1.sum(axis=0), "W2": a1.T @ d_logits,
            "b2": d_logits.sum(axis=0)}  # fmt: skip


def _scaled(grads, factors):
    return {name: factors.get(name, 1.0) * value for name, value in grads.items()}


def _mlp_summed_loss(params, x, labels):
    return _scaled(_mlp_backward(params, x, labels), {n: float(len(x)) for n in params})


def _mlp_bias_mean(params, x, labels):
    n = float(len(x))
    return _scaled(_mlp_backward(params, x, labels), {"b1": 1 / n, "b2": 1 / n})


def _mlp_no_one_hot(params, x, labels):
    logits, z1, a1 = _mlp_forward(params, x)
    d_logits = losses.softmax(logits) / len(x)  # forgot to subtract the one-hot labels
    d_z1 = (d_logits @ params["W2"].T) * (z1 > 0)
    return {"W1": x.T @ d_z1, "b1": d_z1.sum(axis=0), "W2": a1.T @ d_logits,
            "b2": d_logits.sum(axis=0)}  # fmt: skip


def _forward_difference(f, x, h):
    x = np.array(x, dtype=np.float64)
    f_x = f(x)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        grad[index] = (f(x) - f_x) / h
        x[index] = original
    return grad


def _no_restore(f, x, h):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):  # perturbs the caller's x and never puts it back
        x[index] += h
        f_plus = f(x)
        x[index] -= 2 * h
        f_minus = f(x)
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def _all_at_once(f, x, h):
    x = np.array(x, dtype=np.float64)
    slope = (f(x + h) - f(x - h)) / (2 * h)  # moves every entry together
    return np.full_like(x, slope)


# ---------------------------------------------------------------------------------------------
# The exercises
# ---------------------------------------------------------------------------------------------

LINEAR_REGRESSION_GRAD = Exercise(
    id="2.1",
    name="linear_regression_grad",
    title="Gradient of the linear-regression loss",
    reference=_linear_regression_grad,
    cases=(
        Case(
            "the chapter's data y = 2x + 1 + noise, n = 20, d = 1",
            _regression_inputs(20, 1, from_utils=True),
            seed=11,
        ),  # fmt: skip
        Case("n = 50 samples with d = 3 features", _regression_inputs(50, 3), seed=12),
        Case("a single sample with d = 2 features", _regression_inputs(1, 2), seed=13),
    ),
    mistakes=(
        Mistake(
            "the factor 2 is missing: d/dŷ (ŷ − y)² = 2(ŷ − y). Your gradient is that of half the "
            "MSE.",
            lambda w, b, x, y: tuple(g / 2 for g in _linear_regression_grad(w, b, x, y)),
        ),
        Mistake(
            "the 1/n is missing: the loss is a *mean* over the n samples, so the gradient is one "
            "too (divide the sums by n = `len(y)`).",
            lambda w, b, x, y: tuple(len(y) * g for g in _linear_regression_grad(w, b, x, y)),
        ),
        Mistake(
            "your gradient has the wrong sign. Use prediction minus target, ŷ − y: a prediction "
            "that is too high must give a positive gradient.",
            lambda w, b, x, y: tuple(-g for g in _linear_regression_grad(w, b, x, y)),
        ),
        Mistake(
            "your prediction leaves out the intercept: ŷ = x @ w + b.",
            lambda w, b, x, y: _linear_regression_grad(w, 0.0, x, y),
        ),
        Mistake(
            "∂ℒ/∂w needs the inputs: by the chain rule ∂ŷᵢ/∂w = xᵢ, so ∂ℒ/∂w = (2/n) xᵀ(ŷ − y), "
            "not the same number for every weight.",
            lambda w, b, x, y: (
                np.full(x.shape[1], 2 * np.mean(x @ w + b - y)),
                2 * np.mean(x @ w + b - y),
            ),
        ),
    ),
    hints=(
        "Compute the predictions ŷ = x @ w + b and the residuals ŷ − y for all samples at once.",
        "For one sample, d/dw (ŷᵢ − yᵢ)² = 2(ŷᵢ − yᵢ) xᵢ and d/db (ŷᵢ − yᵢ)² = 2(ŷᵢ − yᵢ). Average "
        "these over the n samples.",
        "Vectorised: grad_w = (2/n) x.T @ (ŷ − y) has shape (d,), and grad_b = (2/n) Σ (ŷ − y) is "
        "a single number.",
    ),
    oracle=_torch_linear_regression_grad,
)

GRADIENT_DESCENT = Exercise(
    id="2.2",
    name="gradient_descent",
    title="Gradient descent with its trajectory",
    reference=_gradient_descent,
    oracle=_torch_gradient_descent,
    cases=(
        Case("a 2-D quadratic, η = 1/L, 25 steps", _quadratic_gd_inputs, seed=21),
        Case(
            "Rosenbrock's function from (−1.2, 1), η = 0.001, 40 steps",
            _rosenbrock_gd_inputs,
            seed=22,
        ),  # fmt: skip
        Case("a 1-D double well, η = 0.05, 15 steps", _one_dimensional_gd_inputs, seed=23),
        Case("zero steps: only the starting point", _no_step_gd_inputs, seed=24),
    ),
    mistakes=(
        Mistake(
            "you climbed: θ + η∇ℒ is gradient *ascent*. Gradient descent subtracts, "
            "θ ← θ − η ∇ℒ(θ).",
            lambda grad_fn, theta0, lr, num_steps: _gradient_descent(
                lambda theta: -np.asarray(grad_fn(theta)), theta0, lr, num_steps
            ),
        ),
        Mistake(
            "every row of your trajectory is the same final θ: you appended one array and then "
            "changed it in place (`theta -= ...` on `theta0` itself). Start from "
            "`theta = theta0.copy()`, compute `theta = theta - lr * grad_fn(theta)` (a new array) "
            "and append that.",
            _gd_aliased,
        ),
        Mistake(
            "you evaluated the gradient only once, at θ₀. Recompute ∇ℒ at the current θ on every "
            "step.",
            _gd_frozen_gradient,
        ),
    ),
    hints=(
        "Keep a list of iterates that starts with a copy of `theta0`; each step appends the new θ. "
        "After `num_steps` steps the list has `num_steps + 1` rows.",
        "One step is `theta = theta - lr * grad_fn(theta)`: it creates a new array, so the "
        "arrays already in the list (and `theta0`) stay as they were.",
        "Return `np.array(trajectory)`, of shape (num_steps + 1, d).",
    ),
)

MLP_BACKWARD = Exercise(
    id="2.3",
    name="mlp_backward",
    title="Backpropagation through a two-layer classifier",
    reference=_mlp_backward,
    points=2,
    cases=(
        Case(
            "n = 8 samples, d = 4 inputs, h = 6 hidden units, c = 3 classes",
            _mlp_inputs(8, 4, 6, 3),
            seed=31,
        ),  # fmt: skip
        Case("n = 16, d = 2, h = 5, c = 4", _mlp_inputs(16, 2, 5, 4), seed=32),
        Case("a single sample: n = 1, d = 3, h = 7, c = 2", _mlp_inputs(1, 3, 7, 2), seed=33),
    ),
    mistakes=(
        Mistake(
            "the ReLU mask is missing: the gradient flows back through a hidden unit only where "
            "it was active, ∂ℒ/∂Z₁ = (∂ℒ/∂A₁) ⊙ 1[Z₁ > 0].",
            _mlp_without_relu_mask,
        ),
        Mistake(
            "every gradient is n times too large: the loss is the *mean* over the n samples, so "
            "∂ℒ/∂logits = (softmax − one-hot) / n.",
            _mlp_summed_loss,
        ),
        Mistake(
            "your bias gradients are n times too small. A bias is added to every row, so its "
            "gradient is the *sum* over the rows of ∂ℒ/∂Z (the 1/n is already inside ∂ℒ/∂Z).",
            _mlp_bias_mean,
        ),
        Mistake(
            "∂ℒ/∂logits is softmax(logits) − one-hot(labels), divided by n: you forgot to "
            "subtract the one-hot labels.",
            _mlp_no_one_hot,
        ),
        Mistake(
            "your gradients have the wrong sign: ∂ℒ/∂logits = (softmax − one-hot) / n, "
            "prediction minus target.",
            lambda params, x, labels: _scaled(
                _mlp_backward(params, x, labels), {n: -1.0 for n in params}
            ),
        ),
    ),
    hints=(
        "Run the forward pass and keep Z₁ and A₁: the backward pass needs them. Then start from "
        "∂ℒ/∂logits = (softmax(logits) − one-hot(labels)) / n.",
        "Every gradient has the shape of its variable. For logits = A₁ W₂ + b₂: "
        "∂ℒ/∂W₂ = A₁ᵀ (∂ℒ/∂logits), ∂ℒ/∂b₂ = the column sums of ∂ℒ/∂logits, and "
        "∂ℒ/∂A₁ = (∂ℒ/∂logits) W₂ᵀ.",
        "Through the ReLU: ∂ℒ/∂Z₁ = (∂ℒ/∂A₁) * (Z₁ > 0). Then ∂ℒ/∂W₁ = Xᵀ (∂ℒ/∂Z₁) and ∂ℒ/∂b₁ "
        "= the column sums of ∂ℒ/∂Z₁.",
    ),
    oracle=_torch_mlp_backward,
)

NUMERICAL_GRADIENT = Exercise(
    id="2.4",
    name="numerical_gradient",
    title="A central-difference gradient checker",
    reference=_central_difference,
    points=2,
    rtol=1e-6,
    atol=1e-8,
    cases=(
        Case("Rosenbrock's function at a random point, h = 1e-5", _rosenbrock_fd_inputs, seed=41),
        Case("the MSE of a (3, 4) prediction, h = 1e-3", _mse_fd_inputs, seed=42),
        Case("the cross-entropy of (5, 3) logits, h = 1e-4", _cross_entropy_fd_inputs, seed=43),
    ),
    mistakes=(
        Mistake(
            "that is the forward difference (f(x + h) − f(x)) / h, whose error is of order h. Use "
            "the central difference (f(x + h) − f(x − h)) / (2h), whose error is of order h².",
            _forward_difference,
        ),
        Mistake(
            "your result is twice the gradient: the central difference spans from x − h to x + h, "
            "a distance of 2h, so divide by 2h.",
            lambda f, x, h: 2 * _central_difference(f, x, h),
        ),
        Mistake(
            "your gradient has the wrong sign: compute f(x + h) − f(x − h), in that order.",
            lambda f, x, h: -_central_difference(f, x, h),
        ),
        Mistake(
            "you did not restore each entry after perturbing it, so later entries were measured "
            "at a shifted point. Save the original value and put it back before the next entry "
            "(and work on a copy of x).",
            _no_restore,
        ),
        Mistake(
            "you moved every entry of x at once, which gives one directional derivative, not the "
            "gradient. Perturb one entry at a time.",
            _all_at_once,
        ),
    ),
    hints=(
        "Loop over every index of x (`np.ndindex(x.shape)` works for any shape) and fill one "
        "entry of the gradient per index.",
        "For each index: save the original value, set it to original + h and evaluate f, set it to "
        "original − h and evaluate f, then restore the original value.",
        "That entry of the gradient is (f_plus − f_minus) / (2 * h). Work on `x = x.copy()` so the "
        "caller's array is never changed.",
    ),
)

MAX_STABLE_LR = Exercise(
    id="2.5",
    name="max_stable_lr",
    title="The largest stable learning rate",
    reference=_max_stable_lr,
    oracle=_torch_max_stable_lr,
    cases=(
        Case("a diagonal 3 × 3 Hessian", _diagonal_hessian, seed=51),
        Case("a dense symmetric 3 × 3 Hessian", _dense_hessian(3), seed=52),
        Case(
            "the Hessian of the MSE of linear regression with 2 features",
            _linear_regression_hessian,
            seed=53,
        ),  # fmt: skip
        Case("a dense symmetric 5 × 5 Hessian", _dense_hessian(5), seed=54),
    ),
    mistakes=(
        Mistake(
            "1/L is a good learning rate, but not the largest stable one. Gradient descent "
            "converges as long as |1 − ηλ| < 1 for every eigenvalue λ, that is η < 2/L.",
            lambda hessian: 1.0 / np.linalg.eigvalsh(hessian)[-1],
        ),
        Mistake(
            "you used the smallest eigenvalue. The stiffest direction, with the *largest* "
            "eigenvalue L, is the first to diverge: η < 2/L.",
            lambda hessian: 2.0 / np.linalg.eigvalsh(hessian)[0],
        ),
        Mistake(
            "the trace is the *sum* of the eigenvalues, not the largest one. Compute the "
            "eigenvalues (`np.linalg.eigvalsh` for a symmetric matrix) and take the largest.",
            lambda hessian: 2.0 / np.trace(hessian),
        ),
        Mistake(
            "the largest diagonal entry equals the largest eigenvalue only for a diagonal matrix. "
            "Compute the eigenvalues of the whole matrix.",
            lambda hessian: 2.0 / np.max(np.diag(hessian)),
        ),
        Mistake(
            "the Frobenius norm is at least the largest eigenvalue but usually larger. Use the "
            "largest eigenvalue itself.",
            lambda hessian: 2.0 / np.linalg.norm(hessian),
        ),
    ),
    hints=(
        "On a quadratic with Hessian H, the error along an eigenvector with eigenvalue λ is "
        "multiplied by (1 − ηλ) at every step.",
        "Every factor must satisfy |1 − ηλ| < 1. Which eigenvalue gives the tightest bound on η?",
        "`np.linalg.eigvalsh(hessian)` returns the eigenvalues of a symmetric matrix in ascending "
        "order.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 2.6, an experiment: choose the step size on the valley
# ---------------------------------------------------------------------------------------------

#: The experiment of 2.6: the valley ½(x₁² + 10 x₂²) from (1, 1), 50 steps, η on this grid.
VALLEY_START = (1.0, 1.0)
VALLEY_STEPS = 50
VALLEY_GRID = tuple(round(0.01 * k, 2) for k in range(1, 26))  # 0.01, 0.02, ..., 0.25
VALLEY_SLACK = 1.05  # "within 5 % of the best final loss on the grid"


def _valley_run(lr):
    """The iterates θ_0..θ_T of gradient descent on the valley with step size ``lr``."""
    valley = ill_conditioned_quadratic(10.0)
    theta = np.array(VALLEY_START)
    path = [theta.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(VALLEY_STEPS):
            theta = theta - lr * valley.grad(theta)  # θ ← θ − η ∇f(θ)
            path.append(theta.copy())
    return valley, np.array(path)


def _valley_final_loss(lr):
    valley, path = _valley_run(lr)
    return float(valley.f(path[-1]))


def _best_valley_lr():
    return VALLEY_GRID[int(np.argmin([_valley_final_loss(lr) for lr in VALLEY_GRID]))]


def _judge_valley_lr(value):
    """Accept η in (0, 0.3] whose run ends within 5 % of the best final loss on the grid."""
    lr = float(np.asarray(value))
    if not 0 < lr <= 0.3:
        return f"your step size ({lr:.3g}) is outside the range tried, 0 < η ≤ 0.3."
    best = min(_valley_final_loss(grid_lr) for grid_lr in VALLEY_GRID)
    valley, path = _valley_run(lr)
    final = float(valley.f(path[-1]))
    if final <= VALLEY_SLACK * best:
        return None
    start = float(valley.f(path[0]))
    steep = path[1:, 1]  # the x₂ coordinate, curvature 10
    flips = int(np.sum(np.sign(steep[1:]) != np.sign(steep[:-1])))
    if not np.isfinite(final) or final >= start:
        return (
            f"with η = {lr:.3g} the run diverges: the loss grows from {start:.3g} to "
            f"{final:.3g} in {VALLEY_STEPS} steps. η is too large: the steep direction "
            "overshoots further at every step (η > 2/λ_max)."
        )
    ratio = final / best
    flat_part, steep_part = 0.5 * path[-1, 0] ** 2, 5.0 * path[-1, 1] ** 2  # ½x₁², ½·10x₂²
    if steep_part > flat_part:
        return (
            f"with η = {lr:.3g} the steep direction oscillates: x₂ changes sign at {flips} of "
            f"{VALLEY_STEPS} steps and shrinks slowly, most of the final loss is there, and it is "
            f"{ratio:.3g} times the best on the grid. Try a smaller η."
        )
    return (
        f"with η = {lr:.3g} the run is too slow: after {VALLEY_STEPS} steps the loss is "
        f"{ratio:.3g} times the best on the grid, held back by the flat direction x₁. Try a "
        "larger η."
    )


def _torch_best_valley_lr():
    """The same grid search, each run stepped by torch.optim.SGD."""
    import torch

    curvature = torch.tensor([1.0, 10.0], dtype=torch.float64)
    finals = []
    for lr in VALLEY_GRID:
        theta = torch.tensor(VALLEY_START, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([theta], lr=lr)
        for _ in range(VALLEY_STEPS):
            optimizer.zero_grad()
            (0.5 * (curvature * theta**2).sum()).backward()
            optimizer.step()
        finals.append((0.5 * (curvature * theta.detach() ** 2).sum()).item())
    return VALLEY_GRID[int(np.nanargmin(finals))]


VALLEY_STEP_SIZE = Exercise(
    id="2.6",
    name="valley_step_size",
    title="Choose a step size for the valley by experiment",
    reference=_best_valley_lr,
    oracle=_torch_best_valley_lr,
    judge=_judge_valley_lr,
    mistakes=(
        Mistake(
            "η = 2/λ_max = 0.2 is the stability *limit*: there the steep direction keeps its size "
            "and only flips sign. The best rate lies below it.",
            lambda: 0.2,
        ),
        Mistake(
            "η = 1/λ_max = 0.1 is safe, but the flat direction (curvature 1) then shrinks only by "
            "0.9 per step. A larger η balances the two directions.",
            lambda: 0.1,
        ),
        Mistake(
            "you picked the largest rate on the grid, which diverges. Run each rate and compare "
            "the final losses.",
            lambda: 0.25,
        ),
        Mistake(
            "you picked the smallest rate on the grid: the safest, but far too slow in 50 steps.",
            lambda: 0.01,
        ),
    ),
    hints=(
        "Run `final_loss(lr)` for every `lr` in `grid` and look at which one ends lowest.",
        "Along each eigen-direction the error is multiplied by |1 − ηλ| at every step; the best η "
        "makes the flat (λ = 1) and steep (λ = 10) factors equal.",
    ),
)

EXERCISE_SET = ExerciseSet(
    chapter="2",
    title="Gradient descent and backpropagation",
    notebook="02_gradient_descent",
    exercises=(
        LINEAR_REGRESSION_GRAD,
        GRADIENT_DESCENT,
        MLP_BACKWARD,
        NUMERICAL_GRADIENT,
        MAX_STABLE_LR,
        VALLEY_STEP_SIZE,
    ),
)
