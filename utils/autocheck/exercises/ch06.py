"""Exercises 6: Momentum, adaptive methods and the optimizers of today.

Notebook: ``solutions/06_momentum_and_adaptive_methods.ipynb`` (source) →
``exercises/06_momentum_and_adaptive_methods.ipynb``. Expected answers come from the course's
NumPy optimizers (:mod:`utils.optim.numpy`: ``SGD``, ``adam_step``, ``adamw_step``) and from
:func:`utils.regularization.clip_grad_global_norm`. The oracles are torch: the exact linear step
of ``torch.optim.SGD(momentum=β)`` (6.1), ``torch.optim.Adam`` (6.2, 6.7), ``torch.optim.AdamW``
(6.4), ``torch.nn.utils.clip_grad_norm_`` (6.3) and a training loop stepped by
``torch.optim.SGD`` with autograd (6.6).

Exercise 6.5 is an experiment: the learner picks a momentum β for heavy ball with η = 0.01 on
the quadratic with eigenvalues 1 and 100, and the judge runs it. Exercise 6.6 is a diagnosis:
a training loop that applies momentum twice, to be fixed.
"""

from __future__ import annotations

import functools

import numpy as np

from utils import losses
from utils.optim import spec as optim_specs
from utils.optim.numpy import SGD, STATE_TYPES, adam_step, adamw_step
from utils.regularization import (
    clip_grad_global_norm,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
)

from ..spec import Case, Exercise, ExerciseSet, Mistake

# ---------------------------------------------------------------------------------------------
# 6.1: the convergence rate of heavy ball on a quadratic
# ---------------------------------------------------------------------------------------------


def _heavy_ball_roots(A, lr, momentum):
    """The two roots z of z² − (1 + β − ηλ) z + β = 0 for every eigenvalue λ of A, shape (d, 2)."""
    eigenvalues = np.linalg.eigvalsh(A)
    trace = 1 + momentum - lr * eigenvalues  # z₁ + z₂
    root = np.emath.sqrt(trace**2 - 4 * momentum)  # complex when the mode oscillates
    return np.stack([(trace + root) / 2, (trace - root) / 2], axis=-1)


def _heavy_ball_rate(A, lr, momentum):
    """ρ = max over λ and both roots of |z|: the error shrinks like ρᵗ."""
    return float(np.max(np.abs(_heavy_ball_roots(A, lr, momentum))))


def _rate_real_part(A, lr, momentum):
    return float(np.max(np.abs(_heavy_ball_roots(A, lr, momentum).real)))


def _rate_signed_root(A, lr, momentum):
    return float(np.max(_heavy_ball_roots(A, lr, momentum).real))


def _rate_largest_eigenvalue(A, lr, momentum):
    largest = np.linalg.eigvalsh(A)[-1:]
    return _heavy_ball_rate(np.diag(largest), lr, momentum)


def _rate_squared_modulus(A, lr, momentum):
    return float(np.max(np.abs(_heavy_ball_roots(A, lr, momentum)) ** 2))


def _gd_rate(A, lr, momentum):
    return float(np.max(np.abs(1 - lr * np.linalg.eigvalsh(A))))


def _torch_heavy_ball_rate(A, lr, momentum):
    """The spectral radius of the linear map (θ, b) ↦ (θ', b') of one torch SGD step on ½θᵀAθ.

    The step matrix is built column by column: torch steps from each basis vector of (θ, b),
    with ∇f(θ) = Aθ as the gradient and b as the momentum buffer.
    """
    import torch

    d = len(A)
    matrix = torch.tensor(A, dtype=torch.float64)
    columns = []
    for k in range(2 * d):
        start = torch.zeros(2 * d, dtype=torch.float64)
        start[k] = 1.0
        theta = start[:d].clone().requires_grad_(True)
        optimizer = torch.optim.SGD([theta], lr=float(lr), momentum=float(momentum))
        optimizer.state[theta]["momentum_buffer"] = start[d:].clone()
        theta.grad = matrix @ theta.detach()
        optimizer.step()
        buffer = optimizer.state[theta]["momentum_buffer"]
        columns.append(torch.cat([theta.detach(), buffer]).numpy())
    step_matrix = np.stack(columns, axis=1)
    return float(np.max(np.abs(np.linalg.eigvals(step_matrix))))


def _spd_case(eigenvalues, lr, momentum, rotate=True):
    def make(rng):
        d = len(eigenvalues)
        q = np.linalg.qr(rng.normal(size=(d, d)))[0] if rotate else np.eye(d)
        A = q @ np.diag(np.asarray(eigenvalues, dtype=np.float64)) @ q.T
        return {"A": (A + A.T) / 2, "lr": np.float64(lr), "momentum": np.float64(momentum)}

    return make


HEAVY_BALL_RATE = Exercise(
    id="6.1",
    name="heavy_ball_rate",
    title="The convergence rate of heavy ball",
    reference=_heavy_ball_rate,
    oracle=_torch_heavy_ball_rate,
    points=2,
    cases=(
        Case(
            "A = diag(1, 100), η = 0.01, β = 0.5: the slow direction has real roots",
            _spd_case([1.0, 100.0], 0.01, 0.5, rotate=False),
        ),
        Case(
            "eigenvalues 0.5, 2, 10 (rotated), η = 0.1, β = 0.9: every mode oscillates",
            _spd_case([0.5, 2.0, 10.0], 0.1, 0.9),
            seed=12,
        ),
        Case(
            "eigenvalues 1, 4 (rotated), η = 0.45, β = 0.1: a negative root sets the rate",
            _spd_case([1.0, 4.0], 0.45, 0.1),
            seed=13,
        ),
        Case(
            "eigenvalues 1, 30 (rotated), η = 0.1, β = 0.3: a step too large, ρ > 1",
            _spd_case([1.0, 30.0], 0.1, 0.3),
            seed=14,
        ),
        Case(
            "eigenvalues 0.2, 1, 3, 7 (rotated), η = 0.2, β = 0.6",
            _spd_case([0.2, 1.0, 3.0, 7.0], 0.2, 0.6),
            seed=15,
        ),
    ),
    mistakes=(
        Mistake(
            "you took the real part of complex roots. When the discriminant "
            "(1 + β − ηλ)² − 4β is negative the roots are complex, and the rate is their modulus "
            "|z| (which is √β), not |Re z|.",
            _rate_real_part,
        ),
        Mistake(
            "you took the largest root z without its absolute value. A negative root (when "
            "ηλ > 1 + β) makes the error flip sign and shrink by |z| per step: take "
            "`np.abs` of both roots.",
            _rate_signed_root,
        ),
        Mistake(
            "you used only the largest eigenvalue of A. Every eigenvalue λ gives a mode with its "
            "own rate; the slowest one sets the rate, and with momentum that is often the "
            "smallest λ.",
            _rate_largest_eigenvalue,
        ),
        Mistake(
            "that is the rate of plain gradient descent, max |1 − ηλ|. With momentum each mode "
            "has two roots: solve z² − (1 + β − ηλ) z + β = 0 for each λ.",
            _gd_rate,
        ),
        Mistake(
            "you returned |z|², the squared modulus (for complex roots z·z̄ = β). The rate is "
            "|z| itself.",
            _rate_squared_modulus,
        ),
    ),
    hints=(
        "Get the eigenvalues with `np.linalg.eigvalsh(A)`. For each λ, solve the quadratic "
        "z² − (1 + β − ηλ) z + β = 0; its roots may be complex.",
        "`np.emath.sqrt` (or `np.sqrt` of a complex number) returns complex square roots of "
        "negative numbers. The rate is the largest `np.abs(z)` over every root of every λ.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 6.2 and 6.4: one step of Adam and of AdamW
# ---------------------------------------------------------------------------------------------


def _adam_state(name, m, v, t):
    return STATE_TYPES[name](step=int(t) - 1, exp_avg=m, exp_avg_sq=v)


def _adam_update(param, grad, m, v, t, lr, betas, eps):
    """(6.8)–(6.10) at step t (t is the new step number, 1 at the first step)."""
    new_param, state = adam_step(
        param, grad, _adam_state("Adam", m, v, t), lr=lr, betas=betas, eps=eps
    )
    return new_param, state.exp_avg, state.exp_avg_sq


def _adamw_update(param, grad, m, v, t, lr, betas, eps, weight_decay):
    """(6.12): θ ← θ(1 − ηλ), then Adam's step (6.8)–(6.10)."""
    new_param, state = adamw_step(
        param,
        grad,
        _adam_state("AdamW", m, v, t),
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
    )
    return new_param, state.exp_avg, state.exp_avg_sq


def _adam_variant(
    param, grad, m, v, t, lr, betas, eps, *, correct_m=True, correct_v=True, keras=False
):
    """Adam written out, with the bias corrections or Keras' ε̂ switched on and off."""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    if keras:  # Kingma & Ba's last form: η_t = η √(1 − β₂ᵗ)/(1 − β₁ᵗ), ε̂ outside the correction
        lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        return param - lr_t * m / (np.sqrt(v) + eps), m, v
    m_hat = m / (1 - beta1**t) if correct_m else m
    v_hat = v / (1 - beta2**t) if correct_v else v
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_eps_inside(param, grad, m, v, t, lr, betas, eps):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / np.sqrt(v_hat + eps), m, v


def _adam_betas_swapped(param, grad, m, v, t, lr, betas, eps):
    return _adam_variant(param, grad, m, v, t, lr, betas[::-1], eps)


def _adam_old_step_number(param, grad, m, v, t, lr, betas, eps):
    return _adam_update(param, grad, m, v, t + 1, lr, betas, eps)


def _adam_case(d, t, lr, betas, eps, scale=1.0, zero_state=False):
    def make(rng):
        shape = (d,) if isinstance(d, int) else d
        m = np.zeros(shape) if zero_state else 0.1 * scale * rng.normal(size=shape)
        v = np.zeros(shape) if zero_state else (scale * rng.normal(size=shape)) ** 2
        return {
            "param": rng.normal(size=shape),
            "grad": scale * rng.normal(size=shape),
            "m": m,
            "v": v,
            "t": np.int64(t),
            "lr": np.float64(lr),
            "betas": (np.float64(betas[0]), np.float64(betas[1])),
            "eps": np.float64(eps),
        }

    return make


def _adamw_case(d, t, lr, betas, eps, weight_decay, **options):
    adam_case = _adam_case(d, t, lr, betas, eps, **options)
    return lambda rng: {**adam_case(rng), "weight_decay": np.float64(weight_decay)}


def _torch_adam_family(name, param, grad, m, v, t, **hyper):
    import torch

    p = torch.tensor(param, dtype=torch.float64, requires_grad=True)
    optimizer = getattr(torch.optim, name)([p], **hyper)
    optimizer.state[p] = {
        "step": torch.tensor(float(t) - 1, dtype=torch.float64),
        "exp_avg": torch.tensor(m, dtype=torch.float64),
        "exp_avg_sq": torch.tensor(v, dtype=torch.float64),
    }
    p.grad = torch.tensor(grad, dtype=torch.float64)
    optimizer.step()
    state = optimizer.state[p]
    return p.detach().numpy(), state["exp_avg"].numpy(), state["exp_avg_sq"].numpy()


def _torch_adam_update(param, grad, m, v, t, lr, betas, eps):
    betas = (float(betas[0]), float(betas[1]))
    return _torch_adam_family(
        "Adam", param, grad, m, v, t, lr=float(lr), betas=betas, eps=float(eps)
    )


def _torch_adamw_update(param, grad, m, v, t, lr, betas, eps, weight_decay):
    betas = (float(betas[0]), float(betas[1]))
    hyper = {"lr": float(lr), "betas": betas, "eps": float(eps)}
    return _torch_adam_family(
        "AdamW", param, grad, m, v, t, **hyper, weight_decay=float(weight_decay)
    )


ADAM_UPDATE = Exercise(
    id="6.2",
    name="adam_update",
    title="One step of Adam",
    reference=_adam_update,
    oracle=_torch_adam_update,
    points=2,
    cases=(
        Case(
            "the first step, t = 1, from m = v = 0",
            _adam_case(5, 1, 0.01, (0.9, 0.999), 1e-8, zero_state=True),
            seed=21,
        ),
        Case("step t = 3, default betas", _adam_case(4, 3, 0.001, (0.9, 0.999), 1e-8), seed=22),
        Case(
            "step t = 10, betas (0.8, 0.95), a large ε = 0.01, small gradients",
            _adam_case((2, 3), 10, 0.05, (0.8, 0.95), 1e-2, scale=0.01),
            seed=23,
        ),
        Case(
            "step t = 1000, default betas",
            _adam_case(3, 1000, 0.001, (0.9, 0.999), 1e-8),
            seed=24,
        ),
    ),
    mistakes=(
        Mistake(
            "you left out the bias correction (6.9): divide m_t by 1 − β₁ᵗ and v_t by "
            "1 − β₂ᵗ before the update (6.10). Without it the first steps are far too large.",
            lambda *args: _adam_variant(*args, correct_m=False, correct_v=False),
        ),
        Mistake(
            "you corrected v_t but not m_t: both moments start at zero, so both need the bias "
            "correction (6.9), m̂_t = m_t / (1 − β₁ᵗ).",
            lambda *args: _adam_variant(*args, correct_m=False),
        ),
        Mistake(
            "you corrected m_t but not v_t: both moments start at zero, so both need the bias "
            "correction (6.9), v̂_t = v_t / (1 − β₂ᵗ).",
            lambda *args: _adam_variant(*args, correct_v=False),
        ),
        Mistake(
            "ε goes outside the square root: the denominator is √v̂_t + ε, not √(v̂_t + ε).",
            _adam_eps_inside,
        ),
        Mistake(
            "that is Keras' form: ε̂ added to √v_t with the corrections folded into the rate, "
            "η √(1 − β₂ᵗ)/(1 − β₁ᵗ). torch (and this exercise) adds ε to √v̂_t, after the "
            "correction (6.10); the two differ when ε is not negligible.",
            lambda *args: _adam_variant(*args, keras=True),
        ),
        Mistake(
            "you swapped the betas: β₁ (0.9 by default) averages the gradients into m_t, β₂ "
            "(0.999) averages the squared gradients into v_t.",
            _adam_betas_swapped,
        ),
        Mistake(
            "your bias correction uses t + 1: `t` is already the number of the step being "
            "taken (1 at the first step), so use β₁ᵗ and β₂ᵗ as they are.",
            _adam_old_step_number,
        ),
    ),
    hints=(
        "Three lines in the order of the chapter: the moments (6.8), their bias correction "
        "(6.9), then the update (6.10). `t` is the number of this step, 1 at the first.",
        "Return new arrays, e.g. `m = beta1 * m + (1 - beta1) * grad`, never `m *= beta1`: "
        "the inputs must not change. The update is "
        "`param - lr * m_hat / (np.sqrt(v_hat) + eps)`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 6.3: clipping by the global norm
# ---------------------------------------------------------------------------------------------


def _clip_by_global_norm(grads, max_norm):
    """(6.14), as torch.nn.utils.clip_grad_norm_ computes it: scale min(1, c / (‖g‖ + 10⁻⁶))."""
    return clip_grad_global_norm(grads, max_norm)


def _clip_per_tensor(grads, max_norm):
    return clip_grad_norm(list(grads), max_norm), global_norm(grads)


def _clip_by_value(grads, max_norm):
    return clip_grad_value(list(grads), max_norm), global_norm(grads)


def _clip_returns_clipped_norm(grads, max_norm):
    clipped, norm = clip_grad_global_norm(grads, max_norm)
    return clipped, min(norm, float(max_norm))


def _clip_times_clipped_length(grads, max_norm):
    norm = global_norm(grads)
    return [g * min(norm, float(max_norm)) for g in grads], norm


def _clip_always_rescaled(grads, max_norm):
    norm = global_norm(grads)
    scale = max_norm / norm if norm > 0 else 1.0
    return [g * scale for g in grads], norm


def _torch_clip_by_global_norm(grads, max_norm):
    import torch

    params = []
    for grad in grads:
        param = torch.zeros(grad.shape, dtype=torch.float64, requires_grad=True)
        param.grad = torch.tensor(grad, dtype=torch.float64)
        params.append(param)
    total_norm = torch.nn.utils.clip_grad_norm_(params, float(max_norm))
    return [p.grad.numpy() for p in params], total_norm.item()


def _grads_case(shapes, max_norm, scales=None, zero=False):
    def make(rng):
        factors = scales or [1.0] * len(shapes)
        grads = [f * rng.normal(size=s) for f, s in zip(factors, shapes, strict=True)]
        if zero:
            grads = [np.zeros(s) for s in shapes]
        return {"grads": grads, "max_norm": np.float64(max_norm)}

    return make


CLIP_BY_GLOBAL_NORM = Exercise(
    id="6.3",
    name="clip_by_global_norm",
    title="Clipping by the global norm",
    reference=_clip_by_global_norm,
    oracle=_torch_clip_by_global_norm,
    rtol=1e-5,  # torch divides by ‖g‖ + 10⁻⁶: both that and the formula (6.14) pass
    cases=(
        Case(
            "a (3, 4) weight, a (4,) bias and a (2,) vector: ‖g‖ ≈ 3.2 > c = 1, though the bias "
            "and the vector alone are below c",
            _grads_case([(3, 4), (4,), (2,)], 1.0, scales=[1.0, 0.3, 0.5]),
            seed=31,
        ),
        Case(
            "the same shapes with ‖g‖ ≈ 4.1 < c = 10: nothing to clip",
            _grads_case([(3, 4), (4,), (2,)], 10.0),
            seed=32,
        ),
        Case(
            "one large (5,) gradient, ‖g‖ ≈ 36, c = 0.5",
            _grads_case([(5,)], 0.5, scales=[20.0]),
            seed=33,
        ),
        Case("every gradient zero, c = 1", _grads_case([(2, 2), (3,)], 1.0, zero=True), seed=34),
    ),
    mistakes=(
        Mistake(
            "you clipped each tensor by its own norm (6.13). Clipping by the *global* norm "
            "(6.14) computes one norm over all tensors together, ‖g‖ = √(Σ_j ‖g⁽ʲ⁾‖²), and "
            "scales every tensor by the same factor.",
            _clip_per_tensor,
        ),
        Mistake(
            "you clipped every entry to [−c, c]: that is clipping by value, which changes the "
            "direction of the gradient. Clipping by norm multiplies the whole gradient by "
            "min(1, c/‖g‖).",
            _clip_by_value,
        ),
        Mistake(
            "the norm to return is the one *before* clipping, ‖g‖, the number worth logging (as "
            "`torch.nn.utils.clip_grad_norm_` returns it); you returned min(‖g‖, c).",
            _clip_returns_clipped_norm,
        ),
        Mistake(
            "you multiplied the gradient by min(‖g‖, c), a length. The factor is "
            "min(1, c/‖g‖): the clipped gradient is the direction g/‖g‖ times the length "
            "min(‖g‖, c).",
            _clip_times_clipped_length,
        ),
        Mistake(
            "you rescaled the gradient to norm c even when it was shorter: clipping only ever "
            "shrinks, min(1, c/‖g‖) is 1 when ‖g‖ ≤ c.",
            _clip_always_rescaled,
        ),
    ),
    hints=(
        "First one number for all tensors: ‖g‖ = √(Σ_j ‖g⁽ʲ⁾‖²), e.g. the square root of the "
        "sum of `np.sum(g**2)` over the list. Then one factor for every tensor.",
        "The factor is min(1, c/‖g‖); when every gradient is zero there is nothing to clip "
        "(avoid 0/0). Return `([g * factor for g in grads], norm)` without changing `grads`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 6.4: AdamW
# ---------------------------------------------------------------------------------------------


def _adamw_l2(param, grad, m, v, t, lr, betas, eps, weight_decay):
    return _adam_update(param, grad + weight_decay * param, m, v, t, lr, betas, eps)


def _adamw_decay_without_lr(param, grad, m, v, t, lr, betas, eps, weight_decay):
    return _adam_update(param * (1 - weight_decay), grad, m, v, t, lr, betas, eps)


def _adamw_decay_after(param, grad, m, v, t, lr, betas, eps, weight_decay):
    new_param, m, v = _adam_update(param, grad, m, v, t, lr, betas, eps)
    return new_param * (1 - lr * weight_decay), m, v


def _adamw_no_decay(param, grad, m, v, t, lr, betas, eps, weight_decay):
    return _adam_update(param, grad, m, v, t, lr, betas, eps)


ADAMW_UPDATE = Exercise(
    id="6.4",
    name="adamw_update",
    title="One step of AdamW",
    reference=_adamw_update,
    oracle=_torch_adamw_update,
    cases=(
        Case(
            "the first step, t = 1, λ = 0.01",
            _adamw_case(5, 1, 0.01, (0.9, 0.999), 1e-8, 0.01, zero_state=True),
            seed=41,
        ),
        Case(
            "step t = 7, λ = 0.1, η = 0.05",
            _adamw_case(4, 7, 0.05, (0.9, 0.999), 1e-8, 0.1),
            seed=42,
        ),
        Case(
            "step t = 20, a (2, 3) weight, λ = 0.5, betas (0.8, 0.99)",
            _adamw_case((2, 3), 20, 0.1, (0.8, 0.99), 1e-6, 0.5),
            seed=43,
        ),
    ),
    mistakes=(
        Mistake(
            "that is Adam with L2 regularisation: you added λθ to the gradient, so the decay "
            "goes through m_t and v_t and is rescaled by 1/√v̂_t. AdamW decouples it (6.12): "
            "θ ← θ(1 − ηλ) first, then Adam's step with the gradient g_t alone.",
            _adamw_l2,
        ),
        Mistake(
            "the decoupled decay is scaled by the learning rate: θ ← θ(1 − ηλ), not θ(1 − λ).",
            _adamw_decay_without_lr,
        ),
        Mistake(
            "you applied the decay after Adam's step. torch's AdamW (6.12) shrinks θ_{t−1} "
            "first, θ(1 − ηλ), then takes the step.",
            _adamw_decay_after,
        ),
        Mistake(
            "there is no weight decay in your step: AdamW first multiplies θ by (1 − ηλ) (6.12).",
            _adamw_no_decay,
        ),
    ),
    hints=(
        "AdamW is your `adam_update` with one line before it: shrink the parameter by the "
        "factor (1 − ηλ).",
        "`decayed = param * (1 - lr * weight_decay)`, then `adam_update(decayed, grad, m, v, "
        "t, lr, betas, eps)`; the gradient is not changed.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 6.5: choose a momentum by experiment (heavy ball, η = 0.01, eigenvalues 1 and 100)
# ---------------------------------------------------------------------------------------------

_EXPERIMENT_A = np.diag([1.0, 100.0])
_EXPERIMENT_LR, _EXPERIMENT_STEPS = 0.01, 100
_FACTOR = 1000.0  # final losses span ten orders of magnitude over β; accept three of them
_BETA_GRID = np.round(np.arange(0.0, 1.0, 0.01), 2)  # 0, 0.01, ..., 0.99


def _quadratic_final_loss(beta):
    """f(θ) = ½θᵀAθ after 100 heavy-ball steps (η = 0.01, momentum β) from θ = (1, 1)."""
    theta = np.ones(2)
    optimizer = SGD([theta], lr=_EXPERIMENT_LR, momentum=float(beta))
    with np.errstate(over="ignore", invalid="ignore"):  # β close to 1 may blow up
        for _ in range(_EXPERIMENT_STEPS):
            optimizer.step([_EXPERIMENT_A @ theta])  # ∇f(θ) = Aθ
        return float(0.5 * theta @ _EXPERIMENT_A @ theta)


@functools.cache
def _beta_grid_finals():
    return tuple(_quadratic_final_loss(beta) for beta in _BETA_GRID)


def _best_momentum():
    """The β of the grid with the lowest final loss."""
    return float(_BETA_GRID[int(np.nanargmin(_beta_grid_finals()))])


def _judge_momentum(value):
    beta = float(value)
    if not 0 <= beta < 1:
        return f"your momentum is {beta:.6g}; choose β with 0 ≤ β < 1."
    final, best = _quadratic_final_loss(beta), np.nanmin(_beta_grid_finals())
    if np.isfinite(final) and final <= _FACTOR * best:
        return None
    if beta < _best_momentum():
        side = "too little momentum: the slow direction (λ = 1) is still far from 0"
    else:
        side = "too much momentum: the run oscillates and its oscillations die out slowly"
    return (
        f"with β = {beta:.4g} the final loss is {final:.3g}, more than {_FACTOR:.0f} times the "
        f"best final loss on the grid ({best:.3g}). That is {side}."
    )


def _torch_best_momentum():
    """The grid search of 6.5 with every run stepped by torch.optim.SGD."""
    import torch

    A = torch.tensor(_EXPERIMENT_A)
    finals = []
    for beta in _BETA_GRID:
        theta = torch.ones(2, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([theta], lr=_EXPERIMENT_LR, momentum=float(beta))
        for _ in range(_EXPERIMENT_STEPS):
            optimizer.zero_grad()
            (0.5 * theta @ A @ theta).backward()
            optimizer.step()
        with torch.no_grad():
            finals.append((0.5 * theta @ A @ theta).item())
    return float(_BETA_GRID[int(np.nanargmin(finals))])


def _optimal_beta_of_the_chapter():
    """β* of (6.5) for κ = 100: optimal together with η*, not with η = 0.01."""
    root_kappa = np.sqrt(100.0)
    return float(((root_kappa - 1) / (root_kappa + 1)) ** 2)


MOMENTUM_BY_EXPERIMENT = Exercise(
    id="6.5",
    name="momentum_choice",
    title="Choose a momentum by experiment",
    reference=_best_momentum,
    oracle=_torch_best_momentum,
    points=2,
    judge=_judge_momentum,
    mistakes=(
        Mistake(
            "β = 0 is plain gradient descent: with η = 0.01 the direction with λ = 1 shrinks by "
            "only 1 % per step. Momentum is what this exercise is about: try β between 0 and 1.",
            lambda: 0.0,
        ),
        Mistake(
            "0.9 is the usual default, not a choice: here it oscillates for too long. Try "
            "values on a grid and compare the final losses.",
            lambda: 0.9,
        ),
        Mistake(
            "β* of (6.5) is optimal together with η*, and η* is not 0.01 here. With η fixed at "
            "0.01, the best β is different: find it by running the experiment.",
            _optimal_beta_of_the_chapter,
        ),
        Mistake(
            "β = 0.99 keeps almost all of the velocity: the run oscillates with a rate √β "
            "close to 1 and is nowhere near the minimum after 100 steps.",
            lambda: 0.99,
        ),
    ),
    hints=(
        "Call `final_loss(beta)` for β on a grid, e.g. `np.arange(0, 1, 0.01)`, and look at "
        "where the final loss is lowest (print it on a logarithmic scale).",
        "Too little momentum leaves the slow direction far from 0; too much makes both "
        "directions oscillate with rate √β. The best β balances the two; any β whose final "
        "loss is within a factor 1000 of the best on the grid is accepted.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 6.6: diagnose a training loop that applies momentum twice
# ---------------------------------------------------------------------------------------------


def _mse_gradient(theta, features, y):
    return features.T @ losses.mse_grad(features @ theta, y)  # Xᵀ ∂L/∂ŷ


def buggy_train(theta0, features, y, lr, momentum, steps):
    """The notebook's broken loop: a velocity by hand, then an optimizer with momentum too."""
    theta = theta0.copy()
    velocity = np.zeros_like(theta)
    optimizer = SGD([theta], lr=lr, momentum=momentum)
    for _ in range(steps):
        velocity = momentum * velocity + _mse_gradient(theta, features, y)  # (6.1)
        optimizer.step([velocity])
    return theta


def _train_fixed(theta0, features, y, lr, momentum, steps):
    """Heavy ball (6.1) on the MSE: the optimizer's momentum, the plain gradient."""
    theta = np.array(theta0, dtype=np.float64)
    optimizer = SGD([theta], lr=lr, momentum=momentum)
    for _ in range(int(steps)):
        optimizer.step([_mse_gradient(theta, features, y)])
    return theta


def _train_with(theta0, features, y, steps, **hyper):
    theta = np.array(theta0, dtype=np.float64)
    optimizer = SGD([theta], **hyper)
    for _ in range(int(steps)):
        optimizer.step([_mse_gradient(theta, features, y)])
    return theta


def _train_dampened(theta0, features, y, lr, momentum, steps):
    """The velocity as an average, v ← βv + (1 − β)g: a rate (1 − β) times smaller."""
    theta = np.array(theta0, dtype=np.float64)
    velocity = np.zeros_like(theta)
    for _ in range(int(steps)):
        velocity = momentum * velocity + (1 - momentum) * _mse_gradient(theta, features, y)
        theta = theta - lr * velocity
    return theta


def _torch_train_fixed(theta0, features, y, lr, momentum, steps):
    import torch

    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    features, y = torch.tensor(features), torch.tensor(y)
    optimizer = torch.optim.SGD([theta], lr=float(lr), momentum=float(momentum))
    for _ in range(int(steps)):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(features @ theta, y).backward()
        optimizer.step()
    return theta.detach().numpy()


def _training_case(n, d, lr, momentum, steps):
    def make(rng):
        features = rng.normal(size=(n, d))
        y = features @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
        return {
            "theta0": rng.normal(size=d),
            "features": features,
            "y": y,
            "lr": np.float64(lr),
            "momentum": np.float64(momentum),
            "steps": np.int64(steps),
        }

    return make


FIXED_TRAINING = Exercise(
    id="6.6",
    name="train_fixed",
    title="Diagnose momentum applied twice",
    reference=_train_fixed,
    oracle=_torch_train_fixed,
    points=2,
    cases=(
        Case(
            "n = 32, d = 3, η = 0.05, β = 0.9, 40 steps", _training_case(32, 3, 0.05, 0.9, 40), 61
        ),
        Case("n = 20, d = 2, η = 0.1, β = 0.5, 15 steps", _training_case(20, 2, 0.1, 0.5, 15), 62),
        Case(
            "n = 16, d = 4, η = 0.02, β = 0.8, 25 steps", _training_case(16, 4, 0.02, 0.8, 25), 63
        ),
        Case("a single step", _training_case(10, 2, 0.1, 0.9, 1), 64),
    ),
    mistakes=(
        Mistake(
            "that is what the broken loop computes: momentum is still applied twice. Keep one "
            "of the two: either the velocity you compute or the optimizer's `momentum`.",
            buggy_train,
        ),
        Mistake(
            "you removed momentum altogether: that is plain gradient descent. Keep heavy ball "
            "(6.1), once.",
            lambda theta0, features, y, lr, momentum, steps: _train_with(
                theta0, features, y, steps, lr=lr
            ),
        ),
        Mistake(
            "your velocity is an average, v ← βv + (1 − β)g: that shrinks every step by 1 − β. "
            "torch's heavy ball (6.1) adds the whole gradient, b ← βb + g.",
            _train_dampened,
        ),
        Mistake(
            "that is Nesterov's momentum (6.3). The loop is meant to run heavy ball (6.1): "
            "`SGD(..., momentum=momentum)` with `nesterov=False`.",
            lambda theta0, features, y, lr, momentum, steps: _train_with(
                theta0, features, y, steps, lr=lr, momentum=momentum, nesterov=True
            ),
        ),
    ),
    hints=(
        "Print the loss of `train` for a few step counts: with β = 0.9 it should fall "
        "steadily. Then count how many times the loop applies β to old gradients.",
        "The loop keeps a velocity v ← βv + g by hand *and* gives v to an optimizer that "
        "keeps its own buffer b ← βb + v. Remove one of the two: pass the plain gradient to "
        "`SGD(..., momentum=momentum)`, or keep v and use `SGD(..., lr=lr)` without momentum.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 6.7: Adam's first step without bias correction
# ---------------------------------------------------------------------------------------------

_ADAM_BETAS = {h.name: h.default for h in optim_specs.SPECS["Adam"].hyperparameters}["betas"]


def _first_step_ratio():
    """|θ₁ − θ₀| / η = |m₁| / √v₁ = (1 − β₁)/√(1 − β₂) for any g ≠ 0 (ε = 0, no correction)."""
    beta1, beta2 = _ADAM_BETAS
    return (1 - beta1) / np.sqrt(1 - beta2)


def _torch_first_step_ratio():
    """m₁/√v₁ read from the state torch.optim.Adam keeps after one step on a gradient g."""
    import torch

    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([p])  # torch's defaults
    p.grad = torch.tensor([0.37], dtype=torch.float64)
    optimizer.step()
    state = optimizer.state[p]
    return (state["exp_avg"] / state["exp_avg_sq"].sqrt()).item()


FIRST_STEP_RATIO = Exercise(
    id="6.7",
    name="first_step_ratio",
    title="Adam's first step without bias correction",
    reference=_first_step_ratio,
    oracle=_torch_first_step_ratio,
    mistakes=(
        Mistake(
            "1 is the ratio *with* the bias correction (6.9): m̂₁ = g₁ and v̂₁ = g₁². The "
            "question is about the update with the raw moments m₁ and v₁.",
            lambda: 1.0,
        ),
        Mistake(
            "you forgot the square root over v₁: the update divides by √v₁, and "
            "√(g²(1 − β₂)) = |g| √(1 − β₂).",
            lambda: 0.1 / 0.001,
        ),
        Mistake(
            "that is 1 − β₁ alone, the size of m₁ relative to g. Divide by √v₁ / |g| too.",
            lambda: 0.1,
        ),
        Mistake(
            "your ratio is upside down: it is |m₁|/√v₁ = (1 − β₁)/√(1 − β₂), not "
            "√(1 − β₂)/(1 − β₁).",
            lambda: np.sqrt(0.001) / 0.1,
        ),
    ),
    hints=(
        "From m₀ = v₀ = 0, one step of (6.8) gives m₁ = (1 − β₁) g and v₁ = (1 − β₂) g².",
        "The step is η |m₁|/√v₁, and |g| cancels: what is left depends on β₁ and β₂ only. "
        "Put in β₁ = 0.9 and β₂ = 0.999.",
    ),
)

EXERCISE_SET = ExerciseSet(
    chapter="6",
    title="Momentum, adaptive methods and the optimizers of today",
    notebook="06_momentum_and_adaptive_methods",
    exercises=(
        HEAVY_BALL_RATE,
        ADAM_UPDATE,
        CLIP_BY_GLOBAL_NORM,
        ADAMW_UPDATE,
        MOMENTUM_BY_EXPERIMENT,
        FIXED_TRAINING,
        FIRST_STEP_RATIO,
    ),
)
