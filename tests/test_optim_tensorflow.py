"""utils.optim.tensorflow against torch.optim, in tf.GradientTape-style loops and in model.fit."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from optim_cases import (  # noqa: E402
    EQUIVALENCE_CASES,
    LR_CHANGE_STEP,
    assert_params_close,
    case_id,
    gradients,
    initial_params,
    learning_rates,
    run_oracle,
    run_tensorflow,
    shapes_for,
)

import utils.optim.numpy as numpy_optim  # noqa: E402
import utils.optim.tensorflow as optim  # noqa: E402
from utils.optim.spec import SPECS  # noqa: E402


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
    spec = SPECS["Adam"]
    reference = run_oracle(
        spec.oracles[0], spec.bind((), dict(lr=lr, amsgrad=True)), params, grads, lrs
    )
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
        ("Lion", dict(betas=(0.5, 0.75))),
    ],
    ids=lambda case: case[0],
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


def test_state_variables_are_the_ones_the_description_needs():
    variables = [keras.Variable(np.zeros(3))]
    names = lambda optimizer: sorted(optimizer._slots)  # noqa: E731
    assert names(optim.Adam(variables)) == ["exp_avg", "exp_avg_sq"]
    assert names(optim.Adam(variables, amsgrad=True)) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert names(optim.SGD(variables)) == [] and names(optim.Lion(variables)) == ["exp_avg"]
    adagrad = optim.Adagrad(variables, initial_accumulator_value=0.1)
    np.testing.assert_array_equal(adagrad.slot("sum", variables[0]).numpy(), np.full(3, 0.1))


def test_keras_options_pass_through_and_our_names_are_checked():
    optimizer = optim.Lion(lr=0.5, clipnorm=1.0, name="lion")
    assert optimizer.clipnorm == 1.0 and optimizer.name == "lion"
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Lion(betas=(0.9, 1.0))


@pytest.mark.parametrize("case", EQUIVALENCE_CASES[::4], ids=case_id)
def test_eager_steps_equal_tf_function_steps(case):
    shapes = shapes_for(case.spec)
    params, grads = initial_params(np.float32, shapes=shapes), gradients(np.float32, shapes=shapes)
    lrs = learning_rates(case.kwargs["lr"])
    eager = run_tensorflow(case.name, case.kwargs, params, grads, lrs, graph=False)
    graph = run_tensorflow(case.name, case.kwargs, params, grads, lrs, graph=True)
    assert_params_close(eager, graph, np.float32)
