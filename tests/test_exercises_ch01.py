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
    m[~np.isfinite(m)] = 0.0  # masked rows handled, but the axis is kept
    return m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def logsumexp_chapter(z):
    m = np.max(z, axis=-1, keepdims=True)  # the chapter's version: nan for a masked row
    return (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))[..., 0]


def logsumexp_nan_to_zero(z):
    m = np.max(z, axis=-1, keepdims=True)
    result = m[..., 0] + np.log(np.sum(np.exp(z - m), axis=-1))
    return np.nan_to_num(result, nan=0.0)  # "fixes" the masked row to 0


# ---------------------------------------------------------------------------------------------
# 1.4 cross_entropy with label smoothing
# ---------------------------------------------------------------------------------------------


def _targets(labels, num_classes, eps):
    q = np.full((len(labels), num_classes), eps / num_classes)
    q[np.arange(len(labels)), labels] += 1 - eps
    return q


def cross_entropy_naive_softmax(logits, labels, label_smoothing):
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    q = _targets(labels, logits.shape[1], label_smoothing)
    return -np.mean((q * np.log(probs)).sum(axis=1))


def cross_entropy_unsmoothed(logits, labels, label_smoothing):
    return -np.mean(_log_softmax(logits)[np.arange(len(labels)), labels])


def cross_entropy_other_classes(logits, labels, label_smoothing):
    n, num_classes = logits.shape
    total = 0.0
    for i in range(n):
        log_p = _log_softmax(logits[i : i + 1])[0]
        for c in range(num_classes):
            weight = 1 - label_smoothing if c == labels[i] else label_smoothing / (num_classes - 1)
            total -= weight * log_p[c]
    return total / n


def cross_entropy_targets_not_normalised(logits, labels, label_smoothing):
    q = np.eye(logits.shape[1])[labels] + label_smoothing / logits.shape[1]
    return -np.mean((q * _log_softmax(logits)).sum(axis=1))


def cross_entropy_smooth_probs(logits, labels, label_smoothing):
    probs = (1 - label_smoothing) * _softmax(logits) + label_smoothing / logits.shape[1]
    return -np.mean(np.log(probs[np.arange(len(labels)), labels]))


def cross_entropy_sum(logits, labels, label_smoothing):
    q = _targets(labels, logits.shape[1], label_smoothing)
    return -np.sum(q * _log_softmax(logits))


def cross_entropy_softmax_twice(logits, labels, label_smoothing):
    q = _targets(labels, logits.shape[1], label_smoothing)
    return -np.mean((q * _log_softmax(_softmax(logits))).sum(axis=1))


def cross_entropy_positive_log(logits, labels, label_smoothing):
    q = _targets(labels, logits.shape[1], label_smoothing)
    return np.mean((q * _log_softmax(logits)).sum(axis=1))


def cross_entropy_log_of_stable_softmax(logits, labels, label_smoothing):
    q = _targets(labels, logits.shape[1], label_smoothing)
    return -np.mean((q * np.log(_softmax(logits))).sum(axis=1))  # log(0) = −inf


def cross_entropy_no_uniform_part(logits, labels, label_smoothing):
    one_hot = np.zeros_like(logits)
    one_hot[np.arange(len(labels)), labels] = 1.0
    return -np.mean(((1 - label_smoothing) * one_hot * _log_softmax(logits)).sum(axis=1))


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

# 1.8: a robust line fit


def _line_gd(x, y, lr, num_steps, grad_of_residual):
    w = b = 0.0
    for _ in range(num_steps):
        g = grad_of_residual(w * x + b - y)
        w, b = w - lr * np.dot(g, x), b - lr * np.sum(g)
    return w, b


def huber_fit_mse(x, y, delta, lr, num_steps):
    return _line_gd(x, y, lr, num_steps, lambda r: 2 * r / len(r))


def huber_fit_unclipped(x, y, delta, lr, num_steps):
    w, b = 0.0, 0.0
    for _ in range(num_steps):
        residuals = [w * xi + b - yi for xi, yi in zip(x, y, strict=True)]
        w -= lr * sum(r * xi for r, xi in zip(residuals, x, strict=True)) / len(x)
        b -= lr * sum(residuals) / len(x)
    return w, b


def huber_fit_clip_one(x, y, delta, lr, num_steps):
    return _line_gd(x, y, lr, num_steps, lambda r: np.clip(r, -1, 1) / len(r))


def huber_fit_sum(x, y, delta, lr, num_steps):
    return _line_gd(x, y, lr, num_steps, lambda r: np.clip(r, -delta, delta))


def huber_fit_uphill(x, y, delta, lr, num_steps):
    return _line_gd(x, y, lr, num_steps, lambda r: np.clip(-r, -delta, delta) / len(r))


def huber_fit_w_then_b(x, y, delta, lr, num_steps):
    w = b = 0.0
    for _ in range(num_steps):
        w -= lr * np.mean(np.clip(w * x + b - y, -delta, delta) * x)
        b -= lr * np.mean(np.clip(w * x + b - y, -delta, delta))  # uses the new w
    return w, b


# 1.9: spot a double softmax


def softmax_twice_exact_sum(model, inputs):
    outputs = model(inputs).detach()
    return bool(outputs.min() >= 0 and (outputs.sum(dim=1) == 1.0).all())  # no tolerance


def softmax_twice_sums_only(model, inputs):
    import torch

    with torch.no_grad():
        sums = model(inputs).sum(dim=1)
    return bool(torch.allclose(sums, torch.ones(len(sums)), atol=1e-5))


def softmax_twice_in_unit_interval(model, inputs):
    outputs = model(inputs).detach().numpy()
    return bool(np.all((outputs >= 0) & (outputs <= 1)))


def softmax_twice_layer_names(model, inputs):
    names = [type(module).__name__ for module in model.modules()]
    return "Softmax" in names or "LogSoftmax" in names


def softmax_twice_flags_log_probs(model, inputs):
    outputs = model(inputs).detach().numpy()
    as_probs = np.exp(outputs) if (outputs <= 0).all() else outputs  # "undo" a log-softmax
    return bool(np.all(as_probs >= 0) and np.allclose(as_probs.sum(axis=1), 1, atol=1e-5))


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
    ("1.3", logsumexp_chapter, "case 8 of 8 (a fully masked row"),
    ("1.3", logsumexp_chapter, "a fully masked row (every score −inf) gives nan"),
    ("1.3", logsumexp_nan_to_zero, "case 8 of 8 (a fully masked row"),
    ("1.4", cross_entropy_naive_softmax, "your softmax overflows on large logits"),
    ("1.4", cross_entropy_unsmoothed, "you ignored `label_smoothing`"),
    ("1.4", cross_entropy_other_classes, "over the C − 1 *other* classes"),
    ("1.4", cross_entropy_targets_not_normalised, "your targets do not sum to 1"),
    ("1.4", cross_entropy_smooth_probs, "you smoothed the model's probabilities"),
    ("1.4", cross_entropy_sum, "you summed the per-sample losses"),
    ("1.4", cross_entropy_positive_log, "your loss has the wrong sign"),
    ("1.4", cross_entropy_softmax_twice, "softmax applied twice"),
    ("1.4", cross_entropy_log_of_stable_softmax, "you took the log of the softmax"),
    ("1.4", cross_entropy_no_uniform_part, "your targets sum to 1 − ε"),
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
    ("1.8", huber_fit_mse, "you followed the gradient of the MSE"),
    ("1.8", huber_fit_unclipped, "Huber's gradient without the clipping"),
    ("1.8", huber_fit_clip_one, "you clipped the residuals to [−1, 1] whatever δ is"),
    ("1.8", huber_fit_sum, "you differentiated the *sum* of the Huber losses"),
    ("1.8", huber_fit_uphill, "your fit climbs the loss"),
    ("1.8", huber_fit_w_then_b, "you updated w first"),
    ("1.9", softmax_twice_sums_only, "rows that sum to 1 are not enough"),
    ("1.9", softmax_twice_in_unit_interval, "non-negative outputs are not enough"),
    ("1.9", softmax_twice_layer_names, "case 3 of 6 (a model that ends in `nn.LogSoftmax"),
    ("1.9", softmax_twice_flags_log_probs, "log-softmax outputs are not a double softmax"),
    ("1.9", softmax_twice_exact_sum, "you tested that the rows sum to exactly 1"),
    ("1.10", 1, "the squared error's gradient, 2(ŷ − y), grows"),
    ("1.10", 3, "−log p has the derivative −1/p"),
    ("1.10", 4, "one of the three is bounded"),
    ("1.10", "B", "should be a number or an array, but it is str"),
    ("1.11", 1, "Speed is not the reason"),
    ("1.11", 3, "softmax probabilities are differentiable"),
    ("1.11", 4, "the loss does not change what the model outputs"),
    ("1.11", 2.5, "has dtype float64; expected integers"),
    ("1.12", 0.7, "that is p₀ itself"),
    ("1.12", 0.3, "the sign is flipped"),
    ("1.12", -1 / 0.7, "the derivative with respect to the probability"),
    ("1.12", -math.log(0.7), "that is the loss −log p₀"),
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
    out = []
    for row in flat:
        top = max(row)
        if top == -math.inf:  # every score masked: log 0
            out.append(-math.inf)
        else:
            out.append(top + math.log(sum(math.exp(v - top) for v in row)))
    return np.array(out).reshape(z.shape[:-1])


def cross_entropy_per_sample(logits, labels, label_smoothing):
    losses = []
    for row, label in zip(logits, labels, strict=True):
        nll = np.logaddexp.reduce(row) - row  # −log p_c for every class c
        losses.append((1 - label_smoothing) * nll[label] + label_smoothing * nll.mean())
    return float(np.mean(losses))


def huber_fit_design(x, y, delta, lr, num_steps):
    design = np.column_stack([x, np.ones_like(x)])
    theta = np.zeros(2)
    for _ in range(num_steps):
        residual = design @ theta - y
        grad_pred = np.where(np.abs(residual) <= delta, residual, delta * np.sign(residual))
        theta = theta - lr * design.T @ grad_pred / len(y)
    return float(theta[0]), float(theta[1])


def softmax_twice_numpy(model, inputs):
    outputs = model(inputs).detach().numpy().astype(np.float64)
    return bool(outputs.min() >= 0 and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-6))


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
    ("1.8", huber_fit_design),
    ("1.9", softmax_twice_numpy),
    ("1.10", 2),
    ("1.11", 2),
    ("1.12", -0.3),
    ("1.12", 0.7 - 1),
]


FULLY_MASKED = "a fully masked row: [1000, 998, −inf], [−inf, −inf, −inf] and [0.5, −inf, 2]"

(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(1, WRONG, RIGHT)

SEPARATED = [
    # The chapter's stable version (and a nan "fix") pass every case but the fully masked row.
    ("1.3", logsumexp_chapter, FULLY_MASKED),
    ("1.3", logsumexp_nan_to_zero, FULLY_MASKED),
]
test_this_case_is_what_catches_the_wrong_answer = separation_test(SEPARATED)


def test_log_softmax_is_idempotent_under_cross_entropy():
    """Why 1.9's LogSoftmax model is not a double softmax: cross_entropy leaves log p alone."""
    import torch

    generator = torch.Generator().manual_seed(0)
    logits = 5 * torch.randn(6, 4, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 4, (6,), generator=generator)
    log_probs = torch.log_softmax(logits, dim=-1)
    functional = torch.nn.functional
    assert torch.allclose(torch.log_softmax(log_probs, dim=-1), log_probs, atol=1e-12)
    assert torch.allclose(
        functional.cross_entropy(log_probs, labels), functional.cross_entropy(logits, labels)
    )
    probs = torch.softmax(logits, dim=-1)  # a real double softmax changes the loss
    assert not torch.allclose(
        functional.cross_entropy(probs, labels), functional.cross_entropy(logits, labels)
    )


def test_huber_fit_reference_resists_the_outliers():
    """1.8's reference ends near the true line where the MSE's gradient does not."""
    from utils.autocheck.exercises.ch01 import HUBER_FIT

    inputs = HUBER_FIT.cases[0].inputs()
    w, b = HUBER_FIT.reference(*inputs.values())
    w_mse, b_mse = huber_fit_mse(*inputs.values())
    assert abs(w - 2) < 0.1 and abs(b - 1) < 0.1
    assert abs(b_mse - 1) > 5 * abs(b - 1)
