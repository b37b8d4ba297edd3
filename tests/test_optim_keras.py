"""Keras' built-in optimizers against ours: where the conventions differ, the difference.

utils.optim follows torch.optim. Keras runs the same algorithms with other conventions (ε placement,
initial accumulator, learning rate inside the momentum). The mappings that make the two agree are
written in each optimizer's description (``utils.optim.spec``, ``Oracle.translate``) and run by
the harness (test_optim_equivalence.py); the tests here show that the differences are real where
a mapping does not apply, and check the one mapping that changes with the step (Keras' ε̂).

Keras stores hyper-parameters such as momentum, beta_1 or the initial accumulator as float32, so
these runs use values float32 holds exactly (0.875, 1 − 2⁻¹⁰, powers of two) and compare in float64.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from optim_cases import gradients, initial_params, learning_rates  # noqa: E402

import utils.optim.numpy as optim  # noqa: E402

LR, BETA1, BETA2, MOMENTUM = 2**-6, 0.875, 1 - 2**-10, 0.875
PARAMS, GRADS = initial_params(np.float64), gradients(np.float64)


def run_keras(optimizer, lrs=None) -> list[np.ndarray]:
    variables = [keras.Variable(p) for p in PARAMS]

    @tf.function
    def apply(step_grads):
        optimizer.apply_gradients(zip(step_grads, variables, strict=True))

    for step, step_grads in enumerate(GRADS):
        if lrs is not None:
            optimizer.learning_rate = lrs[step]
        apply([tf.constant(g) for g in step_grads])
    return [v.numpy() for v in variables]


def run_class(optimizer_class, lrs=None, **kwargs) -> list[np.ndarray]:
    params = [p.copy() for p in PARAMS]
    optimizer = optimizer_class(params, **kwargs)
    for step, step_grads in enumerate(GRADS):
        if lrs is not None:
            optimizer.lr = lrs[step]
        optimizer.step(step_grads)
    return params


def run_adam_with_keras_epsilon(step_function, epsilon_hat, **kwargs) -> list[np.ndarray]:
    """Our Adam with the ε that equals Keras' ε̂ at each step: ε_t = ε̂ / √(1 − β₂ᵗ)."""
    params = list(PARAMS)
    states = [optim.init_state("Adam", p) for p in params]
    for t, step_grads in enumerate(GRADS, start=1):
        eps = epsilon_hat / math.sqrt(1 - BETA2**t)
        for i, grad in enumerate(step_grads):
            params[i], states[i] = step_function(params[i], grad, states[i], eps=eps, **kwargs)
    return params


def assert_same(ours, theirs, rtol=1e-10):
    for index, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=1e-12, err_msg=f"[{index}]")


def max_difference(ours, theirs) -> float:
    return max(np.abs(a - b).max() for a, b in zip(ours, theirs, strict=True))


def test_keras_sgd_keeps_the_old_learning_rate_in_its_velocity():
    """v = μv − γg remembers past γs; torch's b = μb + g is scaled by the current γ."""
    lrs = learning_rates(LR)
    keras_sgd = keras.optimizers.SGD(learning_rate=LR, momentum=MOMENTUM)
    ours = run_class(optim.SGD, lrs=lrs, lr=LR, momentum=MOMENTUM)
    assert max_difference(ours, run_keras(keras_sgd, lrs)) > 1e-3


@pytest.mark.parametrize("amsgrad", [False, True])
def test_keras_adam_epsilon_is_epsilon_hat(amsgrad):
    epsilon_hat = 2**-7
    keras_adam = keras.optimizers.Adam(
        learning_rate=LR, beta_1=BETA1, beta_2=BETA2, epsilon=epsilon_hat, amsgrad=amsgrad
    )
    theirs = run_keras(keras_adam)
    kwargs = dict(lr=LR, betas=(BETA1, BETA2), amsgrad=amsgrad)
    assert_same(run_adam_with_keras_epsilon(optim.adam_step, epsilon_hat, **kwargs), theirs)
    # The same number as torch's ε is a different optimizer, most of all in early steps.
    ours = run_class(optim.Adam, lr=LR, betas=(BETA1, BETA2), eps=epsilon_hat, amsgrad=amsgrad)
    assert max_difference(ours, theirs) > 1e-3


def test_keras_adamw_decays_like_torch_adamw():
    epsilon_hat, weight_decay = 2**-7, 2**-4
    keras_adamw = keras.optimizers.AdamW(
        learning_rate=LR,
        weight_decay=weight_decay,
        beta_1=BETA1,
        beta_2=BETA2,
        epsilon=epsilon_hat,
    )
    kwargs = dict(lr=LR, betas=(BETA1, BETA2), weight_decay=weight_decay)
    ours = run_adam_with_keras_epsilon(optim.adamw_step, epsilon_hat, **kwargs)
    assert_same(ours, run_keras(keras_adamw))


@pytest.mark.parametrize(
    "momentum, centered", [(0.0, False), (0.0, True), (0.5, False), (0.5, True)]
)
def test_keras_rmsprop_rho_is_alpha_and_its_epsilon_sits_inside_the_root(momentum, centered):
    def keras_rmsprop(epsilon):
        return keras.optimizers.RMSprop(
            learning_rate=LR, rho=0.875, momentum=momentum, epsilon=epsilon, centered=centered
        )

    def ours(eps):
        return run_class(
            optim.RMSprop, lr=LR, alpha=0.875, eps=eps, momentum=momentum, centered=centered
        )

    # √(v + ε) and √v + ε agree once ε is negligible ...
    assert_same(ours(1e-30), run_keras(keras_rmsprop(1e-30)))
    # ... and differ where it is not.
    assert max_difference(ours(2**-7), run_keras(keras_rmsprop(2**-7))) > 1e-4


def test_keras_adagrad_defaults_are_close_to_ours_with_the_same_numbers():
    """Keras' defaults s_0 = 0.1, ε = 1e-7 in ours move each step by less than 1e-6 (relative)."""
    keras_adagrad = keras.optimizers.Adagrad(learning_rate=2**-3)
    ours = run_class(optim.Adagrad, lr=2**-3, initial_accumulator_value=0.1, eps=1e-7)
    assert_same(ours, run_keras(keras_adagrad), rtol=1e-6)


def test_keras_adadelta_defaults_are_ours_with_lr_1e_3_rho_0_95_eps_1e_7():
    """Only the defaults differ: Keras' γ = 1e-3 makes steps a thousand times smaller."""
    ours = run_class(optim.Adadelta, lr=1e-3, rho=0.95, eps=1e-7)
    assert_same(ours, run_keras(keras.optimizers.Adadelta()))
    torch_defaults = run_class(optim.Adadelta)
    assert max_difference(torch_defaults, PARAMS) > 100 * max_difference(ours, PARAMS)


@pytest.mark.parametrize("weight_decay", [0.0, 2**-4])
def test_keras_nadam_is_torch_nadam_with_momentum_decay_one(weight_decay):
    """Keras: μ_t = β₁ (1 − ½ · 0.96ᵗ), i.e. ψ = 1; ε outside the root as torch; decoupled decay.

    Not to 1e-10: Keras' update step casts 0.96 to the variable's dtype through float32
    (0.9599999785...), so its μ_t and μ_{t+1} are off by about 2e-8 (relative), while its Π_t
    uses 0.96 itself.
    """
    lrs = learning_rates(LR)
    keras_nadam = keras.optimizers.Nadam(
        learning_rate=LR, beta_1=BETA1, beta_2=BETA2, epsilon=2**-7, weight_decay=weight_decay
    )
    theirs = run_keras(keras_nadam, lrs)
    kwargs = dict(
        lrs=lrs,
        lr=LR,
        betas=(BETA1, BETA2),
        eps=2**-7,
        weight_decay=weight_decay,
        decoupled_weight_decay=True,
    )
    assert_same(run_class(optim.NAdam, momentum_decay=1.0, **kwargs), theirs, rtol=1e-6)
    # torch's default ψ = 0.004 keeps μ_t near β₁/2 for thousands of steps: another optimizer.
    assert max_difference(run_class(optim.NAdam, **kwargs), theirs) > 1e-3


def test_keras_schedule_free_reads_the_updated_z():
    """Keras' ScheduleFreeAdamW agrees with ours at the first step, then drifts: it rebuilds
    x_{t−1} from z_t (``optim_cases.keras_schedule_free_with_previous_z`` copies z_{t−1}, and
    with that one change the harness finds the two equal to 1e-10)."""
    betas = (BETA1, BETA2)
    keras_optimizer = keras.optimizers.ScheduleFreeAdamW(
        learning_rate=LR, beta_1=BETA1, beta_2=BETA2
    )
    variables = [keras.Variable(p) for p in PARAMS]
    params = [p.copy() for p in PARAMS]
    ours = optim.ScheduleFreeAdamW(params, lr=LR, betas=betas)
    gaps = []
    for step_grads in GRADS[:5]:
        keras_optimizer.apply_gradients(
            zip([tf.constant(g) for g in step_grads], variables, strict=True)
        )
        ours.step(step_grads)
        gaps.append(
            max(np.abs(v.numpy() - p).max() for v, p in zip(variables, params, strict=True))
        )
    assert gaps[0] < 1e-12, "the first step, where x_0 = z_0, should agree"
    assert min(gaps[1:]) > 1e-5, gaps
