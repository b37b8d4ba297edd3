"""Exercises 4 (the learning rate) against hand-written learner code.

The generic tests (test_autocheck_exercises.py, test_autocheck_frameworks.py) feed each *declared*
mistake back to the checker and compare each reference with its oracle (Keras' schedules, torch's
schedulers and ``torch.linalg``, SciPy's filter). Here the wrong answers are written the way a
learner would write them (loops, other NumPy calls, Python floats), independently of the
declarations, and each must get the intended message. Alternative correct solutions must pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from exercise_tables import table_tests

from utils import schedules
from utils.autocheck.spec import get_exercise

# ---------------------------------------------------------------------------------------------
# 4.1 inverse_time_decay
# ---------------------------------------------------------------------------------------------


def inverse_time_compounded(step, lr0, decay_rate):
    lr = lr0
    for _ in range(int(step)):
        lr /= 1 + decay_rate  # divides by (1 + α) at every step: (1 + α)^t in the end
    return lr


def inverse_time_counting_from_one(step, lr0, decay_rate):
    t = step + 1
    return lr0 / (1 + decay_rate * t)


def inverse_time_without_one(step, lr0, decay_rate):
    return lr0 / (decay_rate * step)


def inverse_time_without_one_python(step, lr0, decay_rate):
    return float(lr0) / (float(decay_rate) * int(step))


def inverse_time_linear(step, lr0, decay_rate):
    return lr0 - lr0 * decay_rate * step


def inverse_time_exp(step, lr0, decay_rate):
    return lr0 * math.exp(-decay_rate * step)


def inverse_time_floor(step, lr0, decay_rate):
    return lr0 // (1 + decay_rate * step)


# ---------------------------------------------------------------------------------------------
# 4.2 warmup_cosine
# ---------------------------------------------------------------------------------------------


def warmup_cosine_no_warmup(step, lr, warmup_steps, total_steps, min_lr):
    progress = min(step, total_steps) / total_steps
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2


def warmup_cosine_to_zero(step, lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
    return lr * (1 + math.cos(math.pi * progress)) / 2


def warmup_cosine_plain_cos(step, lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (lr - min_lr) * math.cos(math.pi * progress)


def warmup_cosine_unclamped(step, lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (lr - min_lr) * (1 + np.cos(np.pi * progress))


def warmup_cosine_progress_from_zero(step, lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = min(step, total_steps) / total_steps
    return min_lr + 0.5 * (lr - min_lr) * (1 + np.cos(np.pi * progress))


def warmup_cosine_warmup_ahead(step, lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (lr - min_lr) * (1 + np.cos(np.pi * progress))


def warmup_cosine_warmup_from_min_lr(step, lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return min_lr + (lr - min_lr) * step / warmup_steps
    progress = (min(step, total_steps) - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + 0.5 * (lr - min_lr) * (1 + np.cos(np.pi * progress))


# ---------------------------------------------------------------------------------------------
# 4.3 max_stable_lr
# ---------------------------------------------------------------------------------------------


def max_stable_lr_one_over_l(A):
    return 1 / np.linalg.eigvalsh(A)[-1]


def max_stable_lr_smallest(A):
    return 2 / np.linalg.eigvalsh(A)[0]


def max_stable_lr_diagonal(A):
    return 2 / A.diagonal().max()


def max_stable_lr_frobenius(A):
    return 2 / np.sqrt((A**2).sum())


def max_stable_lr_trace(A):
    return 2 / sum(A[i, i] for i in range(len(A)))


def max_stable_lr_array(A):
    return 2 / np.linalg.eigvalsh(A)[-1:]


# ---------------------------------------------------------------------------------------------
# 4.4 convergence_factor
# ---------------------------------------------------------------------------------------------


def factor_largest_only(lr, A):
    lam_max = np.linalg.eigvalsh(A)[-1]
    return abs(1 - lr * lam_max)


def factor_smallest_only(lr, A):
    lam_min = np.linalg.eigvalsh(A)[0]
    return abs(1 - lr * lam_min)


def factor_without_abs(lr, A):
    return max(1 - lr * lam for lam in np.linalg.eigvalsh(A))


def factor_from_diagonal(lr, A):
    return max(abs(1 - lr * A[i, i]) for i in range(len(A)))


def factor_every_direction(lr, A):
    return np.abs(1 - lr * np.linalg.eigvalsh(A))  # forgot the max


# ---------------------------------------------------------------------------------------------
# 4.5 multi_step_decay
# ---------------------------------------------------------------------------------------------


def multi_step_late(step, lr0, milestones, gamma):
    lr = lr0
    for milestone in milestones:
        if step > milestone:
            lr *= gamma
    return lr


def multi_step_once(step, lr0, milestones, gamma):
    return lr0 * gamma if step >= milestones[0] else lr0


def multi_step_periodic(step, lr0, milestones, gamma):
    return lr0 * gamma ** (step // milestones[0])


def multi_step_ahead(step, lr0, milestones, gamma):
    remaining = len([m for m in milestones if m > step])
    return lr0 * gamma**remaining


def multi_step_index(step, lr0, milestones, gamma):
    return lr0 * gamma ** np.searchsorted(milestones, step)  # side="left": switches one step late


# ---------------------------------------------------------------------------------------------
# 4.6 pick_learning_rate
# ---------------------------------------------------------------------------------------------


def _corrected_average(losses, beta):
    average, smoothed = 0.0, []
    for k, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta ** (k + 1)))
    return np.array(smoothed)


def pick_at_minimum(lrs, losses, beta):
    return lrs[np.argmin(_corrected_average(losses, beta))]


def pick_raw(lrs, losses, beta):
    best = 0
    for k in range(len(losses)):
        if losses[k] < losses[best]:
            best = k
    return lrs[best] / 10


def pick_uncorrected(lrs, losses, beta):
    average, smoothed = 0.0, []
    for loss in losses:
        average = beta * average + (1 - beta) * loss
        smoothed.append(average)
    return lrs[int(np.argmin(smoothed))] / 10


def pick_times_ten(lrs, losses, beta):
    return 10 * lrs[np.argmin(_corrected_average(losses, beta))]


def pick_index(lrs, losses, beta):
    return np.argmin(_corrected_average(losses, beta)) / 10


def pick_smoothing_in_place(lrs, losses, beta):
    average = 0.0
    for k in range(len(losses)):
        average = beta * average + (1 - beta) * losses[k]
        losses[k] = average / (1 - beta ** (k + 1))
    return lrs[np.argmin(losses)] / 10


WRONG = [
    ("4.1", inverse_time_compounded, "that is an *exponential* decay"),
    ("4.1", inverse_time_counting_from_one, "you are one step late"),
    ("4.1", inverse_time_without_one, "contains inf where a finite value is expected"),
    ("4.1", inverse_time_without_one, "the 1 in the denominator is missing"),
    ("4.1", inverse_time_without_one_python, "raised ZeroDivisionError"),
    ("4.1", inverse_time_linear, "that is a linear decay"),
    ("4.1", inverse_time_exp, "that is the exponential decay η₀ e^(−α·t)"),
    ("4.1", inverse_time_floor, "is not the expected value"),
    ("4.2", warmup_cosine_no_warmup, "there is no warm-up"),
    ("4.2", warmup_cosine_to_zero, "decays to 0 instead of `min_lr`"),
    ("4.2", warmup_cosine_plain_cos, "the cosine needs the form ½(1 + cos(π·p))"),
    ("4.2", warmup_cosine_unclamped, "after step T your rate climbs back up"),
    ("4.2", warmup_cosine_progress_from_zero, "the cosine must start where the warm-up ends"),
    ("4.2", warmup_cosine_warmup_ahead, "your warm-up is one step ahead"),
    ("4.2", warmup_cosine_warmup_from_min_lr, "case 1 of 7 (step 0, the start of the warm-up"),
    ("4.3", max_stable_lr_one_over_l, "converges *monotonically*"),
    ("4.3", max_stable_lr_smallest, "you used the smallest eigenvalue"),
    ("4.3", max_stable_lr_diagonal, "the largest *diagonal entry* of A"),
    ("4.3", max_stable_lr_frobenius, "a matrix norm (Frobenius)"),
    ("4.3", max_stable_lr_trace, "you used the trace"),
    ("4.3", max_stable_lr_array, "has shape (1,); expected a single number"),
    ("4.4", factor_largest_only, "you only looked at the largest eigenvalue"),
    ("4.4", factor_smallest_only, "you only looked at the smallest eigenvalue"),
    ("4.4", factor_without_abs, "the absolute value is missing"),
    ("4.4", factor_from_diagonal, "you used the diagonal of A"),
    ("4.4", factor_every_direction, "has shape (2,); expected a single number"),
    ("4.5", multi_step_late, "you switch one step late"),
    ("4.5", multi_step_index, "you switch one step late"),
    ("4.5", multi_step_once, "you multiply by γ once"),
    ("4.5", multi_step_periodic, "you decay every `milestones[0]` steps"),
    ("4.5", multi_step_ahead, "you counted the milestones still *ahead*"),
    ("4.6", pick_at_minimum, "you returned the rate at the minimum itself"),
    ("4.6", pick_raw, "you took the minimum of the raw, noisy losses"),
    ("4.6", pick_uncorrected, "your moving average has no bias correction"),
    ("4.6", pick_times_ten, "you multiplied by 10"),
    ("4.6", pick_index, "is not the expected value"),
    ("4.6", pick_smoothing_in_place, "changed its input `losses` in place"),
]


# ---------------------------------------------------------------------------------------------
# Other correct solutions pass
# ---------------------------------------------------------------------------------------------


def warmup_cosine_clipped(step, lr, warmup_steps, total_steps, min_lr):
    warm = lr * np.clip(step / warmup_steps, 0.0, 1.0)
    progress = np.clip((step - warmup_steps) / (total_steps - warmup_steps), 0.0, 1.0)
    cosine = min_lr + (lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2
    return float(warm if step < warmup_steps else cosine)


def max_stable_lr_power_iteration(A):
    vector = np.ones(len(A))
    for _ in range(2000):
        vector = A @ vector
        vector /= np.linalg.norm(vector)
    return 2 / (vector @ A @ vector)  # Rayleigh quotient of the top eigenvector


def factor_of_iteration_matrix(lr, A):
    # x_{t+1} − x* = (I − ηA)(x_t − x*): ρ is the spectral radius of I − ηA.
    return np.max(np.abs(np.linalg.eigvalsh(np.eye(len(A)) - lr * A)))


def multi_step_loop(step, lr0, milestones, gamma):
    lr = lr0
    for milestone in milestones:
        if step >= milestone:
            lr = lr * gamma
    return lr


def pick_weighted_average(lrs, losses, beta):
    # ŝ_k is the average of ℓ_0..ℓ_k with weights β^(k−i): no running state at all.
    smoothed = []
    for k in range(len(losses)):
        weights = beta ** np.arange(k, -1, -1)
        smoothed.append(weights @ losses[: k + 1] / weights.sum())
    return lrs[int(np.argmin(smoothed))] / 10


RIGHT = [
    ("4.1", lambda step, lr0, decay_rate: lr0 * (1 + decay_rate * step) ** -1),
    ("4.1", lambda step, lr0, decay_rate: float(lr0) / (1.0 + float(decay_rate) * int(step))),
    ("4.2", warmup_cosine_clipped),
    ("4.3", lambda A: 2 / np.linalg.norm(A, 2)),  # the spectral norm is λ_max for SPD A
    ("4.3", lambda A: 2 / np.max(np.linalg.eig(A)[0].real)),
    ("4.3", max_stable_lr_power_iteration),
    ("4.4", factor_of_iteration_matrix),
    ("4.4", lambda lr, A: max(abs(1 - lr * np.linalg.eigvalsh(A)[[0, -1]]))),
    ("4.5", multi_step_loop),
    (
        "4.5",
        lambda step, lr0, milestones, gamma: (
            lr0 * gamma ** np.searchsorted(milestones, step, side="right")
        ),
    ),
    ("4.6", pick_weighted_average),
]


# ---------------------------------------------------------------------------------------------
# The references follow the conventions of chapter 4
# ---------------------------------------------------------------------------------------------


def test_schedule_references_agree_with_utils_schedules_on_every_step():
    """Over a whole run, not only the cases: the exercises ask for utils.schedules' formulas."""
    inverse = get_exercise("4.1").reference
    warmup = get_exercise("4.2").reference
    multi = get_exercise("4.5").reference
    milestones = np.array([30, 80])
    expected_warmup = schedules.values(schedules.warmup_cosine(0.3, 10, 100, min_lr=0.003), 150)
    expected_multi = schedules.values(schedules.multi_step(0.3, (30, 80), 0.1), 150)
    for step in range(150):
        assert inverse(step, 0.3, 0.05) == pytest.approx(0.3 / (1 + 0.05 * step), rel=1e-15)
        assert warmup(step, 0.3, 10, 100, 0.003) == pytest.approx(expected_warmup[step])
        assert multi(step, 0.3, milestones, 0.1) == pytest.approx(expected_multi[step])
    assert warmup(0, 0.3, 10, 100, 0.003) == 0.0, "the warm-up starts from 0"
    assert warmup(10, 0.3, 10, 100, 0.003) == pytest.approx(0.3), "and peaks at step W"


def test_max_stable_lr_is_the_divergence_threshold_of_gradient_descent():
    exercise = get_exercise("4.3")
    for case in exercise.cases:
        A = case.inputs()["A"]
        limit = exercise.reference(A)
        for lr, converges in ((0.99 * limit, True), (1.01 * limit, False)):
            x = np.ones(len(A))
            for _ in range(5000):
                x = x - lr * (A @ x)
            assert bool(np.linalg.norm(x) < 1.0) == converges, (case.description, lr / limit)


def test_convergence_factor_predicts_the_error_of_gradient_descent():
    exercise = get_exercise("4.4")
    for case in exercise.cases:
        lr, A = case.inputs().values()
        factor = exercise.reference(lr, A)
        x = np.random.default_rng(0).normal(size=len(A))
        start = np.linalg.norm(x)
        for _ in range(20):
            x = x - lr * (A @ x)
        assert np.linalg.norm(x) <= factor**20 * start * (1 + 1e-9), case.description
        assert np.linalg.norm(x) >= 0.01 * factor**20 * start, case.description  # and tight


(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(4, WRONG, RIGHT)
