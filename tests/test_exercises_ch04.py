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
from exercise_tables import separation_test, table_tests

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
    return lr0 / step / decay_rate  # η₀ / (α·t): no 1 + in the denominator


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
# 4.3 largest_stable_rate
# ---------------------------------------------------------------------------------------------


def _run(grad_fn, theta0, lr, num_steps):
    theta = theta0.copy()
    for _ in range(num_steps):
        theta = theta - lr * grad_fn(theta)
    return theta


def stable_rate_in_place(loss_fn, grad_fn, theta0, lrs, num_steps):
    start, best = loss_fn(theta0), lrs[0]
    for lr in lrs:
        theta = theta0  # no copy: the steps below move theta0 itself, run after run
        for _ in range(num_steps):
            theta -= lr * grad_fn(theta)
        if loss_fn(theta) < start:
            best = lr
    return best


def stable_rate_lowest_loss(loss_fn, grad_fn, theta0, lrs, num_steps):
    best_lr, best_loss = None, np.inf
    for lr in lrs:
        final = loss_fn(_run(grad_fn, theta0, lr, num_steps))
        if final < best_loss:  # keeps the rate that got lowest, i.e. the fastest
            best_lr, best_loss = lr, final
    return best_lr


def stable_rate_first_step_down(loss_fn, grad_fn, theta0, lrs, num_steps):
    start = loss_fn(theta0)
    return max(lr for lr in lrs if loss_fn(theta0 - lr * grad_fn(theta0)) < start)


def stable_rate_not_nan(loss_fn, grad_fn, theta0, lrs, num_steps):
    good = lrs[0]
    for lr in lrs:
        if not math.isnan(loss_fn(_run(grad_fn, theta0, lr, num_steps))):
            good = lr  # a loss that is not NaN is taken for a converging one
    return good


def stable_rate_breaks_late(loss_fn, grad_fn, theta0, lrs, num_steps):
    start = loss_fn(theta0)
    for lr in lrs:
        if loss_fn(_run(grad_fn, theta0, lr, num_steps)) >= start:
            break  # lr is now the first unstable rate, and that is what is returned
    return lr


def stable_rate_index(loss_fn, grad_fn, theta0, lrs, num_steps):
    start = loss_fn(theta0)
    stable = [
        k for k, lr in enumerate(lrs) if loss_fn(_run(grad_fn, theta0, lr, num_steps)) < start
    ]
    return stable[-1]  # the position in lrs, not the rate


def stable_rate_all(loss_fn, grad_fn, theta0, lrs, num_steps):
    start = loss_fn(theta0)
    return np.array([lr for lr in lrs if loss_fn(_run(grad_fn, theta0, lr, num_steps)) < start])


# ---------------------------------------------------------------------------------------------
# 4.4 convergence_factor
# ---------------------------------------------------------------------------------------------


def factor_largest_only(lr, A):
    a_max = np.linalg.eigvalsh(A)[-1]
    return abs(1 - lr * a_max)


def factor_smallest_only(lr, A):
    a_min = np.linalg.eigvalsh(A)[0]
    return abs(1 - lr * a_min)


def factor_without_abs(lr, A):
    return max(1 - lr * a for a in np.linalg.eigvalsh(A))


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
    lr, period = lr0, int(milestones[0])
    for _ in range(int(step) // period):  # once every `period` steps, as StepLR does
        lr *= gamma
    return lr


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
    smoothed = _corrected_average(losses, beta)
    lowest = min(range(len(smoothed)), key=lambda k: smoothed[k])
    return lrs[lowest]  # forgot the division by 10


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


def pick_swapped_weights(lrs, losses, beta):
    average, smoothed = 0.0, np.zeros(len(losses))
    for k, loss in enumerate(losses):
        average = (1 - beta) * average + beta * loss  # β on the new loss
        smoothed[k] = average / (1 - beta ** (k + 1))
    return lrs[np.argmin(smoothed)] / 10


def pick_correction_from_step_one(lrs, losses, beta):
    average, smoothed = 0.0, [np.inf]
    for k in range(1, len(losses) + 1):  # steps counted 1, 2, ...: but k is 0, 1, ...
        average = beta * average + (1 - beta) * losses[k - 1]
        if k > 1:
            smoothed.append(average / (1 - beta ** (k - 1)))
    return lrs[int(np.argmin(smoothed))] / 10


def pick_average_from_first_loss(lrs, losses, beta):
    average = losses[0]
    smoothed = []
    for loss in losses:
        average = beta * average + (1 - beta) * loss
        smoothed.append(average)
    return lrs[smoothed.index(min(smoothed))] / 10


# ---------------------------------------------------------------------------------------------
# 4.8 stepped_per_batch
# ---------------------------------------------------------------------------------------------


def per_batch_as_meant(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    return np.array([lr0 * gamma ** (e // step_size) for e in range(num_epochs)])


def per_batch_end_of_epoch(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    rates, calls = [], 0
    for _epoch in range(num_epochs):
        calls += batches_per_epoch  # counted before recording: the rate after the epoch
        rates.append(lr0 * gamma ** (calls // step_size))
    return np.array(rates)


def per_batch_smooth(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    epochs = np.arange(num_epochs)
    return lr0 * gamma ** (epochs * batches_per_epoch / step_size)


def per_batch_every_call(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    return lr0 * gamma ** (np.arange(num_epochs) * batches_per_epoch)


def per_batch_list(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    return [lr0 * gamma ** (e * batches_per_epoch // step_size) for e in range(num_epochs)]


def per_batch_after_first_batch(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    calls = np.arange(num_epochs) * batches_per_epoch + 1  # one call too many
    return lr0 * gamma ** (calls // step_size)


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
    ("4.3", stable_rate_in_place, "changed its input `theta0` in place"),
    ("4.3", stable_rate_in_place, "every run must start from `theta0`"),
    ("4.3", stable_rate_lowest_loss, "the *fastest* rate"),
    ("4.3", stable_rate_first_step_down, "you judged each rate by its first step"),
    ("4.3", stable_rate_not_nan, "you called every run whose loss is still finite stable"),
    ("4.3", stable_rate_breaks_late, "you returned the first rate whose run is *not* stable"),
    ("4.3", stable_rate_index, "the position of the rate in `lrs`, not the rate"),
    ("4.3", stable_rate_all, "has shape (3,); expected a single number"),
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
    ("4.6", pick_swapped_weights, "you swapped β and 1 − β"),
    ("4.6", pick_correction_from_step_one, "your bias correction is one step off"),
    ("4.6", pick_average_from_first_loss, "you started the average at the first loss"),
    ("4.7", 1.5, "training diverges"),
    ("4.7", 1.5, "Hint: you took the rate where the range test's loss is lowest"),
    ("4.7", 0.05, "a larger rate trains faster"),
    ("4.7", 0.95, "a smaller rate oscillates less"),
    ("4.7", 0.0, "outside the range tested"),
    ("4.7", np.nan, "contains NaN"),
    ("4.7", np.array([0.5]), "expected a single number"),
    ("4.8", per_batch_as_meant, "that is the schedule the author *meant*"),
    ("4.8", per_batch_end_of_epoch, "one epoch ahead"),
    ("4.8", per_batch_smooth, "StepLR decays in stairs"),
    ("4.8", per_batch_every_call, "you multiply by γ at every scheduler step"),
    ("4.8", per_batch_list, "np.asarray"),
    ("4.8", per_batch_after_first_batch, "differs from the expected values"),
    ("4.9", 0.5, "2/a is the limit of plain gradient descent"),
    ("4.9", 5.0, "you divided by 1 − β"),
    ("4.9", 0.05, "makes the limit larger than 2/a, not smaller"),
    ("4.9", 0.475, "you dropped the 2"),
    ("4.9", 0.5 / 1.9, "you divided 2/a by 1 + β"),
    ("4.9", "0.95", "should be a number"),
    ("4.10", 0.05 * (1 + math.cos(math.pi * 350 / 1100)), "you measured the progress from step 0"),
    ("4.10", 0.05 * (1 + math.cos(math.pi * 250 / 1100)), "you divided by T instead of T − W"),
    ("4.10", 0.1 * (1 + math.cos(math.pi / 4)), "the ½ is missing"),
    ("4.10", 0.1 * math.cos(math.pi / 4), "not cos(π·p) alone"),
    ("4.10", 0.035, "is not the expected value"),
    ("4.11", 1, "η = 1 is where the smoothed loss is lowest"),
    ("4.11", 2, "η = 0.3 is a tenth of 3"),
    ("4.11", 4, "η = 0.01 is a hundredth"),
    ("4.11", 0.1, "expected integers"),
    ("4.11", 7, "answer with the number of one option"),
]


# ---------------------------------------------------------------------------------------------
# Other correct solutions pass
# ---------------------------------------------------------------------------------------------


def warmup_cosine_clipped(step, lr, warmup_steps, total_steps, min_lr):
    warm = lr * np.clip(step / warmup_steps, 0.0, 1.0)
    progress = np.clip((step - warmup_steps) / (total_steps - warmup_steps), 0.0, 1.0)
    cosine = min_lr + (lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2
    return float(warm if step < warmup_steps else cosine)


def stable_rate_from_the_top(loss_fn, grad_fn, theta0, lrs, num_steps):
    start = loss_fn(theta0)
    for lr in lrs[::-1]:  # the largest rate first: the first stable one is the answer
        if loss_fn(_run(grad_fn, theta0, lr, num_steps)) < start:
            return lr
    raise AssertionError("lrs[0] is stable by the statement")


def stable_rate_with_history(loss_fn, grad_fn, theta0, lrs, num_steps):
    finals = []
    for lr in lrs:
        path = [np.array(theta0, dtype=float)]
        for _ in range(int(num_steps)):
            path.append(path[-1] - lr * np.asarray(grad_fn(path[-1])))
        finals.append(loss_fn(path[-1]))
    below = np.array(finals) < loss_fn(theta0)
    return float(np.max(lrs[below]))


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


def per_batch_simulated(lr0, step_size, gamma, num_epochs, batches_per_epoch):
    lr, calls, rates = lr0, 0, []
    for _epoch in range(num_epochs):
        rates.append(lr)
        for _batch in range(batches_per_epoch):
            calls += 1  # scheduler.step(), as StepLR counts it
            if calls % step_size == 0:
                lr *= gamma
    return np.array(rates)


RIGHT = [
    ("4.1", lambda step, lr0, decay_rate: lr0 * (1 + decay_rate * step) ** -1),
    ("4.1", lambda step, lr0, decay_rate: float(lr0) / (1.0 + float(decay_rate) * int(step))),
    ("4.2", warmup_cosine_clipped),
    ("4.3", stable_rate_from_the_top),
    ("4.3", stable_rate_with_history),
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
    ("4.7", 0.3),  # a rate 10 times below where the range test blows up
    ("4.7", 0.5),
    ("4.7", np.float64(0.85)),
    ("4.8", per_batch_simulated),
    (
        "4.8",
        lambda lr0, step_size, gamma, num_epochs, batches_per_epoch: np.array(
            [
                lr0 * gamma ** math.floor(e * batches_per_epoch / step_size)
                for e in range(num_epochs)
            ]
        ),
    ),
    ("4.9", 0.95),
    ("4.9", 2 * 1.9 / 4),
    ("4.10", 0.0854),  # three significant digits are enough
    ("4.10", 0.05 * (1 + math.sqrt(2) / 2)),
    ("4.11", 3),
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


def test_the_experiment_of_4_3_brackets_two_over_lambda_max():
    """On every case (all quadratics), the answer is the last rate below 2/a_max."""
    exercise = get_exercise("4.3")
    for case in exercise.cases:
        inputs = case.inputs()
        grad_fn, theta0, lrs = inputs["grad_fn"], inputs["theta0"], inputs["lrs"]
        # The Hessian of a quadratic from its gradient: column j is ∇L(e_j) − ∇L(0).
        origin = grad_fn(np.zeros_like(theta0))
        hessian = np.stack([grad_fn(e) - origin for e in np.eye(len(theta0))], axis=1)
        limit = 2 / np.linalg.eigvalsh((hessian + hessian.T) / 2)[-1]
        answer = exercise.reference(*inputs.values())
        assert answer < limit < lrs[list(lrs).index(answer) + 1], case.description


def test_the_cases_of_4_3_tell_a_first_step_from_a_whole_run():
    """The claim of the statement's note: a diverging run can lower the loss at first."""
    inputs = get_exercise("4.3").cases[1].inputs()  # the valley, starting near its floor
    loss_fn, grad_fn, theta0 = inputs["loss_fn"], inputs["grad_fn"], inputs["theta0"]
    lr = 0.21  # above 2/a_max = 0.2
    assert loss_fn(_run(grad_fn, theta0, lr, 1)) < loss_fn(theta0)
    assert loss_fn(_run(grad_fn, theta0, lr, int(inputs["num_steps"]))) > loss_fn(theta0)


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


# ---------------------------------------------------------------------------------------------
# What the new statements claim
# ---------------------------------------------------------------------------------------------


def test_momentum_diverges_just_above_the_answer_of_4_9():
    """torch.optim.SGD(momentum=β) on (a/2)θ²: converges at 0.99× the limit, diverges at 1.01×."""
    torch = pytest.importorskip("torch")
    from utils.autocheck.exercises.ch04 import CURVATURE, MOMENTUM_BETA

    limit = get_exercise("4.9").reference()
    finals = {}
    for factor in (0.99, 1.01):
        theta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([theta], lr=factor * limit, momentum=MOMENTUM_BETA)
        for _ in range(3000):
            theta.grad = CURVATURE * theta.detach().clone()  # ∇(a/2)θ² = aθ
            optimizer.step()
        finals[factor] = abs(theta.item())
    assert finals[0.99] < 1e-3 and finals[1.01] > 1e3, finals


def test_the_range_test_table_of_4_11_is_what_the_rule_of_4_6_reads():
    from utils.autocheck.exercises.ch04 import (
        RANGE_TEST_LOSSES,
        RANGE_TEST_OPTIONS,
        RANGE_TEST_RATES,
    )

    rates, smoothed = np.array(RANGE_TEST_RATES), np.array(RANGE_TEST_LOSSES)
    picked = RANGE_TEST_OPTIONS[get_exercise("4.11").reference()]
    assert picked == pytest.approx(rates[np.argmin(smoothed)] / 10)


def test_stepping_per_batch_is_harmless_with_one_batch_per_epoch():
    """4.8: the broken loop equals the meant one exactly when K = 1 (and step_size counts it)."""
    exercise = get_exercise("4.8")
    rates = exercise.reference(0.1, 3, 0.8, 10, 1)
    meant = schedules.values(schedules.step_decay(0.1, 3, 0.8), 10)
    np.testing.assert_allclose(rates, meant, rtol=1e-14)
    scaled = exercise.reference(0.1, 3 * 391, 0.8, 10, 391)
    np.testing.assert_allclose(scaled, meant, rtol=1e-14)


(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(4, WRONG, RIGHT)

SEPARATED = [
    (
        "4.6",
        pick_correction_from_step_one,
        "a test started too high: the loss only rises, 40 steps, β = 0.9",
    ),
    ("4.6", pick_average_from_first_loss, "a short test, 60 steps, β = 0.98"),
]
test_this_case_is_what_catches_the_wrong_answer = separation_test(SEPARATED)
