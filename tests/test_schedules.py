"""utils.schedules against torch.optim.lr_scheduler and keras.optimizers.schedules.

torch is the oracle by stepping a real optimizer and reading its lr before each update; Keras'
schedules are evaluated at steps 0, 1, 2, ... with float64 hyper-parameters (np.float64) so that
they compute in float64 and can be compared tightly.
"""

import dataclasses
import os
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from torch.optim import lr_scheduler  # noqa: E402

from utils import schedules  # noqa: E402

KerasSchedules = keras.optimizers.schedules
f64 = np.float64
LR = 0.1
T = 60  # steps in a run


def torch_lrs(make_scheduler, num_steps, lr=LR):
    """The lr a torch optimizer uses for updates 0 .. num_steps - 1 under ``make_scheduler``."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(num_steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # no gradient: nothing moves, but the order step → scheduler.step holds
        scheduler.step()
    return np.array(lrs)


def keras_lrs(keras_schedule, num_steps):
    return np.array([float(keras_schedule(step)) for step in range(num_steps)])


def assert_same_run(ours, reference, rtol=1e-12):
    np.testing.assert_allclose(ours, reference, rtol=rtol, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Each schedule against torch and Keras
# ---------------------------------------------------------------------------------------------


def test_constant_is_constant_like_torch_without_a_scheduler():
    schedule = schedules.constant(LR)
    assert_same_run(
        schedules.values(schedule, T),
        torch_lrs(lambda o: lr_scheduler.LambdaLR(o, lambda t: 1.0), T),
    )


def test_step_decay_matches_torch_steplr_and_keras_staircase_exponential_decay():
    schedule = schedules.step_decay(LR, step_size=7, gamma=0.5)
    ours = schedules.values(schedule, T)
    assert_same_run(ours, torch_lrs(lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5), T))
    keras_schedule = KerasSchedules.ExponentialDecay(f64(LR), 7, f64(0.5), staircase=True)
    assert_same_run(ours, keras_lrs(keras_schedule, T))


def test_multi_step_matches_torch_and_keras_piecewise_constant_with_boundaries_shifted_by_one():
    milestones, gamma = [10, 25, 40], 0.3
    schedule = schedules.multi_step(LR, milestones, gamma)
    ours = schedules.values(schedule, T)
    reference = torch_lrs(lambda o: lr_scheduler.MultiStepLR(o, milestones, gamma), T)
    assert_same_run(ours, reference)
    # torch's lr changes AT a milestone; Keras' value changes AFTER a boundary: boundary = m − 1.
    keras_schedule = KerasSchedules.PiecewiseConstantDecay(
        [m - 1 for m in milestones], [f64(LR * gamma**i) for i in range(len(milestones) + 1)]
    )
    assert_same_run(ours, keras_lrs(keras_schedule, T))
    assert schedule(9) == LR and schedule(10) == pytest.approx(LR * gamma)


def test_exponential_matches_torch_and_keras():
    schedule = schedules.exponential(LR, gamma=0.93)
    ours = schedules.values(schedule, T)
    # torch multiplies by γ step after step, so rounding errors accumulate: a few ulps.
    assert_same_run(ours, torch_lrs(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.93), T))
    assert_same_run(ours, keras_lrs(KerasSchedules.ExponentialDecay(f64(LR), 1, f64(0.93)), T))


def test_inverse_time_matches_torch_lambdalr_and_keras():
    decay_rate, decay_steps = 0.5, 4
    schedule = schedules.inverse_time(LR, decay_rate, decay_steps)
    ours = schedules.values(schedule, T)

    def factor(t):
        return 1.0 / (1.0 + decay_rate * t / decay_steps)

    assert_same_run(ours, torch_lrs(lambda o: lr_scheduler.LambdaLR(o, factor), T))
    keras_schedule = KerasSchedules.InverseTimeDecay(f64(LR), decay_steps, f64(decay_rate))
    assert_same_run(ours, keras_lrs(keras_schedule, T))


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_polynomial_matches_torch_polynomiallr_and_keras(power):
    total = 40
    schedule = schedules.polynomial(LR, total, power=power)
    ours = schedules.values(schedule, T)  # runs past total_steps: the rate stays at end_lr
    reference = torch_lrs(lambda o: lr_scheduler.PolynomialLR(o, total_iters=total, power=power), T)
    assert_same_run(ours, reference, rtol=1e-11)
    assert np.all(ours[total:] == 0.0)
    with_end = schedules.polynomial(LR, total, end_lr=0.01, power=power)
    keras_schedule = KerasSchedules.PolynomialDecay(f64(LR), total, f64(0.01), power=f64(power))
    assert_same_run(schedules.values(with_end, T), keras_lrs(keras_schedule, T))


def test_polynomial_with_power_one_is_a_straight_line():
    ours = schedules.values(schedules.polynomial(1.0, 10, end_lr=0.5), 11)
    np.testing.assert_allclose(ours, np.linspace(1.0, 0.5, 11), rtol=1e-15)


def test_cosine_annealing_closed_form_agrees_with_torch_recursive_form():
    min_lr = 0.001
    schedule = schedules.cosine_annealing(LR, T, min_lr=min_lr)
    ours = schedules.values(schedule, T + 1)
    # torch's CosineAnnealingLR is "chainable": it updates the current lr by a ratio each step,
    # η_{t+1} = η_min + (η_t − η_min)(1 + cos(π(t+1)/T)) / (1 + cos(πt/T)),
    # which equals the closed form up to accumulated rounding.
    reference = torch_lrs(
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=min_lr), T + 1
    )
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-10 * LR)
    assert ours[0] == LR and ours[T] == min_lr


def test_cosine_annealing_stays_at_min_lr_like_keras_where_torch_climbs_back():
    min_lr = 0.001
    schedule = schedules.cosine_annealing(LR, T, min_lr=min_lr)
    ours = schedules.values(schedule, 2 * T)
    # Keras' floor is a fraction of the initial rate: alpha = min_lr / lr.
    keras_schedule = KerasSchedules.CosineDecay(f64(LR), T, alpha=f64(min_lr / LR))
    assert_same_run(ours, keras_lrs(keras_schedule, 2 * T))
    assert np.all(ours[T:] == min_lr)
    torch_run = torch_lrs(
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=min_lr), 2 * T
    )
    assert torch_run[2 * T - 1] > 0.9 * LR  # torch follows the cosine back up after T_max


@pytest.mark.parametrize("warmup_start_lr", [0.001, 0.0])
def test_warmup_cosine_matches_torch_sequentiallr_and_keras_cosine_decay_with_warmup(
    warmup_start_lr,
):
    warmup, min_lr = 10, 0.002
    schedule = schedules.warmup_cosine(
        LR, warmup, T, min_lr=min_lr, warmup_start_lr=warmup_start_lr
    )
    ours = schedules.values(schedule, T + 5)
    assert ours[0] == warmup_start_lr and ours[warmup] == LR and ours[T] == pytest.approx(min_lr)
    # Keras: initial_learning_rate is where the warm-up STARTS, decay_steps excludes the warm-up.
    keras_schedule = KerasSchedules.CosineDecay(
        f64(warmup_start_lr),
        T - warmup,
        alpha=f64(min_lr / LR),
        warmup_target=f64(LR),
        warmup_steps=warmup,
    )
    assert_same_run(ours, keras_lrs(keras_schedule, T + 5))
    if warmup_start_lr > 0:  # torch's LinearLR needs a positive start_factor

        def sequential(optimizer):
            return lr_scheduler.SequentialLR(
                optimizer,
                [
                    lr_scheduler.LinearLR(
                        optimizer, start_factor=warmup_start_lr / LR, total_iters=warmup
                    ),
                    lr_scheduler.CosineAnnealingLR(optimizer, T_max=T - warmup, eta_min=min_lr),
                ],
                milestones=[warmup],
            )

        np.testing.assert_allclose(ours[: T + 1], torch_lrs(sequential, T + 1), atol=1e-10 * LR)


def test_warmup_cosine_without_warmup_is_cosine_annealing():
    without_warmup = schedules.warmup_cosine(LR, 0, T, min_lr=0.001)
    cosine = schedules.cosine_annealing(LR, T, min_lr=0.001)
    np.testing.assert_array_equal(
        schedules.values(without_warmup, T + 3), schedules.values(cosine, T + 3)
    )


@pytest.mark.parametrize(
    "total, pct_start, anneal", [(100, 0.3, "cos"), (100, 0.25, "linear"), (37, 0.4, "cos")]
)
def test_one_cycle_matches_torch_onecyclelr(total, pct_start, anneal):
    schedule = schedules.one_cycle(0.5, total, pct_start=pct_start, anneal=anneal)
    ours = schedules.values(schedule, total + 3)

    def one_cycle(optimizer):
        return lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=0.5,
            total_steps=total,
            pct_start=pct_start,
            anneal_strategy=anneal,
            cycle_momentum=False,
        )

    assert_same_run(ours[:total], torch_lrs(one_cycle, total, lr=0.5), rtol=1e-11)
    assert ours[0] == pytest.approx(0.5 / 25)
    assert max(ours) == pytest.approx(0.5, rel=1e-3)  # the peak falls between two steps
    assert ours[total - 1] == pytest.approx(schedule.final_lr, rel=1e-9)
    assert np.all(ours[total - 1 :] == ours[total - 1])  # holds its last value afterwards


# ---------------------------------------------------------------------------------------------
# Adapters
# ---------------------------------------------------------------------------------------------

ALL_SCHEDULES = [
    schedules.constant(0.05),
    schedules.step_decay(0.1, 5, 0.5),
    schedules.multi_step(0.1, [3, 8, 20], 0.2),
    schedules.exponential(0.1, 0.9),
    schedules.inverse_time(0.1, 0.3, 2),
    schedules.polynomial(0.1, 20, end_lr=0.001, power=2.0),
    schedules.cosine_annealing(0.1, 20, min_lr=0.001),
    schedules.warmup_cosine(0.1, 5, 25, min_lr=0.001),
    schedules.one_cycle(0.3, 25),
    schedules.one_cycle(0.3, 25, anneal="linear"),
]
IDS = [
    type(s).__name__ + ("-linear" if getattr(s, "anneal", "") == "linear" else "")
    for s in ALL_SCHEDULES
]


@pytest.mark.parametrize("schedule", ALL_SCHEDULES, ids=IDS)
def test_to_torch_lambda_reproduces_the_schedule_in_lambdalr(schedule):
    ours = schedules.values(schedule, 30)
    reference = torch_lrs(
        lambda o: lr_scheduler.LambdaLR(o, schedules.to_torch_lambda(schedule)),
        30,
        lr=schedule.base_lr,
    )
    # base_lr · (η_t / base_lr): one rounding away from η_t
    np.testing.assert_allclose(reference, ours, rtol=2.3e-16, atol=0)
    # With lr = 1 the factor IS the learning rate: bit for bit.
    exact = torch_lrs(
        lambda o: lr_scheduler.LambdaLR(o, schedules.to_torch_lambda(schedule, base_lr=1.0)),
        30,
        lr=1.0,
    )
    np.testing.assert_array_equal(exact, ours)


@pytest.mark.parametrize("schedule", ALL_SCHEDULES, ids=IDS)
def test_to_keras_computes_the_same_values_from_a_step_tensor(schedule):
    ours = schedules.values(schedule, 30)
    as_keras = schedules.to_keras(schedule)
    assert isinstance(as_keras, KerasSchedules.LearningRateSchedule)
    steps = tf.range(30, dtype=tf.int64)
    float32_values = np.array([float(as_keras(step)) for step in steps])
    # float32 keeps about 7 digits of the largest rate: tiny rates get an absolute error.
    np.testing.assert_allclose(float32_values, ours, rtol=1e-5, atol=1e-7 * schedule.base_lr)

    in_float64 = schedules.to_keras(schedule, dtype="float64")
    graph = tf.function(in_float64)  # works traced, as inside model.fit
    assert_same_run(np.array([float(graph(step)) for step in steps]), ours, rtol=1e-12)
    # Keras can rebuild it from its config (what model saving does).
    rebuilt = type(as_keras).from_config(as_keras.get_config())
    assert rebuilt.schedule == schedule


def test_keras_optimizer_uses_the_schedule_at_steps_0_1_2():
    schedule = schedules.warmup_cosine(0.1, 3, 10, min_lr=0.01)
    weight = keras.Variable(0.0, dtype="float32")
    optimizer = keras.optimizers.SGD(learning_rate=schedules.to_keras(schedule))
    applied = []
    for _ in range(12):
        before = float(weight.numpy())
        optimizer.apply_gradients([(tf.constant(1.0), weight)])  # w ← w − η_t · 1
        applied.append(before - float(weight.numpy()))
    np.testing.assert_allclose(applied, schedules.values(schedule, 12), rtol=1e-5, atol=1e-7)


def test_apply_schedule_sets_the_lr_of_torch_numpy_style_and_keras_optimizers():
    schedule = schedules.step_decay(0.1, 2, 0.5)
    params = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(2))]
    torch_optimizer = torch.optim.SGD(
        [{"params": params[:1]}, {"params": params[1:], "lr": 3.0}], lr=1.0
    )
    assert schedules.apply_schedule(torch_optimizer, schedule, 4) == 0.025
    assert [group["lr"] for group in torch_optimizer.param_groups] == [0.025, 0.025]

    numpy_style = types.SimpleNamespace(lr=1.0)  # what utils.optim.numpy's optimizers expose
    schedules.apply_schedule(numpy_style, schedule, 2)
    assert numpy_style.lr == 0.05

    keras_optimizer = keras.optimizers.SGD(learning_rate=1.0)
    schedules.apply_schedule(keras_optimizer, schedule, 0)
    assert float(keras_optimizer.learning_rate) == pytest.approx(0.1)

    with pytest.raises(ValueError, match="optimizer"):
        schedules.apply_schedule(object(), schedule, 0)


def test_apply_schedule_with_the_course_numpy_optimizer():
    optim_numpy = pytest.importorskip("utils.optim.numpy")
    if not hasattr(optim_numpy, "SGD"):
        pytest.skip("utils.optim.numpy has no SGD yet")
    optimizer = optim_numpy.SGD([np.zeros(2)], lr=1.0)
    schedules.apply_schedule(optimizer, schedules.exponential(0.1, 0.5), 3)
    assert optimizer.lr == pytest.approx(0.0125)


# ---------------------------------------------------------------------------------------------
# The objects themselves
# ---------------------------------------------------------------------------------------------


def test_schedules_are_readable_frozen_dataclasses():
    schedule = schedules.multi_step(0.1, [30, 10])
    assert repr(schedule) == "MultiStep(lr=0.1, milestones=(10, 30), gamma=0.1)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.lr = 1.0
    assert schedule == schedules.multi_step(0.1, (10, 30))
    assert schedules.cosine_annealing(lr=0.1, total_steps=100)(50) == pytest.approx(0.05)


def test_values_tabulates_any_function_of_the_step():
    table = schedules.values(lambda step: 1.0 / (step + 1), 4)
    assert table.dtype == np.float64
    np.testing.assert_array_equal(table, [1.0, 0.5, 1 / 3, 0.25])
    assert schedules.values(schedules.constant(0.1), 0).shape == (0,)


@pytest.mark.parametrize(
    "factory, kwargs, argument",
    [
        (schedules.constant, {"lr": -0.1}, "lr"),
        (schedules.step_decay, {"lr": 0.1, "step_size": 0}, "step_size"),
        (schedules.step_decay, {"lr": 0.1, "step_size": 2.5}, "step_size"),
        (schedules.step_decay, {"lr": 0.1, "step_size": 2, "gamma": 0.0}, "gamma"),
        (schedules.multi_step, {"lr": 0.1, "milestones": [5, -1]}, "milestones"),
        (schedules.multi_step, {"lr": 0.1, "milestones": 5}, "milestones"),
        (schedules.exponential, {"lr": 0.1, "gamma": float("nan")}, "gamma"),
        (schedules.inverse_time, {"lr": 0.1, "decay_rate": -1.0}, "decay_rate"),
        (schedules.inverse_time, {"lr": 0.1, "decay_rate": 1.0, "decay_steps": 0}, "decay_steps"),
        (schedules.polynomial, {"lr": 0.1, "total_steps": 0}, "total_steps"),
        (schedules.polynomial, {"lr": 0.1, "total_steps": 10, "power": 0.0}, "power"),
        (schedules.cosine_annealing, {"lr": 0.1, "total_steps": 10, "min_lr": -1.0}, "min_lr"),
        (
            schedules.warmup_cosine,
            {"lr": 0.1, "warmup_steps": 10, "total_steps": 10},
            "total_steps",
        ),
        (
            schedules.warmup_cosine,
            {"lr": 0.1, "warmup_steps": -1, "total_steps": 10},
            "warmup_steps",
        ),
        (schedules.one_cycle, {"max_lr": 0.1, "total_steps": 10, "pct_start": 1.0}, "pct_start"),
        (schedules.one_cycle, {"max_lr": 0.1, "total_steps": 3, "pct_start": 0.3}, "pct_start"),
        (schedules.one_cycle, {"max_lr": 0.1, "total_steps": 10, "anneal": "cosine"}, "anneal"),
        (schedules.one_cycle, {"max_lr": 0.1, "total_steps": 10, "div_factor": 0}, "div_factor"),
    ],
)
def test_bad_hyper_parameters_raise_value_errors_that_name_them(factory, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        factory(**kwargs)


def test_bad_steps_and_adapter_arguments_raise_value_errors():
    schedule = schedules.constant(0.1)
    for step in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="step"):
            schedule(step)
    with pytest.raises(ValueError, match="num_steps"):
        schedules.values(schedule, -1)
    with pytest.raises(ValueError, match="base_lr"):
        schedules.to_torch_lambda(schedules.constant(0.0))
    with pytest.raises(ValueError, match="schedule"):
        schedules.to_keras(lambda step: 0.1)
    with pytest.raises(ValueError, match="dtype"):
        schedules.to_keras(schedule, dtype="float16")
