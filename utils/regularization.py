r"""Regularization and gradient clipping, in NumPy.

Two families of tools that keep training well behaved:

1. **Penalties** added to the loss, and what they add to the gradient:
   L2 (:func:`l2_penalty`, :func:`l2_grad`), L1 (:func:`l1_penalty`, :func:`l1_subgradient`), the
   proximal step of L1 (:func:`soft_threshold`), and *decoupled* weight decay
   (:func:`decoupled_weight_decay`), which shrinks the weights directly, as AdamW does.
2. **Gradient clipping** before the optimizer step: by value (:func:`clip_grad_value`), by the
   norm of each tensor (:func:`clip_grad_norm`) and by the global norm of all tensors together
   (:func:`clip_grad_global_norm`, the one ``torch.nn.utils.clip_grad_norm_`` implements).

``params`` and ``grads`` are either one array or a list of arrays (one per weight tensor). A single
array gives a single array back, a list gives a list. Nothing here modifies its inputs, except
:func:`decoupled_weight_decay`, whose whole point is to update a parameter in place.

Conventions differ between frameworks and textbooks; each docstring says which one it follows.
The tests prove every function against torch and TensorFlow/Keras.
"""

from __future__ import annotations

import numpy as np

# torch.nn.utils.clip_grad_norm_ divides by (‖g‖ + 1e-6); see clip_grad_global_norm.
TORCH_CLIP_EPS = 1e-6


def _as_array_list(arrays, name: str) -> tuple[list[np.ndarray], bool]:
    """Return ``(list of float arrays, was_single)`` for one array or a list/tuple of arrays."""
    is_single = not isinstance(arrays, (list, tuple))
    items = [arrays] if is_single else list(arrays)
    converted = []
    for index, item in enumerate(items):
        array = np.asarray(item)
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            where = name if is_single else f"{name}[{index}]"
            raise ValueError(f"{where} must be a numeric array, got dtype {array.dtype}")
        converted.append(array.astype(np.result_type(array.dtype, np.float64), copy=False))
    return converted, is_single


def _same_structure(arrays: list[np.ndarray], was_single: bool):
    return arrays[0] if was_single else arrays


def _check_non_negative(value: float, name: str) -> None:
    if not np.isscalar(value) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")


def _check_positive(value: float, name: str) -> None:
    if not np.isscalar(value) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


# ---------------------------------------------------------------------------------------------
# L2 and L1 penalties
# ---------------------------------------------------------------------------------------------


def l2_penalty(params, lam: float) -> float:
    r"""L2 penalty with the ½ convention: :math:`\Omega(w) = \frac{\lambda}{2}\sum_k \|w_k\|_2^2`.

    The ½ makes the gradient exactly :math:`\lambda w` (:func:`l2_grad`), which is what
    ``torch.optim.SGD(weight_decay=λ)`` adds to the gradient. Keras' ``regularizers.L2(l2)``
    has no ½: it adds :math:`l_2 \sum w^2`, so ``L2(l2=λ/2)`` equals ``l2_penalty(w, λ)``.
    """
    _check_non_negative(lam, "lam")
    params, _ = _as_array_list(params, "params")
    # Ω = λ/2 · Σ‖w‖²
    return 0.5 * lam * sum(float(np.sum(w * w)) for w in params)


def l2_grad(params, lam: float):
    r"""Gradient of :func:`l2_penalty`: :math:`\nabla_w \Omega = \lambda w`.

    Adding this to the loss gradient is "L2 regularization" (coupled weight decay); for plain SGD
    it equals :func:`decoupled_weight_decay`, for Adam it does not (the AdamW paper's point).
    """
    _check_non_negative(lam, "lam")
    params, was_single = _as_array_list(params, "params")
    return _same_structure([lam * w for w in params], was_single)


def l1_penalty(params, lam: float) -> float:
    r"""L1 penalty :math:`\Omega(w) = \lambda \sum_k \|w_k\|_1 = \lambda \sum_j |w_j|`.

    Same convention as Keras' ``regularizers.L1(l1=λ)``.
    """
    _check_non_negative(lam, "lam")
    params, _ = _as_array_list(params, "params")
    return lam * sum(float(np.sum(np.abs(w))) for w in params)


def l1_subgradient(params, lam: float):
    r"""A subgradient of :func:`l1_penalty`: :math:`\lambda\,\operatorname{sign}(w)`, 0 at 0.

    At :math:`w_j = 0` any value in :math:`[-\lambda, \lambda]` is a subgradient; 0 is the one
    ``torch.sign`` gives (and so what autograd returns for ``λ * w.abs().sum()``).
    Subgradient descent makes weights oscillate around 0 rather than *reach* 0; for exact zeros
    use the proximal step :func:`soft_threshold`.
    """
    _check_non_negative(lam, "lam")
    params, was_single = _as_array_list(params, "params")
    return _same_structure([lam * np.sign(w) for w in params], was_single)


def soft_threshold(w, threshold: float) -> np.ndarray:
    r"""Proximal operator of :math:`\tau\|\cdot\|_1`, the "shrink" step of ISTA.

    .. math::

        \operatorname{prox}_{\tau\|\cdot\|_1}(w)
        = \arg\min_u \tfrac12\|u - w\|^2 + \tau\|u\|_1
        = \operatorname{sign}(w)\,\max(|w| - \tau, 0)

    Entries with :math:`|w_j| \le \tau` become exactly 0. One ISTA step for
    :math:`f(w) + \lambda\|w\|_1` is ``soft_threshold(w - lr * grad_f(w), lr * lam)``.
    """
    _check_non_negative(threshold, "threshold")
    (w,), _ = _as_array_list(w, "w")
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)


def decoupled_weight_decay(param: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
    r"""Shrink ``param`` in place, as AdamW does before its Adam step, and return it.

    .. math:: \theta \leftarrow \theta - \eta\,\lambda\,\theta = (1 - \eta\lambda)\,\theta

    The decay is *decoupled* from the gradient: it never passes through Adam's
    :math:`1/\sqrt{\hat v}` scaling, so every weight shrinks by the same factor. We multiply by
    :math:`(1 - \eta\lambda)`, bit for bit what ``torch.optim.AdamW`` does
    (``param.mul_(1 - lr * weight_decay)``). Keras 3 optimizers' ``weight_decay`` is also
    decoupled but computes :math:`\theta - \theta\lambda\eta`, which can differ in the last bit.
    """
    if not isinstance(param, np.ndarray) or not np.issubdtype(param.dtype, np.floating):
        raise ValueError(
            "param must be a floating-point np.ndarray (it is updated in place), "
            f"got {type(param).__name__}"
            + (f" of dtype {param.dtype}" if isinstance(param, np.ndarray) else "")
        )
    _check_non_negative(lr, "lr")
    _check_non_negative(weight_decay, "weight_decay")
    param *= 1.0 - lr * weight_decay  # θ ← (1 − ηλ) θ
    return param


# ---------------------------------------------------------------------------------------------
# Gradient clipping
# ---------------------------------------------------------------------------------------------


def clip_grad_value(grads, clip_value: float):
    r"""Clip every gradient entry to :math:`[-c, c]`, as ``torch.nn.utils.clip_grad_value_`` and
    Keras' ``clipvalue=c``.

    .. math:: g_j \leftarrow \min(\max(g_j, -c), c)

    This can change the gradient's *direction*; clipping by norm only changes its length.
    """
    _check_positive(clip_value, "clip_value")
    grads, was_single = _as_array_list(grads, "grads")
    return _same_structure([np.clip(g, -clip_value, clip_value) for g in grads], was_single)


def global_norm(grads) -> float:
    r"""Euclidean norm of all gradients together: :math:`\|g\| = \sqrt{\sum_k \|g_k\|_2^2}`.

    Computed as the norm of the per-tensor norms, the order ``torch.nn.utils.clip_grad_norm_``
    uses.
    """
    grads, _ = _as_array_list(grads, "grads")
    return _norm(np.array([_norm(g) for g in grads]))


def _norm(x) -> float:
    """‖x‖₂ without underflow or overflow: x is scaled by a power of two (exactly) first.

    Squaring 1e-183 underflows to 0, so a plain √(Σ x²) would call that gradient zero; torch's
    norm does not, and neither does this.
    """
    x = np.ravel(x)
    largest = float(np.max(np.abs(x))) if x.size else 0.0
    if largest == 0.0 or not np.isfinite(largest):
        return float(np.linalg.norm(x))
    scale = 2.0 ** np.frexp(largest)[1]
    return float(scale * np.linalg.norm(x / scale))


def _clip_coefficient(norm: float, max_norm: float, eps: float) -> float:
    # min(1, c / (‖g‖ + ε)); with ε = 0 and ‖g‖ = 0 nothing needs clipping.
    if norm + eps == 0:
        return 1.0
    return min(1.0, max_norm / (norm + eps))


def clip_grad_norm(grad, max_norm: float, eps: float = TORCH_CLIP_EPS):
    r"""Rescale *each* gradient tensor whose norm exceeds ``max_norm`` (per-tensor clipping).

    .. math:: g_k \leftarrow g_k \cdot \min\Big(1, \frac{c}{\|g_k\|_2 + \varepsilon}\Big)

    This is Keras' ``clipnorm=c`` (which uses ``tf.clip_by_norm``, i.e. ``eps=0``, see
    :func:`clip_grad_global_norm`) and what ``torch.nn.utils.clip_grad_norm_`` does when called on
    one tensor at a time (``eps=1e-6``, the default here). Each tensor is scaled by its own
    factor, so the overall direction can change; :func:`clip_grad_global_norm` keeps it.
    """
    _check_positive(max_norm, "max_norm")
    _check_non_negative(eps, "eps")
    grads, was_single = _as_array_list(grad, "grad")
    clipped = [g * _clip_coefficient(_norm(g), max_norm, eps) for g in grads]
    return _same_structure(clipped, was_single)


def clip_grad_global_norm(grads, max_norm: float, eps: float = TORCH_CLIP_EPS):
    r"""Rescale all gradients together so that their global norm is at most ``max_norm``.

    Returns ``(clipped_grads, total_norm)`` where ``total_norm`` is the norm *before* clipping
    (useful to log: a spiking gradient norm is an early warning of divergence).

    .. math::

        \|g\| = \sqrt{\textstyle\sum_k \|g_k\|_2^2}, \qquad
        g_k \leftarrow g_k \cdot \min\Big(1, \frac{c}{\|g\| + \varepsilon}\Big)

    With the default ``eps=1e-6`` this matches ``torch.nn.utils.clip_grad_norm_(params, c)``
    exactly (torch adds the 1e-6 to avoid dividing by zero). ``tf.clip_by_global_norm`` and
    Keras' ``global_clipnorm=c`` compute :math:`g_k \cdot c / \max(\|g\|, c)`, which is this
    formula with ``eps=0``. The difference:
    after torch's clipping the norm is :math:`c\,\|g\|/(\|g\| + 10^{-6})`, a hair below
    :math:`c` (relative gap :math:`\approx 10^{-6}/\|g\|`); after TensorFlow's it is
    :math:`c` up to rounding. Because the whole gradient is multiplied by one number, its
    direction is preserved.
    """
    _check_positive(max_norm, "max_norm")
    _check_non_negative(eps, "eps")
    grads, was_single = _as_array_list(grads, "grads")
    total_norm = global_norm(grads)
    scale = _clip_coefficient(total_norm, max_norm, eps)  # min(1, c / (‖g‖ + ε))
    return _same_structure([g * scale for g in grads], was_single), total_norm
