"""Exercises 5: Stochastic and mini-batch gradient descent.

Notebook: ``solutions/05_stochastic_gradient_descent.ipynb`` (source) →
``exercises/05_stochastic_gradient_descent.ipynb``. The model is chapter 5's: a linear model
ŷ = Xθ under the MSE, whose mini-batch gradient (5.1) comes from :func:`utils.losses.mse_grad`
and whose SGD steps are taken by :class:`utils.optim.numpy.SGD`. The oracles are torch
(``torch.autograd``, ``torch.optim.SGD``, ``torch.utils.data.DataLoader``) and, for the variance
of the mini-batch gradient, the exact average over every possible batch.

Exercise 5.5 is an experiment: the learner picks a constant rate for B = 8 and the judge runs
it on the chapter's regression problem (:func:`utils.data.linear_regression`).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from utils import losses
from utils.data import linear_regression
from utils.optim.numpy import SGD

from ..spec import Case, Exercise, ExerciseSet, Mistake

# ---------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------


def _minibatch_grad(theta, features, y, batch):
    """(5.1): ∇L_B(θ) = X_Bᵀ ∂L/∂ŷ with L_B the MSE on the examples ``batch``."""
    x_batch = features[batch]
    return x_batch.T @ losses.mse_grad(x_batch @ theta, y[batch])  # chain rule


def _epoch_counts(n, batch_size, drop_last):
    """(iterations, examples seen) in one epoch without replacement."""
    n, batch_size = int(n), int(batch_size)
    iterations = n // batch_size if drop_last else -(-n // batch_size)  # floor or ceil
    return iterations, min(n, iterations * batch_size)


def _sgd_epoch(theta0, features, y, order, batch_size, lr):
    """One epoch: consecutive batches of ``order``, the last one smaller, one step each."""
    theta = np.array(theta0, dtype=np.float64)
    optimizer = SGD([theta], lr=lr)
    for start in range(0, len(order), int(batch_size)):
        batch = order[start : start + int(batch_size)]
        optimizer.step([_minibatch_grad(theta, features, y, batch)])  # θ ← θ − η ∇L_B(θ)
    return theta


def _gradient_variance(per_example_grads, batch_size, replacement):
    """E‖ĝ_B − ḡ‖²: σ²/B with replacement, σ²/B · (n − B)/(n − 1) without."""
    n, batch_size = len(per_example_grads), int(batch_size)
    deviations = per_example_grads - per_example_grads.mean(axis=0)
    sigma2 = np.sum(deviations**2) / n  # σ² = (1/n) Σ_i ‖g_i − ḡ‖²
    if replacement:
        return sigma2 / batch_size
    return sigma2 / batch_size * (n - batch_size) / (n - 1)  # finite-population factor


# ---------------------------------------------------------------------------------------------
# The experiment of 5.5: chapter 5's regression, B = 8, five epochs from θ = 0
# ---------------------------------------------------------------------------------------------

_BATCH_SIZE, _EPOCHS, _TOLERANCE = 8, 5, 0.10
_GRID = np.geomspace(1e-3, 1.0, 19)


@functools.cache
def _problem():
    x, y = linear_regression(n=256, noise=0.5, seed=0)
    return np.hstack([x, np.ones_like(x)]), y[:, 0]


def _final_loss(lr):
    """L(θ) after 5 epochs of SGD with B = 8 (shuffles from seed 0) at the constant rate lr."""
    features, y = _problem()
    rng, theta = np.random.default_rng(0), np.zeros(features.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):  # a too-large rate diverges
        for _ in range(_EPOCHS):
            theta = _sgd_epoch(theta, features, y, rng.permutation(len(y)), _BATCH_SIZE, lr)
        return float(losses.mse(features @ theta, y))


@functools.cache
def _grid_finals():
    return tuple(_final_loss(lr) for lr in _GRID)


def _best_rate():
    """The rate of the grid with the lowest final loss."""
    return _GRID[int(np.nanargmin(_grid_finals()))]


def _judge_rate(value):
    lr = float(value)
    if not 0 < lr <= 1:
        return f"your rate is {lr:.6g}; choose a learning rate with 0 < η ≤ 1."
    final, best = _final_loss(lr), np.nanmin(_grid_finals())
    if np.isfinite(final) and final <= (1 + _TOLERANCE) * best:
        return None
    side = "small: the run has not converged yet" if lr < _best_rate() else "large"
    features, y = _problem()
    start = losses.mse(np.zeros(len(y)), y)  # the loss at θ = 0
    ending = f"ends at {final:.4g}"
    if not np.isfinite(final) or final > start:
        ending = f"diverges (its loss ends at {final:.4g}, above the starting {start:.4g})"
    return (
        f"with η = {lr:.4g} the run {ending}, more than 10 % above the best final loss on the "
        f"grid ({best:.4g}). Your rate is too {side}."
    )


def _largest_stable_rate_on_grid():
    """The largest rate of the grid whose run ends below its starting loss (exercise 4.3)."""
    features, y = _problem()
    start = losses.mse(np.zeros(len(y)), y)
    return max(lr for lr, final in zip(_GRID, _grid_finals(), strict=True) if final < start)


def _full_batch_limit():
    features, _ = _problem()
    return 2 / np.linalg.eigvalsh(2 / len(features) * features.T @ features)[-1]  # 2/λ_max


# ---------------------------------------------------------------------------------------------
# Oracles (imported only when a test calls them)
# ---------------------------------------------------------------------------------------------


def _torch_mse(theta, x_batch, y_batch):
    import torch

    return torch.nn.functional.mse_loss(x_batch @ theta, y_batch)


def _torch_minibatch_grad(theta, features, y, batch):
    import torch

    theta = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    index = torch.as_tensor(batch)
    _torch_mse(theta, torch.tensor(features)[index], torch.tensor(y)[index]).backward()
    return theta.grad.numpy()


def _torch_epoch_counts(n, batch_size, drop_last):
    import torch

    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.arange(int(n))),
        batch_size=int(batch_size),
        drop_last=bool(drop_last),
    )
    return len(loader), sum(len(indices) for (indices,) in loader)


def _torch_sgd_epoch(theta0, features, y, order, batch_size, lr):
    import torch

    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=float(lr))
    features, y = torch.tensor(features), torch.tensor(y)
    for batch in torch.split(torch.as_tensor(order), int(batch_size)):
        optimizer.zero_grad()
        _torch_mse(theta, features[batch], y[batch]).backward()
        optimizer.step()
    return theta.detach().numpy()


def _exact_gradient_variance(per_example_grads, batch_size, replacement):
    """The average of ‖ĝ_B − ḡ‖² over every possible batch, each equally likely."""
    n, mean = len(per_example_grads), per_example_grads.mean(axis=0)
    if replacement:
        batches = itertools.product(range(n), repeat=int(batch_size))
    else:
        batches = itertools.combinations(range(n), int(batch_size))
    errors = [np.sum((per_example_grads[list(b)].mean(axis=0) - mean) ** 2) for b in batches]
    return float(np.mean(errors))


def _torch_best_rate():
    """The grid search of 5.5 with every run stepped by torch.optim.SGD."""
    import torch

    features, y = _problem()
    finals = []
    for lr in _GRID:
        rng, theta = np.random.default_rng(0), np.zeros(features.shape[1])
        for _ in range(_EPOCHS):
            theta = _torch_sgd_epoch(theta, features, y, rng.permutation(len(y)), _BATCH_SIZE, lr)
        with torch.no_grad():
            loss = _torch_mse(torch.tensor(theta), torch.tensor(features), torch.tensor(y))
        finals.append(loss.item())
    return _GRID[int(np.nanargmin(finals))]


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def _regression(rng, n, d):
    features = rng.normal(size=(n, d))
    y = features @ rng.normal(size=d) + 0.3 * rng.normal(size=n)
    return features, y


def _grad_case(n, d, batch):
    def make(rng):
        features, y = _regression(rng, n, d)
        indices = batch(rng) if callable(batch) else np.asarray(batch, dtype=np.int64)
        return {"theta": rng.normal(size=d), "features": features, "y": y, "batch": indices}

    return make


def _counts_case(n, batch_size, drop_last):
    return lambda rng: {
        "n": np.int64(n),
        "batch_size": np.int64(batch_size),
        "drop_last": bool(drop_last),
    }


def _epoch_case(n, d, batch_size, lr):
    def make(rng):
        features, y = _regression(rng, n, d)
        return {
            "theta0": rng.normal(size=d),
            "features": features,
            "y": y,
            "order": rng.permutation(n),
            "batch_size": np.int64(batch_size),
            "lr": np.float64(lr),
        }

    return make


def _variance_case(n, d, batch_size, replacement):
    return lambda rng: {
        "per_example_grads": rng.normal(size=(n, d)) + rng.normal(size=d),
        "batch_size": np.int64(batch_size),
        "replacement": bool(replacement),
    }


# ---------------------------------------------------------------------------------------------
# Mistaken epochs (exercise 5.3)
# ---------------------------------------------------------------------------------------------


def _epoch_with(theta0, order, batch_size, lr, grad):
    theta = np.array(theta0, dtype=np.float64)
    for start in range(0, len(order), int(batch_size)):
        theta = theta - lr * grad(theta, order[start : start + int(batch_size)])
    return theta


def _epoch_drop_last(theta0, features, y, order, batch_size, lr):
    kept = order[: len(order) // int(batch_size) * int(batch_size)]
    return _sgd_epoch(theta0, features, y, kept, batch_size, lr)


def _epoch_sum_not_mean(theta0, features, y, order, batch_size, lr):
    def summed(theta, batch):
        return len(batch) * _minibatch_grad(theta, features, y, batch)

    return _epoch_with(theta0, order, batch_size, lr, summed)


def _epoch_divided_by_batch_size(theta0, features, y, order, batch_size, lr):
    def divided(theta, batch):  # Σ / B, also on the smaller last batch
        return len(batch) / int(batch_size) * _minibatch_grad(theta, features, y, batch)

    return _epoch_with(theta0, order, batch_size, lr, divided)


def _epoch_full_gradient(theta0, features, y, order, batch_size, lr):
    def full(theta, batch):
        return _minibatch_grad(theta, features, y, order)

    return _epoch_with(theta0, order, batch_size, lr, full)


# ---------------------------------------------------------------------------------------------
# The exercises
# ---------------------------------------------------------------------------------------------

MINIBATCH_GRAD = Exercise(
    id="5.1",
    name="minibatch_grad",
    title="The mini-batch gradient",
    reference=_minibatch_grad,
    oracle=_torch_minibatch_grad,
    cases=(
        Case("5 of 20 examples, 3 features", _grad_case(20, 3, [4, 17, 0, 9, 12]), seed=11),
        Case(
            "8 indices drawn with replacement from 30",
            _grad_case(30, 2, lambda rng: rng.integers(0, 30, 8)),
            seed=12,
        ),
        Case("a single example", _grad_case(15, 4, [6]), seed=13),
        Case("the full batch, all 10 examples", _grad_case(10, 3, np.arange(10)), seed=14),
    ),
    mistakes=(
        Mistake(
            "you divided by n, the size of the whole dataset, not by B, the size of the batch. "
            "The mini-batch loss is the mean over the batch: (1/B) Σ over i in the batch.",
            lambda theta, features, y, batch: (
                len(batch) / len(features) * _minibatch_grad(theta, features, y, batch)
            ),
        ),
        Mistake(
            "you summed over the batch instead of averaging: divide by B, the number of indices "
            "in `batch`, so that the step does not grow with the batch size.",
            lambda theta, features, y, batch: (
                len(batch) * _minibatch_grad(theta, features, y, batch)
            ),
        ),
        Mistake(
            "the factor 2 of the squared error is missing: ∂(ŷ − y)²/∂ŷ = 2(ŷ − y).",
            lambda theta, features, y, batch: _minibatch_grad(theta, features, y, batch) / 2,
        ),
        Mistake(
            "your gradient points uphill the wrong way: the residual is ŷ − y = Xθ − y, not "
            "y − Xθ.",
            lambda theta, features, y, batch: -_minibatch_grad(theta, features, y, batch),
        ),
        Mistake(
            "you used every example, not the ones in `batch`: index the rows first, "
            "`features[batch]` and `y[batch]`.",
            lambda theta, features, y, batch: _minibatch_grad(
                theta, features, y, np.arange(len(y))
            ),
        ),
    ),
    hints=(
        "Select the batch's rows first: `features[batch]` and `y[batch]`. A repeated index "
        "counts twice.",
        "With X_B the selected rows and B = len(batch): ∇L_B(θ) = (2/B) X_Bᵀ (X_B θ − y_B).",
    ),
)

EPOCH_COUNTS = Exercise(
    id="5.2",
    name="epoch_counts",
    title="Iterations and examples in one epoch",
    reference=_epoch_counts,
    oracle=_torch_epoch_counts,
    cases=(
        Case("n = 100, B = 32, the last batch kept", _counts_case(100, 32, False)),
        Case("n = 100, B = 32, the last batch dropped", _counts_case(100, 32, True)),
        Case("n = 96, B = 32: no smaller batch to drop", _counts_case(96, 32, True)),
        Case("the chapter's digits, n = 1257, B = 32", _counts_case(1257, 32, False)),
        Case("n = 10, B = 16, the last batch kept", _counts_case(10, 16, False)),
        Case("n = 10, B = 16, the last batch dropped", _counts_case(10, 16, True)),
        Case("n = 7, B = 1", _counts_case(7, 1, True)),
    ),
    mistakes=(
        Mistake(
            "you ignored `drop_last`: when it is True the last, smaller batch is skipped, so "
            "there are ⌊n/B⌋ iterations and ⌊n/B⌋·B examples.",
            lambda n, batch_size, drop_last: _epoch_counts(n, batch_size, False),
        ),
        Mistake(
            "you always rounded down: with `drop_last=False` the last, smaller batch is still an "
            "iteration, so there are ⌈n/B⌉ iterations and all n examples are seen.",
            lambda n, batch_size, drop_last: _epoch_counts(n, batch_size, True),
        ),
        Mistake(
            "you counted B examples for every iteration, the last one too. The last batch holds "
            "only what is left: without dropping it, an epoch sees each of the n examples once.",
            lambda n, batch_size, drop_last: (
                _epoch_counts(n, batch_size, drop_last)[0],
                _epoch_counts(n, batch_size, drop_last)[0] * int(batch_size),
            ),
        ),
        Mistake(
            "the examples of a dropped batch are not seen: with `drop_last=True` an epoch sees "
            "⌊n/B⌋·B examples, not n.",
            lambda n, batch_size, drop_last: (_epoch_counts(n, batch_size, drop_last)[0], int(n)),
        ),
    ),
    hints=(
        "An iteration is one batch. Without dropping, the number of batches is n / B rounded "
        "up; with `drop_last=True`, rounded down.",
        "Iterations: `n // B` if `drop_last` else `-(-n // B)` (or `math.ceil(n / B)`). "
        "Examples seen: n, or iterations × B when the last batch is dropped.",
    ),
)

SGD_EPOCH = Exercise(
    id="5.3",
    name="sgd_epoch",
    title="One epoch of mini-batch SGD",
    reference=_sgd_epoch,
    oracle=_torch_sgd_epoch,
    points=2,
    cases=(
        Case("n = 20, B = 6: the last batch has 2 examples", _epoch_case(20, 3, 6, 0.1), seed=31),
        Case("n = 12, B = 4: three equal batches", _epoch_case(12, 2, 4, 0.05), seed=32),
        Case("n = 9, B = 1: single-sample SGD", _epoch_case(9, 2, 1, 0.05), seed=33),
        Case("n = 10, B = 10: one full-batch step", _epoch_case(10, 3, 10, 0.2), seed=34),
        Case("n = 23, B = 5: the last batch has 3 examples", _epoch_case(23, 4, 5, 0.1), seed=35),
    ),
    mistakes=(
        Mistake(
            "you dropped the last, smaller batch. This epoch keeps it: an epoch uses every index "
            "in `order` once, so take batches `order[k : k + batch_size]` up to the end.",
            _epoch_drop_last,
        ),
        Mistake(
            "you summed the per-example gradients of each batch instead of averaging them: each "
            "step must use the mean over the batch (5.1).",
            _epoch_sum_not_mean,
        ),
        Mistake(
            "on the last, smaller batch you divided by `batch_size` instead of by the number of "
            "examples it really holds: average over `len(batch)`.",
            _epoch_divided_by_batch_size,
        ),
        Mistake(
            "each of your steps used the gradient on all the examples: that is full-batch "
            "gradient descent, repeated. An iteration uses only its own batch.",
            _epoch_full_gradient,
        ),
        Mistake(
            "you took only one step. An epoch is a pass over the whole of `order`: one "
            "iteration per batch.",
            lambda theta0, features, y, order, batch_size, lr: _sgd_epoch(
                theta0, features, y, order[: int(batch_size)], batch_size, lr
            ),
        ),
        Mistake(
            "your batches follow the examples' stored order 0, 1, 2, ..., not the shuffled "
            "`order`: take the indices of each batch from `order`.",
            lambda theta0, features, y, order, batch_size, lr: _sgd_epoch(
                theta0, features, y, np.arange(len(order)), batch_size, lr
            ),
        ),
    ),
    hints=(
        "Loop `for start in range(0, len(order), batch_size)`; the batch is "
        "`order[start : start + batch_size]` (shorter at the end, which slicing handles).",
        "At each iteration, θ ← θ − η ∇L_B(θ) with the mini-batch gradient of exercise 5.1 on "
        "that batch. Start from a copy of `theta0` and return θ.",
    ),
)

GRADIENT_VARIANCE = Exercise(
    id="5.4",
    name="gradient_variance",
    title="The noise of the mini-batch gradient",
    reference=_gradient_variance,
    oracle=_exact_gradient_variance,
    points=2,
    cases=(
        Case("n = 8, B = 3, without replacement", _variance_case(8, 3, 3, False), seed=41),
        Case("n = 8, B = 3, with replacement", _variance_case(8, 3, 3, True), seed=42),
        Case("n = 6, B = 1, without replacement", _variance_case(6, 2, 1, False), seed=43),
        Case("n = 7, B = 2, with replacement", _variance_case(7, 4, 2, True), seed=44),
        Case("n = 6, B = 6, the full batch", _variance_case(6, 3, 6, False), seed=45),
    ),
    mistakes=(
        Mistake(
            "without replacement the batch cannot repeat an example, which lowers the noise by "
            "the finite-population factor (n − B)/(n − 1): yours is σ²/B in both cases.",
            lambda per_example_grads, batch_size, replacement: _gradient_variance(
                per_example_grads, batch_size, True
            ),
        ),
        Mistake(
            "σ² here is the variance of the n per-example gradients themselves, the mean of "
            "‖g_i − ḡ‖² over all n (divide by n, not n − 1).",
            lambda per_example_grads, batch_size, replacement: (
                len(per_example_grads)
                / (len(per_example_grads) - 1)
                * _gradient_variance(per_example_grads, batch_size, replacement)
            ),
        ),
        Mistake(
            "the finite-population factor is (n − B)/(n − 1), not (n − B)/n.",
            lambda per_example_grads, batch_size, replacement: (
                _gradient_variance(per_example_grads, batch_size, replacement)
                * (1 if replacement else (len(per_example_grads) - 1) / len(per_example_grads))
            ),
        ),
        Mistake(
            "you did not divide by B: averaging B examples divides the variance by B (5.2).",
            lambda per_example_grads, batch_size, replacement: (
                int(batch_size) * _gradient_variance(per_example_grads, batch_size, replacement)
            ),
        ),
        Mistake(
            "you averaged the variance over the coordinates. The noise is E‖ĝ_B − ḡ‖², a squared "
            "norm: sum over the coordinates.",
            lambda per_example_grads, batch_size, replacement: (
                _gradient_variance(per_example_grads, batch_size, replacement)
                / per_example_grads.shape[1]
            ),
        ),
    ),
    hints=(
        "First σ² = (1/n) Σ_i ‖g_i − ḡ‖², with ḡ the mean of the rows: one number for all "
        "coordinates together.",
        "With replacement the answer is σ²/B; without, multiply by (n − B)/(n − 1), which is 0 "
        "for the full batch.",
    ),
)

RATE_FOR_BATCH_8 = Exercise(
    id="5.5",
    name="lr_batch_8",
    title="Choose a learning rate for B = 8 by experiment",
    reference=_best_rate,
    oracle=_torch_best_rate,
    points=2,
    judge=_judge_rate,
    mistakes=(
        Mistake(
            "0.001 is the default `lr` of `SGD`, not a choice: in 5 epochs it has not left the "
            "start behind. Try rates on a logarithmic grid and compare the final losses.",
            lambda: 0.001,
        ),
        Mistake(
            "2/λ_max is the stability limit of *full-batch* gradient descent. With B = 8 the "
            "gradient is noisy and the noise floor grows with η: at the edge of stability the "
            "run ends far above the best loss, or diverges. Choose a rate well below it.",
            _full_batch_limit,
        ),
        Mistake(
            "you chose the largest rate whose run still ends below its starting loss. Stable is "
            "not good: with noisy gradients the loss SGD settles at grows with η. Look for the "
            "rate with the lowest final loss, and stay near it.",
            _largest_stable_rate_on_grid,
        ),
    ),
    hints=(
        "Call `final_loss(lr)` for rates on a logarithmic grid, e.g. `np.geomspace(1e-3, 1, 19)`, "
        "and look at where the final loss is lowest.",
        "Too small a rate has not converged after 5 epochs; too large a one sits on a high "
        "noise floor (or diverges). Any rate within 10 % of the best final loss is accepted.",
    ),
)

EXERCISE_SET = ExerciseSet(
    chapter="5",
    title="Stochastic and mini-batch gradient descent",
    notebook="05_stochastic_gradient_descent",
    exercises=(MINIBATCH_GRAD, EPOCH_COUNTS, SGD_EPOCH, GRADIENT_VARIANCE, RATE_FOR_BATCH_8),
)
