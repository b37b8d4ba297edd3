"""Exercises 4: The learning rate (schedules, stability, the range test).

Notebook: ``solutions/04_learning_rate.ipynb`` (source) → ``exercises/04_learning_rate.ipynb``.
Expected schedules come from :mod:`utils.schedules`, runs of gradient descent from
:mod:`utils.optim.numpy` and curvatures from :mod:`utils.functions`; the ``oracle`` of each
exercise (Keras' schedules in float64, torch's schedulers and ``torch.optim.SGD`` stepping a real
optimizer, ``torch.linalg``, SciPy's filter) is what the test suite checks those references
against. Every input is a NumPy value (``np.int64`` steps, ``np.float64`` rates), the types a
learner's code receives.

Chapter 2's exercise 2.5 computes the largest stable rate from a Hessian, 2/a_max. Exercise 4.3
finds it the way chapter 4 finds a rate for a network, by experiment: the learner only sees the
loss and its gradient, runs gradient descent with each candidate rate and judges each run by its
loss. ``tests/test_exercises_ch04.py`` checks that the experiment's answer brackets 2/a_max on
every case.

Exercise 4.8 is a diagnosis: a torch ``StepLR`` meant per epoch but stepped after every
mini-batch; its oracle runs that broken loop with torch. Exercises 4.9–4.11 are concept questions
(numbers worked out on paper, and a multiple choice answered with an option's number, as in
chapter 3's set).
"""

from __future__ import annotations

import numpy as np

from utils import losses, schedules
from utils.data import linear_regression
from utils.functions import ill_conditioned_quadratic, quadratic
from utils.optim.numpy import SGD

from ..spec import Case, Exercise, ExerciseSet, Mistake, multiple_choice

# ---------------------------------------------------------------------------------------------
# References that are not a single utils call
# ---------------------------------------------------------------------------------------------


def _smooth(losses, beta):
    """Bias-corrected exponential moving average: ŝ_k = s_k / (1 − β^(k+1))."""
    average, smoothed = 0.0, np.empty(len(losses))
    for k, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss  # s_k = β s_{k−1} + (1 − β) ℓ_k
        smoothed[k] = average / (1 - beta ** (k + 1))
    return smoothed


def _pick_learning_rate(lrs, losses, beta):
    """The range-test rule of chapter 4: the rate at the minimum of the smoothed loss, / 10."""
    return lrs[np.argmin(_smooth(losses, beta))] / 10


def _final_loss(loss_fn, grad_fn, theta0, lr, num_steps):
    """L(θ_T) after ``num_steps`` steps of gradient descent from θ_0 (utils.optim.numpy.SGD)."""
    theta = np.array(theta0, dtype=np.float64)
    optimizer = SGD([theta], lr=lr)
    for _ in range(int(num_steps)):
        optimizer.step([grad_fn(theta)])  # θ ← θ − η ∇L(θ)
    return loss_fn(theta)


def _largest_stable_rate(loss_fn, grad_fn, theta0, lrs, num_steps):
    """The largest rate in ``lrs`` whose run ends below its starting loss: L(θ_T) < L(θ_0)."""
    start = loss_fn(theta0)
    return max(lr for lr in lrs if _final_loss(loss_fn, grad_fn, theta0, lr, num_steps) < start)


def _convergence_factor(lr, A):
    """ρ(η) = max_i |1 − η a_i| over the eigenvalues of A."""
    return np.max(np.abs(1.0 - lr * quadratic(A).eigenvalues))


# ---------------------------------------------------------------------------------------------
# Oracles (imported only when a test calls them)
# ---------------------------------------------------------------------------------------------


def _keras_inverse_time(step, lr0, decay_rate):
    import keras

    schedule = keras.optimizers.schedules.InverseTimeDecay(
        np.float64(lr0), decay_steps=1, decay_rate=np.float64(decay_rate)
    )
    return float(schedule(np.int64(step)))  # float64 inputs keep Keras in float64


def _keras_warmup_cosine(step, lr, warmup_steps, total_steps, min_lr):
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=np.float64(0.0),  # Keras' warm-up starts here...
        decay_steps=int(total_steps - warmup_steps),  # ...and its decay excludes the warm-up
        alpha=float(min_lr / lr),
        warmup_target=np.float64(lr),
        warmup_steps=int(warmup_steps),
    )
    return float(schedule(np.int64(step)))


def _torch_largest_stable_rate(loss_fn, grad_fn, theta0, lrs, num_steps):
    """The same experiment, each run stepped by torch.optim.SGD."""
    import torch

    start, stable = loss_fn(theta0), []
    for lr in lrs:
        theta = torch.tensor(theta0, dtype=torch.float64)
        optimizer = torch.optim.SGD([theta], lr=float(lr))
        for _ in range(int(num_steps)):
            theta.grad = torch.from_numpy(np.asarray(grad_fn(theta.numpy().copy())))
            optimizer.step()
        if loss_fn(theta.numpy().copy()) < start:
            stable.append(lr)
    return max(stable)


def _torch_convergence_factor(lr, A):
    import torch

    eigenvalues = torch.linalg.eigvalsh(torch.tensor(A))
    return (1.0 - lr * eigenvalues).abs().max().item()


def _torch_multi_step(step, lr0, milestones, gamma):
    """Step a real torch optimizer ``step`` times under MultiStepLR and read its lr."""
    import torch

    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=float(lr0))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=[int(m) for m in milestones], gamma=float(gamma)
    )
    for _ in range(int(step)):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]


def _scipy_pick_learning_rate(lrs, losses, beta):
    from scipy.signal import lfilter

    average = lfilter([1 - beta], [1, -beta], losses)  # s_k with s_{−1} = 0
    smoothed = average / (1 - beta ** np.arange(1, len(losses) + 1))
    return lrs[np.argmin(smoothed)] / 10


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def _inverse_time_case(step):
    return lambda rng: {
        "step": np.int64(step),
        "lr0": np.float64(rng.uniform(0.05, 0.5)),
        "decay_rate": np.float64(rng.uniform(0.02, 0.5)),
    }


def _warmup_cosine_case(step):
    def make(rng):
        lr = rng.uniform(0.05, 0.5)
        return {
            "step": np.int64(step),
            "lr": np.float64(lr),
            "warmup_steps": np.int64(10),
            "total_steps": np.int64(100),
            "min_lr": np.float64(lr * rng.uniform(0.01, 0.1)),
        }

    return make


def _spd_matrix(rng, eigenvalues):
    """A symmetric positive definite matrix with these eigenvalues and random eigenvectors."""
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    basis, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    matrix = basis @ np.diag(eigenvalues) @ basis.T
    return (matrix + matrix.T) / 2  # exactly symmetric


def _run_inputs(loss_fn, grad_fn, theta0, lrs, num_steps):
    """What a learner's experiment gets: the loss, its gradient, where to start, what to try."""
    return {
        "loss_fn": loss_fn,
        "grad_fn": grad_fn,
        "theta0": np.asarray(theta0, dtype=np.float64),
        "lrs": np.asarray(lrs, dtype=np.float64),
        "num_steps": np.int64(num_steps),
    }


def _regression_run_case(rng):
    """Chapter 4's first problem, the MSE of ŷ = w·x + b, with its four rates × 1/a_max."""
    x, y = linear_regression(n=100, seed=0)
    features, target = np.hstack([x, np.ones_like(x)]), y[:, 0]
    a_max = np.linalg.eigvalsh(2.0 / len(x) * features.T @ features)[-1]  # ∇²L = (2/n) XᵀX

    def loss_fn(theta):
        return losses.mse(features @ theta, target)

    def grad_fn(theta):
        return features.T @ losses.mse_grad(features @ theta, target)  # Xᵀ ∂L/∂ŷ

    rates = np.array([0.02, 1.0, 1.9, 2.1]) / a_max
    return _run_inputs(loss_fn, grad_fn, np.zeros(2), rates, 30)


def _landscape_run_inputs(landscape, theta0, lrs, num_steps):
    def loss_fn(theta):  # plain functions: a learner sees a loss, not a landscape object
        return landscape.f(theta)

    def grad_fn(theta):
        return landscape.grad(theta)

    return _run_inputs(loss_fn, grad_fn, theta0, lrs, num_steps)


_VALLEY_RATES = (0.05, 0.1, 0.15, 0.19, 0.21, 0.25, 0.3)  # 2/a_max = 0.2 for κ = 10


def _valley_run_case(start):
    """The chapter's valley ½(x₁² + 10 x₂²), from ``start`` scaled by a random factor."""

    def make(rng):
        theta0 = rng.uniform(0.5, 2.0) * np.array(start)
        return _landscape_run_inputs(ill_conditioned_quadratic(10.0), theta0, _VALLEY_RATES, 40)

    return make


def _quadratic_run_case(rng):
    """½xᵀAx − bᵀx in 3-D with curvatures 0.5, 2 and 8 along random directions."""
    bowl = quadratic(_spd_matrix(rng, [0.5, 2.0, 8.0]), rng.normal(size=3))
    rates = np.geomspace(0.01, 1.0, 9)  # 2/a_max = 0.25 lies between 0.18 and 0.32
    return _landscape_run_inputs(bowl, rng.normal(size=3), rates, 50)


def _factor_case(eigenvalues, lr_times_a_max):
    def make(rng):
        return {
            "lr": np.float64(lr_times_a_max / max(eigenvalues)),
            "A": _spd_matrix(rng, eigenvalues),
        }

    return make


def _multi_step_case(step, milestones=(30, 80)):
    return lambda rng: {
        "step": np.int64(step),
        "lr0": np.float64(rng.uniform(0.05, 0.5)),
        "milestones": np.array(milestones, dtype=np.int64),
        "gamma": np.float64(rng.uniform(0.1, 0.5)),
    }


def _range_test_case(num_steps, beta, best_log_lr, noise, lucky_at=None):
    """A synthetic range-test curve: flat, then falling, then exploding, plus noise.

    ``lucky_at``: one lucky mini-batch there, lower than every other loss.
    """

    def make(rng):
        lrs = np.geomspace(1e-4, 10.0, num_steps)
        log_lr = np.log10(lrs)
        falling = 2.0 / (1.0 + np.exp(-(log_lr - (best_log_lr - 1.0)) / 0.3))
        exploding = 0.3 * np.exp(4.0 * (log_lr - best_log_lr))
        losses = 2.3 - falling + exploding + noise * rng.normal(size=num_steps)
        losses = np.maximum(losses, 0.01)
        if lucky_at is not None:
            losses[lucky_at] = losses.min() - 0.1
        return {"lrs": lrs, "losses": losses, "beta": np.float64(beta)}

    return make


def _pick_with_swapped_weights(lrs, losses, beta):
    """s_k = (1 − β) s_(k−1) + β ℓ_k, corrected by 1 − β^(k+1) as the statement says."""
    average, smoothed = 0.0, np.empty(len(losses))
    for k, loss in enumerate(losses):
        average = (1 - beta) * average + beta * loss
        smoothed[k] = average / (1 - beta ** (k + 1))
    return lrs[np.argmin(smoothed)] / 10


def _pick_with_correction_off_by_one(lrs, losses, beta):
    """ŝ_k = s_k / (1 − β^k): infinite at k = 0, too large after."""
    average, smoothed = 0.0, np.empty(len(losses))
    with np.errstate(divide="ignore"):
        for k, loss in enumerate(losses):
            average = beta * average + (1 - beta) * loss
            smoothed[k] = average / np.float64(1 - beta**k)
    return lrs[np.argmin(smoothed)] / 10


def _pick_with_average_from_first_loss(lrs, losses, beta):
    """s_(−1) = ℓ₀ and no correction."""
    average, smoothed = losses[0], np.empty(len(losses))
    for k, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        smoothed[k] = average
    return lrs[np.argmin(smoothed)] / 10


# ---------------------------------------------------------------------------------------------
# Mistaken experiments (exercise 4.3)
# ---------------------------------------------------------------------------------------------


def _fastest_rate(loss_fn, grad_fn, theta0, lrs, num_steps):
    finals = [_final_loss(loss_fn, grad_fn, theta0, lr, num_steps) for lr in lrs]
    return lrs[int(np.argmin(finals))]  # the lowest final loss, not the last one below the start


def _judged_after_one_step(loss_fn, grad_fn, theta0, lrs, num_steps):
    return _largest_stable_rate(loss_fn, grad_fn, theta0, lrs, 1)


def _still_finite(loss_fn, grad_fn, theta0, lrs, num_steps):
    finals = [_final_loss(loss_fn, grad_fn, theta0, lr, num_steps) for lr in lrs]
    return max(lr for lr, final in zip(lrs, finals, strict=True) if np.isfinite(final))


def _first_unstable_rate(loss_fn, grad_fn, theta0, lrs, num_steps):
    start = loss_fn(theta0)
    return next(lr for lr in lrs if _final_loss(loss_fn, grad_fn, theta0, lr, num_steps) >= start)


def _runs_not_restarted(loss_fn, grad_fn, theta0, lrs, num_steps):
    start, theta, stable = loss_fn(theta0), np.array(theta0, dtype=np.float64), []
    for lr in lrs:  # each run goes on from where the previous one ended
        for _ in range(int(num_steps)):
            theta = theta - lr * grad_fn(theta)
        if loss_fn(theta) < start:
            stable.append(lr)
    return max(stable)


# ---------------------------------------------------------------------------------------------
# The exercises
# ---------------------------------------------------------------------------------------------

INVERSE_TIME = Exercise(
    id="4.1",
    name="inverse_time_decay",
    title="Inverse-time decay",
    reference=lambda step, lr0, decay_rate: schedules.inverse_time(lr0, decay_rate)(step),
    oracle=_keras_inverse_time,
    cases=(
        Case("the first update, step 0", _inverse_time_case(0), seed=41),
        Case("step 1", _inverse_time_case(1), seed=42),
        Case("step 37", _inverse_time_case(37), seed=43),
        Case("step 1000", _inverse_time_case(1000), seed=44),
    ),
    mistakes=(
        Mistake(
            "you wrote η₀ / (1 + α)ᵗ: that is an *exponential* decay with γ = 1/(1 + α), which "
            "shrinks far faster. In inverse-time decay α multiplies t inside the denominator: "
            "η₀ / (1 + α·t).",
            lambda step, lr0, decay_rate: lr0 / (1 + decay_rate) ** step,
        ),
        Mistake(
            "you are one step late: step 0 is the first update and must use η₀ itself. Use t = "
            "`step`, not `step + 1`.",
            lambda step, lr0, decay_rate: lr0 / (1 + decay_rate * (step + 1)),
        ),
        Mistake(
            "the 1 in the denominator is missing: η₀ / (α·t) is infinite at step 0 and larger "
            "than η₀ for small t. The decay is η₀ / (1 + α·t).",
            lambda step, lr0, decay_rate: lr0 / (decay_rate * step),
        ),
        Mistake(
            "that is a linear decay, η₀ (1 − α·t), which even turns negative. Inverse-time decay "
            "*divides* by 1 + α·t.",
            lambda step, lr0, decay_rate: lr0 * (1 - decay_rate * step),
        ),
        Mistake(
            "that is the exponential decay η₀ e^(−α·t). Inverse-time decay falls like 1/t: "
            "η₀ / (1 + α·t).",
            lambda step, lr0, decay_rate: lr0 * np.exp(-decay_rate * step),
        ),
    ),
    hints=(
        "The rate at step 0 is η₀ itself, and it halves when α·t = 1.",
        "η_t = η₀ / (1 + α·t) with t = `step`: one division, no power.",
    ),
)


def _cosine_fraction(step, warmup_steps, total_steps):
    return (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)


WARMUP_COSINE = Exercise(
    id="4.2",
    name="warmup_cosine",
    title="Linear warm-up, then cosine decay",
    reference=lambda step, lr, warmup_steps, total_steps, min_lr: schedules.warmup_cosine(
        lr, warmup_steps, total_steps, min_lr=min_lr
    )(step),
    oracle=_keras_warmup_cosine,
    points=2,
    cases=(
        Case("step 0, the start of the warm-up", _warmup_cosine_case(0), seed=51),
        Case("step 3, during the warm-up", _warmup_cosine_case(3), seed=52),
        Case("step 10, the end of the warm-up", _warmup_cosine_case(10), seed=53),
        Case("step 55, halfway through the decay", _warmup_cosine_case(55), seed=54),
        Case("step 70", _warmup_cosine_case(70), seed=55),
        Case("step 100, the last scheduled step", _warmup_cosine_case(100), seed=56),
        Case("step 130, after the schedule has ended", _warmup_cosine_case(130), seed=57),
    ),
    mistakes=(
        Mistake(
            "there is no warm-up: your rate starts at `lr` at step 0. For t < W it must climb "
            "linearly from 0: η_t = lr · t / W.",
            lambda step, lr, warmup_steps, total_steps, min_lr: (
                min_lr
                + 0.5 * (lr - min_lr) * (1 + np.cos(np.pi * min(step, total_steps) / total_steps))
            ),
        ),
        Mistake(
            "your warm-up is one step ahead: at step 0 the rate must be 0 (η_t = lr · t / W), "
            "not lr / W.",
            lambda step, lr, warmup_steps, total_steps, min_lr: (
                lr * (step + 1) / warmup_steps
                if step < warmup_steps
                else schedules.warmup_cosine(lr, warmup_steps, total_steps, min_lr=min_lr)(step)
            ),
        ),
        Mistake(
            "the cosine needs the form ½(1 + cos(π·p)), which goes from 1 to 0 as the progress p "
            "goes from 0 to 1. With cos(π·p) alone the rate falls below min_lr and turns "
            "negative.",
            lambda step, lr, warmup_steps, total_steps, min_lr: (
                lr * step / warmup_steps
                if step < warmup_steps
                else min_lr
                + (lr - min_lr) * np.cos(np.pi * _cosine_fraction(step, warmup_steps, total_steps))
            ),
        ),
        Mistake(
            "your schedule decays to 0 instead of `min_lr`: use min_lr + ½(lr − min_lr)(1 + "
            "cos(π·p)).",
            lambda step, lr, warmup_steps, total_steps, min_lr: (
                lr * step / warmup_steps
                if step < warmup_steps
                else 0.5
                * lr
                * (1 + np.cos(np.pi * _cosine_fraction(step, warmup_steps, total_steps)))
            ),
        ),
        Mistake(
            "the cosine must start where the warm-up ends: its progress is p = (t − W) / (T − W), "
            "not t / T, otherwise the rate jumps down at step W.",
            lambda step, lr, warmup_steps, total_steps, min_lr: (
                lr * step / warmup_steps
                if step < warmup_steps
                else min_lr
                + 0.5 * (lr - min_lr) * (1 + np.cos(np.pi * min(step, total_steps) / total_steps))
            ),
        ),
        Mistake(
            "after step T your rate climbs back up (the cosine keeps going, as torch's "
            "CosineAnnealingLR does). The schedule must stay at min_lr: use min(t, T).",
            lambda step, lr, warmup_steps, total_steps, min_lr: (
                lr * step / warmup_steps
                if step < warmup_steps
                else min_lr
                + 0.5
                * (lr - min_lr)
                * (1 + np.cos(np.pi * (step - warmup_steps) / (total_steps - warmup_steps)))
            ),
        ),
    ),
    hints=(
        "Two pieces: for t < W the rate is lr · t / W; from t = W on it is a half cosine from lr "
        "down to min_lr.",
        "Let p = (min(t, T) − W) / (T − W), the progress of the decay from 0 to 1. Then "
        "η_t = min_lr + ½(lr − min_lr)(1 + cos(π·p)).",
    ),
)

LARGEST_STABLE_RATE = Exercise(
    id="4.3",
    name="largest_stable_rate",
    title="Find the largest stable rate by experiment",
    reference=_largest_stable_rate,
    oracle=_torch_largest_stable_rate,
    points=2,
    cases=(
        Case(
            "the chapter's linear regression and its four rates, 30 steps",
            _regression_run_case,
            seed=61,
        ),
        Case(
            "the valley with κ = 10, starting near its floor, 40 steps",
            _valley_run_case([1.0, 0.01]),
            seed=62,
        ),
        Case(
            "the same valley, starting on a steep wall, 40 steps",
            _valley_run_case([0.01, 1.0]),
            seed=63,
        ),
        Case(
            "a 3-D quadratic with curvatures 0.5, 2 and 8, 50 steps", _quadratic_run_case, seed=64
        ),
    ),
    mistakes=(
        Mistake(
            "you returned the rate whose run ended with the lowest loss: the *fastest* rate. The "
            "largest rate that still converges is usually larger; keep every rate whose final "
            "loss is below the starting loss and return the largest.",
            _fastest_rate,
        ),
        Mistake(
            "you judged each rate by its first step. A diverging run can lower the loss at "
            "first, while its error along the steepest direction is still small: run all "
            "`num_steps` steps, then compare the final loss with the starting loss.",
            _judged_after_one_step,
        ),
        Mistake(
            "you called every run whose loss is still finite stable. A diverging loss grows "
            "geometrically but stays finite for many steps: compare the final loss with the "
            "starting loss `loss_fn(theta0)`.",
            _still_finite,
        ),
        Mistake(
            "you returned the first rate whose run is *not* stable. Return the largest rate whose "
            "run is stable, the last one before stability breaks.",
            _first_unstable_rate,
        ),
        Mistake(
            "every run must start from `theta0`: yours went on from where the previous rate's "
            "run ended, close to the minimum, where even a diverging rate takes many steps to "
            "climb back above the starting loss. Start each run from `theta0.copy()`.",
            _runs_not_restarted,
        ),
        Mistake(
            "you returned the position of the rate in `lrs`, not the rate: return `lrs[k]`, "
            "not `k`.",
            lambda loss_fn, grad_fn, theta0, lrs, num_steps: list(lrs).index(
                _largest_stable_rate(loss_fn, grad_fn, theta0, lrs, num_steps)
            ),
        ),
    ),
    hints=(
        "Write the experiment for one rate first: start from a copy of `theta0`, take "
        "`num_steps` steps θ ← θ − η ∇L(θ), and return the final loss.",
        "A run is stable when its final loss is below `loss_fn(theta0)`. Try every rate in "
        "`lrs` and return the largest stable one.",
    ),
)

CONVERGENCE_FACTOR = Exercise(
    id="4.4",
    name="convergence_factor",
    title="The convergence factor",
    reference=_convergence_factor,
    oracle=_torch_convergence_factor,
    cases=(
        Case("a small rate, η = 0.5/a_max", _factor_case([1.0, 10.0], 0.5), seed=71),
        Case("an oscillating rate, η = 1.9/a_max", _factor_case([1.0, 10.0], 1.9), seed=72),
        Case("a divergent rate, η = 3/a_max", _factor_case([1.0, 10.0], 3.0), seed=73),
        Case("a huge rate, η = 30/a_max", _factor_case([1.0, 10.0], 30.0), seed=74),
        Case("a 4 × 4 Hessian, η = 1/a_max", _factor_case([0.2, 1.0, 2.0, 4.0], 1.0), seed=75),
    ),
    mistakes=(
        Mistake(
            "you only looked at the largest eigenvalue. For small η the *smallest* curvature is "
            "the slow one: take the maximum of |1 − ηa_i| over every eigenvalue.",
            lambda lr, A: abs(1.0 - lr * np.linalg.eigvalsh(A).max()),
        ),
        Mistake(
            "you only looked at the smallest eigenvalue. Once η > 2/(a_min + a_max) the steepest "
            "direction overshoots most: take the maximum over every eigenvalue.",
            lambda lr, A: abs(1.0 - lr * np.linalg.eigvalsh(A).min()),
        ),
        Mistake(
            "the absolute value is missing: a factor of −1.5 flips the sign of the error *and* "
            "grows it. ρ(η) = max_i |1 − ηa_i|.",
            lambda lr, A: np.max(1.0 - lr * np.linalg.eigvalsh(A)),
        ),
        Mistake(
            "you used the diagonal of A as its curvatures. Unless A is diagonal, the curvatures "
            "are its eigenvalues (`np.linalg.eigvalsh`).",
            lambda lr, A: np.max(np.abs(1.0 - lr * np.diag(A))),
        ),
    ),
    hints=(
        "Write the error in the eigenvectors of A: component i is multiplied by 1 − ηa_i at "
        "every step.",
        "`np.linalg.eigvalsh(A)` gives the a_i; the slowest component sets the pace, so take the "
        "largest |1 − ηa_i|.",
    ),
)

MULTI_STEP = Exercise(
    id="4.5",
    name="multi_step_decay",
    title="Multi-step decay",
    reference=lambda step, lr0, milestones, gamma: schedules.multi_step(
        lr0, tuple(int(m) for m in milestones), gamma
    )(step),
    oracle=_torch_multi_step,
    cases=(
        Case("step 0", _multi_step_case(0), seed=81),
        Case("step 29, just before the first milestone", _multi_step_case(29), seed=82),
        Case("step 30, at the first milestone", _multi_step_case(30), seed=83),
        Case("step 79", _multi_step_case(79), seed=84),
        Case("step 80, at the second milestone", _multi_step_case(80), seed=85),
        Case("step 200, long after both milestones", _multi_step_case(200), seed=86),
    ),
    mistakes=(
        Mistake(
            "you switch one step late: the new rate applies *from* the milestone on, so update "
            "30 already uses η₀γ (count the milestones m ≤ t, not m < t). Keras' "
            "PiecewiseConstantDecay switches after its boundary, which is why its boundaries are "
            "torch's milestones minus one.",
            lambda step, lr0, milestones, gamma: lr0 * gamma ** np.sum(milestones < step),
        ),
        Mistake(
            "you multiply by γ once, however many milestones have passed. Each milestone "
            "multiplies the rate by γ again: η₀ γ^(number of milestones ≤ t).",
            lambda step, lr0, milestones, gamma: lr0 * gamma if np.any(milestones <= step) else lr0,
        ),
        Mistake(
            "you decay every `milestones[0]` steps, like StepLR. A multi-step schedule decays "
            "only at the listed milestones.",
            lambda step, lr0, milestones, gamma: lr0 * gamma ** (step // milestones[0]),
        ),
        Mistake(
            "you counted the milestones still *ahead* of the step. Count those already reached, "
            "m ≤ t: the rate starts at η₀ and only goes down.",
            lambda step, lr0, milestones, gamma: lr0 * gamma ** np.sum(milestones > step),
        ),
    ),
    hints=(
        "Count how many milestones m satisfy m ≤ t, then multiply η₀ by γ that many times.",
        "`np.sum(milestones <= step)` counts them; the answer is lr0 * gamma ** count.",
    ),
)

PICK_LEARNING_RATE = Exercise(
    id="4.6",
    name="pick_learning_rate",
    title="Pick a learning rate from a range test",
    reference=_pick_learning_rate,
    oracle=_scipy_pick_learning_rate,
    points=2,
    cases=(
        Case("150 steps, a noisy curve, β = 0.9", _range_test_case(150, 0.9, -0.7, 0.15), seed=91),
        Case("120 steps, β = 0.8", _range_test_case(120, 0.8, -1.5, 0.1), seed=92),
        Case(
            "200 steps, a very noisy curve, β = 0.95",
            _range_test_case(200, 0.95, 0.0, 0.3),
            seed=93,
        ),
        Case(
            "a test started too high: the loss only rises, 40 steps, β = 0.9",
            _range_test_case(40, 0.9, -4.5, 0.02),
            seed=94,
        ),
        Case("a short test, 60 steps, β = 0.98", _range_test_case(60, 0.98, -2.0, 0.05), seed=95),
        Case(
            "one lucky mini-batch far below the curve, 100 steps, β = 0.9",
            _range_test_case(100, 0.9, -1.0, 0.05, lucky_at=30),
            seed=96,
        ),
    ),
    mistakes=(
        Mistake(
            "you returned the rate at the minimum itself. There the loss is about to explode; "
            "the rule picks a rate 10 times smaller.",
            lambda lrs, losses, beta: lrs[np.argmin(_smooth(losses, beta))],
        ),
        Mistake(
            "you swapped β and 1 − β: the average keeps β of its old value and adds (1 − β) of "
            "the new loss, s_k = β·s_(k−1) + (1 − β)·ℓ_k. Yours follows the noise almost raw.",
            _pick_with_swapped_weights,
        ),
        Mistake(
            "your bias correction is one step off: at step k = 0, 1, 2, ... divide s_k by "
            "1 − β^(k+1), not 1 − β^k (which divides by 0 at the first step and hides it).",
            _pick_with_correction_off_by_one,
        ),
        Mistake(
            "you started the average at the first loss, s = ℓ₀, without bias correction: ℓ₀ "
            "then keeps a weight β^k for many steps. Start from s = 0 and divide s_k by "
            "1 − β^(k+1).",
            _pick_with_average_from_first_loss,
        ),
        Mistake(
            "you took the minimum of the raw, noisy losses. Smooth them first with the "
            "bias-corrected moving average; a single lucky mini-batch must not decide.",
            lambda lrs, losses, beta: lrs[np.argmin(losses)] / 10,
        ),
        Mistake(
            "your moving average has no bias correction: it starts at 0, so its first values are "
            "tiny and its minimum sits at (or near) the very first learning rate. Divide s_k by "
            "1 − β^(k+1).",
            lambda lrs, losses, beta: (
                lrs[
                    np.argmin(
                        [
                            (1 - beta) * sum(beta ** (k - i) * losses[i] for i in range(k + 1))
                            for k in range(len(losses))
                        ]
                    )
                ]
                / 10
            ),
        ),
        Mistake(
            "you multiplied by 10. The picked rate is 10 times *smaller* than the rate at the "
            "minimum of the smoothed loss.",
            lambda lrs, losses, beta: lrs[np.argmin(_smooth(losses, beta))] * 10,
        ),
    ),
    hints=(
        "Three steps: smooth the losses, find the index of the smallest smoothed loss, return "
        "the learning rate at that index divided by 10.",
        "Keep a running average s = β·s + (1 − β)·loss starting from s = 0, and record "
        "s / (1 − β^(k+1)) at step k = 0, 1, 2, ...",
    ),
)

# ---------------------------------------------------------------------------------------------
# 4.7, an experiment: a range test, then a rate that trains well
# ---------------------------------------------------------------------------------------------

TRAIN_STEPS = 20
RATE_GRID = tuple(float(lr) for lr in np.geomspace(0.01, 1.5, 30))
RATE_SLACK = 1.05  # "within 5 % of the best final loss on the grid"


def regression_problem():
    """Chapter 4's linear regression: loss and gradient of the MSE of ŷ = w·x + b, and θ₀."""
    x, y = linear_regression(n=100, seed=0)
    features, target = np.hstack([x, np.ones_like(x)]), y[:, 0]

    def loss_fn(theta):
        return losses.mse(features @ theta, target)

    def grad_fn(theta):
        return features.T @ losses.mse_grad(features @ theta, target)  # Xᵀ ∂L/∂ŷ

    return loss_fn, grad_fn, np.zeros(2)


def _train_loss(lr):
    loss_fn, grad_fn, theta0 = regression_problem()
    with np.errstate(over="ignore", invalid="ignore"):
        return float(_final_loss(loss_fn, grad_fn, theta0, lr, TRAIN_STEPS))


def _best_rate():
    return RATE_GRID[int(np.argmin([_train_loss(lr) for lr in RATE_GRID]))]


def _judge_rate(value):
    """Accept η whose 20-step run ends within 5 % of the best final loss on the grid."""
    lr = float(np.asarray(value))
    if not 0 < lr <= 10:
        return f"your learning rate ({lr:.3g}) is outside the range tested, 0 < η ≤ 10."
    best = min(_train_loss(grid_lr) for grid_lr in RATE_GRID)
    final = _train_loss(lr)
    if final <= RATE_SLACK * best:
        return None
    start = regression_problem()[0](np.zeros(2))
    if not np.isfinite(final) or final >= start:
        return (
            f"with η = {lr:.3g} training diverges: the loss goes from {start:.3g} to "
            f"{final:.3g} in {TRAIN_STEPS} steps. Your rate is past the point where the range "
            "test's loss turns up; take a smaller one."
        )
    ratio = final / best
    larger = _train_loss(lr * 1.2) < final
    advice = "a larger rate trains faster" if larger else "a smaller rate oscillates less"
    return (
        f"with η = {lr:.3g} the loss after {TRAIN_STEPS} steps is {ratio:.3g} times the best "
        f"on the grid: {advice}."
    )


def _torch_best_rate():
    """The same grid search, each run stepped by torch.optim.SGD."""
    import torch

    loss_fn, grad_fn, theta0 = regression_problem()
    finals = []
    for lr in RATE_GRID:
        theta = torch.tensor(theta0, dtype=torch.float64)
        optimizer = torch.optim.SGD([theta], lr=lr)
        for _ in range(TRAIN_STEPS):
            theta.grad = torch.from_numpy(np.asarray(grad_fn(theta.numpy().copy())))
            optimizer.step()
        finals.append(loss_fn(theta.numpy().copy()))
    return RATE_GRID[int(np.nanargmin(finals))]


RANGE_TEST_RATE = Exercise(
    id="4.7",
    name="range_test_rate",
    title="Run a range test, then choose a rate that trains well",
    reference=_best_rate,
    oracle=_torch_best_rate,
    judge=_judge_rate,
    mistakes=(
        Mistake(
            "you took the rate where the range test's loss is lowest, or one past it: there "
            "training already diverges. The rule of thumb is a rate about 10 times smaller; then "
            "confirm it with `train`.",
            lambda: 1.5,
        ),
        Mistake(
            "η = 0.01 is safe but far too slow for 20 steps. The range test shows the loss "
            "falling fastest at much larger rates.",
            lambda: 0.01,
        ),
        Mistake(
            "η = 2 diverges on this problem (2/a_max ≈ 0.99). Take a rate below the point "
            "where the range test's loss turns up.",
            lambda: 2.0,
        ),
    ),
    hints=(
        "Plot or print `range_test()`'s losses against its rates: where does the loss fall "
        "fastest, and where does it blow up?",
        "Try a few rates just below the blow-up with `train(lr)` and keep the one whose final "
        "loss is lowest.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 4.8, a diagnosis: a per-epoch scheduler stepped after every mini-batch
# ---------------------------------------------------------------------------------------------


def _stepped_per_batch(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    """The rate of each epoch's first mini-batch when StepLR is stepped after every batch.

    Before epoch e, with K mini-batches per epoch, the scheduler has been stepped e·K times:
    η₀ γ^⌊e·K/s⌋ (utils.schedules).
    """
    schedule = schedules.step_decay(float(lr0), int(step_size), float(gamma))
    return np.array([schedule(e * int(batches_per_epoch)) for e in range(int(num_epochs))])


def _torch_stepped_per_batch(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    """The broken loop itself: torch's StepLR stepped after every optimizer step."""
    import torch

    weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=float(lr0))
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=int(step_size), gamma=float(gamma)
    )
    rates = []
    for _epoch in range(int(num_epochs)):
        rates.append(optimizer.param_groups[0]["lr"])  # what this epoch's first batch uses
        for _batch in range(int(batches_per_epoch)):
            optimizer.step()
            scheduler.step()  # the bug: once per mini-batch
    return np.array(rates)


def _per_batch_case(step_size, gamma, num_epochs, batches_per_epoch):
    return lambda rng: {
        "lr0": np.float64(rng.uniform(0.05, 0.5)),
        "step_size": np.int64(step_size),
        "gamma": np.float64(gamma),
        "num_epochs": np.int64(num_epochs),
        "batches_per_epoch": np.int64(batches_per_epoch),
    }


def _per_batch_with_exponent(exponent):
    def answer(lr0, step_size, gamma, num_epochs, batches_per_epoch):
        epochs = np.arange(num_epochs)
        return lr0 * gamma ** exponent(epochs, step_size, batches_per_epoch)

    return answer


SCHEDULER_PER_BATCH = Exercise(
    id="4.8",
    name="stepped_per_batch",
    title="Diagnose a scheduler stepped after every mini-batch",
    reference=_stepped_per_batch,
    oracle=_torch_stepped_per_batch,
    atol=0.0,
    points=2,
    cases=(
        Case(
            "StepLR(step_size=10, γ = 0.5), 6 epochs of 8 mini-batches",
            _per_batch_case(10, 0.5, 6, 8),
            seed=101,
        ),
        Case(
            "StepLR(step_size=7, γ = 0.1), 8 epochs of 3 mini-batches",
            _per_batch_case(7, 0.1, 8, 3),
            seed=102,
        ),
        Case(
            "StepLR(step_size=3, γ = 0.8), 5 epochs of a single mini-batch",
            _per_batch_case(3, 0.8, 5, 1),
            seed=103,
        ),
        Case(
            "StepLR(step_size=30, γ = 0.9), 4 epochs of 50 mini-batches",
            _per_batch_case(30, 0.9, 4, 50),
            seed=104,
        ),
    ),
    mistakes=(
        Mistake(
            "that is the schedule the author *meant*, η₀ γ^⌊e/s⌋ with e counting epochs. The loop "
            "calls `scheduler.step()` after every mini-batch, so before epoch e the scheduler "
            "has counted e·K steps, not e.",
            _per_batch_with_exponent(lambda e, s, b: e // s),
        ),
        Mistake(
            "you gave the rate after each epoch's last mini-batch, one epoch ahead. The first "
            "mini-batch of epoch e runs after e·K scheduler steps (epoch 0 uses η₀).",
            _per_batch_with_exponent(lambda e, s, b: (e + 1) * b // s),
        ),
        Mistake(
            "StepLR decays in stairs: the exponent of γ is the *whole* number of step_size "
            "periods completed, ⌊e·K/s⌋, not the fraction e·K/s.",
            _per_batch_with_exponent(lambda e, s, b: e * b / s),
        ),
        Mistake(
            "you multiply by γ at every scheduler step. StepLR multiplies by γ once every "
            "`step_size` steps.",
            _per_batch_with_exponent(lambda e, s, b: e * b),
        ),
    ),
    hints=(
        "Count the calls: how many times has `scheduler.step()` run before the first mini-batch "
        "of epoch e?",
        "StepLR's rate after k calls is η₀ γ^⌊k/s⌋; put in the k of each epoch.",
    ),
)

# ---------------------------------------------------------------------------------------------
# Concept questions 4.9–4.11
# ---------------------------------------------------------------------------------------------

#: Exercise 4.9: heavy-ball momentum β on the 1-D quadratic L(θ) = (a/2)θ² with curvature a.
MOMENTUM_BETA, CURVATURE = 0.9, 4.0


def _torch_momentum_stable_rate():
    """Bisect η on the spectral radius of torch's heavy-ball iteration matrix.

    torch.optim.SGD(momentum=β): v ← βv + aθ, θ ← θ − ηv, i.e. (θ, v) ← M (θ, v) with
    M = [[1 − ηa, −ηβ], [a, β]]; the run converges while every eigenvalue of M is inside 1.
    """
    import torch

    def radius(lr):
        matrix = torch.tensor(
            [[1 - lr * CURVATURE, -lr * MOMENTUM_BETA], [CURVATURE, MOMENTUM_BETA]],
            dtype=torch.float64,
        )
        return torch.linalg.eigvals(matrix).abs().max().item()

    low, high = 0.0, 10.0 / CURVATURE
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if radius(middle) < 1 else (low, middle)
    return low


MOMENTUM_STABLE_RATE = Exercise(
    id="4.9",
    name="momentum_stable_rate",
    title="The largest stable rate with momentum",
    reference=lambda: 2 * (1 + MOMENTUM_BETA) / CURVATURE,  # η < 2(1 + β)/a
    oracle=_torch_momentum_stable_rate,
    rtol=1e-3,
    atol=0.0,
    mistakes=(
        Mistake(
            "2/a is the limit of plain gradient descent. Momentum lets the iterate overshoot and "
            "come back, which *raises* the limit: work out where an eigenvalue of the two-step "
            "recursion reaches −1.",
            lambda: 2 / CURVATURE,
        ),
        Mistake(
            "you divided by 1 − β, the long-run amplification of a *constant* gradient. "
            "Stability is decided by the oscillating mode: put θ_t = (−1)ᵗ into "
            "θ_(t+1) = θ_t − ηaθ_t + β(θ_t − θ_(t−1)).",
            lambda: 2 / (CURVATURE * (1 - MOMENTUM_BETA)),
        ),
        Mistake(
            "momentum with β > 0 makes the limit larger than 2/a, not smaller: the factor is "
            "1 + β.",
            lambda: 2 * (1 - MOMENTUM_BETA) / CURVATURE,
        ),
        Mistake(
            "you divided 2/a by 1 + β: momentum *raises* the limit above 2/a, it does not lower "
            "it. Put θ_t = (−1)ᵗ into the recursion and solve for η.",
            lambda: 2 / (CURVATURE * (1 + MOMENTUM_BETA)),
        ),
        Mistake(
            "you dropped the 2: with β = 0 your limit would be 1/a, but plain gradient descent "
            "is stable up to 2/a.",
            lambda: (1 + MOMENTUM_BETA) / CURVATURE,
        ),
    ),
    hints=(
        "Heavy ball on L(θ) = (a/2)θ²: θ_(t+1) = θ_t − ηaθ_t + β(θ_t − θ_(t−1)). The run first "
        "breaks down through an oscillation that flips sign at every step.",
        "Put θ_t = (−1)ᵗ into the recursion and solve for the η where it holds.",
    ),
)

#: Exercise 4.10: warm-up and cosine decay, η = 0.1, W = 100, T = 1100, η_min = 0, at step 350.
SCHEDULE_QUESTION = {"lr": 0.1, "warmup_steps": 100, "total_steps": 1100, "step": 350}


def _question_rate(progress):
    """η_min + ½(η − η_min)(1 + cos(π·p)) with η_min = 0, for a mistaken progress p."""
    return 0.5 * SCHEDULE_QUESTION["lr"] * (1 + np.cos(np.pi * progress))


def _keras_scheduled_rate():
    q = SCHEDULE_QUESTION
    return _keras_warmup_cosine(q["step"], q["lr"], q["warmup_steps"], q["total_steps"], 0.0)


SCHEDULED_RATE = Exercise(
    id="4.10",
    name="scheduled_rate",
    title="The rate at one step of a warm-up and cosine schedule",
    reference=lambda: schedules.warmup_cosine(
        SCHEDULE_QUESTION["lr"], SCHEDULE_QUESTION["warmup_steps"], SCHEDULE_QUESTION["total_steps"]
    )(SCHEDULE_QUESTION["step"]),
    oracle=_keras_scheduled_rate,
    rtol=1e-3,
    atol=0.0,
    mistakes=(
        Mistake(
            "you measured the progress from step 0, p = t/T. The decay starts when the warm-up "
            "ends: p = (t − W)/(T − W).",
            lambda: _question_rate(350 / 1100),
        ),
        Mistake(
            "you divided by T instead of T − W: the decay lasts T − W steps, so "
            "p = (t − W)/(T − W).",
            lambda: _question_rate(250 / 1100),
        ),
        Mistake(
            "the ½ is missing: ½(1 + cos(π·p)) goes from 1 to 0; without the ½ the rate starts "
            "at 2η.",
            lambda: 2 * _question_rate(0.25),
        ),
        Mistake(
            "the cosine needs the form ½(1 + cos(π·p)), not cos(π·p) alone.",
            lambda: SCHEDULE_QUESTION["lr"] * np.cos(np.pi * 0.25),
        ),
    ),
    hints=(
        "Step 350 is past the warm-up: first compute the progress p of the cosine part.",
        "p = (t − W)/(T − W); then η_t = ½η(1 + cos(π·p)).",
    ),
)

#: Exercise 4.11: a range test's smoothed loss at eight rates.
RANGE_TEST_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
RANGE_TEST_LOSSES = (2.30, 2.30, 2.28, 2.20, 1.40, 0.80, 0.75, 5.0)
#: The options of 4.11, by number.
RANGE_TEST_OPTIONS = {1: 1.0, 2: 0.3, 3: 0.1, 4: 0.01}


def _torch_range_test_option():
    import torch

    rates, smoothed = torch.tensor(RANGE_TEST_RATES), torch.tensor(RANGE_TEST_LOSSES)
    picked = (rates[torch.argmin(smoothed)] / 10).item()
    (option,) = [k for k, lr in RANGE_TEST_OPTIONS.items() if abs(lr - picked) < 1e-6 * lr]
    return option


RANGE_TEST_OPTION = Exercise(
    id="4.11",
    name="range_test_option",
    title="Which rate does the range-test rule pick?",
    reference=lambda: 3,
    oracle=_torch_range_test_option,
    judge=multiple_choice(len(RANGE_TEST_OPTIONS), 3),
    mistakes=(
        Mistake(
            "η = 1 is where the smoothed loss is lowest. There the loss is about to explode; "
            "the rule picks a rate 10 times smaller than that.",
            lambda: 1,
        ),
        Mistake(
            "η = 0.3 is a tenth of 3, the rate where the loss has already exploded. The rule "
            "divides the rate at the *minimum* of the smoothed loss by 10.",
            lambda: 2,
        ),
        Mistake(
            "η = 0.01 is a hundredth of the rate at the minimum, or where the loss has barely "
            "started to fall: safe but slow. The rule divides the rate at the minimum by 10.",
            lambda: 4,
        ),
    ),
    hints=(
        "Find the rate at which the smoothed loss is lowest.",
        "The chapter's rule: a rate 10 times smaller than that one.",
    ),
)

EXERCISE_SET = ExerciseSet(
    chapter="4",
    title="The learning rate",
    notebook="04_learning_rate",
    exercises=(
        INVERSE_TIME,
        WARMUP_COSINE,
        LARGEST_STABLE_RATE,
        CONVERGENCE_FACTOR,
        MULTI_STEP,
        PICK_LEARNING_RATE,
        RANGE_TEST_RATE,
        SCHEDULER_PER_BATCH,
        MOMENTUM_STABLE_RATE,
        SCHEDULED_RATE,
        RANGE_TEST_OPTION,
    ),
)
