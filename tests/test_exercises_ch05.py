"""Exercises 5 (stochastic and mini-batch gradient descent) against hand-written learner code.

The generic tests (test_autocheck_exercises.py, test_autocheck_frameworks.py) feed each *declared*
mistake back to the checker and compare each reference with its oracle (torch.autograd,
torch.optim.SGD, torch's DataLoader, the exact average over every batch). Here the wrong answers
are written the way a learner would write them (loops, other NumPy calls, Python numbers),
independently of the declarations, and each must get the intended message. Alternative correct
solutions must pass, and the experiment of 5.5 is checked against the chapter's claims.
"""

from __future__ import annotations

import math

import numpy as np
from exercise_tables import table_tests

from utils.autocheck.core import run_check
from utils.autocheck.exercises import ch05
from utils.autocheck.result import Outcome
from utils.autocheck.spec import get_exercise

# ---------------------------------------------------------------------------------------------
# 5.1 minibatch_grad
# ---------------------------------------------------------------------------------------------


def grad_over_dataset_size(theta, features, y, batch):
    total = np.zeros_like(theta)
    for i in batch:
        total += 2 * (features[i] @ theta - y[i]) * features[i]
    return total / len(y)  # the article's 1/n


def grad_loop_sum(theta, features, y, batch):
    total = np.zeros(len(theta))
    for i in batch:
        total = total + 2 * features[i] * (features[i] @ theta - y[i])
    return total  # no 1/B


def grad_without_two(theta, features, y, batch):
    x_batch = features[batch]
    return x_batch.T @ (x_batch @ theta - y[batch]) / len(batch)


def grad_flipped_residual(theta, features, y, batch):
    x_batch = features[batch]
    return 2 * np.mean((y[batch] - x_batch @ theta)[:, None] * x_batch, axis=0)


def grad_whole_dataset(theta, features, y, batch):
    return 2 / len(y) * features.T @ (features @ theta - y)


def grad_unique_indices(theta, features, y, batch):
    batch = np.unique(batch)  # a repeated index counted once
    x_batch = features[batch]
    return 2 / len(batch) * x_batch.T @ (x_batch @ theta - y[batch])


def grad_as_list(theta, features, y, batch):
    x_batch = features[batch]
    return list(2 / len(batch) * x_batch.T @ (x_batch @ theta - y[batch]))


# ---------------------------------------------------------------------------------------------
# 5.2 epoch_counts
# ---------------------------------------------------------------------------------------------


def counts_ceil_always(n, batch_size, drop_last):
    return math.ceil(n / batch_size), n


def counts_floor_always(n, batch_size, drop_last):
    iterations = int(n / batch_size)
    return iterations, iterations * batch_size


def counts_full_batches(n, batch_size, drop_last):
    iterations = 0
    for start in range(0, n, batch_size):
        if drop_last and start + batch_size > n:
            break
        iterations += 1
    return iterations, iterations * batch_size  # the last batch counted as full


def counts_dropped_still_seen(n, batch_size, drop_last):
    return (n // batch_size if drop_last else -(-n // batch_size)), n


def counts_float(n, batch_size, drop_last):
    return n / batch_size, n


# ---------------------------------------------------------------------------------------------
# 5.3 sgd_epoch
# ---------------------------------------------------------------------------------------------


def _grad(theta, features, y, batch):
    x_batch = features[batch]
    return 2 / len(batch) * x_batch.T @ (x_batch @ theta - y[batch])


def epoch_drops_remainder(theta0, features, y, order, batch_size, lr):
    theta = theta0.copy()
    for k in range(len(order) // batch_size):  # full batches only
        theta = theta - lr * _grad(theta, features, y, order[k * batch_size : (k + 1) * batch_size])
    return theta


def epoch_in_place(theta0, features, y, order, batch_size, lr):
    theta = theta0  # no copy: the updates below change theta0 itself
    for start in range(0, len(order), batch_size):
        theta -= lr * _grad(theta, features, y, order[start : start + batch_size])
    return theta


def epoch_unshuffled(theta0, features, y, order, batch_size, lr):
    theta = theta0.copy()
    for start in range(0, len(y), batch_size):
        batch = np.arange(start, min(start + batch_size, len(y)))  # ignores `order`
        theta = theta - lr * _grad(theta, features, y, batch)
    return theta


def epoch_one_step(theta0, features, y, order, batch_size, lr):
    return theta0 - lr * _grad(theta0, features, y, order[:batch_size])


def epoch_divides_by_batch_size(theta0, features, y, order, batch_size, lr):
    theta = theta0.copy()
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        x_batch = features[batch]
        theta = theta - lr * 2 * x_batch.T @ (x_batch @ theta - y[batch]) / batch_size
    return theta


def epoch_full_gradient(theta0, features, y, order, batch_size, lr):
    theta = theta0.copy()
    for _ in range(0, len(order), batch_size):
        theta = theta - lr * _grad(theta, features, y, np.arange(len(y)))
    return theta


def epoch_returns_list(theta0, features, y, order, batch_size, lr):
    theta = theta0.copy()
    for start in range(0, len(order), batch_size):
        theta = theta - lr * _grad(theta, features, y, order[start : start + batch_size])
    return theta.tolist()


# ---------------------------------------------------------------------------------------------
# 5.4 gradient_variance
# ---------------------------------------------------------------------------------------------


def variance_no_correction(per_example_grads, batch_size, replacement):
    sigma2 = np.var(per_example_grads, axis=0).sum()
    return sigma2 / batch_size


def variance_sample_ddof(per_example_grads, batch_size, replacement):
    n = len(per_example_grads)
    sigma2 = np.var(per_example_grads, axis=0, ddof=1).sum()
    factor = 1.0 if replacement else (n - batch_size) / (n - 1)
    return sigma2 / batch_size * factor


def variance_correction_over_n(per_example_grads, batch_size, replacement):
    n = len(per_example_grads)
    sigma2 = np.var(per_example_grads, axis=0).sum()
    return sigma2 / batch_size * (1.0 if replacement else (n - batch_size) / n)


def variance_not_divided(per_example_grads, batch_size, replacement):
    n = len(per_example_grads)
    sigma2 = np.mean(np.sum((per_example_grads - per_example_grads.mean(0)) ** 2, axis=1))
    return sigma2 if replacement else sigma2 * (n - batch_size) / (n - 1)


def variance_per_coordinate_mean(per_example_grads, batch_size, replacement):
    n = len(per_example_grads)
    sigma2 = np.var(per_example_grads)  # around the overall mean, over every element
    return sigma2 / batch_size * (1.0 if replacement else (n - batch_size) / (n - 1))


def variance_per_coordinate(per_example_grads, batch_size, replacement):
    n = len(per_example_grads)
    factor = 1.0 if replacement else (n - batch_size) / (n - 1)
    return np.var(per_example_grads, axis=0) / batch_size * factor  # forgot the sum


# ---------------------------------------------------------------------------------------------
# 5.5 lr_batch_8 (values)
# ---------------------------------------------------------------------------------------------

WRONG = [
    ("5.1", grad_over_dataset_size, "you divided by n, the size of the whole dataset"),
    ("5.1", grad_loop_sum, "you summed over the batch instead of averaging"),
    ("5.1", grad_without_two, "the factor 2 of the squared error is missing"),
    ("5.1", grad_flipped_residual, "the residual is ŷ − y = Xθ − y"),
    ("5.1", grad_whole_dataset, "you used every example, not the ones in `batch`"),
    ("5.1", grad_unique_indices, "case 2 of 4 (8 indices drawn with replacement from 30"),
    ("5.1", grad_as_list, "list"),
    ("5.2", counts_ceil_always, "you ignored `drop_last`"),
    ("5.2", counts_floor_always, "you always rounded down"),
    ("5.2", counts_full_batches, "you counted B examples for every iteration"),
    ("5.2", counts_dropped_still_seen, "the examples of a dropped batch are not seen"),
    ("5.2", counts_float, "case 1 of 7 (n = 100, B = 32, the last batch kept"),
    ("5.3", epoch_drops_remainder, "you dropped the last, smaller batch"),
    ("5.3", epoch_in_place, "changed its input `theta0` in place"),
    ("5.3", epoch_unshuffled, "not the shuffled `order`"),
    ("5.3", epoch_one_step, "you took only one step"),
    ("5.3", epoch_divides_by_batch_size, "you divided by `batch_size` instead of"),
    ("5.3", epoch_full_gradient, "that is full-batch gradient descent, repeated"),
    ("5.3", epoch_returns_list, "list"),
    ("5.4", variance_no_correction, "the finite-population factor (n − B)/(n − 1)"),
    ("5.4", variance_sample_ddof, "divide by n, not n − 1"),
    ("5.4", variance_correction_over_n, "is (n − B)/(n − 1), not (n − B)/n"),
    ("5.4", variance_not_divided, "you did not divide by B"),
    ("5.4", variance_per_coordinate_mean, "is not the expected value"),
    ("5.4", variance_per_coordinate, "expected a single number"),
    ("5.5", 0.001, "0.001 is the default `lr` of `SGD`"),
    ("5.5", 0.001, "Your rate is too small"),
    ("5.5", 0.0005, "Your rate is too small: the run has not converged yet"),
    ("5.5", 0.5, "Your rate is too large"),
    ("5.5", np.geomspace(1e-3, 1, 19)[17], "Stable is not good"),  # last grid rate below L(0)
    ("5.5", 1.5, "choose a learning rate with 0 < η ≤ 1"),
    ("5.5", -0.03, "choose a learning rate with 0 < η ≤ 1"),
    ("5.5", float("nan"), "contains NaN where a finite value is expected"),
    ("5.5", np.array([0.03, 0.04]), "expected a single number"),
]


# ---------------------------------------------------------------------------------------------
# Other correct solutions pass
# ---------------------------------------------------------------------------------------------


def grad_loop(theta, features, y, batch):
    total = np.zeros(len(theta))
    for i in batch:
        total += 2 * (features[i] @ theta - y[i]) * features[i]
    return total / len(batch)


def grad_one_hot_weights(theta, features, y, batch):
    counts = np.bincount(batch, minlength=len(y))  # how often each example is in the batch
    return 2 * features.T @ (counts * (features @ theta - y)) / counts.sum()


def counts_with_math(n, batch_size, drop_last):
    iterations = n // batch_size if drop_last else math.ceil(n / batch_size)
    return int(iterations), int(n if not drop_last else iterations * batch_size)


def epoch_with_array_split(theta0, features, y, order, batch_size, lr):
    theta = np.copy(theta0)
    sections = range(batch_size, len(order), batch_size)
    for batch in np.split(order, sections):
        theta -= lr * grad_loop(theta, features, y, batch)
    return theta


def variance_by_covariance_trace(per_example_grads, batch_size, replacement):
    n = len(per_example_grads)
    sigma2 = np.trace(np.cov(per_example_grads, rowvar=False, bias=True))
    if replacement:
        return float(sigma2 / batch_size)
    return float(sigma2 * (n - batch_size) / (batch_size * (n - 1)))


RIGHT = [
    ("5.1", grad_loop),
    ("5.1", grad_one_hot_weights),
    ("5.2", counts_with_math),
    ("5.2", lambda n, batch_size, drop_last: ch05._epoch_counts(n, batch_size, drop_last)),
    ("5.3", epoch_with_array_split),
    ("5.4", variance_by_covariance_trace),
    ("5.5", 0.05),
    ("5.5", 0.02),
    ("5.5", 0.08),  # the chapter's linear scaling rule: 0.01 per example × 8
    ("5.5", np.float64(0.1)),
]


# ---------------------------------------------------------------------------------------------
# The experiment of 5.5
# ---------------------------------------------------------------------------------------------


def test_the_accepted_rates_of_5_5_form_one_interval_around_the_best():
    exercise = get_exercise("5.5")
    rates = np.geomspace(1e-4, 1.0, 61)
    accepted = np.array([exercise.judge(lr) is None for lr in rates])
    assert accepted.sum() >= 5, "several rates pass"
    first, last = np.flatnonzero(accepted)[[0, -1]]
    assert accepted[first : last + 1].all(), "the accepted rates are one interval"
    assert rates[first] < exercise.reference() < rates[last]
    assert not accepted[0] and not accepted[-1], "the smallest and the largest rate fail"


def test_the_judge_of_5_5_runs_the_experiment_the_statement_describes():
    """final_loss of the notebook, written here again: the same number for every rate."""
    from utils.data import linear_regression
    from utils.losses import mse, mse_grad
    from utils.optim.numpy import SGD

    x, y = linear_regression(n=256, noise=0.5, seed=0)
    features, y = np.hstack([x, np.ones_like(x)]), y[:, 0]
    for lr in (0.003, 0.03, 0.3):
        rng, theta = np.random.default_rng(0), np.zeros(2)
        optimizer = SGD([theta], lr=lr)
        for _ in range(5):
            order = rng.permutation(256)
            for start in range(0, 256, 8):
                x_batch = features[order[start : start + 8]]
                y_batch = y[order[start : start + 8]]
                optimizer.step([x_batch.T @ mse_grad(x_batch @ theta, y_batch)])
        assert ch05._final_loss(lr) == mse(features @ theta, y), lr


def test_the_notebooks_final_loss_is_the_judges():
    """What a learner tries with `final_loss` in the notebook is what the check then runs."""
    from pathlib import Path

    import nbformat

    from utils.data import linear_regression
    from utils.losses import mse, mse_grad
    from utils.optim.numpy import SGD

    root = Path(__file__).resolve().parents[1]
    for folder in ("solutions", "exercises"):
        notebook = nbformat.read(root / folder / "05_stochastic_gradient_descent.ipynb", 4)
        (source,) = [c.source for c in notebook.cells if "def final_loss(" in c.source]
        definition = source.split("\n\n\nprint(")[0]  # the function, not the demo print
        namespace = {"np": np, "linear_regression": linear_regression, "SGD": SGD}
        namespace.update(mse=mse, mse_grad=mse_grad)
        exec(compile(definition, f"{folder}: final_loss", "exec"), namespace)
        for lr in (0.003, 0.03, 0.3, 1.0):
            assert namespace["final_loss"](lr) == ch05._final_loss(lr), (folder, lr)


def test_the_judge_of_5_5_is_quick_and_deterministic():
    import time

    exercise = get_exercise("5.5")
    start = time.perf_counter()
    verdicts = [exercise.judge(0.5) for _ in range(3)]
    assert time.perf_counter() - start < 1.0
    assert verdicts[0] is not None and verdicts.count(verdicts[0]) == 3


def test_5_5_a_diverging_rate_gets_a_message_not_an_error():
    result = run_check("5.5", 1.0)
    assert result.outcome is Outcome.INCORRECT, str(result)
    assert "diverges" in str(result), str(result)


(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(5, WRONG, RIGHT)
