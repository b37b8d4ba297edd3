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

from ..spec import Case, Exercise, ExerciseSet, Mistake, multiple_choice

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


def _torch_cross_entropy(logits, labels, label_smoothing):
    import torch

    return torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor(labels), label_smoothing=label_smoothing
    ).item()


def _torch_huber_fit(x, y, delta, lr, num_steps):
    """Exercise 1.8's fit with torch: ``torch.nn.HuberLoss``, autograd and ``torch.optim.SGD``."""
    import torch

    x_t, y_t = torch.tensor(x), torch.tensor(y)
    w = torch.zeros((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    loss_fn = torch.nn.HuberLoss(delta=delta)
    for _ in range(num_steps):
        optimizer.zero_grad()
        loss_fn(w * x_t + b, y_t).backward()
        optimizer.step()
    return w.item(), b.item()


def _torch_outputs_are_probabilities(model, inputs):
    """torch's own test for a probability vector: ``constraints.simplex`` (≥ 0, sums to 1)."""
    import torch

    with torch.no_grad():
        outputs = model(inputs)
    return bool(torch.distributions.constraints.simplex.check(outputs).all())


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


def _masked_scores(shape, fraction=0.4):
    """Scores with some entries set to −inf (masked out); entry 0 of each row is kept."""

    def make(rng):
        z = rng.normal(size=shape)
        masked = rng.uniform(size=shape) < fraction
        masked[..., 0] = False
        z[masked] = -np.inf
        return {"z": z}

    return make


def _classification(samples, classes, scale=2.0, smoothing=0.1):
    return lambda rng: {
        "logits": scale * rng.normal(size=(samples, classes)),
        "labels": rng.integers(0, classes, size=samples),
        "label_smoothing": smoothing,
    }


def _confidently_wrong(samples, classes, scale, smoothing=0.1):
    def make(rng):
        logits = scale * rng.normal(size=(samples, classes))
        labels = np.argmin(logits, axis=1)
        return {"logits": logits, "labels": labels, "label_smoothing": smoothing}

    return make


def _smoothed_targets(labels, num_classes, label_smoothing):
    """q = (1 − ε) e_y + ε/C: the one-hot target mixed with the uniform distribution."""
    return (1 - label_smoothing) * np.eye(num_classes)[labels] + label_smoothing / num_classes


def outlier_line(n, outliers, delta, sign=1.0, num_steps=300):
    """Points near the line y = 2x + 1, with ``outliers`` targets moved by 8 to 15 units."""

    def make(rng):
        x = rng.uniform(-1.0, 1.0, size=n)
        y = 2.0 * x + 1.0 + 0.1 * rng.normal(size=n)
        corrupted = rng.choice(n, size=outliers, replace=False)
        y[corrupted] += sign * rng.uniform(8.0, 15.0, size=outliers)
        return {"x": x, "y": y, "delta": delta, "lr": 0.5, "num_steps": num_steps}

    return make


@functools.cache
def _custom_heads():
    """Two models whose last step is in ``forward``, not a layer (built when first needed)."""
    import torch

    class TemperatureClassifier(torch.nn.Module):
        """A classifier that returns softmax(z / T) from its forward: the softmax is hidden."""

        def __init__(self, linear):
            super().__init__()
            self.linear = linear

        def forward(self, x):
            return torch.softmax(self.linear(x) / 2.0, dim=-1)

    class SumNormalised(torch.nn.Module):
        """Scores divided by their row sum: rows sum to 1, but some entries are negative."""

        def __init__(self, linear):
            super().__init__()
            self.linear = linear

        def forward(self, x):
            scores = self.linear(x)
            return scores / scores.sum(dim=-1, keepdim=True)

    return {"temperature": TemperatureClassifier, "sum-normalised": SumNormalised}


def _classifier(head, features=5, classes=4, batch=8):
    """A torch model: a linear layer with seeded weights, then ``head``; and a batch of inputs."""

    def make(rng):
        import torch

        linear = torch.nn.Linear(features, classes)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(rng.normal(size=(classes, features))))
            bias = rng.normal(size=classes)
            if head == "sum-normalised":  # row sums far from 0, one score negative
                bias = np.array([3.0, 3.0, 3.0, -1.0])
                linear.weight.mul_(0.3)
            linear.bias.copy_(torch.tensor(bias))
        layers = {
            "linear": lambda: torch.nn.Sequential(linear),
            "softmax": lambda: torch.nn.Sequential(linear, torch.nn.Softmax(dim=-1)),
            "log-softmax": lambda: torch.nn.Sequential(linear, torch.nn.LogSoftmax(dim=-1)),
            "sigmoid": lambda: torch.nn.Sequential(linear, torch.nn.Sigmoid()),
        }
        model = layers[head]() if head in layers else _custom_heads()[head](linear)
        inputs = torch.tensor(rng.normal(size=(batch, features)), dtype=torch.float32)
        return {"model": model, "inputs": inputs}

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


def _max_shifted_logsumexp(z):
    """The chapter's m + log Σ exp(z − m): nan for a row of −inf (−inf − (−inf) = nan)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _shifted_logsumexp(z, np.max(z, axis=-1, keepdims=True))


# ---------------------------------------------------------------------------------------------
# References and mistaken answers of 1.4, 1.8 and 1.9
# ---------------------------------------------------------------------------------------------


def _smoothed_cross_entropy(logits, labels, label_smoothing):
    """Cross-entropy against the smoothed targets (1 − ε) e_y + ε/C, with utils.losses."""
    targets = _smoothed_targets(labels, logits.shape[1], label_smoothing)
    return losses.cross_entropy(logits, targets)


def _smoothing_over_other_classes(logits, labels, label_smoothing):
    num_classes = logits.shape[1]
    one_hot = np.eye(num_classes)[labels]
    targets = (1 - label_smoothing) * one_hot + label_smoothing / (num_classes - 1) * (1 - one_hot)
    return losses.cross_entropy(logits, targets)


def _smoothed_probabilities(logits, labels, label_smoothing):
    probs = losses.softmax(logits)
    mixed = (1 - label_smoothing) * probs + label_smoothing / logits.shape[1]
    return -np.mean(np.log(_rows(mixed, labels)))


def _naive_smoothed(logits, labels, label_smoothing):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        probs = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
        targets = _smoothed_targets(labels, logits.shape[1], label_smoothing)
        return -np.mean(np.sum(targets * np.log(probs), axis=1))


def _log_of_softmax(logits, labels, label_smoothing):
    """log(softmax(z)) in two steps: −inf once a probability rounds to 0."""
    targets = _smoothed_targets(labels, logits.shape[1], label_smoothing)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.mean(np.sum(targets * np.log(losses.softmax(logits)), axis=1))


def _gd_line(x, y, lr, num_steps, grad_pred):
    """Gradient descent on (w, b) for ŷ = w x + b, from 0, given ∂L/∂ŷ as ``grad_pred(ŷ, y)``."""
    w, b = 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            g = grad_pred(w * x + b, y)
            w, b = w - lr * float(g @ x), b - lr * float(g.sum())  # ∂ŷᵢ/∂w = xᵢ, ∂ŷᵢ/∂b = 1
    return w, b


def _huber_fit_one_after_the_other(x, y, delta, lr, num_steps):
    """Updates w, then computes b's gradient at the *new* w: not a gradient step on (w, b)."""
    w, b = 0.0, 0.0
    for _ in range(num_steps):
        w = w - lr * float(losses.huber_grad(w * x + b, y, delta=delta) @ x)
        b = b - lr * float(losses.huber_grad(w * x + b, y, delta=delta).sum())
    return w, b


def _huber_fit(x, y, delta, lr, num_steps):
    """Gradient descent on the mean Huber loss of a line, with utils.losses.huber_grad."""
    return _gd_line(x, y, lr, num_steps, lambda pred, y: losses.huber_grad(pred, y, delta=delta))


def _outputs_are_probabilities(model, inputs):
    """True when every output row is ≥ 0 and sums to 1: cross_entropy would softmax it again."""
    import torch

    with torch.no_grad():
        outputs = model(inputs)
    rows_sum_to_one = torch.allclose(outputs.sum(dim=-1), torch.ones(len(outputs)), atol=1e-5)
    return bool((outputs >= 0).all() and rows_sum_to_one)


def _outputs(model, inputs):
    import torch

    with torch.no_grad():
        return model(inputs)


def _only_non_negative(model, inputs):
    return bool((_outputs(model, inputs) >= 0).all())


def _only_rows_sum_to_one(model, inputs):
    sums = _outputs(model, inputs).sum(dim=-1)
    return bool(((sums - 1).abs() < 1e-5).all())


def _log_probabilities_too(model, inputs):
    outputs = _outputs(model, inputs)
    exp_sums = outputs.exp().sum(dim=-1)
    return _outputs_are_probabilities(model, inputs) or bool(((exp_sums - 1).abs() < 1e-5).all())


def _rows_sum_exactly_to_one(model, inputs):
    outputs = _outputs(model, inputs)
    return bool((outputs >= 0).all() and (outputs.sum(dim=-1) == 1).all())


def _last_layer_is_softmax(model, inputs):
    import torch

    return isinstance(list(model.modules())[-1], torch.nn.Softmax)


# ---------------------------------------------------------------------------------------------
# References and oracles of the concept questions (1.10–1.12)
# ---------------------------------------------------------------------------------------------

#: 1.10's options, in the order of the statement: the losses whose gradient you compare.
BOUNDED_OPTIONS = ("MSE", "Huber", "binary cross-entropy of a probability", "none of them")


def _bounded_option(gradients):
    """The 1-based option whose gradient stays below 1 at every residual, or the last one."""
    bounded = [i for i, grads in enumerate(gradients, start=1) if max(map(abs, grads)) <= 1.0]
    return bounded[0] if len(bounded) == 1 else len(BOUNDED_OPTIONS)


def _bounded_gradient_option():
    """Measured with utils.losses: the gradients at ever larger errors (one example each)."""
    one = np.zeros(1)
    return _bounded_option(
        [
            [losses.mse_grad(one + r, one)[0] for r in (1e3, 1e6)],
            [losses.huber_grad(one + r, one, delta=1.0)[0] for r in (1e3, 1e6)],
            [losses.binary_cross_entropy_grad(one + p, one + 1)[0] for p in (1e-3, 1e-6)],
        ]
    )


def _torch_bounded_gradient_option():
    import torch

    def grad(loss, pred, target):
        pred = torch.tensor([pred], dtype=torch.float64, requires_grad=True)
        loss(pred, torch.tensor([target], dtype=torch.float64)).backward()
        return pred.grad.item()

    functional = torch.nn.functional
    return _bounded_option(
        [
            [grad(functional.mse_loss, r, 0.0) for r in (1e3, 1e6)],
            [grad(functional.huber_loss, r, 0.0) for r in (1e3, 1e6)],
            [grad(functional.binary_cross_entropy, p, 1.0) for p in (1e-3, 1e-6)],
        ]
    )


def _from_logits_option():
    """Option 2 when the fused loss is finite where log(softmax(z)) gives −inf (utils)."""
    logits, label = np.array([[0.0, -800.0]]), np.array([1])
    fused = losses.cross_entropy(logits, label)
    with np.errstate(divide="ignore"):
        two_steps = -np.log(losses.softmax(logits))[0, 1]
    return 2 if np.isfinite(fused) and not np.isfinite(two_steps) else 1


def _torch_from_logits_option():
    import torch

    logits, label = torch.tensor([[0.0, -800.0]], dtype=torch.float64), torch.tensor([1])
    fused = torch.nn.functional.cross_entropy(logits, label)
    two_steps = torch.nn.functional.nll_loss(torch.log(torch.softmax(logits, dim=-1)), label)
    return 2 if bool(torch.isfinite(fused)) and not bool(torch.isfinite(two_steps)) else 1


#: 1.12: the predicted probabilities of one example whose class is 0.
GRADIENT_PROBS = (0.7, 0.1, 0.1, 0.1)


def _logit_gradient():
    """∂ℓ/∂z₀ for p = softmax(z) = GRADIENT_PROBS and y = 0, by utils.losses.cross_entropy_grad."""
    logits = np.log(np.array([GRADIENT_PROBS]))
    return float(losses.cross_entropy_grad(logits, np.array([0]))[0, 0])


def _torch_logit_gradient():
    import torch

    logits = torch.log(torch.tensor([GRADIENT_PROBS], dtype=torch.float64)).requires_grad_()
    torch.nn.functional.cross_entropy(logits, torch.tensor([0])).backward()
    return logits.grad[0, 0].item()


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
    title="Log-sum-exp with masked scores",
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
        Case(
            "masked scores: some entries are −inf, left out of the sum",
            _masked_scores((4, 5)),
            seed=37,
        ),  # fmt: skip
        Case(
            "a fully masked row: [1000, 998, −inf], [−inf, −inf, −inf] and [0.5, −inf, 2]",
            lambda rng: {
                "z": np.array([[1000.0, 998.0, -np.inf], [-np.inf] * 3, [0.5, -np.inf, 2.0]])
            },
            seed=38,
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
            "a fully masked row (every score −inf) gives nan: its maximum m is −inf, and "
            "z − m = −inf − (−inf) is nan. Such a row's log-sum-exp is log 0 = −inf; shift it by "
            "0 instead of by its maximum (`np.where(np.isfinite(m), m, 0)`).",
            _max_shifted_logsumexp,
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
        "Masked entries are −inf and exp(−inf) = 0, so they drop out by themselves. Only a row "
        "that is masked everywhere needs care: what is its maximum, and what is −inf − (−inf)?",
    ),
)

CROSS_ENTROPY = Exercise(
    id="1.4",
    name="cross_entropy",
    title="Cross-entropy with label smoothing",
    reference=_smoothed_cross_entropy,
    oracle=_torch_cross_entropy,
    points=2,
    cases=(
        Case("5 samples, 3 classes, ε = 0.1", _classification(5, 3), seed=41),
        Case("8 samples, 10 classes, ε = 0.2", _classification(8, 10, smoothing=0.2), seed=42),
        Case(
            "a single sample, 4 classes, ε = 0.3", _classification(1, 4, smoothing=0.3), seed=43
        ),  # fmt: skip
        Case(
            "confident logits of size ~1000, ε = 0.1", _classification(4, 5, scale=1000.0), seed=44
        ),  # fmt: skip
        Case(
            "a confidently wrong model: logits of size ~1000, the true class scored lowest",
            _confidently_wrong(4, 5, scale=1000.0),
            seed=45,
        ),
        Case(
            "no smoothing, ε = 0: 6 samples, 3 classes",
            _classification(6, 3, smoothing=0.0),
            seed=46,
        ),  # fmt: skip
    ),
    mistakes=(
        Mistake(
            "you ignored `label_smoothing`: that is the plain cross-entropy of the one-hot "
            "targets. Mix each one-hot target with the uniform distribution first.",
            lambda logits, labels, label_smoothing: losses.cross_entropy(logits, labels),
        ),
        Mistake(
            "you spread ε over the C − 1 *other* classes. torch (and this exercise) spreads it "
            "over all C classes, the true one included: q = (1 − ε) e_y + ε/C.",
            _smoothing_over_other_classes,
        ),
        Mistake(
            "your targets do not sum to 1: you added ε/C to every class but kept the true "
            "class's 1. Scale the one-hot part by (1 − ε).",
            lambda logits, labels, label_smoothing: losses.cross_entropy(
                logits, np.eye(logits.shape[1])[labels] + label_smoothing / logits.shape[1]
            ),
        ),
        Mistake(
            "you smoothed the model's probabilities, not the targets. Label smoothing changes "
            "the targets: ℓ = −Σ_c q_c log p_c with q = (1 − ε) e_y + ε/C.",
            _smoothed_probabilities,
        ),
        Mistake(
            "you summed the per-sample losses. Cross-entropy *averages* them over the n samples.",
            lambda logits, labels, label_smoothing: losses.cross_entropy(
                logits,
                _smoothed_targets(labels, logits.shape[1], label_smoothing),
                reduction="sum",
            ),  # fmt: skip
        ),
        Mistake(
            "your answer matches softmax applied twice. `logits` are raw scores: turn them into "
            "(log-)probabilities exactly once.",
            lambda logits, labels, label_smoothing: _smoothed_cross_entropy(
                losses.softmax(logits), labels, label_smoothing
            ),
        ),
        Mistake(
            "your softmax overflows on large logits (exp(1000) = inf, and inf/inf = NaN). Compute "
            "the log-probabilities as z − logsumexp(z) with your stable logsumexp from 1.3.",
            _naive_smoothed,
        ),
        Mistake(
            "you took the log of the softmax. For large logits a probability rounds to 0 and "
            "its log is −inf, even with a stable softmax. Compute log p = z − logsumexp(z) "
            "directly.",
            _log_of_softmax,
        ),
        Mistake(
            "your targets sum to 1 − ε: you scaled the one-hot part by (1 − ε) but did not add "
            "ε/C to every class.",
            lambda logits, labels, label_smoothing: losses.cross_entropy(
                logits, (1 - label_smoothing) * np.eye(logits.shape[1])[labels]
            ),
        ),
        Mistake(
            "your loss has the wrong sign. The loss is −Σ_c q_c log p_c, which is never negative.",
            lambda logits, labels, label_smoothing: (
                -_smoothed_cross_entropy(logits, labels, label_smoothing)
            ),
        ),
    ),
    hints=(
        "Build the smoothed targets first: a matrix q of shape (n, C) with 1 − ε + ε/C at each "
        "sample's true class and ε/C everywhere else. Each row sums to 1.",
        "log softmax(z) = z − logsumexp(z): reuse your `logsumexp` from exercise 1.3 (add an "
        "axis with `[:, np.newaxis]` so that it broadcasts against `logits`).",
        "Each sample's loss is −Σ_c q_c log p_c (a sum over the classes); then average over the "
        "samples.",
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
        w -= lr * (x.T @ grad_logits)  # ∂L/∂W = xᵀ ∂L/∂z
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

# ---------------------------------------------------------------------------------------------
# 1.8 and 1.9: transfer the chapter's ideas to new situations
# ---------------------------------------------------------------------------------------------

HUBER_FIT = Exercise(
    id="1.8",
    name="huber_fit",
    title="A robust line fit with the Huber loss",
    reference=_huber_fit,
    oracle=_torch_huber_fit,
    points=2,
    rtol=1e-6,
    atol=1e-8,
    cases=(
        Case("40 points, 3 outliers moved up, δ = 1", outlier_line(40, 3, 1.0), seed=81),
        Case(
            "30 points, 5 outliers moved up, δ = 0.5, only 20 steps",
            outlier_line(30, 5, 0.5, num_steps=20),
            seed=82,
        ),
        Case(
            "50 points, 4 outliers moved down, δ = 2", outlier_line(50, 4, 2.0, sign=-1.0), seed=83
        ),  # fmt: skip
    ),
    mistakes=(
        Mistake(
            "you followed the gradient of the MSE, (2/n) r: every outlier pulls in proportion to "
            "its residual, so the line moves towards the outliers. Huber's gradient is the "
            "residual clipped to [−δ, δ], divided by n.",
            lambda x, y, delta, lr, num_steps: _gd_line(x, y, lr, num_steps, losses.mse_grad),
        ),
        Mistake(
            "your gradient is r/n for every residual: that is Huber's gradient without the "
            "clipping, the gradient of half the MSE, and the outliers still pull the line. Clip "
            "each residual to [−δ, δ] (`np.clip`).",
            lambda x, y, delta, lr, num_steps: _gd_line(
                x, y, lr, num_steps, lambda pred, y: (pred - y) / len(y)
            ),
        ),
        Mistake(
            "you clipped the residuals to [−1, 1] whatever δ is. Clip them to [−δ, δ].",
            lambda x, y, delta, lr, num_steps: _huber_fit(x, y, 1.0, lr, num_steps),
        ),
        Mistake(
            "you differentiated the *sum* of the Huber losses: your steps are n times too large. "
            "The loss is the mean, so divide the clipped residuals by n.",
            lambda x, y, delta, lr, num_steps: _gd_line(
                x,
                y,
                lr,
                num_steps,
                lambda pred, y: losses.huber_grad(pred, y, delta=delta, reduction="sum"),
            ),  # fmt: skip
        ),
        Mistake(
            "your fit climbs the loss: the residual is r = ŷ − y, prediction minus target. With "
            "y − ŷ every step goes uphill.",
            lambda x, y, delta, lr, num_steps: _gd_line(
                x, y, lr, num_steps, lambda pred, y: -losses.huber_grad(pred, y, delta=delta)
            ),
        ),
        Mistake(
            "you updated w first and then computed b's gradient at the new w. A gradient step "
            "computes both gradients at the same (w, b), then updates both.",
            _huber_fit_one_after_the_other,
        ),
    ),
    hints=(
        "Start from w = b = 0. Each step computes the predictions ŷ = w x + b, the residuals "
        "r = ŷ − y and the gradient of the loss with respect to each prediction.",
        "For the mean Huber loss, ∂L/∂ŷᵢ = clip(rᵢ, −δ, δ) / n. An outlier's pull is at most δ/n.",
        "By the chain rule, ∂L/∂w = Σᵢ (∂L/∂ŷᵢ) xᵢ and ∂L/∂b = Σᵢ ∂L/∂ŷᵢ. Update both with the "
        "same η, `num_steps` times, and return `(w, b)`.",
    ),
)

DOUBLE_SOFTMAX = Exercise(
    id="1.9",
    name="applies_softmax_twice",
    title="Spot a double softmax",
    reference=_outputs_are_probabilities,
    oracle=_torch_outputs_are_probabilities,
    points=2,
    cases=(
        Case("a model that ends in a linear layer", _classifier("linear"), seed=91),
        Case("a model that ends in `nn.Softmax(dim=-1)`", _classifier("softmax"), seed=92),
        Case("a model that ends in `nn.LogSoftmax(dim=-1)`", _classifier("log-softmax"), seed=93),
        Case("a multi-label model that ends in `nn.Sigmoid()`", _classifier("sigmoid"), seed=94),
        Case(
            "a model whose `forward` returns `torch.softmax(scores / 2, dim=-1)`",
            _classifier("temperature"),
            seed=95,
        ),
        Case(
            "a model whose `forward` divides its scores by their row sum",
            _classifier("sum-normalised"),
            seed=96,
        ),
    ),
    mistakes=(
        Mistake(
            "non-negative outputs are not enough: a sigmoid layer's outputs lie in [0, 1] too, "
            "but each is the probability of its own label, and a row need not sum to 1. Test "
            "both conditions.",
            _only_non_negative,
        ),
        Mistake(
            "rows that sum to 1 are not enough: scores divided by their row sum sum to 1 but can "
            "be negative, and a probability cannot. Test both conditions.",
            _only_rows_sum_to_one,
        ),
        Mistake(
            "log-softmax outputs are not a double softmax problem: `cross_entropy` applies "
            "log_softmax, and log_softmax(log p) = log p, so the loss is already right. Flag "
            "only outputs that are probabilities themselves.",
            _log_probabilities_too,
        ),
        Mistake(
            "you looked at the model's layers. A softmax can sit inside `forward` without being "
            "a layer (the temperature model): run the model and test its outputs.",
            _last_layer_is_softmax,
        ),
        Mistake(
            "you tested that the rows sum to exactly 1. In floating point a softmax row sums to "
            "1 only up to rounding: compare with a tolerance.",
            _rows_sum_exactly_to_one,
        ),
    ),
    hints=(
        "Do not read the model's code: run it on `inputs` (inside `torch.no_grad()`) and look at "
        "the numbers it returns.",
        "`cross_entropy` applies softmax itself. It applies it a second time when the outputs "
        "are already probabilities: every entry ≥ 0 and every row summing to 1.",
        "Allow for rounding when you test the row sums (`torch.allclose(..., atol=1e-5)`), and "
        "return a Python `bool`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# Concept questions: the learner answers with the number of an option, or with a number
# ---------------------------------------------------------------------------------------------

BOUNDED_GRADIENT = Exercise(
    id="1.10",
    name="bounded_gradient_option",
    title="Which gradient is bounded?",
    reference=_bounded_gradient_option,
    judge=multiple_choice(4, _bounded_gradient_option),
    oracle=_torch_bounded_gradient_option,
    mistakes=(
        Mistake(
            "the squared error's gradient, 2(ŷ − y), grows in proportion to the error: a point "
            "1000 units off pulls 1000 times harder than a point 1 unit off.",
            lambda: 1,
        ),
        Mistake(
            "as a function of the probability p, −log p has the derivative −1/p, which grows "
            "without bound as p → 0: a confident wrong prediction gets a huge gradient.",
            lambda: 3,
        ),
        Mistake(
            "one of the three is bounded: write down each derivative with respect to the "
            "prediction and let the error grow.",
            lambda: 4,
        ),
    ),
    hints=(
        "Write the derivative of each loss of one example with respect to its prediction, then "
        "let the error (or, for option 3, 1/p) grow large.",
        "Huber's loss is linear beyond δ. What is the slope of a linear function?",
    ),
)

FROM_LOGITS = Exercise(
    id="1.11",
    name="from_logits_option",
    title="Why pass logits to the loss?",
    reference=_from_logits_option,
    judge=multiple_choice(4, _from_logits_option),
    oracle=_torch_from_logits_option,
    mistakes=(
        Mistake(
            "the softmax is not skipped: the loss computes it (as log-softmax) inside. Speed is "
            "not the reason.",
            lambda: 1,
        ),
        Mistake(
            "softmax probabilities are differentiable; frameworks backpropagate through "
            "`softmax` all the time. The problem is the precision of log(softmax(z)).",
            lambda: 3,
        ),
        Mistake(
            "the loss does not change what the model outputs: with `from_logits=True` the "
            "model's outputs are logits, which need not sum to 1.",
            lambda: 4,
        ),
    ),
    hints=(
        "Compute log(softmax(z)) for z = (0, −800) in float64. What does the second entry become?",
        "A loss that receives logits computes z − logsumexp(z) directly, without ever forming "
        "a probability that could round to 0.",
    ),
)

LOGIT_GRADIENT = Exercise(
    id="1.12",
    name="logit_gradient",
    title="The gradient with respect to a logit",
    reference=_logit_gradient,
    oracle=_torch_logit_gradient,
    rtol=1e-4,
    mistakes=(
        Mistake(
            "that is p₀ itself. The gradient of the cross-entropy with respect to the logits is "
            "p − e_y: subtract 1 at the true class.",
            lambda: 0.7,
        ),
        Mistake(
            "the sign is flipped: ∂ℓ/∂z = p − e_y, prediction minus target. Raising the true "
            "class's logit lowers the loss, so its gradient is negative.",
            lambda: 0.3,
        ),
        Mistake(
            "that is ∂ℓ/∂p₀ = −1/p₀, the derivative with respect to the probability. The "
            "question asks for the derivative with respect to the logit z₀.",
            lambda: -1 / 0.7,
        ),
        Mistake(
            "that is the loss −log p₀, not its gradient.",
            lambda: -np.log(0.7),
        ),
    ),
    hints=(
        "For one example, ℓ = logsumexp(z) − z_y. Differentiate each term with respect to z₀.",
        "∂ logsumexp(z)/∂z₀ = softmax(z)₀ = p₀, and ∂z_y/∂z₀ is 1 when y = 0.",
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
        HUBER_FIT,
        DOUBLE_SOFTMAX,
        BOUNDED_GRADIENT,
        FROM_LOGITS,
        LOGIT_GRADIENT,
    ),
)
