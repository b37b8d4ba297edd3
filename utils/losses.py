r"""Loss functions and their gradients, in NumPy.

Every loss comes as a pair: ``loss(pred, target)`` and ``loss_grad(pred, target)``, the gradient
with respect to the *first* argument (the model's output), which is what back-propagation needs
from a loss. The formulas follow ``torch.nn`` (``MSELoss``, ``L1Loss``, ``HuberLoss``, ``BCELoss``,
``BCEWithLogitsLoss``, ``CrossEntropyLoss``) and the tests prove each one against ``torch.autograd``
and ``keras.losses``.

Conventions shared by every function here:

- ``reduction`` is ``"mean"`` (divide by the number of terms), ``"sum"`` or ``"none"`` (one loss
  per element, or per sample for the categorical losses). The gradient follows the reduction: with
  ``"none"`` it is the derivative of each term with respect to its own prediction, i.e. the
  gradient of the *sum*.
- ``pred`` and ``target`` must have the same shape. NumPy would broadcast an ``(n, 1)`` prediction
  against an ``(n,)`` target into an ``(n, n)`` matrix and return a wrong loss without complaint;
  here it is a ``ValueError``.
- Everything is computed in float64 (float32 inputs are promoted), so the results can serve as a
  reference for float32 framework code.
- Log-probabilities are computed from logits with the log-sum-exp trick, so logits of ±1e4 give
  finite losses and gradients. Losses that take probabilities clip them to ``[eps, 1 − eps]``
  before taking a logarithm.
"""

from __future__ import annotations

import numpy as np

REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------------------
# Helpers: checking the arguments and reducing
# ---------------------------------------------------------------------------------------------


def _as_float_array(x, name: str) -> np.ndarray:
    """Return ``x`` as a float64 (or wider) array; a ValueError names ``name`` if impossible."""
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be array-like, got {type(x).__name__}") from error
    is_real = np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array)
    if not (is_real or array.dtype == bool):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.result_type(array.dtype, np.float64), copy=False)


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(pred: np.ndarray, target: np.ndarray, pred_name: str = "pred") -> None:
    if pred.shape != target.shape:
        raise ValueError(
            f"target must have the same shape as {pred_name}: {pred_name} has shape {pred.shape}, "
            f"target has shape {target.shape} (reshape one of them; broadcasting would silently "
            "compute a different loss)"
        )


def _pair(pred, target, reduction: str, pred_name: str = "pred"):
    """Validate and convert an elementwise ``(pred, target)`` pair."""
    _check_reduction(reduction)
    pred = _as_float_array(pred, pred_name)
    target = _as_float_array(target, "target")
    _check_same_shape(pred, target, pred_name)
    return pred, target


def _reduce(per_term: np.ndarray, reduction: str):
    """Apply ``reduction`` to an array of per-term losses."""
    if reduction == "mean":
        return per_term.mean()
    if reduction == "sum":
        return per_term.sum()
    return per_term


def _reduce_grad(per_term_grad: np.ndarray, num_terms: int, reduction: str) -> np.ndarray:
    """Scale a per-term gradient for ``reduction``: ∂(mean)/∂ŷᵢ = (∂ℓᵢ/∂ŷᵢ) / n."""
    if reduction == "mean":
        return per_term_grad / max(num_terms, 1)
    return per_term_grad


# ---------------------------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------------------------


def mse(pred, target, reduction: str = "mean"):
    r"""Mean squared error, as ``torch.nn.MSELoss``.

    .. math:: L = \frac{1}{n}\sum_{i=1}^{n} (\hat y_i - y_i)^2
    """
    pred, target = _pair(pred, target, reduction)
    return _reduce((pred - target) ** 2, reduction)


def mse_grad(pred, target, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`mse` with respect to ``pred``.

    .. math:: \frac{\partial L}{\partial \hat y_i} = \frac{2}{n}(\hat y_i - y_i)
    """
    pred, target = _pair(pred, target, reduction)
    return _reduce_grad(2.0 * (pred - target), pred.size, reduction)


def mae(pred, target, reduction: str = "mean"):
    r"""Mean absolute error, as ``torch.nn.L1Loss``.

    .. math:: L = \frac{1}{n}\sum_{i=1}^{n} |\hat y_i - y_i|
    """
    pred, target = _pair(pred, target, reduction)
    return _reduce(np.abs(pred - target), reduction)


def mae_grad(pred, target, reduction: str = "mean") -> np.ndarray:
    r"""A subgradient of :func:`mae` with respect to ``pred``.

    .. math:: \frac{\partial L}{\partial \hat y_i} = \frac{1}{n}\operatorname{sign}(\hat y_i - y_i)

    :math:`|e|` has no derivative at :math:`e = 0`; every value in :math:`[-1, 1]` is a
    subgradient there. We return 0, as ``torch.sign`` (and therefore torch's ``L1Loss``) does.
    """
    pred, target = _pair(pred, target, reduction)
    return _reduce_grad(np.sign(pred - target), pred.size, reduction)


def _check_delta(delta: float) -> None:
    if not np.isscalar(delta) or not np.isfinite(delta) or delta <= 0:
        raise ValueError(f"delta must be a positive finite number, got {delta!r}")


def huber(pred, target, delta: float = 1.0, reduction: str = "mean"):
    r"""Huber loss, as ``torch.nn.HuberLoss(delta=delta)`` and ``keras.losses.Huber(delta)``.

    Quadratic near zero, linear beyond ``delta``, with :math:`e_i = \hat y_i - y_i`:

    .. math::

        \ell_i = \begin{cases} \tfrac12 e_i^2 & |e_i| \le \delta \\
                 \delta\,(|e_i| - \tfrac12\delta) & |e_i| > \delta \end{cases},
        \qquad L = \frac{1}{n}\sum_i \ell_i

    (``torch.nn.SmoothL1Loss(beta)`` is the same curve divided by ``beta``.)
    """
    _check_delta(delta)
    pred, target = _pair(pred, target, reduction)
    abs_error = np.abs(pred - target)
    per_term = np.where(
        abs_error <= delta,
        0.5 * abs_error**2,  # ½ e²
        delta * (abs_error - 0.5 * delta),  # δ (|e| − ½δ)
    )
    return _reduce(per_term, reduction)


def huber_grad(pred, target, delta: float = 1.0, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`huber` with respect to ``pred``: the error clipped to ``[-δ, δ]``.

    .. math::

        \frac{\partial L}{\partial \hat y_i} = \frac{1}{n}\operatorname{clip}(e_i, -\delta, \delta)
    """
    _check_delta(delta)
    pred, target = _pair(pred, target, reduction)
    return _reduce_grad(np.clip(pred - target, -delta, delta), pred.size, reduction)


# ---------------------------------------------------------------------------------------------
# Numerically stable building blocks: sigmoid, log-sum-exp, softmax
# ---------------------------------------------------------------------------------------------


def sigmoid(z) -> np.ndarray:
    r"""Logistic function :math:`\sigma(z) = 1 / (1 + e^{-z})`, stable for both signs of ``z``.

    For :math:`z < 0`, :math:`e^{-z}` overflows, so we use the equal form
    :math:`\sigma(z) = e^{z} / (1 + e^{z})` there. Both forms only ever evaluate
    :math:`e^{-|z|} \le 1`.
    """
    z = _as_float_array(z, "z")
    exp_minus_abs = np.exp(-np.abs(z))  # e^{−|z|} ∈ (0, 1]
    return np.where(z >= 0, 1.0 / (1.0 + exp_minus_abs), exp_minus_abs / (1.0 + exp_minus_abs))


def log_sigmoid(z) -> np.ndarray:
    r""":math:`\log \sigma(z)`, without ever computing :math:`\sigma(z)` (which may round to 0).

    .. math:: \log\sigma(z) = -\log(1 + e^{-z}) = \min(z, 0) - \log(1 + e^{-|z|})
    """
    z = _as_float_array(z, "z")
    return np.minimum(z, 0.0) - np.log1p(np.exp(-np.abs(z)))


def logsumexp(z, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    r""":math:`\log \sum_j e^{z_j}` along ``axis``, computed without overflow.

    Subtracting the maximum :math:`m = \max_j z_j` leaves every exponent :math:`\le 0`:

    .. math:: \log \sum_j e^{z_j} = m + \log \sum_j e^{z_j - m}
    """
    z = _as_float_array(z, "z")
    max_z = np.max(z, axis=axis, keepdims=True)
    # A row of −∞ would give −∞ − (−∞) = nan; shifting it by 0 instead keeps the answer −∞.
    max_z = np.where(np.isfinite(max_z), max_z, 0.0)
    with np.errstate(divide="ignore"):  # log(0) = −∞ is the right answer for an all −∞ row
        result = max_z + np.log(np.sum(np.exp(z - max_z), axis=axis, keepdims=True))
    return result if keepdims else np.squeeze(result, axis=axis)


def softmax(z, axis: int = -1) -> np.ndarray:
    r"""Softmax along ``axis``: :math:`\mathrm{softmax}(z)_j = e^{z_j - m} / \sum_k e^{z_k - m}`.

    Subtracting :math:`m = \max_k z_k` changes nothing mathematically and prevents overflow.
    """
    z = _as_float_array(z, "z")
    exp_shifted = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return exp_shifted / np.sum(exp_shifted, axis=axis, keepdims=True)


def log_softmax(z, axis: int = -1) -> np.ndarray:
    r"""Log of the softmax along ``axis``: :math:`z_j - \log\sum_k e^{z_k}`.

    Computed directly (not as ``log(softmax(z))``, which gives ``-inf`` once a probability rounds
    to 0).
    """
    z = _as_float_array(z, "z")
    return z - logsumexp(z, axis=axis, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy: from probabilities and from logits
# ---------------------------------------------------------------------------------------------


def _check_eps(eps: float) -> None:
    if not np.isscalar(eps) or not 0 <= eps < 0.5:
        raise ValueError(f"eps must be a number in [0, 0.5), got {eps!r}")


def binary_cross_entropy(probs, target, reduction: str = "mean", eps: float = 1e-12):
    r"""Binary cross-entropy from probabilities :math:`p_i = P(y_i = 1)`, as ``torch.nn.BCELoss``.

    .. math:: L = -\frac{1}{n}\sum_i \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big]

    ``probs`` are first clipped to ``[eps, 1 − eps]`` so that a probability of exactly 0 or 1 gives
    a large finite loss instead of ``inf``. The frameworks guard differently: torch clamps each
    log term at −100; Keras clips to ``[1e-7, 1 − 1e-7]`` (``eps=1e-7`` here reproduces it).
    Inside the clipping range the three agree. If your model outputs logits, prefer
    :func:`binary_cross_entropy_with_logits`: it needs no clipping at all.
    """
    _check_eps(eps)
    probs, target = _pair(probs, target, reduction, pred_name="probs")
    probs = np.clip(probs, eps, 1.0 - eps)
    per_term = -(target * np.log(probs) + (1.0 - target) * np.log(1.0 - probs))
    return _reduce(per_term, reduction)


def binary_cross_entropy_grad(
    probs, target, reduction: str = "mean", eps: float = 1e-12
) -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy` with respect to ``probs``.

    .. math:: \frac{\partial L}{\partial p_i} = \frac{1}{n}\,\frac{p_i - y_i}{p_i (1 - p_i)}

    evaluated at the clipped :math:`p_i \in [\varepsilon, 1 - \varepsilon]`, so it stays finite
    (strictly, the clipped loss is flat outside that range; we return the slope at its edge).
    """
    _check_eps(eps)
    probs, target = _pair(probs, target, reduction, pred_name="probs")
    probs = np.clip(probs, eps, 1.0 - eps)
    per_term_grad = (probs - target) / (probs * (1.0 - probs))
    return _reduce_grad(per_term_grad, probs.size, reduction)


def binary_cross_entropy_with_logits(logits, target, reduction: str = "mean"):
    r"""Binary cross-entropy from logits :math:`z_i`, as ``torch.nn.BCEWithLogitsLoss``.

    With :math:`p_i = \sigma(z_i)`, the loss :math:`-[y\log p + (1-y)\log(1-p)]` simplifies to

    .. math:: \ell_i = \max(z_i, 0) - z_i y_i + \log(1 + e^{-|z_i|})

    which never overflows, even for :math:`|z_i| = 10^4` (Keras'
    ``from_logits=True`` and ``tf.nn.sigmoid_cross_entropy_with_logits`` use the same form).
    """
    logits, target = _pair(logits, target, reduction, pred_name="logits")
    per_term = np.maximum(logits, 0.0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    return _reduce(per_term, reduction)


def binary_cross_entropy_with_logits_grad(logits, target, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits``.

    .. math:: \frac{\partial L}{\partial z_i} = \frac{1}{n}\big(\sigma(z_i) - y_i\big)

    The :math:`1/(p(1-p))` of :func:`binary_cross_entropy_grad` cancels against
    :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`: the reason to fuse the sigmoid into the loss.
    """
    logits, target = _pair(logits, target, reduction, pred_name="logits")
    return _reduce_grad(sigmoid(logits) - target, logits.size, reduction)


# ---------------------------------------------------------------------------------------------
# Categorical cross-entropy: from logits and from probabilities
# ---------------------------------------------------------------------------------------------


def _class_targets(scores: np.ndarray, target, scores_name: str) -> np.ndarray:
    """Return ``target`` as an ``(N, C)`` float array of class probabilities.

    ``target`` is either integer class indices of shape ``(N,)`` (turned into one-hot rows) or
    class probabilities / one-hot rows of shape ``(N, C)``.
    """
    if scores.ndim != 2:
        raise ValueError(
            f"{scores_name} must have shape (N, C) (one row of class scores per sample), "
            f"got shape {scores.shape}"
        )
    num_samples, num_classes = scores.shape
    target = np.asarray(target)
    if target.shape == (num_samples,):
        if not np.issubdtype(target.dtype, np.integer):
            raise ValueError(
                f"target of shape (N,) must hold integer class indices, got dtype {target.dtype}"
            )
        if target.size and (target.min() < 0 or target.max() >= num_classes):
            raise ValueError(
                f"target class indices must lie in [0, {num_classes - 1}], "
                f"got values in [{target.min()}, {target.max()}]"
            )
        return np.eye(num_classes)[target]
    if target.shape == scores.shape:
        return _as_float_array(target, "target")
    raise ValueError(
        f"target must be class indices of shape ({num_samples},) or class probabilities of shape "
        f"{scores.shape}, got shape {target.shape}"
    )


def cross_entropy(logits, target, reduction: str = "mean"):
    r"""Categorical cross-entropy from logits, as ``torch.nn.CrossEntropyLoss``.

    ``logits`` has shape ``(N, C)``; ``target`` is class indices ``(N,)`` or class probabilities
    (one-hot or soft labels) ``(N, C)``. With :math:`y_{ic}` the target probabilities,

    .. math:: \ell_i = -\sum_{c} y_{ic} \log \mathrm{softmax}(z_i)_c
              = -\sum_c y_{ic}\Big(z_{ic} - \log\sum_k e^{z_{ik}}\Big),
              \qquad L = \frac1N \sum_i \ell_i

    For a class index :math:`t_i` this is :math:`\ell_i = \log\sum_k e^{z_{ik}} - z_{i t_i}`.
    ``reduction="none"`` returns the ``N`` per-sample losses.
    """
    _check_reduction(reduction)
    logits = _as_float_array(logits, "logits")
    target_probs = _class_targets(logits, target, "logits")
    per_sample = -np.sum(target_probs * log_softmax(logits, axis=-1), axis=-1)
    return _reduce(per_sample, reduction)


def cross_entropy_grad(logits, target, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` with respect to ``logits``.

    .. math:: \frac{\partial L}{\partial z_{ic}} = \frac1N\Big(\mathrm{softmax}(z_i)_c \sum_k y_{ik}
              - y_{ic}\Big) = \frac1N\big(\mathrm{softmax}(z_i)_c - y_{ic}\big)

    (the second form when each target row sums to 1, as one-hot rows do).
    """
    _check_reduction(reduction)
    logits = _as_float_array(logits, "logits")
    target_probs = _class_targets(logits, target, "logits")
    row_mass = target_probs.sum(axis=-1, keepdims=True)  # Σ_k y_ik, 1 for proper targets
    per_sample_grad = softmax(logits, axis=-1) * row_mass - target_probs
    return _reduce_grad(per_sample_grad, logits.shape[0], reduction)


def categorical_cross_entropy(probs, target, reduction: str = "mean", eps: float = 1e-12):
    r"""Categorical cross-entropy from probabilities ``(N, C)``, as Keras'
    ``CategoricalCrossentropy()`` (one-hot ``target``) or ``SparseCategoricalCrossentropy()``
    (class indices ``target``).

    .. math:: L = -\frac1N \sum_i \sum_c y_{ic} \log p_{ic}

    ``probs`` are clipped to ``[eps, 1 − eps]`` first. Unlike Keras, rows of ``probs`` are *not*
    renormalised to sum to 1: pass the output of a softmax. From logits, use
    :func:`cross_entropy`, which is both cheaper and more accurate.
    """
    _check_reduction(reduction)
    _check_eps(eps)
    probs = _as_float_array(probs, "probs")
    target_probs = _class_targets(probs, target, "probs")
    per_sample = -np.sum(target_probs * np.log(np.clip(probs, eps, 1.0 - eps)), axis=-1)
    return _reduce(per_sample, reduction)


def categorical_cross_entropy_grad(
    probs, target, reduction: str = "mean", eps: float = 1e-12
) -> np.ndarray:
    r"""Gradient of :func:`categorical_cross_entropy` with respect to ``probs``.

    .. math:: \frac{\partial L}{\partial p_{ic}} = -\frac1N\,\frac{y_{ic}}{p_{ic}}

    evaluated at the clipped :math:`p_{ic} \in [\varepsilon, 1 - \varepsilon]`.
    """
    _check_reduction(reduction)
    _check_eps(eps)
    probs = _as_float_array(probs, "probs")
    target_probs = _class_targets(probs, target, "probs")
    per_sample_grad = -target_probs / np.clip(probs, eps, 1.0 - eps)
    return _reduce_grad(per_sample_grad, probs.shape[0], reduction)


# ---------------------------------------------------------------------------------------------
# Knowledge distillation: a student matches a teacher's softened probabilities
# ---------------------------------------------------------------------------------------------


def _check_temperature(temperature: float) -> None:
    if not (isinstance(temperature, int | float) and np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")


def _distillation_pair(student_logits, teacher_logits):
    student = _as_float_array(student_logits, "student_logits")
    teacher = _as_float_array(teacher_logits, "teacher_logits")
    _check_same_shape(student, teacher, pred_name="student_logits")
    if student.ndim != 2:
        raise ValueError(
            f"student_logits must have shape (N, C) (one row of class scores per sample), "
            f"got shape {student.shape}"
        )
    return student, teacher


def distillation_loss(student_logits, teacher_logits, temperature: float = 2.0,
                      reduction: str = "mean"):  # fmt: skip
    r"""Hinton, Vinyals & Dean (2015)'s soft-target loss: T² times the KL divergence from the
    teacher's to the student's probabilities, both softened by the temperature T.

    .. math:: p_i = \mathrm{softmax}(t_i / T), \quad q_i = \mathrm{softmax}(s_i / T), \qquad
              \ell_i = T^2 \sum_c p_{ic} \log\frac{p_{ic}}{q_{ic}}, \qquad
              L = \frac1N \sum_i \ell_i

    As ``T**2 * torch.nn.functional.kl_div(log_softmax(s / T), softmax(t / T),
    reduction="batchmean")``. The factor T² keeps the gradient's size roughly independent of T
    (:func:`distillation_loss_grad`), so that changing T does not also change the learning rate;
    a training loss mixes it with the hard-label cross-entropy, α CE(s, y) + (1 − α) L.
    """
    _check_reduction(reduction)
    _check_temperature(temperature)
    student, teacher = _distillation_pair(student_logits, teacher_logits)
    log_p = log_softmax(teacher / temperature, axis=-1)
    log_q = log_softmax(student / temperature, axis=-1)
    per_sample = temperature**2 * np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)
    return _reduce(per_sample, reduction)


def distillation_loss_grad(student_logits, teacher_logits, temperature: float = 2.0,
                           reduction: str = "mean") -> np.ndarray:  # fmt: skip
    r"""Gradient of :func:`distillation_loss` with respect to the student's logits.

    .. math:: \frac{\partial L}{\partial s_{ic}} = \frac{T}{N}\,(q_{ic} - p_{ic})
              \;\approx\; \frac1{N C}\,(s_{ic} - t_{ic}) \quad\text{for large } T

    (the approximation for logits whose rows have mean zero): without the T² factor the
    gradient would shrink like 1/T².
    """
    _check_reduction(reduction)
    _check_temperature(temperature)
    student, teacher = _distillation_pair(student_logits, teacher_logits)
    p = softmax(teacher / temperature, axis=-1)
    q = softmax(student / temperature, axis=-1)
    return _reduce_grad(temperature * (q - p), student.shape[0], reduction)
