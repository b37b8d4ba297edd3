"""utils.optim.tensorflow against torch.optim, in tf.GradientTape-style loops and in model.fit."""

from __future__ import annotations

import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from optim_cases import (  # noqa: E402
    BAD_HYPERPARAMETERS,
    CASES,
    LR_CHANGE_STEP,
    assert_params_close,
    bad_id,
    case_id,
    gradients,
    initial_params,
    learning_rates,
    torch_reference,
)

import utils.optim.numpy as numpy_optim  # noqa: E402
import utils.optim.tensorflow as optim  # noqa: E402


def run_ours(name, kwargs, params, grads, lrs, graph: bool) -> list[np.ndarray]:
    """Apply the steps with ``apply_gradients``, eagerly or inside a ``tf.function``."""
    variables = [keras.Variable(p) for p in params]
    optimizer = getattr(optim, name)(variables, **kwargs)

    def apply(step_grads):
        optimizer.apply_gradients(zip(step_grads, variables, strict=True))

    if graph:
        apply = tf.function(apply)
    for step_grads, lr in zip(grads, lrs, strict=True):
        optimizer.lr = lr
        apply([tf.constant(g) for g in step_grads])
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_optim_in_a_tf_function(case):
    name, kwargs = case
    params, grads = initial_params(np.float64), gradients(np.float64)
    lrs = learning_rates(kwargs["lr"])
    ours = run_ours(name, kwargs, params, grads, lrs, graph=True)
    assert_params_close(ours, torch_reference(name, kwargs, params, grads, lrs), np.float64)


@pytest.mark.parametrize("case", [c for c in CASES if "weight_decay" in c[1]], ids=case_id)
def test_matches_torch_optim_eagerly_in_float32(case):
    name, kwargs = case
    params, grads = initial_params(np.float32), gradients(np.float32)
    lrs = learning_rates(kwargs["lr"])
    ours = run_ours(name, kwargs, params, grads, lrs, graph=False)
    assert_params_close(ours, torch_reference(name, kwargs, params, grads, lrs), np.float32)


def test_accepts_a_keras_learning_rate_schedule():
    lr = 2**-6
    # The schedule sees the number of finished steps and switches after its boundary.
    boundaries = [LR_CHANGE_STEP - 1]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, [lr, lr / 2])
    params, grads, lrs = initial_params(np.float64), gradients(np.float64), learning_rates(lr)
    variables = [keras.Variable(p) for p in params]
    optimizer = optim.Adam(lr=schedule, amsgrad=True)
    for step_grads in grads:
        step_grads = [tf.constant(g) for g in step_grads]
        optimizer.apply_gradients(zip(step_grads, variables, strict=True))
    reference = torch_reference("Adam", dict(lr=lr, amsgrad=True), params, grads, lrs)
    assert_params_close([v.numpy() for v in variables], reference, np.float64)


def test_lr_is_keras_learning_rate_under_torch_s_name():
    optimizer = optim.SGD(lr=0.5, momentum=0.9, weight_decay=1e-4)
    assert float(optimizer.learning_rate) == 0.5
    optimizer.lr = 0.25
    assert float(optimizer.lr) == float(optimizer.learning_rate) == 0.25
    assert float(optim.Adam(learning_rate=0.125).lr) == 0.125
    config = optimizer.get_config()
    assert config["weight_decay"] == 1e-4 and config["momentum"] == 0.9
    assert optim.SGD.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "case",
    [
        ("Adadelta", dict(rho=0.5, eps=1e-4)),
        ("NAdam", dict(momentum_decay=0.1, betas=(0.5, 0.9), decoupled_weight_decay=True)),
    ],
    ids=case_id,
)
def test_config_round_trips(case):
    name, kwargs = case
    config = getattr(optim, name)(lr=0.25, weight_decay=0.01, **kwargs).get_config()
    assert {key: config[key] for key in kwargs} == kwargs and config["learning_rate"] == 0.25
    assert getattr(optim, name).from_config(config).get_config() == config


def test_model_compile_and_fit_train_like_the_numpy_reference():
    """Five full-batch steps of model.fit equal five steps of utils.optim.numpy.Adam."""
    rng = np.random.default_rng(0)
    # model.fit casts NumPy inputs to float32, so draw data that float32 holds exactly.
    x, y = (rng.standard_normal(shape).astype(np.float32) for shape in [(16, 3), (16, 2)])
    x, y = x.astype(np.float64), y.astype(np.float64)
    kernel, bias = rng.standard_normal((3, 2)), np.zeros(2)
    model = keras.Sequential(
        [keras.Input((3,), dtype="float64"), keras.layers.Dense(2, dtype="float64")]
    )
    model.set_weights([kernel, bias])
    loss = keras.losses.MeanSquaredError(dtype="float64")
    model.compile(optimizer=optim.Adam(lr=2**-4, weight_decay=0.01), loss=loss)
    losses = model.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0).history["loss"]
    assert losses[-1] < losses[0]

    reference = numpy_optim.Adam([kernel, bias], lr=2**-4, weight_decay=0.01)
    for _ in range(5):
        dloss_dpred = 2 * (x @ kernel + bias - y) / y.size  # mean squared error
        reference.step([x.T @ dloss_dpred, dloss_dpred.sum(axis=0)])
    for ours, expected in zip(model.get_weights(), [kernel, bias], strict=True):
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bad", BAD_HYPERPARAMETERS, ids=bad_id)
def test_invalid_hyperparameters_raise_value_error_naming_them(bad):
    name, kwargs, message = bad
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(optim, name)(**kwargs)
