"""Exercises 2: Gradient descent and backpropagation (NumPy).

Notebook: ``solutions/02_gradient_descent.ipynb`` (source) →
``exercises/02_gradient_descent.ipynb``.
Expected answers come from :mod:`utils.losses`, :mod:`utils.optim.numpy` and
:mod:`utils.functions`, and each is checked against torch: autograd, ``torch.optim.SGD``,
``torch.linalg.eigvalsh``, declared as each exercise's ``oracle`` and compared item by item
(tuples and dicts included) by ``tests/test_autocheck_frameworks.py``.

Exercise 2.4 asks for an *approximation*, so its reference is the central difference itself and
it has no oracle (the generic oracle test demands agreement to 1e-10). Instead, each of its test
functions carries a torch version of itself as ``f.torch_version``, and
``tests/test_exercises_ch02.py`` checks the reference's directional derivatives against
torch.autograd.
"""

from __future__ import annotations

import numpy as np

from utils import losses
from utils.data import linear_regression
from utils.functions import ill_conditioned_quadratic, quadratic, rosenbrock
from utils.optim.numpy import SGD

from ..spec import Case, Exercise, ExerciseSet, Mistake, multiple_choice

# ---------------------------------------------------------------------------------------------
# References: the quantities each exercise asks for, computed with the course's utils
# ---------------------------------------------------------------------------------------------


def _linear_regression_grad(w, b, x, y):
    """(∂L/∂w, ∂L/∂b) of L = mean((x w + b − y)²), by the chain rule through utils.losses."""
    grad_pred = losses.mse_grad(x @ w + b, y)  # ∂L/∂ŷ = (2/n)(ŷ − y)
    return x.T @ grad_pred, grad_pred.sum()  # ∂ŷᵢ/∂w = xᵢ, ∂ŷᵢ/∂b = 1


def _gradient_descent(grad_fn, theta0, lr, num_steps, stop_on_divergence=True):
    """Iterates θ_0, ..., θ_T of plain gradient descent, with utils.optim.numpy.SGD.

    The run stops before the first iterate that is not finite (inf or nan), which it leaves out.
    """
    theta = np.array(theta0, dtype=np.float64)
    optimizer = SGD([theta], lr=lr)
    path = [theta.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            optimizer.step([grad_fn(theta)])
            if stop_on_divergence and not np.all(np.isfinite(theta)):
                break
            path.append(theta.copy())
    return np.array(path)


def _gradient_descent_until(grad_fn, theta0, lr, tol, max_steps):
    """GD until ‖∇L(θ_t)‖ ≤ tol · ‖∇L(θ_0)‖ or t = max_steps; returns (θ_t, t)."""
    theta = np.array(theta0, dtype=np.float64)
    optimizer = SGD([theta], lr=lr)
    first_norm = None
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(max_steps + 1):
            grad = np.asarray(grad_fn(theta), dtype=np.float64)
            norm = np.linalg.norm(grad)
            first_norm = norm if first_norm is None else first_norm
            if norm <= tol * first_norm or step == max_steps:
                return theta, step
            optimizer.step([grad])
    raise AssertionError("unreachable: the loop returns at step == max_steps")


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


def _directional_check(f, grad_fn, x, direction, delta):
    """(central difference of f along ``direction``, ⟨grad_fn(x), direction⟩): two numbers."""
    numeric = (f(x + delta * direction) - f(x - delta * direction)) / (2 * delta)
    analytic = np.sum(np.asarray(grad_fn(x)) * direction)  # ⟨∇f(x), u⟩
    return float(numeric), float(analytic)


def _max_stable_lr(hessian):
    """2 / a_max of a symmetric Hessian, via utils.functions.quadratic's eigenvalues."""
    return 2.0 / quadratic(hessian).a_max


def _largest_eigenvalue(hvp, v0, num_iters):
    """a_max, the largest eigenvalue of the Hessian behind ``hvp``, by numpy.linalg.eigvalsh."""
    return float(np.linalg.eigvalsh(hvp.hessian())[-1])


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
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            grad = np.asarray(grad_fn(theta.numpy().copy()), dtype=np.float64)
            theta.grad = torch.from_numpy(grad)
            optimizer.step()
            if not bool(torch.isfinite(theta).all()):
                break
            path.append(theta.numpy().copy())
    return np.array(path)


def _torch_gradient_descent_until(grad_fn, theta0, lr, tol, max_steps):
    import torch

    theta = torch.tensor(theta0, dtype=torch.float64)
    optimizer = torch.optim.SGD([theta], lr=lr)
    first_norm, step = None, 0
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            theta.grad = torch.from_numpy(
                np.asarray(grad_fn(theta.numpy().copy()), dtype=np.float64)
            )
            norm = torch.linalg.vector_norm(theta.grad).item()
            first_norm = norm if first_norm is None else first_norm
            if norm <= tol * first_norm or step == max_steps:
                return theta.numpy().copy(), step
            optimizer.step()
            step += 1


def _torch_largest_eigenvalue(hvp, v0, num_iters):
    import torch

    return torch.linalg.eigvalsh(torch.from_numpy(hvp.hessian()))[-1].item()


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


def _diverging_quadratic_inputs(rng):
    curvature = rng.uniform(4.0, 6.0)

    def grad_fn(theta):
        return curvature * theta  # ∇ of (a/2) θ²; η a ≈ 4 > 2: |1 − η a| ≈ 3

    return {"grad_fn": grad_fn, "theta0": np.array([1.0, -0.5]), "lr": 4.0 / curvature,
            "num_steps": 800}  # fmt: skip


def _overflowing_step_inputs(rng):
    def grad_fn(theta):
        return 0.5 * theta  # ∇ of (a/2) θ² with a = 0.5: finite for every finite θ

    # η a = 4 again, but η = 8 > 1: η ∇L overflows while ∇L is still finite. This θ₀ keeps
    # every iterate out of the band where η ∇L overflows but θ − η ∇L would not (torch's fused
    # update would then differ from θ - lr * grad).
    return {"grad_fn": grad_fn, "theta0": np.array([1.5, -0.5]), "lr": 8.0, "num_steps": 800}


def _exploding_quartic_inputs(rng):
    def grad_fn(theta):
        return 4.0 * theta**3  # ∇ of θ⁴: each step roughly cubes a large θ

    return {"grad_fn": grad_fn, "theta0": np.array([rng.uniform(2.5, 3.0)]), "lr": 0.5,
            "num_steps": 20}  # fmt: skip


def _until_quadratic_inputs(scale, tol=1e-6, max_steps=500):
    """An ill-conditioned quadratic ``scale`` · ½(θ₁² + 10 θ₂²) with η = 1/a_max."""

    def make(rng):
        curvatures = scale * np.array([1.0, 10.0])

        def grad_fn(theta):
            return curvatures * theta

        return {"grad_fn": grad_fn, "theta0": rng.normal(size=2), "lr": 1.0 / curvatures[1],
                "tol": tol, "max_steps": max_steps}  # fmt: skip

    return make


def _until_budget_inputs(rng):
    inputs = _until_quadratic_inputs(1.0, tol=1e-12, max_steps=30)(rng)
    return inputs


def _until_diverging_inputs(rng):
    def grad_fn(theta):
        return 5.0 * theta

    return {"grad_fn": grad_fn, "theta0": np.array([1.0]), "lr": 0.8, "tol": 1e-6,
            "max_steps": 50}  # fmt: skip


def _until_at_minimum_inputs(rng):
    target = rng.normal(size=3)

    def grad_fn(theta):
        return 2.0 * (theta - target)

    return {"grad_fn": grad_fn, "theta0": target.copy(), "lr": 0.25, "tol": 1e-8,
            "max_steps": 100}  # fmt: skip


class _Products:
    """``hvp(v)`` = H v for a Hessian the learner never sees, refusing more products than two
    passes of power iteration take: ``2 (num_iters + 1)``. Building H from d products, one per
    unit vector, is therefore refused on the case with d larger than that, as it is out of reach
    for a network. The reference and the oracle read H itself (``hessian()``)."""

    def __init__(self, hessian, num_iters):
        self._hessian = hessian
        self._budget = 2 * (num_iters + 1)
        self._calls = 0

    def __call__(self, v):
        self._calls += 1
        if self._calls > self._budget:
            raise RuntimeError(
                f"hvp was called more than {self._budget} times, 2 (num_iters + 1): power "
                "iteration needs one product per iteration and one for the Rayleigh quotient, "
                "in each of at most two passes"
            )
        return self._hessian @ v

    def hessian(self):
        return self._hessian.copy()


def _products(hessian, v0, num_iters):
    return {"hvp": _Products(hessian, num_iters), "v0": v0, "num_iters": num_iters}


def _eigen_inputs(eigenvalues, num_iters=400):
    """A random rotation of diag(eigenvalues), as Hessian-vector products, and a start v₀."""

    def make(rng):
        size = len(eigenvalues)
        rotation, _ = np.linalg.qr(rng.normal(size=(size, size)))
        hessian = rotation @ np.diag(eigenvalues) @ rotation.T
        hessian = (hessian + hessian.T) / 2
        return _products(hessian, rng.normal(size=size), num_iters)

    return make


def _eigen_linear_regression(rng):
    x, _ = linear_regression(n=50, w=[2.0, -1.0], seed=int(rng.integers(1000)))
    design = np.hstack([x, np.ones((len(x), 1))])
    hessian = 2.0 / len(x) * design.T @ design  # ∇² of the MSE
    return _products(hessian, rng.normal(size=3), 400)


def _eigen_rosenbrock(rng):
    hessian = rosenbrock().hessian(np.array([0.0, 1.0]))  # curvature −398 along x₁, 200 along x₂
    return _products(hessian, rng.normal(size=2), 400)


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


def _unit_direction(rng, shape):
    direction = rng.normal(size=shape)
    return direction / np.linalg.norm(direction)  # a random direction u with ‖u‖ = 1


def _with_torch_version(f, torch_version):
    f.torch_version = torch_version  # for the tests' torch.autograd check; learners call f(x)
    return f


def _rosenbrock_check_inputs(rng):
    banana = rosenbrock()

    def f(x):
        return float(banana.f(x))

    def torch_f(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    return {"f": _with_torch_version(f, torch_f), "grad_fn": banana.grad,
            "x": rng.uniform(-1.5, 1.5, size=2), "direction": _unit_direction(rng, 2),
            "delta": 1e-5}  # fmt: skip


def _mse_check_inputs(rng):
    target = rng.normal(size=(3, 4))

    def f(x):
        return float(losses.mse(x, target))

    def torch_f(x):
        import torch

        return torch.nn.functional.mse_loss(x, torch.from_numpy(target))

    return {"f": _with_torch_version(f, torch_f), "grad_fn": lambda x: losses.mse_grad(x, target),
            "x": rng.normal(size=(3, 4)), "direction": _unit_direction(rng, (3, 4)),
            "delta": 1e-4}  # fmt: skip


def _cross_entropy_check_inputs(missing_mean=False):
    def make(rng):
        labels = rng.integers(0, 3, size=5)

        def f(x):
            return float(losses.cross_entropy(x, labels))

        def torch_f(x):
            import torch

            return torch.nn.functional.cross_entropy(x, torch.from_numpy(labels))

        def grad_fn(x):
            grad = losses.cross_entropy_grad(x, labels)
            return grad * len(labels) if missing_mean else grad  # the bug: no 1/n

        return {"f": _with_torch_version(f, torch_f), "grad_fn": grad_fn,
                "x": 2.0 * rng.normal(size=(5, 3)), "direction": _unit_direction(rng, (5, 3)),
                "delta": 1e-4}  # fmt: skip

    return make


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
    return theta0[None, :] - lr * steps * g0  # θ_t = θ_0 − t η ∇L(θ_0)


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


def _gd_with_divergent_row(grad_fn, theta0, lr, num_steps):
    """Stops at the first non-finite iterate, but keeps it in the trajectory."""
    full = _gradient_descent(grad_fn, theta0, lr, num_steps, stop_on_divergence=False)
    finite = np.all(np.isfinite(full), axis=1)
    last = len(full) if finite.all() else int(np.argmin(finite)) + 1
    return full[:last]


def _gd_tests_the_gradient(grad_fn, theta0, lr, num_steps):
    """Stops when ∇L(θ_t) is not finite, but never tests θ_{t+1} itself."""
    theta, path = np.array(theta0, dtype=np.float64), [np.array(theta0, dtype=np.float64)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            grad = np.asarray(grad_fn(theta))
            if not np.all(np.isfinite(grad)):
                break
            theta = theta - lr * grad
            path.append(theta)
    return np.array(path)


def _forward_check(f, grad_fn, x, direction, delta):
    numeric = (f(x + delta * direction) - f(x)) / delta  # forward difference: error O(Δ)
    return float(numeric), _directional_check(f, grad_fn, x, direction, delta)[1]


def _until_counting_evaluations(grad_fn, theta0, lr, tol, max_steps):
    theta, steps = _gradient_descent_until(grad_fn, theta0, lr, tol, max_steps)
    return theta, steps + 1


def _until_test_after_update(grad_fn, theta0, lr, tol, max_steps):
    """Steps first, then tests the gradient it just used: one step too many."""
    theta = np.array(theta0, dtype=np.float64)
    first_norm = np.linalg.norm(grad_fn(theta))
    for step in range(1, max_steps + 1):
        grad = grad_fn(theta)
        theta = theta - lr * grad
        if np.linalg.norm(grad) <= tol * first_norm:
            return theta, step
    return theta, max_steps


def _until_absolute_tol(grad_fn, theta0, lr, tol, max_steps):
    theta = np.array(theta0, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(max_steps + 1):
            grad = grad_fn(theta)
            if np.linalg.norm(grad) <= tol or step == max_steps:  # ‖g‖ ≤ tol, not relative
                return theta, step
            theta = theta - lr * grad
    return theta, max_steps


def _until_strict(grad_fn, theta0, lr, tol, max_steps):
    """``while ‖g‖ >= tol ‖g₀‖``: a zero gradient at θ₀ never passes the test."""
    theta = np.array(theta0, dtype=np.float64)
    grad, steps = grad_fn(theta), 0
    first_norm = np.linalg.norm(grad)
    while np.linalg.norm(grad) >= tol * first_norm and steps < max_steps:
        theta = theta - lr * grad
        grad, steps = grad_fn(theta), steps + 1
    return theta, steps


def _until_without_budget(grad_fn, theta0, lr, tol, max_steps):
    """``while ‖g‖ > tol ‖g₀‖``, no max_steps: a divergent run ends only when ‖g‖ is nan."""
    theta = np.array(theta0, dtype=np.float64)
    grad = grad_fn(theta)
    first_norm, steps = np.linalg.norm(grad), 0
    with np.errstate(over="ignore", invalid="ignore"):
        while np.linalg.norm(grad) > tol * first_norm and steps < 100_000:
            theta = theta - lr * grad
            grad, steps = grad_fn(theta), steps + 1
    return theta, steps


def _power_iteration(hvp, v0, num_iters, normalise=True, rayleigh=True):
    """Plain power iteration: the eigenvalue of largest *magnitude* (one pass, no shift)."""
    v = np.array(v0, dtype=np.float64)
    v = v / np.linalg.norm(v) if normalise else v
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_iters):
            w = hvp(v)
            v = w / np.linalg.norm(w) if normalise else w
        product = hvp(v)
        if not rayleigh:
            return float(np.linalg.norm(product))  # ‖Hv‖ = |a| of the dominant eigenvalue
        return float(v @ product / (v @ v))  # Rayleigh quotient vᵀHv / vᵀv


def _shifted_power_iteration(hvp, v0, num_iters, normalise=True, add_back=True):
    """Two passes: if the dominant eigenvalue μ is negative, iterate again on H − μI."""
    mu = _power_iteration(hvp, v0, num_iters, normalise=normalise)
    if not mu < 0:
        return mu
    shifted = _power_iteration(lambda v: hvp(v) - mu * v, v0, num_iters, normalise=normalise)
    return shifted + mu if add_back else shifted


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
            "∂L/∂w needs the inputs: by the chain rule ∂ŷᵢ/∂w = xᵢ, so ∂L/∂w = (2/n) xᵀ(ŷ − y), "
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
    title="Gradient descent that stops when it diverges",
    reference=_gradient_descent,
    oracle=_torch_gradient_descent,
    cases=(
        Case("a 2-D quadratic, η = 1/a_max, 25 steps", _quadratic_gd_inputs, seed=21),
        Case(
            "Rosenbrock's function from (−1.2, 1), η = 0.001, 40 steps",
            _rosenbrock_gd_inputs,
            seed=22,
        ),  # fmt: skip
        Case("a 1-D double well, η = 0.05, 15 steps", _one_dimensional_gd_inputs, seed=23),
        Case("zero steps: only the starting point", _no_step_gd_inputs, seed=24),
        Case(
            "a quadratic with η a ≈ 4 > 2, 800 steps: the iterates overflow",
            _diverging_quadratic_inputs,
            seed=25,
        ),
        Case(
            "θ⁴ from θ₀ ≈ 3 with η = 0.5, 20 steps: it explodes", _exploding_quartic_inputs, seed=26
        ),  # fmt: skip
        Case(
            "a flat quadratic (a = 0.5) with η = 8: the step overflows, the gradient stays finite",
            _overflowing_step_inputs,
            seed=27,
        ),
    ),
    mistakes=(
        Mistake(
            "your run kept going after it diverged: the trajectory ends in inf or nan rows. "
            "Stop as soon as an update gives a θ that is not finite (`np.isfinite`).",
            lambda grad_fn, theta0, lr, num_steps: _gradient_descent(
                grad_fn, theta0, lr, num_steps, stop_on_divergence=False
            ),
        ),
        Mistake(
            "your trajectory stops at the right step but keeps the first non-finite iterate. "
            "Leave it out: every row you return must be finite.",
            _gd_with_divergent_row,
        ),
        Mistake(
            "you tested the gradient, not θ. When η > 1 the step η∇L can overflow while ∇L is "
            "still finite, and an inf iterate slips into your trajectory. Test each new θ with "
            "`np.isfinite`.",
            _gd_tests_the_gradient,
        ),
        Mistake(
            "you climbed: θ + η∇L is gradient *ascent*. Gradient descent subtracts, "
            "θ ← θ − η ∇L(θ).",
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
            "you evaluated the gradient only once, at θ₀. Recompute ∇L at the current θ on every "
            "step.",
            _gd_frozen_gradient,
        ),
    ),
    hints=(
        "Keep a list of iterates that starts with a copy of `theta0`; each step appends the new θ. "
        "Without divergence, after `num_steps` steps the list has `num_steps + 1` rows.",
        "After each update, test `np.all(np.isfinite(theta))`; if it fails, `break` before "
        "appending.",
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
            "n = 8 samples, d = 4 inputs, d_h = 6 hidden units, C = 3 classes",
            _mlp_inputs(8, 4, 6, 3),
            seed=31,
        ),  # fmt: skip
        Case("n = 16, d = 2, d_h = 5, C = 4", _mlp_inputs(16, 2, 5, 4), seed=32),
        Case("a single sample: n = 1, d = 3, d_h = 7, C = 2", _mlp_inputs(1, 3, 7, 2), seed=33),
    ),
    mistakes=(
        Mistake(
            "the ReLU mask is missing: the gradient flows back through a hidden unit only where "
            "it was active, ∂L/∂Z₁ = (∂L/∂A₁) ⊙ 1[Z₁ > 0].",
            _mlp_without_relu_mask,
        ),
        Mistake(
            "every gradient is n times too large: the loss is the *mean* over the n samples, so "
            "∂L/∂logits = (softmax − one-hot) / n.",
            _mlp_summed_loss,
        ),
        Mistake(
            "your bias gradients are n times too small. A bias is added to every row, so its "
            "gradient is the *sum* over the rows of ∂L/∂Z (the 1/n is already inside ∂L/∂Z).",
            _mlp_bias_mean,
        ),
        Mistake(
            "∂L/∂logits is softmax(logits) − one-hot(labels), divided by n: you forgot to "
            "subtract the one-hot labels.",
            _mlp_no_one_hot,
        ),
        Mistake(
            "your gradients have the wrong sign: ∂L/∂logits = (softmax − one-hot) / n, "
            "prediction minus target.",
            lambda params, x, labels: _scaled(
                _mlp_backward(params, x, labels), {n: -1.0 for n in params}
            ),
        ),
    ),
    hints=(
        "Run the forward pass and keep Z₁ and A₁: the backward pass needs them. Then start from "
        "∂L/∂logits = (softmax(logits) − one-hot(labels)) / n.",
        "Every gradient has the shape of its variable. For logits = A₁ W₂ + b₂: "
        "∂L/∂W₂ = A₁ᵀ (∂L/∂logits), ∂L/∂b₂ = the column sums of ∂L/∂logits, and "
        "∂L/∂A₁ = (∂L/∂logits) W₂ᵀ.",
        "Through the ReLU: ∂L/∂Z₁ = (∂L/∂A₁) * (Z₁ > 0). Then ∂L/∂W₁ = Xᵀ (∂L/∂Z₁) and ∂L/∂b₁ "
        "= the column sums of ∂L/∂Z₁.",
    ),
    oracle=_torch_mlp_backward,
)

DIRECTIONAL_CHECK = Exercise(
    id="2.4",
    name="directional_check",
    title="A gradient check along a random direction",
    reference=_directional_check,
    points=2,
    rtol=1e-6,
    atol=1e-8,
    cases=(
        Case(
            "Rosenbrock's function at a random point, Δ = 1e-5", _rosenbrock_check_inputs, seed=41
        ),  # fmt: skip
        Case("the MSE of a (3, 4) prediction, Δ = 1e-4", _mse_check_inputs, seed=42),
        Case(
            "the cross-entropy of (5, 3) logits, Δ = 1e-4", _cross_entropy_check_inputs(), seed=43
        ),  # fmt: skip
        Case(
            "the cross-entropy with a buggy `grad_fn` (its 1/n is missing), Δ = 1e-4",
            _cross_entropy_check_inputs(missing_mean=True),
            seed=44,
        ),
    ),
    mistakes=(
        Mistake(
            "your first number is the forward difference (f(x + Δu) − f(x)) / Δ, whose error is "
            "of order Δ. Use the central difference (f(x + Δu) − f(x − Δu)) / (2Δ): order Δ².",
            _forward_check,
        ),
        Mistake(
            "your first number is twice the directional derivative: the central difference spans "
            "from x − Δu to x + Δu, a distance of 2Δ, so divide by 2Δ.",
            lambda f, grad_fn, x, direction, delta: (
                2 * _directional_check(f, grad_fn, x, direction, delta)[0],
                _directional_check(f, grad_fn, x, direction, delta)[1],
            ),
        ),
        Mistake(
            "your second number ignores the direction: it sums the gradient's entries. The "
            "directional derivative is the inner product ⟨∇f(x), u⟩ = Σᵢ gᵢ uᵢ.",
            lambda f, grad_fn, x, direction, delta: (
                _directional_check(f, grad_fn, x, direction, delta)[0],
                float(np.sum(grad_fn(x))),
            ),
        ),
        Mistake(
            "your second number is the gradient's norm ‖∇f(x)‖, the slope along the steepest "
            "direction. Along u the slope is ⟨∇f(x), u⟩.",
            lambda f, grad_fn, x, direction, delta: (
                _directional_check(f, grad_fn, x, direction, delta)[0],
                float(np.linalg.norm(grad_fn(x))),
            ),
        ),
        Mistake(
            "your two numbers are swapped: return (numerical, analytic), the finite difference "
            "first.",
            lambda f, grad_fn, x, direction, delta: _directional_check(
                f, grad_fn, x, direction, delta
            )[::-1],
        ),
    ),
    hints=(
        "The check needs only two evaluations of f, at x + Δu and at x − Δu, whatever the size "
        "of x.",
        "The analytic side is the slope of the claimed gradient along u: the sum over every "
        "entry of `grad_fn(x) * direction`.",
        "Return two floats, `(numeric, analytic)`. For a correct gradient they agree to about "
        "Δ²; on the buggy case they must not.",
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
            "1/a_max is a good learning rate, but not the largest stable one. Gradient descent "
            "converges as long as |1 − η a| < 1 for every eigenvalue a, that is η < 2/a_max.",
            lambda hessian: 1.0 / np.linalg.eigvalsh(hessian)[-1],
        ),
        Mistake(
            "you used the smallest eigenvalue. The stiffest direction, with the *largest* "
            "eigenvalue a_max, is the first to diverge: η < 2/a_max.",
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
        "On a quadratic with Hessian H, the error along an eigenvector with eigenvalue a is "
        "multiplied by (1 − η a) at every step.",
        "Every factor must satisfy |1 − η a| < 1. Which eigenvalue gives the tightest bound on η?",
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
            "overshoots further at every step (η > 2/a_max)."
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
            "η = 2/a_max = 0.2 is the stability *limit*: there the steep direction keeps its size "
            "and only flips sign. The best rate lies below it.",
            lambda: 0.2,
        ),
        Mistake(
            "η = 1/a_max = 0.1 is safe, but the flat direction (curvature 1) then shrinks only by "
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
        "Along each eigen-direction the error is multiplied by |1 − η a| at every step; the best "
        "η makes the flat (a = 1) and steep (a = 10) factors equal.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 2.7 and 2.8: a stopping rule, and a_max from Hessian-vector products
# ---------------------------------------------------------------------------------------------

STOPPING_RULE = Exercise(
    id="2.7",
    name="gradient_descent_until",
    title="A scale-free stopping rule",
    reference=_gradient_descent_until,
    oracle=_torch_gradient_descent_until,
    points=2,
    cases=(
        Case(
            "a valley with curvatures 1 and 10, tol = 1e-6", _until_quadratic_inputs(1.0), seed=71
        ),  # fmt: skip
        Case(
            "the same valley with the loss scaled by 10⁶ (curvatures 10⁶ and 10⁷)",
            _until_quadratic_inputs(1e6),
            seed=72,
        ),
        Case(
            "the same valley with the loss scaled by 10⁻⁶",
            _until_quadratic_inputs(1e-6),
            seed=73,
        ),
        Case("tol = 1e-12 and a budget of 30 steps", _until_budget_inputs, seed=74),
        Case("a divergent run: |1 − η a| = 3, max_steps = 50", _until_diverging_inputs, seed=75),
        Case("θ₀ is already the minimum: the gradient is 0", _until_at_minimum_inputs, seed=76),
    ),
    mistakes=(
        Mistake(
            "your step count is one too high: count the updates you made, not the gradients you "
            "evaluated. A run that stops at θ₀ has taken 0 steps.",
            _until_counting_evaluations,
        ),
        Mistake(
            "you tested the rule after the update, so you return the iterate one step past the "
            "one whose gradient passed the test. Test ‖∇L(θ_t)‖ first, then update.",
            _until_test_after_update,
        ),
        Mistake(
            "you compared ‖∇L(θ_t)‖ with tol itself. The rule is relative, ‖∇L(θ_t)‖ ≤ tol · "
            "‖∇L(θ₀)‖, so that scaling the loss by 10⁶ does not change when the run stops.",
            _until_absolute_tol,
        ),
        Mistake(
            "your loop has no max_steps guard: the budget case runs on, and the divergent case "
            "stops only when the gradient overflows to nan. Also stop when t reaches "
            "`max_steps`.",
            _until_without_budget,
        ),
        Mistake(
            "you stop only when ‖∇L(θ_t)‖ < tol · ‖∇L(θ₀)‖, strictly. When θ₀ is already the "
            "minimum both sides are 0 and your run never stops early. The rule is ≤.",
            _until_strict,
        ),
    ),
    hints=(
        "Compute ‖∇L(θ₀)‖ once, at the start: the tolerance is relative to it.",
        "In the loop, for t = 0, 1, 2, ...: evaluate the gradient at θ_t, return (θ_t, t) if its "
        "norm is at most tol · ‖∇L(θ₀)‖ or if t = max_steps, and only then update.",
        "`np.linalg.norm(grad)` is the Euclidean norm ‖g‖ for an array of any shape.",
    ),
)

LARGEST_EIGENVALUE = Exercise(
    id="2.8",
    name="largest_eigenvalue",
    title="Estimate a_max by power iteration",
    reference=_largest_eigenvalue,
    oracle=_torch_largest_eigenvalue,
    points=2,
    rtol=1e-6,
    atol=1e-8,
    cases=(
        Case(
            "a 3 × 3 Hessian with eigenvalues 1, 4 and 10", _eigen_inputs([1.0, 4.0, 10.0]), seed=81
        ),  # fmt: skip
        Case(
            "a 4 × 4 Hessian with eigenvalues 0.5, 2, 5 and 12",
            _eigen_inputs([0.5, 2.0, 5.0, 12.0]),
            seed=82,
        ),
        Case(
            "the Hessian of the MSE of linear regression with 2 features",
            _eigen_linear_regression,
            seed=83,
        ),
        Case(
            "a saddle: eigenvalues −3, 1 and 6 (a_max is also the largest in magnitude)",
            _eigen_inputs([-3.0, 1.0, 6.0]),
            seed=84,
        ),
        Case(
            "a saddle whose negative curvature dominates: eigenvalues −9, −1, 2 and 4",
            _eigen_inputs([-9.0, -1.0, 2.0, 4.0]),
            seed=85,
        ),
        Case(
            "Rosenbrock's function at (0, 1): curvature −398 along x₁ and 200 along x₂",
            _eigen_rosenbrock,
            seed=86,
        ),
        Case(
            "a 60 × 60 Hessian, a_max = 10 and the others at most 3, with num_iters = 25: "
            "52 products are allowed, fewer than 60 columns",
            _eigen_inputs([10.0, 3.0, *np.linspace(0.1, 2.5, 58)], num_iters=25),
            seed=87,
        ),
    ),
    mistakes=(
        Mistake(
            "your estimate is nan: you never normalised v, so after many products with H its "
            "entries overflow. Divide v by its norm after every product.",
            lambda hvp, v0, num_iters: _shifted_power_iteration(hvp, v0, num_iters, False),
        ),
        Mistake(
            "you returned ‖Hv‖, which is |a| for the eigenvalue of largest magnitude, never "
            "negative. Where a negative curvature dominates (the saddles) that is not a_max. Use "
            "the Rayleigh quotient vᵀHv (with ‖v‖ = 1), which keeps the sign.",
            lambda hvp, v0, num_iters: _power_iteration(hvp, v0, num_iters, rayleigh=False),
        ),
        Mistake(
            "plain power iteration finds the eigenvalue of largest *magnitude*: on a saddle "
            "whose negative curvature dominates it returns that negative eigenvalue. When your "
            "estimate μ is negative, run power iteration again on H − μI and add μ back.",
            _power_iteration,
        ),
        Mistake(
            "you ran the second pass on H − μI but forgot to add μ back: its largest eigenvalue "
            "is a_max − μ.",
            lambda hvp, v0, num_iters: _shifted_power_iteration(hvp, v0, num_iters, add_back=False),
        ),
    ),
    hints=(
        "Start from v = v0 / ‖v0‖ and repeat `num_iters` times: v ← Hv / ‖Hv‖. Then return the "
        "Rayleigh quotient vᵀHv.",
        "Power iteration converges to the eigenvalue of largest magnitude, which may be negative. "
        "The eigenvalues of H − μI are a − μ: for a negative μ they are all ≥ 0.",
        "If the first estimate μ is negative, repeat with the products `lambda v: hvp(v) - mu * "
        "v` and return the new estimate plus μ.",
    ),
)

# ---------------------------------------------------------------------------------------------
# Concept questions: the learner answers with the number of an option, or with a number
# ---------------------------------------------------------------------------------------------

#: 2.9's loss L(θ) = θ₁² + 3 θ₂²: its Hessian.
CONCEPT_HESSIAN = np.diag([2.0, 6.0])


def _error_order(errors_at):
    """The option (1, 2 or 3) of the slope of log(error) against log(Δ), from two Δs."""
    coarse, fine = errors_at(1e-2), errors_at(1e-3)
    return int(np.clip(round(np.log10(coarse / fine)), 1, 3))


def _central_difference_order():
    """Measured on Rosenbrock's function (utils) at (−1.2, 1) along the first axis."""
    banana, point, unit = rosenbrock(), np.array([-1.2, 1.0]), np.array([1.0, 0.0])
    exact = banana.grad(point) @ unit

    def error(delta):
        numeric = (banana.f(point + delta * unit) - banana.f(point - delta * unit)) / (2 * delta)
        return abs(numeric - exact)

    return _error_order(error)


def _torch_central_difference_order():
    import torch

    point = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    torch.sin(point).backward()
    exact = point.grad.item()

    def error(delta):
        with torch.no_grad():
            return abs(((torch.sin(point + delta) - torch.sin(point - delta)) / (2 * delta)).item()
                       - exact)  # fmt: skip

    return _error_order(error)


def _edge_of_stability_option(trajectory):
    """Option 3 when |θ_t| stays |θ₀| and the sign flips at every step."""
    trajectory = np.asarray(trajectory)
    constant = np.allclose(np.abs(trajectory), abs(trajectory[0]))
    flips = np.all(np.sign(trajectory[1:]) == -np.sign(trajectory[:-1]))
    return 3 if constant and flips else 1


def _edge_of_stability():
    """GD with η = 2/a on (a/2) θ², a = 4, from θ₀ = 1 (utils.optim.numpy.SGD)."""
    return _edge_of_stability_option(
        _gradient_descent(lambda theta: 4.0 * theta, np.array([1.0]), 0.5, 10)[:, 0]
    )


def _torch_edge_of_stability():
    import torch

    theta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=0.5)
    trajectory = [theta.item()]
    for _ in range(10):
        optimizer.zero_grad()
        (2.0 * theta**2).sum().backward()  # (a/2) θ² with a = 4
        optimizer.step()
        trajectory.append(theta.item())
    return _edge_of_stability_option(trajectory)


STABLE_RATE = Exercise(
    id="2.9",
    name="stable_rate_bound",
    title="The largest stable step on a quadratic",
    reference=lambda: _max_stable_lr(CONCEPT_HESSIAN),
    oracle=lambda: _torch_max_stable_lr(CONCEPT_HESSIAN),
    rtol=1e-3,
    mistakes=(
        Mistake(
            "that is 1/a_max, a safe step. The question asks for the bound itself: gradient "
            "descent converges for every η below 2/a_max.",
            lambda: 1 / 6,
        ),
        Mistake(
            "you took the coefficient 3 as the curvature. The curvature is the second "
            "derivative: ∂²(3θ₂²)/∂θ₂² = 6.",
            lambda: 2 / 3,
        ),
        Mistake(
            "you used the smaller curvature, 2. The steeper direction, curvature 6, is the first "
            "to diverge.",
            lambda: 1.0,
        ),
        Mistake(
            "you added the curvatures (the trace of H). The bound comes from the largest one "
            "alone.",
            lambda: 2 / 8,
        ),
    ),
    hints=(
        "Write the Hessian of L(θ) = θ₁² + 3θ₂²: it is diagonal. Its entries are the curvatures.",
        "Along a direction with curvature a, one step multiplies the error by 1 − η a. Which "
        "curvature limits η first?",
    ),
)

DIFFERENCE_ORDER = Exercise(
    id="2.10",
    name="central_difference_order",
    title="The error of a central difference",
    reference=_central_difference_order,
    judge=multiple_choice(4, _central_difference_order),
    oracle=_torch_central_difference_order,
    mistakes=(
        Mistake(
            "order Δ is the error of the forward difference (f(θ + Δ) − f(θ))/Δ. In the central "
            "difference the Δ f″ terms of the two Taylor expansions cancel.",
            lambda: 1,
        ),
        Mistake(
            "write both Taylor expansions to the third order: the f‴ terms do not cancel, so "
            "the error is (Δ²/6) f‴, not of order Δ³.",
            lambda: 3,
        ),
        Mistake(
            "a finite difference is exact only for special functions (a central difference for "
            "quadratics). For a general smooth f it has an error that shrinks with Δ.",
            lambda: 4,
        ),
    ),
    hints=(
        "Expand f(θ + Δ) and f(θ − Δ) in Taylor series around θ, up to the Δ³ terms.",
        "Subtract the two expansions: which powers of Δ survive, and what is left after dividing "
        "by 2Δ?",
    ),
)

EDGE_OF_STABILITY = Exercise(
    id="2.11",
    name="edge_of_stability_option",
    title="Exactly at η = 2/a_max",
    reference=_edge_of_stability,
    judge=multiple_choice(4, _edge_of_stability),
    oracle=_torch_edge_of_stability,
    mistakes=(
        Mistake(
            "at η = 2/a_max the factor along the steepest eigenvector is 1 − η a_max = −1: its "
            "component never shrinks, so gradient descent does not converge, even slowly.",
            lambda: 1,
        ),
        Mistake(
            "diverging needs |1 − η a| > 1, that is η > 2/a_max. At exactly 2/a_max the factor "
            "is −1: the size of that component stays the same.",
            lambda: 2,
        ),
        Mistake(
            "one step lands on the minimum of a 1-D quadratic when η = 1/a, not 2/a: then the "
            "factor 1 − η a is 0.",
            lambda: 4,
        ),
    ),
    hints=(
        "On a quadratic, one step multiplies the component of the error along an eigenvector "
        "with eigenvalue a by 1 − η a.",
        "What is 1 − η a_max for η = 2/a_max? What does multiplying by that number, again and "
        "again, do to a number?",
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
        DIRECTIONAL_CHECK,
        MAX_STABLE_LR,
        VALLEY_STEP_SIZE,
        STOPPING_RULE,
        LARGEST_EIGENVALUE,
        STABLE_RATE,
        DIFFERENCE_ORDER,
        EDGE_OF_STABILITY,
    ),
)
