"""Exercises 3: Regularization (NumPy).

Notebook: ``solutions/03_regularization.ipynb`` (source) → ``exercises/03_regularization.ipynb``.

The conventions are the chapter's: the data term is half the mean squared error,
:math:`L(w, b) = \\frac{1}{2n}\\lVert Xw + b - y\\rVert^2`, the L2 penalty is
:math:`\\frac{\\lambda}{2}\\lVert w\\rVert^2` and the intercept is never penalised.

Expected answers come from :mod:`utils.losses`, :mod:`utils.regularization` and, where ``utils``
has no function for the whole answer (the ridge closed form, the early-stopping rule), from a short
reference written here. Every reference is checked against an independent implementation declared
as the exercise's ``oracle`` (scikit-learn's ``Ridge`` for 3.1 and ``ElasticNet`` for 3.7, torch
or Keras for the others) by ``tests/test_autocheck_frameworks.py``.

Exercises 3.9–3.11 are concept questions: a multiple-choice question is answered with the
*number* of an option (an int), because :func:`utils.autocheck.compare.same_answer` compares
numbers, so that each wrong option gets its own message; their oracles run the experiment that
decides the question in torch.
"""

from __future__ import annotations

import numpy as np

from utils import losses, regularization

from ..spec import Case, Exercise, ExerciseSet, Mistake, multiple_choice

# ---------------------------------------------------------------------------------------------
# References: the quantities each exercise asks for
# ---------------------------------------------------------------------------------------------


def _ridge_fit(X, y, lam):
    """Minimiser of (1/2n)‖Xw + b − y‖² + (λ/2)‖w‖², b unpenalised: centre, then solve."""
    n, d = X.shape
    x_mean, y_mean = X.mean(axis=0), y.mean()
    Xc, yc = X - x_mean, y - y_mean
    w = np.linalg.solve(Xc.T @ Xc + n * lam * np.eye(d), Xc.T @ yc)  # (XcᵀXc + nλI) w = Xcᵀyc
    return w, float(y_mean - x_mean @ w)  # b = ȳ − x̄ᵀw


def _ridge_gradient(w, X, y, lam):
    """∇_w of (1/2n)‖Xw − y‖² + (λ/2)‖w‖², through utils: ½·Xᵀ ∂MSE/∂ŷ + λw."""
    return X.T @ (0.5 * losses.mse_grad(X @ w, y)) + regularization.l2_grad(w, lam)


def _ista_step(w, grad, lr, lam):
    """S_ηλ(w − η·grad) with utils' soft-thresholding."""
    return regularization.soft_threshold(w - lr * grad, lr * lam)


def _sgd_step_decoupled(w, grad, lr, weight_decay):
    """θ ← (1 − ηλ)θ with utils (on a copy), then θ ← θ − η·grad."""
    decayed = regularization.decoupled_weight_decay(np.array(w, dtype=float), lr, weight_decay)
    return decayed - lr * grad


def _early_stopping(val_losses, patience):
    """(best epoch, stop epoch) of patience-based early stopping on a validation curve."""
    best_loss, best_epoch = np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best_loss:  # only a strict improvement counts
            best_loss, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _elastic_net_step(w, grad, lr, l1, l2):
    """argmin_u ½‖u − v‖² + ηλ₁‖u‖₁ + (ηλ₂/2)‖u‖², v = w − η·grad: S_ηλ₁(v) / (1 + ηλ₂)."""
    return regularization.soft_threshold(w - lr * grad, lr * l1) / (1.0 + lr * l2)


def _sgd_step_weights_only(params, grads, lr, weight_decay):
    """SGD with decoupled decay on the parameters with ndim ≥ 2 only (utils, on copies)."""
    stepped = {}
    for name, param in params.items():
        param = np.array(param, dtype=float)
        if param.ndim >= 2:  # matrices and kernels: θ ← (1 − ηλ)θ
            param = regularization.decoupled_weight_decay(param, lr, weight_decay)
        stepped[name] = param - lr * grads[name]  # θ ← θ − η·g
    return stepped


# ---------------------------------------------------------------------------------------------
# Oracles: the same quantities from scikit-learn, torch and Keras (imported only in the tests)
# ---------------------------------------------------------------------------------------------


def _sklearn_ridge_fit(X, y, lam):
    from sklearn.linear_model import Ridge

    n = len(y)
    model = Ridge(alpha=n * lam, solver="cholesky").fit(X, y)  # sklearn's alpha is our nλ
    return np.ravel(model.coef_), float(np.ravel(model.intercept_)[0])


def _torch_ridge_gradient(w, X, y, lam):
    import torch

    w_t = torch.tensor(w, requires_grad=True)
    loss = 0.5 * torch.nn.functional.mse_loss(torch.tensor(X) @ w_t, torch.tensor(y))
    (loss + lam / 2 * w_t.pow(2).sum()).backward()
    return w_t.grad.numpy()


def _torch_ista_step(w, grad, lr, lam):
    import torch

    shifted = torch.tensor(w) - lr * torch.tensor(grad)
    return torch.nn.functional.softshrink(shifted, lr * lam).numpy()


def _torch_sgd_step_decoupled(w, grad, lr, weight_decay):
    """torch.optim.SGD(weight_decay=λ) adds λθ to the gradient: for plain SGD the same step."""
    import torch

    param = torch.tensor(w, requires_grad=True)
    param.grad = torch.tensor(grad)
    torch.optim.SGD([param], lr=lr, weight_decay=weight_decay).step()
    return param.detach().numpy()


class _EpochModel:
    """A stand-in for a Keras model whose "weights" are the number of the epoch that made them."""

    def __init__(self):
        self.stop_training, self.epoch = False, 0

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.epoch = int(weights[0])


def _keras_early_stopping(val_losses, patience):
    """Replay the curve through keras.callbacks.EarlyStopping(restore_best_weights=True).

    The best epoch is read from the model after ``on_train_end``: the epoch whose weights Keras
    left in it (strict improvement, min_delta 0).
    """
    import keras

    callback = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    model = _EpochModel()
    callback.set_model(model)
    callback.on_train_begin()
    stop_epoch = len(val_losses) - 1
    for epoch, loss in enumerate(val_losses):
        model.epoch = epoch  # the weights after this epoch's training
        callback.on_epoch_end(epoch, {"val_loss": float(loss)})
        if model.stop_training:
            stop_epoch = epoch
            break
    callback.on_train_end()
    return model.epoch, stop_epoch


def _sklearn_elastic_net_step(w, grad, lr, l1, l2):
    """The proximal problem as an ElasticNet fit with an orthogonal design X = √m·I, y = √m·v.

    sklearn minimises (1/2m)‖y − Xu‖² + αρ‖u‖₁ + ½α(1 − ρ)‖u‖², which is then
    ½‖v − u‖² + αρ‖u‖₁ + ½α(1 − ρ)‖u‖²: α = η(λ₁ + λ₂) and ρ = λ₁ / (λ₁ + λ₂).
    """
    from sklearn.linear_model import ElasticNet

    v = np.ravel(w - lr * grad)
    m = v.size
    model = ElasticNet(
        alpha=lr * (l1 + l2), l1_ratio=l1 / (l1 + l2), fit_intercept=False, tol=1e-14
    )
    model.fit(np.sqrt(m) * np.eye(m), np.sqrt(m) * v)
    return model.coef_.reshape(np.shape(w))


def _torch_sgd_step_weights_only(params, grads, lr, weight_decay):
    """torch.optim.SGD with two parameter groups: decay for ndim ≥ 2, none for the others."""
    import torch

    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    for name, tensor in tensors.items():
        tensor.grad = torch.tensor(grads[name])
    groups = [
        {"params": [t for t in tensors.values() if t.ndim >= 2], "weight_decay": weight_decay},
        {"params": [t for t in tensors.values() if t.ndim < 2], "weight_decay": 0.0},
    ]
    torch.optim.SGD([g for g in groups if g["params"]], lr=lr).step()
    return {name: tensor.detach().numpy() for name, tensor in tensors.items()}


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def _regression(n, d, lam, x_offset=1.0, y_offset=3.0):
    """Features with non-zero means and targets with a large mean, so that the intercept matters."""

    def make(rng):
        X = x_offset + rng.normal(size=(n, d))
        w = rng.normal(size=d)
        y = y_offset + X @ w + 0.3 * rng.normal(size=n)
        return {"X": X, "y": y, "lam": lam}

    return make


def _gradient_inputs(n, d, lam):
    def make(rng):
        return {
            "w": rng.normal(size=d),
            "X": rng.normal(size=(n, d)),
            "y": rng.normal(size=n),
            "lam": lam,
        }

    return make


def _ista_inputs(shape, lr, lam):
    def make(rng):
        return {"w": rng.normal(size=shape), "grad": rng.normal(size=shape), "lr": lr, "lam": lam}

    return make


def _decay_inputs(shape, lr, weight_decay):
    def make(rng):
        return {
            "w": rng.normal(size=shape),
            "grad": rng.normal(size=shape),
            "lr": lr,
            "weight_decay": weight_decay,
        }

    return make


def _u_shaped_curve(epochs, minimum_at, patience):
    """A noisy validation curve that falls, reaches its minimum, then rises (overfitting)."""

    def make(rng):
        t = np.arange(epochs)
        curve = 0.5 + 0.002 * (t - minimum_at) ** 2 / epochs + 0.01 * rng.normal(size=epochs)
        return {"val_losses": curve, "patience": patience}

    return make


def _decreasing_curve(epochs, patience):
    """Always improving: training runs to the last epoch."""

    def make(rng):
        steps = rng.uniform(0.01, 0.1, size=epochs)
        return {"val_losses": 2.0 - np.cumsum(steps), "patience": patience}

    return make


def _curve_with_ties_and_late_minimum(patience):
    """Ties with the best value (which must not count as improvements), then a stop, and a lower
    value only after the stopping epoch (which early stopping never sees)."""

    def make(rng):
        head = np.round(1.0 - 0.1 * np.arange(4) + 0.001 * rng.uniform(size=4), 3)  # improving
        best = head[-1]
        plateau = [best + 0.05, best, best + 0.02, best, best + 0.03, best + 0.04, best + 0.06]
        tail = [best - 0.5, best - 0.6]  # after the stop: never reached
        return {"val_losses": np.array([*head, *plateau, *tail]), "patience": patience}

    return make


def _curve_with_late_improvement(patience):
    """Two non-improving epochs, then a new best: the counter must restart from the new best."""

    def make(rng):
        noise = 0.001 * rng.uniform(size=12)
        curve = [1.0, 0.9, 0.95, 0.92, 0.8, 0.85, 0.83, 0.84, 0.86, 0.9, 0.95, 0.99]
        return {"val_losses": np.array(curve) + noise, "patience": patience}

    return make


def _curve_with_tiny_improvements(patience):
    """New bests lower by only 1e-6: any strictly lower loss counts, there is no `min_delta`.

    (1e-6, not less: the Keras oracle compares in float32.)
    """

    def make(rng):
        step = 1e-6 * rng.integers(1, 4)
        best = 0.5
        curve = [1.0, best, 0.7, best - step, 0.8, 0.75, best - 2 * step, 0.9, 0.85, 0.95, 0.99]
        return {"val_losses": np.array(curve), "patience": patience}

    return make


# ---------------------------------------------------------------------------------------------
# Known mistakes, written the way a learner gets them wrong
# ---------------------------------------------------------------------------------------------


def _ridge_with_matrix(X, y, matrix_scale, penalise_intercept=False, centre_x=True, intercept=True):
    n, d = X.shape
    if penalise_intercept:
        A = np.column_stack([X, np.ones(n)])
        coef = np.linalg.solve(A.T @ A + matrix_scale * np.eye(d + 1), A.T @ y)
        return coef[:d], float(coef[d])
    if not intercept:
        w = np.linalg.solve(X.T @ X + matrix_scale * np.eye(d), X.T @ y)
        return w, 0.0
    x_mean, y_mean = X.mean(axis=0), y.mean()
    Xc = X - x_mean if centre_x else X
    w = np.linalg.solve(Xc.T @ Xc + matrix_scale * np.eye(d), Xc.T @ (y - y_mean))
    return w, float(y_mean - x_mean @ w)


def _early_stopping_variant(val_losses, patience, *, stop_after=None, improves=None, reset=True):
    """The stopping loop with one knob turned: when to stop, what counts as an improvement, and
    whether the counter of epochs without improvement restarts at a new best."""
    stop_after = patience if stop_after is None else stop_after
    improves = improves or (lambda loss, best: loss < best)
    best_loss, best_epoch, waited = np.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if improves(loss, best_loss):
            best_loss, best_epoch = loss, epoch
            if reset:
                waited = 0
        else:
            waited += 1
            if waited >= stop_after:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


# ---------------------------------------------------------------------------------------------
# The exercises
# ---------------------------------------------------------------------------------------------

RIDGE_FIT = Exercise(
    id="3.1",
    name="ridge_fit",
    title="Ridge regression in closed form",
    reference=_ridge_fit,
    points=2,
    cases=(
        Case("n = 20 samples, d = 3 features, λ = 0.1", _regression(20, 3, 0.1), seed=31),
        Case("n = 8 samples, d = 5 features, λ = 1", _regression(8, 5, 1.0), seed=32),
        Case("n = 30, d = 2, λ = 0 (plain least squares)", _regression(30, 2, 0.0), seed=33),
        Case("a single feature, n = 12, λ = 0.5", _regression(12, 1, 0.5), seed=34),
    ),
    mistakes=(
        Mistake(
            "you penalised the intercept too (a column of ones inside the penalty). The intercept "
            "b is not penalised: centre X and y, solve for w on the centred data, then set "
            "b = ȳ − x̄ᵀw.",
            lambda X, y, lam: _ridge_with_matrix(X, y, len(y) * lam, penalise_intercept=True),
        ),
        Mistake(
            "your answer is the unregularized least-squares fit: the penalty adds nλI to the "
            "matrix XcᵀXc before you solve.",
            lambda X, y, lam: _ridge_with_matrix(X, y, 0.0),
        ),
        Mistake(
            "you added λI, the form for a *summed* loss ½‖Xw − y‖². With the mean loss "
            "(1/2n)‖Xw + b − y‖² of this exercise, setting the gradient to zero gives "
            "XcᵀXc + nλI.",
            lambda X, y, lam: _ridge_with_matrix(X, y, lam),
        ),
        Mistake(
            "you added nλ/2·I. The ½ in (λ/2)‖w‖² cancels when you differentiate: its gradient "
            "is λw, so the matrix is XcᵀXc + nλI.",
            lambda X, y, lam: _ridge_with_matrix(X, y, len(y) * lam / 2),
        ),
        Mistake(
            "your model has no intercept (b = 0). Fit b as well: centre X and y, solve for w, "
            "then b = ȳ − x̄ᵀw.",
            lambda X, y, lam: _ridge_with_matrix(X, y, len(y) * lam, intercept=False),
        ),
        Mistake(
            "you centred y but not the columns of X. Subtract each column's mean x̄ from X too "
            "before solving; only then is b = ȳ − x̄ᵀw the intercept that goes with w.",
            lambda X, y, lam: _ridge_with_matrix(X, y, len(y) * lam, centre_x=False),
        ),
    ),
    hints=(
        "Remove the intercept first: with x̄ = X.mean(axis=0) and ȳ = y.mean(), the optimal b is "
        "ȳ − x̄ᵀw for any w, so you can solve for w on the centred data Xc = X − x̄, yc = y − ȳ.",
        "Set the gradient of (1/2n)‖Xc w − yc‖² + (λ/2)‖w‖² to zero: "
        "(1/n) Xcᵀ(Xc w − yc) + λw = 0. Multiply by n and collect the terms in w.",
        "Solve (Xc.T @ Xc + n * lam * np.eye(d)) w = Xc.T @ yc with `np.linalg.solve`, then "
        "return `w, float(y_mean - x_mean @ w)`.",
    ),
    oracle=_sklearn_ridge_fit,
)

RIDGE_GRADIENT = Exercise(
    id="3.2",
    name="ridge_gradient",
    title="Gradient of the L2-penalised loss",
    reference=_ridge_gradient,
    oracle=_torch_ridge_gradient,
    cases=(
        Case("n = 12 samples, d = 4 weights, λ = 0.1", _gradient_inputs(12, 4, 0.1), seed=41),
        Case("n = 5 samples, d = 3 weights, λ = 2", _gradient_inputs(5, 3, 2.0), seed=42),
        Case("a single weight, n = 7, λ = 0.5", _gradient_inputs(7, 1, 0.5), seed=43),
    ),
    mistakes=(
        Mistake(
            "the penalty's gradient is missing: the derivative of (λ/2)‖w‖² is λw, and it adds "
            "to the gradient of the data term.",
            lambda w, X, y, lam: X.T @ (X @ w - y) / len(y),
        ),
        Mistake(
            "the penalty's gradient has the wrong sign: (λ/2)‖w‖² grows with ‖w‖, so its gradient "
            "+λw points away from 0 (and a descent step shrinks w).",
            lambda w, X, y, lam: X.T @ (X @ w - y) / len(y) - lam * w,
        ),
        Mistake(
            "your penalty's gradient is 2λw, the gradient of λ‖w‖². The penalty here is "
            "(λ/2)‖w‖², whose ½ cancels the 2: its gradient is λw.",
            lambda w, X, y, lam: X.T @ (X @ w - y) / len(y) + 2 * lam * w,
        ),
        Mistake(
            "your penalty's gradient is λw/2; differentiating (λ/2)w² gives λw (the 2 of the "
            "square cancels the ½).",
            lambda w, X, y, lam: X.T @ (X @ w - y) / len(y) + lam * w / 2,
        ),
        Mistake(
            "you divided the penalty's gradient by n. Only the data term is a mean over the n "
            "samples; the penalty is added once, so its gradient is λw.",
            lambda w, X, y, lam: (X.T @ (X @ w - y) + lam * w) / len(y),
        ),
        Mistake(
            "the data term's gradient has the wrong sign: use prediction minus target, "
            "(1/n) Xᵀ(Xw − y).",
            lambda w, X, y, lam: X.T @ (y - X @ w) / len(y) + lam * w,
        ),
        Mistake(
            "the data term's gradient is twice too large: that is the gradient of the full MSE. "
            "The loss here is *half* the MSE, (1/2n)‖Xw − y‖², whose gradient is (1/n) Xᵀ(Xw − y).",
            lambda w, X, y, lam: 2 * X.T @ (X @ w - y) / len(y) + lam * w,
        ),
        Mistake(
            "the data term's 1/n is missing: the loss is a mean over the n = `len(y)` samples.",
            lambda w, X, y, lam: X.T @ (X @ w - y) + lam * w,
        ),
    ),
    hints=(
        "The gradient is a sum of two parts, one per term of J: the data term and the penalty.",
        "The data term (1/2n)‖Xw − y‖² has gradient (1/n) Xᵀ(Xw − y). What is the gradient of "
        "(λ/2)‖w‖² = (λ/2) Σⱼ wⱼ²?",
        "`X.T @ (X @ w - y) / len(y)` plus the penalty's gradient, which has the shape of `w`.",
    ),
)

ISTA_STEP = Exercise(
    id="3.3",
    name="ista_step",
    title="One proximal (ISTA) step for the lasso",
    reference=_ista_step,
    oracle=_torch_ista_step,
    cases=(
        Case("8 weights, η = 0.1, λ = 2", _ista_inputs(8, 0.1, 2.0), seed=51),
        Case("a 3 × 4 weight matrix, η = 0.5, λ = 0.8", _ista_inputs((3, 4), 0.5, 0.8), seed=52),
        Case("6 weights, η = 0.05, λ = 10", _ista_inputs(6, 0.05, 10.0), seed=53),
    ),
    mistakes=(
        Mistake(
            "that is hard thresholding: you zeroed the small entries but kept the others "
            "unchanged. Soft-thresholding also moves every surviving entry τ = ηλ closer to 0.",
            lambda w, grad, lr, lam: np.where(np.abs(w - lr * grad) > lr * lam, w - lr * grad, 0.0),
        ),
        Mistake(
            "your result lost the signs: max(|v| − τ, 0) is the *size* of each entry after "
            "shrinking; multiply it by sign(v).",
            lambda w, grad, lr, lam: np.maximum(np.abs(w - lr * grad) - lr * lam, 0.0),
        ),
        Mistake(
            "you thresholded at λ. The proximal step of η·λ‖w‖₁ thresholds at τ = ηλ, the step "
            "size times the strength.",
            lambda w, grad, lr, lam: regularization.soft_threshold(w - lr * grad, lam),
        ),
        Mistake(
            "you shrank w before the gradient step. ISTA first takes the gradient step "
            "v = w − η·grad, then soft-thresholds v.",
            lambda w, grad, lr, lam: regularization.soft_threshold(w, lr * lam) - lr * grad,
        ),
        Mistake(
            "that is a subgradient step, w − η(grad + λ·sign(w)): it never lands exactly on 0. "
            "Take the gradient step, then soft-threshold: entries with |v| ≤ ηλ become exactly 0.",
            lambda w, grad, lr, lam: w - lr * (grad + lam * np.sign(w)),
        ),
    ),
    hints=(
        "Two stages: a plain gradient step v = w − η·grad, then the shrinkage S_τ(v) with τ = ηλ.",
        "S_τ(v) moves each entry τ towards 0 and stops at 0: entries with |v| ≤ τ become 0, the "
        "others become v − τ·sign(v).",
        "In NumPy: `np.sign(v) * np.maximum(np.abs(v) - tau, 0.0)`.",
    ),
)

SGD_STEP_DECOUPLED = Exercise(
    id="3.4",
    name="sgd_step_decoupled",
    title="One SGD step with decoupled weight decay",
    reference=_sgd_step_decoupled,
    oracle=_torch_sgd_step_decoupled,
    cases=(
        Case("5 weights, η = 0.1, λ = 0.5", _decay_inputs(5, 0.1, 0.5), seed=61),
        Case("a 3 × 2 weight matrix, η = 0.5, λ = 0.2", _decay_inputs((3, 2), 0.5, 0.2), seed=62),
        Case("4 weights, η = 0.05, λ = 0 (no decay)", _decay_inputs(4, 0.05, 0.0), seed=63),
    ),
    mistakes=(
        Mistake(
            "the decay is not scaled by the learning rate: you subtracted λθ. Decoupled weight "
            "decay shrinks by ηλθ per step, θ ← (1 − ηλ)θ.",
            lambda w, grad, lr, weight_decay: w - lr * grad - weight_decay * w,
        ),
        Mistake(
            "you decayed the weights *after* the gradient step, (1 − ηλ)(θ − η·grad). Decay the "
            "weights you were given: θ − η·grad − ηλθ.",
            lambda w, grad, lr, weight_decay: (1 - lr * weight_decay) * (w - lr * grad),
        ),
        Mistake(
            "the decay has the wrong sign: weight decay shrinks the weights towards 0, "
            "θ ← (1 − ηλ)θ.",
            lambda w, grad, lr, weight_decay: w - lr * grad + lr * weight_decay * w,
        ),
        Mistake(
            "you applied the decay twice: once as λθ added to the gradient and once as a "
            "separate shrink. For SGD these are two ways of writing the *same* decay; use one.",
            lambda w, grad, lr, weight_decay: (
                w - lr * (grad + weight_decay * w) - lr * weight_decay * w
            ),
        ),
        Mistake(
            "you forgot the gradient step: after the decay, subtract η·grad.",
            lambda w, grad, lr, weight_decay: (1 - lr * weight_decay) * w,
        ),
    ),
    hints=(
        "Two parts, both using the weights you were given: the decay θ ← θ − ηλθ and the "
        "gradient step θ ← θ − η·grad.",
        "Both terms are multiplied by the learning rate η: the new weights are "
        "θ − η·grad − η·λ·θ = (1 − ηλ)θ − η·grad.",
        "Return a new array, e.g. `(1 - lr * weight_decay) * w - lr * grad`; `w -= ...` would "
        "change the input.",
    ),
)

EARLY_STOPPING = Exercise(
    id="3.5",
    name="early_stopping",
    title="The early-stopping rule with patience",
    reference=_early_stopping,
    oracle=_keras_early_stopping,
    points=2,
    cases=(
        Case(
            "a noisy U-shaped curve of 60 epochs, patience 5",
            _u_shaped_curve(60, minimum_at=20, patience=5),
            seed=71,
        ),
        Case("a curve that improves at every epoch, patience 3", _decreasing_curve(15, 3), seed=72),
        Case(
            "ties with the best value, and a lower value after the stop, patience 4",
            _curve_with_ties_and_late_minimum(4),
            seed=73,
        ),
        Case(
            "a new best after two bad epochs, patience 3", _curve_with_late_improvement(3), seed=74
        ),
        Case(
            "patience 1 on a noisy U-shaped curve",
            _u_shaped_curve(40, minimum_at=25, patience=1),
            seed=75,
        ),
        Case(
            "new bests lower by only 1e-6, patience 3",
            _curve_with_tiny_improvements(3),
            seed=76,
        ),
    ),
    mistakes=(
        Mistake(
            "you stop one epoch too late: stop at the first epoch t with t − best = patience "
            "(`>=`, not `>`).",
            lambda val_losses, patience: _early_stopping_variant(
                val_losses, patience, stop_after=patience + 1
            ),
        ),
        Mistake(
            "you stop one epoch too early: with patience p, training goes on for p epochs without "
            "improvement and stops at the p-th one, t = best + p.",
            lambda val_losses, patience: _early_stopping_variant(
                val_losses, patience, stop_after=max(patience - 1, 1)
            ),
        ),
        Mistake(
            "you returned the epoch where training stopped as the best epoch. That is the model "
            "Keras leaves you with when `restore_best_weights` is False (its default); the rule "
            "here restores the weights of the epoch with the lowest validation loss.",
            lambda val_losses, patience: (
                _early_stopping(val_losses, patience)[1],
                _early_stopping(val_losses, patience)[1],
            ),
        ),
        Mistake(
            "you ignore the patience: you stop at the first epoch that does not improve. Wait "
            "until `patience` epochs in a row have passed without a new best.",
            lambda val_losses, patience: _early_stopping_variant(
                val_losses, patience, stop_after=1
            ),
        ),
        Mistake(
            "a loss equal to the best one is not an improvement: use `<`, not `<=`, so that ties "
            "keep the earlier epoch and do not restart the patience.",
            lambda val_losses, patience: _early_stopping_variant(
                val_losses, patience, improves=lambda loss, best: loss <= best
            ),
        ),
        Mistake(
            "you count an epoch as an improvement only when it beats the best by some margin "
            "(a `min_delta`, as in Keras' EarlyStopping). The rule here has none: any loss "
            "strictly below the best is a new best, however small the difference.",
            lambda val_losses, patience: _early_stopping_variant(
                val_losses, patience, improves=lambda loss, best: loss < best - 1e-5
            ),
        ),
        Mistake(
            "your count of epochs without improvement never restarts: set it back to 0 at every "
            "new best (equivalently, compare t − best epoch with the patience).",
            lambda val_losses, patience: _early_stopping_variant(val_losses, patience, reset=False),
        ),
        Mistake(
            "you took the minimum over the whole curve, including epochs after the stop that "
            "training never reached. Track the best epoch *as you go* and stop there.",
            lambda val_losses, patience: (
                int(np.argmin(val_losses)),
                _early_stopping(val_losses, patience)[1],
            ),
        ),
    ),
    hints=(
        "Walk through the epochs in order, keeping the best loss so far and the epoch where it "
        "happened.",
        "At each epoch: a strictly lower loss is a new best (remember the epoch); otherwise, if "
        "epoch − best_epoch has reached `patience`, stop and return.",
        "If the loop ends without stopping, training ran to the last epoch: return "
        "`(best_epoch, len(val_losses) - 1)`. Return plain ints.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 3.6, an experiment: choose λ on a validation set
# ---------------------------------------------------------------------------------------------

#: λ tried in 3.6: 10⁻⁴, 10⁻³·⁵, ..., 10¹.
LAMBDA_GRID = tuple(10.0 ** (k / 2) for k in range(-8, 3))


def validation_split(seed=6):
    """30 training and 200 validation samples, 20 features, of which 5 matter: ridge's regime."""
    rng = np.random.default_rng(seed)
    w_true = np.concatenate([rng.normal(size=5), np.zeros(15)])
    X = rng.normal(size=(230, 20))
    y = X @ w_true + 1.0 * rng.normal(size=230)
    return X[:30], y[:30], X[30:], y[30:]


def _errors(lam):
    """(training MSE, validation MSE) of the ridge fit with penalty ``lam``."""
    X_train, y_train, X_val, y_val = validation_split()
    w, b = _ridge_fit(X_train, y_train, lam)
    return losses.mse(X_train @ w + b, y_train), losses.mse(X_val @ w + b, y_val)


def _best_lambda():
    return LAMBDA_GRID[int(np.argmin([_errors(lam)[1] for lam in LAMBDA_GRID]))]


def _judge_lambda(value):
    """Accept λ within one grid step of the grid's best (on the log scale)."""
    lam = float(np.asarray(value))
    if not 0 <= lam <= LAMBDA_GRID[-1] * 10:
        return (
            f"your λ ({lam:.3g}) is outside the range of the experiment, "
            f"0 ≤ λ ≤ {LAMBDA_GRID[-1] * 10:.0f}."
        )
    best = LAMBDA_GRID.index(_best_lambda())
    low, high = LAMBDA_GRID[max(best - 1, 0)], LAMBDA_GRID[min(best + 1, len(LAMBDA_GRID) - 1)]
    if low * (1 - 1e-9) <= lam <= high * (1 + 1e-9):
        return None
    train, val = _errors(lam)
    if lam < low:
        return (
            f"with λ = {lam:.3g} the model overfits: training MSE {train:.3g}, validation MSE "
            f"{val:.3g}. The penalty is too weak; choose λ by the *validation* error."
        )
    return (
        f"with λ = {lam:.3g} the model underfits: training MSE {train:.3g} and validation MSE "
        f"{val:.3g} are both high. The penalty is too strong; try a smaller λ."
    )


def _sklearn_best_lambda():
    """The same search, each fit by scikit-learn's Ridge."""
    X_train, y_train, X_val, y_val = validation_split()
    errors = []
    for lam in LAMBDA_GRID:
        w, b = _sklearn_ridge_fit(X_train, y_train, lam)
        errors.append(np.mean((X_val @ w + b - y_val) ** 2))
    return LAMBDA_GRID[int(np.argmin(errors))]


VALIDATION_LAMBDA = Exercise(
    id="3.6",
    name="validation_lambda",
    title="Choose λ on a validation set",
    reference=_best_lambda,
    oracle=_sklearn_best_lambda,
    judge=_judge_lambda,
    mistakes=(
        Mistake(
            "you chose λ by the *training* error, which always prefers the smallest λ. Compare "
            "the fits on the validation set.",
            lambda: LAMBDA_GRID[int(np.argmin([_errors(lam)[0] for lam in LAMBDA_GRID]))],
        ),
        Mistake(
            "λ = 0 is plain least squares, which overfits 30 samples with 20 features. Pick the "
            "λ with the lowest validation error.",
            lambda: 0.0,
        ),
        Mistake(
            "you chose the largest λ on the grid: every weight is shrunk close to 0.",
            lambda: LAMBDA_GRID[-1],
        ),
    ),
    hints=(
        "Fit once per λ in `lambdas` and compute `validation_mse(lam)` for each.",
        "Pick the λ with the lowest *validation* MSE, not the lowest training MSE.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 3.7, transfer of 3.3: the proximal step of the elastic net
# ---------------------------------------------------------------------------------------------


def _elastic_net_inputs(shape, lr, l1, l2):
    def make(rng):
        return {
            "w": rng.normal(size=shape),
            "grad": rng.normal(size=shape),
            "lr": lr,
            "l1": l1,
            "l2": l2,
        }

    return make


ELASTIC_NET_STEP = Exercise(
    id="3.7",
    name="elastic_net_step",
    title="One proximal step for the elastic net",
    reference=_elastic_net_step,
    oracle=_sklearn_elastic_net_step,
    points=2,
    cases=(
        Case("8 weights, η = 0.1, λ₁ = 5, λ₂ = 1", _elastic_net_inputs(8, 0.1, 5.0, 1.0), seed=81),
        Case(
            "a 3 × 4 weight matrix, η = 0.5, λ₁ = 0.8, λ₂ = 4",
            _elastic_net_inputs((3, 4), 0.5, 0.8, 4.0),
            seed=82,
        ),
        Case(
            "6 weights, η = 0.05, λ₁ = 10, λ₂ = 0 (the lasso)",
            _elastic_net_inputs(6, 0.05, 10.0, 0.0),
            seed=83,
        ),
        Case(
            "10 weights, η = 1, λ₁ = 0.3, λ₂ = 10 (a strong L2 part)",
            _elastic_net_inputs(10, 1.0, 0.3, 10.0),
            seed=84,
        ),
    ),
    mistakes=(
        Mistake(
            "you left out the L2 part: that is exercise 3.3's lasso step. The proximal objective "
            "also holds (ηλ₂/2)‖u‖², which shrinks every surviving entry further.",
            lambda w, grad, lr, l1, l2: regularization.soft_threshold(w - lr * grad, lr * l1),
        ),
        Mistake(
            "you multiplied by 1 − ηλ₂, the factor of a *gradient* step on the L2 term at the old "
            "point. In the proximal step the L2 term acts on the new point u: set the derivative "
            "of ½(u − v)² + ηλ₁|u| + (ηλ₂/2)u² to zero and solve for u.",
            lambda w, grad, lr, l1, l2: (
                (1 - lr * l2) * regularization.soft_threshold(w - lr * grad, lr * l1)
            ),
        ),
        Mistake(
            "you took a gradient step on the L2 part (λ₂·w added to the gradient), then "
            "soft-thresholded. That is a different splitting of the problem, not the proximal "
            "step of the whole penalty that the statement asks for: the L2 term belongs in the "
            "proximal objective, where it acts on u.",
            lambda w, grad, lr, l1, l2: regularization.soft_threshold(
                w - lr * (grad + l2 * w), lr * l1
            ),
        ),
        Mistake(
            "you scaled v before thresholding it. The threshold applies to v itself (an entry "
            "becomes 0 exactly when |v| ≤ ηλ₁); the scaling comes after, on the survivors.",
            lambda w, grad, lr, l1, l2: regularization.soft_threshold(
                (w - lr * grad) / (1 + lr * l2), lr * l1
            ),
        ),
        Mistake(
            "you multiplied the soft-thresholded value by 1 + ηλ₂: the L2 part must shrink the "
            "surviving entries, not enlarge them. Solve the zero-derivative condition for u again.",
            lambda w, grad, lr, l1, l2: (
                regularization.soft_threshold(w - lr * grad, lr * l1) * (1 + lr * l2)
            ),
        ),
        Mistake(
            "the L2 part's strength in the proximal objective is ηλ₂, the step size times λ₂ "
            "(as the threshold is ηλ₁): you used λ₂ alone.",
            lambda w, grad, lr, l1, l2: (
                regularization.soft_threshold(w - lr * grad, lr * l1) / (1 + l2)
            ),
        ),
    ),
    hints=(
        "The objective is a sum over the entries: minimise ½(u − v)² + ηλ₁|u| + (ηλ₂/2)u² for "
        "each entry v of v = w − η·grad on its own.",
        "Suppose the answer u is positive: the derivative u − v + ηλ₁ + ηλ₂u must be 0. Solve for "
        "u and ask when that u really is positive. Do the same for u < 0; otherwise u = 0.",
        "Compare your formula with exercise 3.3's soft-thresholding: what does the L2 part add?",
    ),
)

# ---------------------------------------------------------------------------------------------
# 3.8, a diagnosis: weight decay that also shrinks the biases and the normalization gains
# ---------------------------------------------------------------------------------------------


def _network_inputs(shapes, lr, weight_decay):
    """Parameters named as torch names them, their gradients, and the step's settings."""

    def make(rng):
        params = {name: rng.normal(size=shape) for name, shape in shapes.items()}
        for name, value in params.items():
            if value.ndim == 1 and name.endswith(".weight"):
                params[name] = 1.0 + 0.1 * value  # normalization gains start near 1
        grads = {name: rng.normal(size=np.shape(value)) for name, value in params.items()}
        return {"params": params, "grads": grads, "lr": lr, "weight_decay": weight_decay}

    return make


_MLP = {
    "layer1.weight": (4, 3),
    "layer1.bias": (4,),
    "norm.weight": (4,),
    "norm.bias": (4,),
    "out.weight": (2, 4),
    "out.bias": (2,),
}
_CONVNET = {
    "embedding.weight": (5, 3),
    "conv.weight": (2, 1, 3, 3),
    "conv.bias": (2,),
    "bn.weight": (2,),
    "bn.bias": (2,),
}
_GPT_BLOCK = {  # nanoGPT's names: the LayerNorms are ln_1 and ln_f, no "norm" in them
    "wte.weight": (6, 4),
    "ln_1.weight": (4,),
    "ln_1.bias": (4,),
    "attn.c_attn.weight": (12, 4),
    "attn.c_attn.bias": (12,),
    "ln_f.weight": (4,),
    "lm_head.weight": (6, 4),
}


def _step_where(decayed):
    """An SGD step that decays the parameters for which ``decayed(name, param)`` is true."""

    def step(params, grads, lr, weight_decay):
        return {
            name: (1 - lr * weight_decay * decayed(name, param)) * param - lr * grads[name]
            for name, param in params.items()
        }

    return step


SGD_STEP_WEIGHTS_ONLY = Exercise(
    id="3.8",
    name="sgd_step_fixed",
    title="Fix a weight decay that shrinks every parameter",
    reference=_sgd_step_weights_only,
    oracle=_torch_sgd_step_weights_only,
    points=2,
    cases=(
        Case(
            "a linear layer, a LayerNorm and an output layer, η = 0.1, λ = 0.5",
            _network_inputs(_MLP, 0.1, 0.5),
            seed=91,
        ),
        Case(
            "an embedding, a 4-D convolution kernel and a BatchNorm, η = 0.05, λ = 1",
            _network_inputs(_CONVNET, 0.05, 1.0),
            seed=92,
        ),
        Case("the same MLP with λ = 0: a plain SGD step", _network_inputs(_MLP, 0.1, 0.0), seed=93),
        Case(
            "a GPT block named as nanoGPT names it (wte, ln_1, attn.c_attn, ln_f, lm_head), "
            "η = 0.1, λ = 0.2",
            _network_inputs(_GPT_BLOCK, 0.1, 0.2),
            seed=94,
        ),
    ),
    mistakes=(
        Mistake(
            "you still decay every parameter, as the broken step did: the biases and the "
            "normalization layers' gains and shifts (the 1-D parameters) must get the plain "
            "step θ − η·g.",
            _step_where(lambda name, param: True),
        ),
        Mistake(
            "you decided by the name: `'weight' in name` (or `not name.endswith('bias')`) also "
            "matches `norm.weight` and `bn.weight`, the normalization gains, which are 1-D and "
            "must not be decayed. Decide by the parameter's number of dimensions, `ndim`.",
            _step_where(lambda name, param: name.endswith("weight")),
        ),
        Mistake(
            "you picked the parameters by words in their names (`bias`, `norm`, `bn`). That fits "
            "some models' names but not others': nanoGPT's LayerNorm gains are `ln_1.weight` and "
            "`ln_f.weight`. Decide by the parameter's number of dimensions, `ndim`.",
            _step_where(
                lambda name, param: not any(word in name for word in ("bias", "norm", "bn"))
            ),
        ),
        Mistake(
            "the decay is not scaled by the learning rate: a decayed parameter shrinks by ηλθ "
            "per step, not by λθ (exercise 3.4).",
            lambda params, grads, lr, weight_decay: {
                name: (1 - weight_decay * (np.ndim(param) >= 2)) * param - lr * grads[name]
                for name, param in params.items()
            },
        ),
        Mistake(
            "you decayed the parameters *after* the gradient step, (1 − ηλ)(θ − η·g). Decay the "
            "parameters you were given, as in exercise 3.4.",
            lambda params, grads, lr, weight_decay: {
                name: (1 - lr * weight_decay * (np.ndim(param) >= 2)) * (param - lr * grads[name])
                for name, param in params.items()
            },
        ),
        Mistake(
            "you decay the 1-D parameters and leave the matrices alone: it is the other way round.",
            _step_where(lambda name, param: np.ndim(param) < 2),
        ),
        Mistake(
            "you removed the decay everywhere: the parameters with two or more dimensions "
            "(weight matrices, embeddings, convolution kernels) must still be decayed.",
            _step_where(lambda name, param: False),
        ),
        Mistake(
            "you decay only the parameters with more than two dimensions: 2-D weight matrices "
            "and embeddings are decayed too (`ndim >= 2`).",
            _step_where(lambda name, param: np.ndim(param) > 2),
        ),
    ),
    hints=(
        "Loop over `params.items()` and build a new dict: every parameter gets the gradient "
        "step; only some of them get the decay.",
        "Which parameters are decayed depends on `param.ndim`, not on the name: what is the "
        "`ndim` of a bias, of a LayerNorm gain, of a weight matrix?",
        "For a decayed parameter the step is (1 − ηλ)θ − η·g, for the others θ − η·g; write "
        "new arrays instead of `-=`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# Concept questions 3.9–3.11: a choice is the number of an option; the oracles run experiments
# ---------------------------------------------------------------------------------------------


def _torch_exact_zeros_option():
    """Run the four methods of 3.9 on a lasso-sized problem; return the one with exact zeros."""
    import torch

    rng = np.random.default_rng(39)
    X = torch.tensor(rng.normal(size=(40, 8)))
    w_true = torch.tensor([2.0, -1.5, 0, 0, 0, 0, 1.0, 0], dtype=torch.float64)
    y = X @ w_true + 0.1 * torch.tensor(rng.normal(size=40))
    lam, lr = 0.3, 0.1

    def data_grad(w):
        return X.T @ (X @ w - y) / len(y)

    def run(update):
        w = torch.zeros(8, dtype=torch.float64)
        for _ in range(500):
            w = update(w)
        return int((w == 0).sum())

    zeros = {
        1: run(lambda w: w - lr * (data_grad(w) + lam * w)),  # L2 penalty
        2: run(lambda w: w - lr * (data_grad(w) + lam * torch.sign(w))),  # L1, subgradient
        3: run(lambda w: torch.nn.functional.softshrink(w - lr * data_grad(w), lr * lam)),
        4: run(lambda w: (1 - lr * lam) * w - lr * data_grad(w)),  # weight decay
    }
    (option,) = [k for k, count in zeros.items() if count > 0]
    return option


EXACT_ZEROS = Exercise(
    id="3.9",
    name="exact_zeros_option",
    title="Which method gives exact zeros?",
    reference=lambda: 3,
    oracle=_torch_exact_zeros_option,
    judge=multiple_choice(4, 3),
    mistakes=(
        Mistake(
            "the L2 penalty shrinks every weight in proportion to its size, (1 − ηλ)w: a weight "
            "gets smaller and smaller but never lands exactly on 0.",
            lambda: 1,
        ),
        Mistake(
            "a subgradient step moves every weight by ηλ towards 0 whatever its size, so a small "
            "weight overshoots 0 and flips sign, step after step: it zig-zags around 0 but "
            "(almost) never equals 0.",
            lambda: 2,
        ),
        Mistake(
            "for plain SGD, weight decay is the L2 penalty written another way: it multiplies the "
            "weights by 1 − ηλ, which never makes one exactly 0.",
            lambda: 4,
        ),
    ),
    hints=(
        "Which step can *land* on 0 and stay there? Compare what each method does to a weight "
        "that is already small.",
        "Soft-thresholding sets every entry with |v| ≤ ηλ to 0 exactly (exercise 3.3).",
    ),
)

#: Exercise 3.10's run: gradient descent with this rate for this many steps.
STOPPING_LR, STOPPING_STEPS = 0.02, 250


def _torch_early_stopping_lambda():
    """λ at which ridge and early-stopped GD shrink a direction of vanishing curvature equally.

    GD from 0 reaches the fraction 1 − (1 − ηa)^t of a component's optimum, ridge a/(a + λ);
    equal when λ = a(1 − s)/s, computed with expm1/log1p so that a can be tiny.
    """
    import torch

    a = torch.tensor(1e-12, dtype=torch.float64)
    shrink = -torch.expm1(STOPPING_STEPS * torch.log1p(-STOPPING_LR * a))
    return float(a * (1 - shrink) / shrink)


EARLY_STOPPING_LAMBDA = Exercise(
    id="3.10",
    name="early_stopping_lambda",
    title="The ridge penalty that early stopping imitates",
    reference=lambda: 1.0 / (STOPPING_LR * STOPPING_STEPS),  # λ ≈ 1/(ηt)
    oracle=_torch_early_stopping_lambda,
    rtol=1e-3,
    atol=0.0,
    mistakes=(
        Mistake(
            'you gave ηt, the "amount of training". A longer run regularizes *less*, so the '
            "equivalent λ must fall as ηt grows: set ηat equal to a/λ and solve for λ.",
            lambda: STOPPING_LR * STOPPING_STEPS,
        ),
        Mistake(
            "you left out the learning rate: a run of t steps with rate η travels as far as "
            "ηt steps of rate 1, so the product ηt sets the equivalent λ.",
            lambda: 1.0 / STOPPING_STEPS,
        ),
        Mistake(
            "you left out the number of steps: the longer the run, the weaker the implicit "
            "penalty, so t belongs in the formula with η.",
            lambda: 1.0 / STOPPING_LR,
        ),
        Mistake(
            "η/t mixes the two the wrong way: both a larger rate and more steps mean more "
            "training, hence a smaller λ; they enter as a product.",
            lambda: STOPPING_LR / STOPPING_STEPS,
        ),
    ),
    hints=(
        "More training means less regularization: the equivalent λ shrinks as the run gets "
        "longer or its rate larger.",
        "The chapter's correspondence is λ ≈ 1/(ηt).",
    ),
)


def _torch_adam_l2_option():
    """One step from the same weights and gradient: L2 vs decoupled, for SGD and for Adam."""
    import torch

    rng = np.random.default_rng(311)
    start, grad = rng.normal(size=5), rng.normal(size=5) * np.array([10, 1, 0.1, 1, 5])
    lr, lam = 0.1, 0.5

    def step(optimizer_class, **options):
        param = torch.tensor(start, requires_grad=True)
        optimizer = optimizer_class([param], lr=lr, **options)
        for _ in range(3):
            param.grad = torch.tensor(grad)
            optimizer.step()
        return param.detach().numpy()

    def decoupled_sgd():
        param = start.copy()
        for _ in range(3):
            param = (1 - lr * lam) * param - lr * grad
        return param

    sgd_same = np.allclose(step(torch.optim.SGD, weight_decay=lam), decoupled_sgd())
    adam_same = np.allclose(
        step(torch.optim.Adam, weight_decay=lam), step(torch.optim.AdamW, weight_decay=lam)
    )
    return {(True, True): 1, (True, False): 2, (False, True): 3, (False, False): 4}[
        (sgd_same, adam_same)
    ]


ADAM_L2 = Exercise(
    id="3.11",
    name="adam_l2_option",
    title="L2 penalty or weight decay: when are they the same?",
    reference=lambda: 2,
    oracle=_torch_adam_l2_option,
    judge=multiple_choice(4, 2),
    mistakes=(
        Mistake(
            "for Adam the L2 gradient λθ goes into the moment estimates with the rest of the "
            "gradient and is divided by √v̂ like it: weights with large gradients are decayed "
            "less. The two coincide only when the step is the plain gradient times η.",
            lambda: 1,
        ),
        Mistake(
            "it is the other way round: for plain SGD, adding λθ to the gradient gives exactly "
            "(1 − ηλ)θ − η·g, the decoupled step (exercise 3.4).",
            lambda: 3,
        ),
        Mistake(
            "for plain SGD they do coincide: θ − η(g + λθ) = (1 − ηλ)θ − η·g, as in exercise 3.4.",
            lambda: 4,
        ),
    ),
    hints=(
        "Write one SGD step with the L2 gradient λθ added to g, and one with decoupled decay: "
        "are they equal?",
        "Adam divides each entry of the gradient it is given by √v̂. What happens to λθ if it "
        "is part of that gradient?",
    ),
)

EXERCISE_SET = ExerciseSet(
    chapter="3",
    title="Regularization",
    notebook="03_regularization",
    exercises=(
        RIDGE_FIT,
        RIDGE_GRADIENT,
        ISTA_STEP,
        SGD_STEP_DECOUPLED,
        EARLY_STOPPING,
        VALIDATION_LAMBDA,
        ELASTIC_NET_STEP,
        SGD_STEP_WEIGHTS_ONLY,
        EXACT_ZEROS,
        EARLY_STOPPING_LAMBDA,
        ADAM_L2,
    ),
)
