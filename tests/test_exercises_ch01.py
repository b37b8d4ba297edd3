"""Exercises 1 (loss functions) against hand-written learner code.

The generic tests (test_autocheck_exercises.py) feed each *declared* mistake back to the checker.
Here the wrong answers are written the way a learner would write them (loops, methods, other
names), independently of the declarations, and each must get the intended message. Alternative
correct solutions must pass: the checker may not demand one particular way of writing it.
"""

from __future__ import annotations

import math

import numpy as np
from exercise_tables import separation_test, table_tests


def _softmax(z):
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------------------------
# 1.1 mse
# ---------------------------------------------------------------------------------------------


def mse_loop_sum(pred, target):
    total = 0.0
    for p, t in zip(pred.ravel(), target.ravel(), strict=True):
        total += (p - t) ** 2
    return total


def mse_abs(pred, target):
    return np.abs(pred - target).mean()


def mse_per_row(pred, target):
    return ((pred - target) ** 2).sum() / pred.shape[0]


def mse_axis0(pred, target):
    return ((pred - target) ** 2).mean(axis=0)


def mse_no_return(pred, target):
    loss = np.mean((pred - target) ** 2)  # noqa: F841 - forgetting to return it is the point


def mse_in_place(pred, target):
    pred -= target
    return np.mean(pred**2)


# ---------------------------------------------------------------------------------------------
# 1.2 mse_grad
# ---------------------------------------------------------------------------------------------


def mse_grad_no_two(pred, target):
    grad = np.empty_like(pred)
    for index in np.ndindex(pred.shape):  # d/dŷ (ŷ − y)² taken as ŷ − y
        grad[index] = (pred[index] - target[index]) / pred.size
    return grad


def mse_grad_no_mean(pred, target):
    error = pred - target
    return error + error  # 2(ŷ − y), never divided by n


def mse_grad_flipped(pred, target):
    return -2.0 / pred.size * (pred - target)


def mse_grad_rows(pred, target):
    batch_size = pred.shape[0]  # the number of rows, not of elements
    return 2.0 / batch_size * (pred - target)


def mse_grad_floor(pred, target):
    return 2 * (pred - target) // pred.size


# ---------------------------------------------------------------------------------------------
# 1.3 logsumexp
# ---------------------------------------------------------------------------------------------


def logsumexp_naive(z):
    return np.log(np.exp(z).sum(axis=-1))


def logsumexp_forgot_max(z):
    m = z.max(axis=-1, keepdims=True)
    return np.log(np.exp(z - m).sum(axis=-1))


def logsumexp_global_max(z):
    m = z.max()
    return m + np.log(np.exp(z - m).sum(axis=-1))


def logsumexp_no_keepdims(z):
    m = z.max(axis=-1)
    return m + np.log(np.exp(z - m).sum(axis=-1))


def logsumexp_first_axis(z):
    m = z.max(axis=0)
    return m + np.log(np.exp(z - m).sum(axis=0))


def logsumexp_keepdims(z):
    m = z.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


# ---------------------------------------------------------------------------------------------
# 1.4 cross_entropy
# ---------------------------------------------------------------------------------------------


def cross_entropy_naive_softmax(logits, labels):
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.mean(np.log(probs[np.arange(len(labels)), labels]))


def cross_entropy_log_of_softmax(logits, labels):
    probs = _softmax(logits)  # stable softmax, but the log of a probability that rounded to 0
    return -np.mean(np.log(probs[np.arange(len(labels)), labels]))


def cross_entropy_sum(logits, labels):
    return -np.sum(_log_softmax(logits)[np.arange(len(labels)), labels])


def cross_entropy_positive_log(logits, labels):
    return np.mean(_log_softmax(logits)[np.arange(len(labels)), labels])


def cross_entropy_softmax_twice(logits, labels):
    log_probs = _log_softmax(_softmax(logits))
    return -np.mean(log_probs[np.arange(len(labels)), labels])


def cross_entropy_one_hot_mean(logits, labels):
    one_hot = np.eye(logits.shape[1])[labels]
    return -np.mean(one_hot * _log_softmax(logits))


def cross_entropy_raw_logit(logits, labels):
    return -np.mean([logits[i, label] for i, label in enumerate(labels)])


# ---------------------------------------------------------------------------------------------
# 1.5 binary_cross_entropy_with_logits_grad
# ---------------------------------------------------------------------------------------------


def bce_grad_target_minus_sigmoid(logits, targets):
    probs = np.exp(logits) / (1 + np.exp(logits))
    return (targets - probs) / len(targets.ravel())  # target minus prediction


def bce_grad_sum(logits, targets):
    pairs = zip(logits.ravel(), targets.ravel(), strict=True)
    per_element = [1 / (1 + math.exp(-z)) - t for z, t in pairs]  # never divided by n
    return np.array(per_element).reshape(logits.shape)


def bce_grad_no_sigmoid(logits, targets):
    n = targets.size
    grad = [(z - t) / n for z, t in zip(logits.flat, targets.flat, strict=True)]  # z taken for p
    return np.reshape(grad, logits.shape)


def bce_grad_wrt_probs(logits, targets):
    p = _sigmoid(logits)
    return (p - targets) / (p * (1 - p)) / logits.size


def bce_grad_extra_derivative(logits, targets):
    p = _sigmoid(logits)
    return (p - targets) * p * (1 - p) / logits.size


def logsumexp_mean_shift(z):
    c = z.mean(axis=-1, keepdims=True)  # any constant works in exact arithmetic...
    return c[..., 0] + np.log(np.exp(z - c).sum(axis=-1))


def logsumexp_first_entry_shift(z):
    first = z[..., 0]
    return first + np.log(np.sum(np.exp(z - first[..., None]), axis=-1))


# 1.7: runs a learner would make while diagnosing the slow classifier


def _learner_cross_entropy(logits, labels):
    """A fix written from scratch: −mean log softmax of the true class, and its gradient."""
    n = len(labels)
    log_probs = _log_softmax(logits)
    one_hot = np.eye(logits.shape[1])[labels]
    return -log_probs[np.arange(n), labels].mean(), (np.exp(log_probs) - one_hot) / n


def _learner_double_softmax_grad_only(logits, labels):
    """Fixed the loss but not the gradient: the softmax Jacobian is still applied."""
    loss, _ = _learner_cross_entropy(logits, labels)
    probs = _softmax(logits)
    grad_probs = (_softmax(probs) - np.eye(10)[labels]) / len(labels)
    return loss, probs * (grad_probs - (grad_probs * probs).sum(axis=1, keepdims=True))


def _learner_loss_on_probs(logits, labels):
    """Fixed the gradient, but the reported loss still takes softmax of the probabilities."""
    _, grad = _learner_cross_entropy(logits, labels)
    loss, _ = _learner_cross_entropy(_softmax(logits), labels)
    return loss, grad


def _runs_1_7():
    from utils.autocheck.exercises.ch01 import buggy_loss_and_grad, train_digits

    return {
        "broken": train_digits(buggy_loss_and_grad)[-1],
        "broken, larger rate": train_digits(buggy_loss_and_grad, lr=5.0)[-1],
        "grad not fixed": train_digits(_learner_double_softmax_grad_only)[-1],
        "loss not fixed": train_digits(_learner_loss_on_probs)[-1],
        "first loss": train_digits(_learner_cross_entropy)[0],
        "fixed": train_digits(_learner_cross_entropy)[-1],
    }


RUNS_1_7 = _runs_1_7()

WRONG = [
    ("1.1", mse_loop_sum, "you summed the squared errors"),
    ("1.1", mse_abs, "mean absolute error (MAE)"),
    ("1.1", mse_per_row, "you divided by `len(pred)`"),
    ("1.1", mse_axis0, "has shape (3,); expected a single number"),
    ("1.1", mse_axis0, "you averaged over the first axis only"),
    ("1.1", mse_no_return, "Did you forget `return`?"),
    ("1.1", mse_in_place, "changed its input `pred` in place"),
    ("1.2", mse_grad_no_two, "the factor 2 is missing"),
    ("1.2", mse_grad_no_mean, "the 1/n is missing"),
    ("1.2", mse_grad_flipped, "your gradient has the wrong sign"),
    ("1.2", mse_grad_rows, "you divided by `len(pred)`"),
    ("1.2", mse_grad_floor, "differs from the expected values"),
    ("1.3", logsumexp_naive, "contains inf at 3 of 3 positions"),
    ("1.3", logsumexp_naive, "`np.exp` overflows to inf"),
    ("1.3", logsumexp_forgot_max, "did not add it back"),
    ("1.3", logsumexp_global_max, "one maximum for the whole array"),
    ("1.3", logsumexp_no_keepdims, "raised ValueError: operands could not be broadcast"),
    ("1.3", logsumexp_no_keepdims, "of `logsumexp_no_keepdims`: `return m + np.log"),
    ("1.3", logsumexp_first_axis, "you reduced along the first axis"),
    ("1.3", logsumexp_keepdims, "your result kept the reduced axis"),
    ("1.3", logsumexp_mean_shift, "contains inf at 2 of 2 positions"),
    ("1.3", logsumexp_mean_shift, "you shifted each row by its mean"),
    ("1.3", logsumexp_first_entry_shift, "contains inf at 1 of 2 positions (first at index [1])"),
    ("1.3", logsumexp_first_entry_shift, "you shifted each row by its first entry"),
    ("1.4", cross_entropy_naive_softmax, "your softmax overflows on large logits"),
    ("1.4", cross_entropy_log_of_softmax, "contains inf where a finite value is expected"),
    ("1.4", cross_entropy_sum, "you summed the per-sample losses"),
    ("1.4", cross_entropy_positive_log, "your loss has the wrong sign"),
    ("1.4", cross_entropy_softmax_twice, "softmax applied twice"),
    ("1.4", cross_entropy_one_hot_mean, "averaged over all N × C entries"),
    ("1.4", cross_entropy_raw_logit, "used the true class's logit as its log-probability"),
    ("1.5", bce_grad_target_minus_sigmoid, "your gradient has the wrong sign (target − σ(z))"),
    ("1.5", bce_grad_sum, "the 1/n is missing"),
    ("1.5", bce_grad_no_sigmoid, "apply the sigmoid σ(z) first"),
    ("1.5", bce_grad_wrt_probs, "gradient with respect to the probabilities"),
    ("1.5", bce_grad_extra_derivative, "once too often"),
    ("1.6", np.log(0.1), "that is log p of the true class"),
    ("1.6", 0.1, "that is the probability of the true class"),
    ("1.6", np.log10(10), "`np.log10` is the base-10 logarithm"),
    ("1.6", 2.3, "`initial_loss` (2.3) is not the expected value, but close: off by about 1e-3"),
    ("1.6", None, "`initial_loss` is None"),
    ("1.6", "2.30", "should be a number or an array, but it is str"),
    ("1.7", RUNS_1_7["broken"], "that is the final loss of the broken run itself"),
    ("1.7", RUNS_1_7["grad not fixed"], "the gradient still goes through softmax twice"),
    ("1.7", RUNS_1_7["loss not fixed"], "the loss you report still applies softmax"),
    ("1.7", RUNS_1_7["first loss"], "that is the loss before any training"),
    ("1.7", RUNS_1_7["broken, larger rate"], "`fixed_final_loss` ("),
]


# ---------------------------------------------------------------------------------------------
# Other correct solutions pass
# ---------------------------------------------------------------------------------------------


def mse_loop(pred, target):
    return sum((p - t) ** 2 for p, t in zip(pred.ravel(), target.ravel(), strict=True)) / pred.size


def logsumexp_logaddexp(z):
    return np.logaddexp.reduce(z, axis=-1)


def logsumexp_rows(z):
    flat = z.reshape(-1, z.shape[-1])
    out = [max(row) + math.log(sum(math.exp(v - max(row)) for v in row)) for row in flat]
    return np.array(out).reshape(z.shape[:-1])


def cross_entropy_per_sample(logits, labels):
    losses = [
        np.logaddexp.reduce(row) - row[label] for row, label in zip(logits, labels, strict=True)
    ]
    return float(np.mean(losses))


def bce_grad_tanh(logits, targets):
    return (0.5 * (1 + np.tanh(logits / 2)) - targets) / logits.size


RIGHT = [
    ("1.1", mse_loop),
    ("1.1", lambda pred, target: float(np.square(pred - target).mean())),
    ("1.2", lambda pred, target: 2.0 / pred.size * (pred - target)),
    ("1.3", logsumexp_logaddexp),
    ("1.3", logsumexp_rows),
    ("1.4", cross_entropy_per_sample),
    ("1.5", bce_grad_tanh),
    ("1.6", -np.log(1 / 10)),
    ("1.6", math.log(10)),
    ("1.7", RUNS_1_7["fixed"]),
]


(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(1, WRONG, RIGHT)

SEPARATED = [
    ("1.3", logsumexp_mean_shift, "two rows far apart inside: [1000, −1000] and [−1000, 1000]"),
    (
        "1.3",
        logsumexp_first_entry_shift,
        "two rows far apart inside: [1000, −1000] and [−1000, 1000]",
    ),
]
test_this_case_is_what_catches_the_wrong_answer = separation_test(SEPARATED)
