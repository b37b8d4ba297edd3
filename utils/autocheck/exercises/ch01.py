"""Exercises 1: Loss functions (NumPy).

Notebook: ``solutions/01_loss_functions.ipynb`` (source) → ``exercises/01_loss_functions.ipynb``.
Expected answers come from :mod:`utils.losses`; the torch/TensorFlow ``oracle`` of each exercise
is what the test suite checks those references against.
"""

from __future__ import annotations

import functools

import numpy as np

from utils import losses
from utils.data import digits

from ..spec import Case, Exercise, ExerciseSet, Mistake

# ---------------------------------------------------------------------------------------------
# Oracles: the same quantities from torch and TensorFlow (imported only when a test calls them)
# ---------------------------------------------------------------------------------------------


def _torch_grad(loss, logits_or_pred, target):
    """∂ loss(x, target) / ∂x by torch.autograd."""
    import torch

    x = torch.tensor(logits_or_pred, dtype=torch.float64, requires_grad=True)
    target = torch.as_tensor(target)
    loss(x, target).backward()
    return x.grad.numpy()


def _torch_mse(pred, target):
    import torch

    return torch.nn.functional.mse_loss(torch.tensor(pred), torch.tensor(target)).item()


def _torch_mse_grad(pred, target):
    import torch

    return _torch_grad(torch.nn.functional.mse_loss, pred, torch.tensor(target))


def _tf_logsumexp(z):
    import tensorflow as tf

    return tf.reduce_logsumexp(tf.constant(z), axis=-1).numpy()


def _torch_cross_entropy(logits, labels):
    import torch

    return torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels)).item()


def _torch_fixed_final_loss():
    """Exercise 1.7's run with torch: the same steps, torch's cross-entropy and autograd."""
    import torch

    x, y = (torch.tensor(array) for array in _digits_training_set())
    w = torch.zeros(x.shape[1], 10, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=TRAIN_LR)
    for _ in range(TRAIN_STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y)
        loss.backward()
        optimizer.step()
    return loss.item()


def _torch_bce_with_logits_grad(logits, targets):
    import torch

    return _torch_grad(
        torch.nn.functional.binary_cross_entropy_with_logits, logits, torch.tensor(targets)
    )


def _torch_initial_loss():
    import torch

    logits = torch.zeros(1, 10, dtype=torch.float64)
    return torch.nn.functional.cross_entropy(logits, torch.tensor([0])).item()


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def _regression(shape):
    return lambda rng: {"pred": rng.normal(size=shape), "target": rng.normal(size=shape)}


def _scores(shape, offsets=0.0):
    return lambda rng: {"z": np.asarray(offsets) + rng.normal(size=shape)}


def _classification(samples, classes, scale=2.0):
    return lambda rng: {
        "logits": scale * rng.normal(size=(samples, classes)),
        "labels": rng.integers(0, classes, size=samples),
    }


def _confidently_wrong(samples, classes, scale):
    def make(rng):
        logits = scale * rng.normal(size=(samples, classes))
        return {"logits": logits, "labels": np.argmin(logits, axis=1)}

    return make


def _binary(shape, scale=2.0, soft=False):
    def make(rng):
        logits = scale * rng.normal(size=shape)
        targets = rng.uniform(size=shape) if soft else rng.integers(0, 2, size=shape).astype(float)
        return {"logits": logits, "targets": targets}

    return make


def _grad_wrt_probs(probs, targets):
    """(p − y) / (p (1 − p)) / n, unclipped as a learner would write it (inf once p rounds to 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (probs - targets) / (probs * (1 - probs)) / probs.size


def _shifted_logsumexp(z, shift):
    """m + log Σ exp(z − m) for a shift m that is not the maximum (overflows to inf)."""
    with np.errstate(over="ignore"):
        return np.squeeze(shift, -1) + np.log(np.sum(np.exp(z - shift), axis=-1))


def _rows(z, labels):
    """The entries z[i, labels[i]]: each sample's score for its true class."""
    return z[np.arange(len(labels)), labels]


# ---------------------------------------------------------------------------------------------
# The exercises
# ---------------------------------------------------------------------------------------------

MSE = Exercise(
    id="1.1",
    name="mse",
    title="Mean squared error",
    reference=losses.mse,
    oracle=_torch_mse,
    cases=(
        Case("8 predictions and their targets", _regression(8), seed=11),
        Case("a batch of 4 rows × 3 outputs", _regression((4, 3)), seed=12),
        Case("a single prediction", _regression(1), seed=13),
    ),
    mistakes=(
        Mistake(
            "you summed the squared errors. The *mean* squared error divides that sum by the "
            "number of elements n (`np.mean` does both).",
            lambda pred, target: np.sum((pred - target) ** 2),
        ),
        Mistake(
            "that is the root mean squared error (RMSE); the MSE has no square root.",
            lambda pred, target: np.sqrt(np.mean((pred - target) ** 2)),
        ),
        Mistake(
            "that is the mean absolute error (MAE): square the errors instead of taking their "
            "absolute value.",
            lambda pred, target: np.mean(np.abs(pred - target)),
        ),
        Mistake(
            "you averaged the raw errors, so positive and negative errors cancel out. Square each "
            "error before averaging.",
            lambda pred, target: np.mean(pred - target),
        ),
        Mistake(
            "you divided by `len(pred)`, the number of rows. Divide by the number of elements, "
            "`pred.size` (12 for a 4 × 3 batch).",
            lambda pred, target: np.sum((pred - target) ** 2) / len(pred),
        ),
        Mistake(
            "you averaged over the first axis only. The MSE averages over every element and "
            "returns a single number.",
            lambda pred, target: np.mean((pred - target) ** 2, axis=0),
        ),
    ),
    hints=(
        "Compute all the errors at once with `pred - target`: NumPy works elementwise.",
        "Square the errors with `** 2`, then average them all with `np.mean`, which divides by "
        "the number of elements for you.",
    ),
)

MSE_GRAD = Exercise(
    id="1.2",
    name="mse_grad",
    title="Gradient of the MSE",
    reference=losses.mse_grad,
    oracle=_torch_mse_grad,
    cases=(
        Case("6 predictions and their targets", _regression(6), seed=21),
        Case("a batch of 3 rows × 4 outputs", _regression((3, 4)), seed=22),
        Case("a single prediction", _regression(1), seed=23),
    ),
    mistakes=(
        Mistake(
            "the factor 2 is missing: the derivative of (ŷ − y)² is 2(ŷ − y).",
            lambda pred, target: (pred - target) / pred.size,
        ),
        Mistake(
            "the 1/n is missing. The loss is a *mean*, so each element's gradient is divided by "
            "the number of elements n = `pred.size`.",
            lambda pred, target: 2 * (pred - target),
        ),
        Mistake(
            "your gradient has the wrong sign: it is (2/n)(ŷ − y), prediction minus target. A step "
            "against a gradient of the wrong sign *increases* the loss.",
            lambda pred, target: 2 * (target - pred) / pred.size,
        ),
        Mistake(
            "you divided by `len(pred)`, the number of rows. n is the number of elements, "
            "`pred.size`.",
            lambda pred, target: 2 * (pred - target) / len(pred),
        ),
        Mistake(
            "you returned the loss. The gradient has one entry per prediction: the same shape as "
            "`pred`.",
            lambda pred, target: np.mean((pred - target) ** 2),
        ),
    ),
    hints=(
        "The gradient has one entry per prediction, so it has the same shape as `pred`.",
        "Differentiate one term: d/dŷᵢ (ŷᵢ − yᵢ)² = 2(ŷᵢ − yᵢ). Then account for the 1/n of the "
        "mean.",
        "n counts every element: for a 3 × 4 batch it is 12 (`pred.size`), not 3.",
    ),
)

LOGSUMEXP = Exercise(
    id="1.3",
    name="logsumexp",
    title="Stable log-sum-exp",
    reference=losses.logsumexp,
    oracle=_tf_logsumexp,
    points=2,
    cases=(
        Case("a vector of 5 scores", _scores(5), seed=31),
        Case("a batch of 4 rows × 6 scores", _scores((4, 6)), seed=32),
        Case("large scores around 1000", _scores((3, 5), 1000.0), seed=33),
        Case("very negative scores around −1000", _scores((3, 5), -1000.0), seed=34),
        Case(
            "rows on very different scales (around 1000, −1000 and 0)",
            _scores((3, 4), [[1000.0], [-1000.0], [0.0]]),
            seed=35,
        ),
        Case(
            "two rows far apart inside: [1000, −1000] and [−1000, 1000]",
            lambda rng: {"z": np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])},
            seed=36,
        ),
    ),
    mistakes=(
        Mistake(
            "`np.exp` overflows to inf for scores around 1000 (and underflows to 0 around −1000). "
            "Subtract each row's maximum m before exponentiating, then add it back: "
            "log Σ exp(z) = m + log Σ exp(z − m).",
            lambda z: np.log(np.sum(np.exp(z), axis=-1)),
        ),
        Mistake(
            "you subtracted the maximum m inside the exponential but did not add it back after "
            "the log.",
            lambda z: np.log(np.sum(np.exp(z - np.max(z, axis=-1, keepdims=True)), axis=-1)),
        ),
        Mistake(
            "you subtracted one maximum for the whole array. Each row needs its own maximum "
            "(`np.max(z, axis=-1, keepdims=True)`); rows far below the overall maximum underflow "
            "to log(0) = −inf.",
            lambda z: np.max(z) + np.log(np.sum(np.exp(z - np.max(z)), axis=-1)),
        ),
        Mistake(
            "you shifted each row by its mean. That keeps the result exact in theory, but "
            "exp(z − mean) still overflows when a row holds 1000 and −1000 (its mean is 0): "
            "only the row's *maximum* makes every exp(zⱼ − m) at most 1.",
            lambda z: _shifted_logsumexp(z, np.mean(z, axis=-1, keepdims=True)),
        ),
        Mistake(
            "you shifted each row by its first entry. When a later entry is far larger (a row "
            "[−1000, 1000]) exp(zⱼ − z₀) still overflows: shift by the row's *maximum*.",
            lambda z: _shifted_logsumexp(z, z[..., :1]),
        ),
        Mistake(
            "you reduced along the first axis. logsumexp reduces along the last axis "
            "(`axis=-1`): one result per row.",
            lambda z: losses.logsumexp(z, axis=0),
        ),
        Mistake(
            "your result kept the reduced axis (a trailing axis of size 1). Return one value per "
            "row: drop that axis, e.g. with `np.squeeze(..., axis=-1)`.",
            lambda z: losses.logsumexp(z, keepdims=True),
        ),
    ),
    hints=(
        "For any number m, log Σⱼ exp(zⱼ) = m + log Σⱼ exp(zⱼ − m). Which m makes every "
        "exp(zⱼ − m) at most 1, so nothing can overflow?",
        "Take m as the maximum of each row: `np.max(z, axis=-1, keepdims=True)`. `keepdims` "
        "makes `z - m` subtract each row's own maximum.",
        "After the log, add m back, and drop the kept axis so that the result has shape "
        "`z.shape[:-1]`.",
    ),
)

CROSS_ENTROPY = Exercise(
    id="1.4",
    name="cross_entropy",
    title="Cross-entropy from logits",
    reference=losses.cross_entropy,
    oracle=_torch_cross_entropy,
    points=2,
    cases=(
        Case("5 samples, 3 classes", _classification(5, 3), seed=41),
        Case("8 samples, 10 classes", _classification(8, 10), seed=42),
        Case("a single sample, 4 classes", _classification(1, 4), seed=43),
        Case("confident logits of size ~1000", _classification(4, 5, scale=1000.0), seed=44),
        Case(
            "a confidently wrong model: logits of size ~1000, the true class scored lowest",
            _confidently_wrong(4, 5, scale=1000.0),
            seed=45,
        ),
    ),
    mistakes=(
        Mistake(
            "you summed the per-sample losses. Cross-entropy *averages* them over the N samples.",
            lambda logits, labels: losses.cross_entropy(logits, labels, reduction="sum"),
        ),
        Mistake(
            "your loss has the wrong sign. The loss is −log p of the true class, which is never "
            "negative.",
            lambda logits, labels: -losses.cross_entropy(logits, labels),
        ),
        Mistake(
            "your answer matches softmax applied twice. `logits` are raw scores: turn them into "
            "(log-)probabilities exactly once.",
            lambda logits, labels: losses.cross_entropy(losses.softmax(logits), labels),
        ),
        Mistake(
            "you took the log of the logits themselves. Logits are unnormalised scores (any real "
            "number); log-probabilities are log-softmax(z) = z − logsumexp(z).",
            lambda logits, labels: -np.mean(np.log(_rows(logits, labels))),
        ),
        Mistake(
            "you used the true class's logit as its log-probability. Subtract the row's "
            "logsumexp first (log-softmax), so that the probabilities sum to 1.",
            lambda logits, labels: -np.mean(_rows(logits, labels)),
        ),
        Mistake(
            "your softmax overflows on large logits (exp(1000) = inf, and inf/inf = NaN). Compute "
            "the log-probabilities as z − logsumexp(z) with your stable logsumexp from 1.3.",
            lambda logits, labels: (
                -np.mean(
                    np.log(
                        _rows(
                            np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True), labels
                        )
                    )
                )
            ),
        ),
        Mistake(
            "you averaged over all N × C entries of a one-hot matrix. Average over the N samples "
            "only.",
            lambda logits, labels: losses.cross_entropy(logits, labels) / logits.shape[1],
        ),
    ),
    hints=(
        "For one sample the loss is −log of the probability the model gives to the true class: "
        "−log softmax(zᵢ)[yᵢ].",
        "log softmax(z)ⱼ = zⱼ − logsumexp(z): reuse your stable `logsumexp` from exercise 1.3 "
        "(with `keepdims` so that it broadcasts against `logits`).",
        "Pick each sample's true-class entry with `log_probs[np.arange(len(labels)), labels]`, "
        "then average over the samples.",
    ),
)

BCE_WITH_LOGITS_GRAD = Exercise(
    id="1.5",
    name="binary_cross_entropy_with_logits_grad",
    title="Gradient of binary cross-entropy with logits",
    reference=losses.binary_cross_entropy_with_logits_grad,
    oracle=_torch_bce_with_logits_grad,
    points=2,
    cases=(
        Case("8 logits with 0/1 targets", _binary(8), seed=51),
        Case("a batch of 4 rows × 3 logits", _binary((4, 3)), seed=52),
        Case("soft targets between 0 and 1", _binary(6, soft=True), seed=53),
        Case("confident logits of size ~50", _binary(6, scale=50.0), seed=54),
    ),
    mistakes=(
        Mistake(
            "your gradient has the wrong sign (target − σ(z)). It is (σ(z) − y)/n: prediction "
            "minus target, like the MSE's.",
            lambda logits, targets: (targets - losses.sigmoid(logits)) / logits.size,
        ),
        Mistake(
            "the 1/n is missing. The loss is a mean over n = `logits.size` elements.",
            lambda logits, targets: losses.sigmoid(logits) - targets,
        ),
        Mistake(
            "you used the logits as if they were probabilities: apply the sigmoid σ(z) first.",
            lambda logits, targets: (logits - targets) / logits.size,
        ),
        Mistake(
            "that is the gradient with respect to the probabilities p = σ(z). With respect to the "
            "logits, the chain rule multiplies it by σ′(z) = σ(z)(1 − σ(z)), which cancels the "
            "denominator.",
            lambda logits, targets: _grad_wrt_probs(losses.sigmoid(logits), targets),
        ),
        Mistake(
            "you multiplied by σ′(z) = σ(z)(1 − σ(z)) once too often: for this loss it cancels "
            "against the derivative of the log.",
            lambda logits, targets: (
                (losses.sigmoid(logits) - targets)
                * losses.sigmoid(logits)
                * (1 - losses.sigmoid(logits))
                / logits.size
            ),
        ),
    ),
    hints=(
        "Write p = σ(z) = 1 / (1 + exp(−z)) and use the chain rule: ∂ℓ/∂z = ∂ℓ/∂p · σ′(z), with "
        "σ′(z) = σ(z)(1 − σ(z)).",
        "For ℓ = −[y log p + (1 − y) log(1 − p)], ∂ℓ/∂p = (p − y) / (p(1 − p)). Multiply by σ′(z) "
        "and simplify.",
        "Almost everything cancels. Do not forget the 1/n of the mean (n = `logits.size`).",
    ),
)

INITIAL_LOSS = Exercise(
    id="1.6",
    name="initial_loss",
    title="The loss at initialisation",
    reference=lambda: losses.cross_entropy(np.zeros((1, 10)), np.array([0])),
    oracle=_torch_initial_loss,
    rtol=1e-4,
    mistakes=(
        Mistake(
            "that is log p of the true class. The loss is −log p, a positive number.",
            lambda: np.log(1 / 10),
        ),
        Mistake(
            "that is the probability of the true class. The loss is −log of that probability.",
            lambda: 1 / 10,
        ),
        Mistake(
            "`np.log10` is the base-10 logarithm; cross-entropy uses the natural logarithm, "
            "`np.log`.",
            lambda: np.log10(10),
        ),
        Mistake(
            "that is the loss in bits (base-2 logarithm); cross-entropy here uses the natural "
            "logarithm, `np.log`.",
            lambda: np.log2(10),
        ),
    ),
    hints=(
        "When all 10 logits are equal, what probability does softmax give to each class?",
        "Every class, including the true one, gets probability 1/10. The loss is −log of the true "
        "class's probability.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 1.7: diagnose a run that barely learns (the notebook trains with these)
# ---------------------------------------------------------------------------------------------

TRAIN_STEPS = 100
TRAIN_LR = 0.5


@functools.cache
def _digits_training_set() -> tuple[np.ndarray, np.ndarray]:
    """The digits' training images and labels, loaded once per process (read-only)."""
    data = digits(seed=0)
    for array in (data.x_train, data.y_train):
        array.flags.writeable = False
    return data.x_train, data.y_train


def train_digits(loss_and_grad, steps: int = TRAIN_STEPS, lr: float = TRAIN_LR) -> np.ndarray:
    """Softmax regression on the digits' training set by full-batch gradient descent.

    ``loss_and_grad(logits, labels)`` returns the loss and its gradient with respect to the
    logits; the weights start at zero. Returns the loss of every step (before its update).
    """
    x, labels = _digits_training_set()
    w, b = np.zeros((x.shape[1], 10)), np.zeros(10)
    history = []
    for _ in range(steps):
        loss, grad_logits = loss_and_grad(x @ w + b, labels)
        history.append(float(loss))
        w -= lr * (x.T @ grad_logits)  # ∂ℒ/∂W = xᵀ ∂ℒ/∂z
        b -= lr * grad_logits.sum(axis=0)
    return np.array(history)


def buggy_loss_and_grad(logits, labels):
    """The notebook's broken loss: softmax first, then a loss that applies softmax again."""
    probs = losses.softmax(logits)
    loss = losses.cross_entropy(probs, labels)  # cross_entropy expects logits, not probs
    grad_probs = losses.cross_entropy_grad(probs, labels)
    # back through the first softmax: Jᵀg = p ⊙ (g − ⟨g, p⟩)
    weighted = (grad_probs * probs).sum(axis=1, keepdims=True)
    return loss, probs * (grad_probs - weighted)


def _fixed_loss_and_grad(logits, labels):
    return losses.cross_entropy(logits, labels), losses.cross_entropy_grad(logits, labels)


def _loss_fixed_grad_not(logits, labels):
    return losses.cross_entropy(logits, labels), buggy_loss_and_grad(logits, labels)[1]


def _grad_fixed_loss_not(logits, labels):
    return buggy_loss_and_grad(logits, labels)[0], losses.cross_entropy_grad(logits, labels)


FIXED_FINAL_LOSS = Exercise(
    id="1.7",
    name="fixed_final_loss",
    title="Diagnose a classifier that barely learns",
    reference=lambda: train_digits(_fixed_loss_and_grad)[-1],
    oracle=_torch_fixed_final_loss,
    points=2,
    rtol=1e-4,
    mistakes=(
        Mistake(
            "that is the final loss of the broken run itself. Find what is wrong in "
            "`buggy_loss_and_grad` first: what does `losses.cross_entropy` expect as input, and "
            "what does it receive?",
            lambda: train_digits(buggy_loss_and_grad)[-1],
        ),
        Mistake(
            "the loss is fixed, but the gradient still goes through softmax twice, so training "
            "is still slow. The gradient of the cross-entropy with respect to the logits is "
            "(softmax(z) − one-hot) / n.",
            lambda: train_digits(_loss_fixed_grad_not)[-1],
        ),
        Mistake(
            "training is fixed, but the loss you report still applies softmax to "
            "probabilities. Report the cross-entropy of the logits.",
            lambda: train_digits(_grad_fixed_loss_not)[-1],
        ),
        Mistake(
            "that is the loss before any training (log 10, as in exercise 1.6). Report the "
            "last entry of the history that `train_digits` returns.",
            lambda: np.log(10.0),
        ),
    ),
    hints=(
        "Print the first few losses of the broken run and compare with what exercise 1.6 "
        "predicts; then look at the range of the numbers `losses.cross_entropy` receives.",
        "`losses.cross_entropy` applies softmax itself: it expects logits. The broken code "
        "passes it probabilities, so softmax is applied twice, and probabilities in [0, 1] "
        "give an almost uniform second softmax with tiny gradients.",
        "Return `losses.cross_entropy(logits, labels)` and `losses.cross_entropy_grad(logits, "
        "labels)`, train with `train_digits(your_function)`, and take the last loss.",
    ),
)

EXERCISE_SET = ExerciseSet(
    chapter="1",
    title="Loss functions",
    notebook="01_loss_functions",
    exercises=(
        MSE,
        MSE_GRAD,
        LOGSUMEXP,
        CROSS_ENTROPY,
        BCE_WITH_LOGITS_GRAD,
        INITIAL_LOSS,
        FIXED_FINAL_LOSS,
    ),
)
