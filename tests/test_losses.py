"""utils.losses against torch.autograd and keras.losses (the oracles), in float64."""

import os
import subprocess
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from utils import losses  # noqa: E402

SETTINGS = settings(deadline=None, derandomize=True, max_examples=20)
REDUCTIONS = ["mean", "sum", "none"]
EXTREME_LOGITS = np.array([-1e4, -800.0, -50.0, -1.0, 0.0, 1e-8, 1.0, 50.0, 800.0, 1e4])

values = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
vectors = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.float64, n, elements=values), hnp.arrays(np.float64, n, elements=values)
    )
)


def torch_loss_and_grad(loss_fn, pred, *args):
    """Value and autograd gradient (w.r.t. pred) of a torch loss; for unreduced losses the
    gradient of their sum, the convention of utils.losses."""
    pred_t = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    tensors = [torch.as_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    value = loss_fn(pred_t, *tensors)
    value.sum().backward()
    return value.detach().numpy(), pred_t.grad.numpy()


def assert_close(ours, reference, rtol=1e-12, atol=1e-12):
    ours = np.asarray(ours)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, reference, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------------------------

REGRESSION = [
    (losses.mse, losses.mse_grad, lambda r: torch.nn.MSELoss(reduction=r), {}),
    (losses.mae, losses.mae_grad, lambda r: torch.nn.L1Loss(reduction=r), {}),
    (losses.huber, losses.huber_grad, lambda r: torch.nn.HuberLoss(reduction=r), {}),
    (
        losses.huber,
        losses.huber_grad,
        lambda r: torch.nn.HuberLoss(reduction=r, delta=0.3),
        {"delta": 0.3},
    ),
]


@pytest.mark.parametrize("loss, grad, torch_loss, kwargs", REGRESSION)
@SETTINGS
@given(pair=vectors)
def test_regression_losses_match_torch(loss, grad, torch_loss, kwargs, pair):
    pred, target = pair
    for reduction in REDUCTIONS:
        value, grad_ref = torch_loss_and_grad(torch_loss(reduction), pred, target)
        assert_close(loss(pred, target, reduction=reduction, **kwargs), value)
        assert_close(grad(pred, target, reduction=reduction, **kwargs), grad_ref)


def test_mae_subgradient_is_zero_where_pred_equals_target_like_torch():
    pred = np.array([1.0, 2.0, 3.0])
    target = np.array([1.0, 0.0, 5.0])
    _, grad_ref = torch_loss_and_grad(torch.nn.L1Loss(), pred, target)
    assert_close(losses.mae_grad(pred, target), grad_ref)
    assert losses.mae_grad(pred, target)[0] == 0.0


def test_huber_is_continuous_at_delta_and_matches_keras():
    delta = 0.7
    pred = np.array([0.7, -0.7, 0.69999, 2.0, -3.0, 0.1])
    target = np.zeros_like(pred)
    keras_value = keras.losses.Huber(delta=delta, dtype="float64")(target, pred)
    assert_close(losses.huber(pred, target, delta=delta), float(keras_value))
    # At |e| = δ both branches give ½δ²
    assert losses.huber(np.array([delta]), np.array([0.0]), delta=delta) == pytest.approx(
        0.5 * delta**2
    )


def test_mse_and_mae_match_keras():
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(2, 4, 5))
    mse = keras.losses.MeanSquaredError(dtype="float64")
    mae = keras.losses.MeanAbsoluteError(dtype="float64")
    assert_close(losses.mse(pred, target), float(mse(target, pred)))
    assert_close(losses.mae(pred, target), float(mae(target, pred)))


# ---------------------------------------------------------------------------------------------
# Stable building blocks
# ---------------------------------------------------------------------------------------------


def test_sigmoid_and_log_sigmoid_are_stable_and_match_torch():
    z = torch.tensor(EXTREME_LOGITS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in np.exp would raise here
        sigmoid = losses.sigmoid(EXTREME_LOGITS)
        log_sigmoid = losses.log_sigmoid(EXTREME_LOGITS)
    assert_close(sigmoid, torch.sigmoid(z).numpy(), atol=0)
    assert_close(log_sigmoid, torch.nn.functional.logsigmoid(z).numpy(), atol=0)
    assert np.all(np.isfinite(log_sigmoid))
    assert log_sigmoid[0] == -1e4  # log σ(−10⁴) = −10⁴, not log(0) = −inf


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_softmax_log_softmax_match_torch(axis, keepdims):
    rng = np.random.default_rng(1)
    z = rng.normal(scale=3.0, size=(4, 6))
    z[0] = [1e4, -1e4, 0.0, 1e4, 5.0, -3.0]  # extreme values in one row
    z[1, :] = -np.inf  # every entry −∞: log-sum-exp is −∞, no nan
    z_t = torch.tensor(z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = losses.logsumexp(z, axis=axis, keepdims=keepdims)
    assert_close(ours, torch.logsumexp(z_t, dim=axis, keepdim=keepdims).numpy())

    finite = z[[0, 2, 3]]
    finite_t = torch.tensor(finite)
    assert_close(losses.softmax(finite, axis=axis), torch.softmax(finite_t, dim=axis).numpy())
    assert_close(
        losses.log_softmax(finite, axis=axis), torch.log_softmax(finite_t, dim=axis).numpy()
    )
    assert np.all(np.isfinite(losses.log_softmax(finite, axis=axis)))


@SETTINGS
@given(hnp.arrays(np.float64, (3, 5), elements=st.floats(-1e4, 1e4)))
def test_softmax_rows_sum_to_one_and_match_keras(z):
    probabilities = losses.softmax(z)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-12)
    assert_close(probabilities, keras.ops.softmax(z, axis=-1).numpy())


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy
# ---------------------------------------------------------------------------------------------

probabilities = st.floats(1e-6, 1 - 1e-6)
labels = st.floats(0.0, 1.0)


def bce_pairs(elements):
    return st.integers(1, 10).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, n, elements=elements), hnp.arrays(np.float64, n, elements=labels)
        )
    )


@SETTINGS
@given(pair=bce_pairs(probabilities))
def test_binary_cross_entropy_matches_torch_inside_the_clipping_range(pair):
    probs, target = pair
    for reduction in REDUCTIONS:
        torch_loss = torch.nn.BCELoss(reduction=reduction)
        value, grad_ref = torch_loss_and_grad(torch_loss, probs, target)
        assert_close(losses.binary_cross_entropy(probs, target, reduction=reduction), value)
        ours_grad = losses.binary_cross_entropy_grad(probs, target, reduction=reduction)
        assert_close(ours_grad, grad_ref, rtol=1e-9)


def test_binary_cross_entropy_clips_like_keras_and_stays_finite():
    probs = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 1e-9])
    target = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    # Keras clips to [1e-7, 1 − 1e-7]; with eps=1e-7 we compute the same numbers.
    keras_value = keras.losses.binary_crossentropy(target, probs)
    assert_close(losses.binary_cross_entropy(probs, target, eps=1e-7), float(keras_value))
    value = losses.binary_cross_entropy(probs, target, reduction="none")
    assert np.all(np.isfinite(value))
    assert value[0] == pytest.approx(-np.log(1e-12))  # −log(eps), not inf
    assert np.all(np.isfinite(losses.binary_cross_entropy_grad(probs, target)))
    # torch instead clamps each log at −100, so it disagrees exactly where clipping acts:
    torch_value = torch.nn.BCELoss(reduction="none")(torch.tensor(probs), torch.tensor(target))
    assert torch_value[0].item() == 100.0


@SETTINGS
@given(pair=bce_pairs(st.floats(-1e4, 1e4)))
def test_binary_cross_entropy_with_logits_matches_torch(pair):
    logits, target = pair
    for reduction in REDUCTIONS:
        torch_loss = torch.nn.BCEWithLogitsLoss(reduction=reduction)
        value, grad_ref = torch_loss_and_grad(torch_loss, logits, target)
        ours = losses.binary_cross_entropy_with_logits(logits, target, reduction=reduction)
        assert_close(ours, value)
        ours_grad = losses.binary_cross_entropy_with_logits_grad(logits, target, reduction)
        assert_close(ours_grad, grad_ref)


def test_binary_cross_entropy_with_extreme_logits_matches_torch_and_tensorflow():
    target = np.array([1.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.0, 0.25])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = losses.binary_cross_entropy_with_logits(EXTREME_LOGITS, target, reduction="none")
        ours_grad = losses.binary_cross_entropy_with_logits_grad(
            EXTREME_LOGITS, target, reduction="none"
        )
    value, grad_ref = torch_loss_and_grad(
        torch.nn.BCEWithLogitsLoss(reduction="none"), EXTREME_LOGITS, target
    )
    assert np.all(np.isfinite(ours)) and np.all(np.isfinite(ours_grad))
    assert_close(ours, value)
    assert_close(ours_grad, grad_ref)
    tf_value = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=EXTREME_LOGITS)
    assert_close(ours, tf_value.numpy())
    assert ours[0] == 1e4  # −log σ(−10⁴) = 10⁴ exactly


def test_binary_cross_entropy_with_logits_grad_is_sigmoid_minus_target_over_n():
    logits = np.array([-2.0, 0.0, 3.0])
    target = np.array([0.0, 1.0, 1.0])
    expected = (1 / (1 + np.exp(-logits)) - target) / 3
    assert_close(losses.binary_cross_entropy_with_logits_grad(logits, target), expected)


# ---------------------------------------------------------------------------------------------
# Categorical cross-entropy
# ---------------------------------------------------------------------------------------------


def logits_and_classes(scale=5.0):
    return st.tuples(st.integers(1, 6), st.integers(2, 5)).flatmap(
        lambda shape: st.tuples(
            hnp.arrays(np.float64, shape, elements=st.floats(-scale, scale)),
            hnp.arrays(np.int64, shape[0], elements=st.integers(0, shape[1] - 1)),
        )
    )


@SETTINGS
@given(pair=logits_and_classes())
def test_cross_entropy_with_class_indices_matches_torch(pair):
    logits, classes = pair
    for reduction in REDUCTIONS:
        torch_loss = torch.nn.CrossEntropyLoss(reduction=reduction)
        value, grad_ref = torch_loss_and_grad(torch_loss, logits, classes)
        assert_close(losses.cross_entropy(logits, classes, reduction=reduction), value)
        assert_close(losses.cross_entropy_grad(logits, classes, reduction=reduction), grad_ref)


@SETTINGS
@given(pair=logits_and_classes(), soft=st.floats(0.0, 1.0))
def test_cross_entropy_with_probability_targets_matches_torch(pair, soft):
    logits, classes = pair
    num_classes = logits.shape[1]
    one_hot = np.eye(num_classes)[classes]
    target = (1 - soft) * one_hot + soft / num_classes  # label smoothing: rows still sum to 1
    for reduction in REDUCTIONS:
        torch_loss = torch.nn.CrossEntropyLoss(reduction=reduction)
        value, grad_ref = torch_loss_and_grad(torch_loss, logits, target)
        assert_close(losses.cross_entropy(logits, target, reduction=reduction), value)
        assert_close(losses.cross_entropy_grad(logits, target, reduction=reduction), grad_ref)


def test_cross_entropy_with_extreme_logits_matches_torch_and_keras():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [0.0, 1e4, 1e4], [5.0, -800, 800]])
    classes = np.array([1, 0, 2, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = losses.cross_entropy(logits, classes, reduction="none")
        ours_grad = losses.cross_entropy_grad(logits, classes, reduction="none")
    value, grad_ref = torch_loss_and_grad(
        torch.nn.CrossEntropyLoss(reduction="none"), logits, classes
    )
    assert np.all(np.isfinite(ours)) and np.all(np.isfinite(ours_grad))
    assert_close(ours, value)
    assert_close(ours_grad, grad_ref)
    keras_value = keras.losses.sparse_categorical_crossentropy(classes, logits, from_logits=True)
    assert_close(ours, keras_value.numpy())
    assert ours[0] == 2e4  # log Σ e^z − z₁ = 10⁴ − (−10⁴)


def test_cross_entropy_grad_is_softmax_minus_one_hot_over_n():
    logits = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]])
    classes = np.array([2, 0])
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(3)[classes]) / 2
    assert_close(losses.cross_entropy_grad(logits, classes), expected)


@SETTINGS
@given(pair=logits_and_classes())
def test_categorical_cross_entropy_from_probabilities_matches_torch_nll(pair):
    logits, classes = pair
    probs = losses.softmax(logits)
    one_hot = np.eye(logits.shape[1])[classes]
    for reduction in REDUCTIONS:
        nll = torch.nn.NLLLoss(reduction=reduction)
        value, grad_ref = torch_loss_and_grad(
            lambda p, c, nll=nll: nll(torch.log(p), c), probs, classes
        )
        for target in (classes, one_hot):
            ours = losses.categorical_cross_entropy(probs, target, reduction=reduction)
            assert_close(ours, value)
            ours_grad = losses.categorical_cross_entropy_grad(probs, target, reduction=reduction)
            assert_close(ours_grad, grad_ref)
        # From logits or from probabilities: the same loss (when no probability is clipped).
        ours_from_logits = losses.cross_entropy(logits, classes, reduction=reduction)
        assert_close(ours_from_logits, value, rtol=1e-9)


def test_categorical_cross_entropy_matches_keras():
    rng = np.random.default_rng(2)
    probs = losses.softmax(rng.normal(size=(6, 4)))
    probs[0] = [1.0, 0.0, 0.0, 0.0]  # a zero probability gets clipped, not log(0)
    classes = np.array([1, 2, 3, 0, 1, 2])
    one_hot = np.eye(4)[classes]
    keras_value = keras.losses.CategoricalCrossentropy(dtype="float64")(one_hot, probs)
    # Keras' sparse version takes log(clip(p)) and renormalises it, so compare unclipped rows.
    sparse = keras.losses.SparseCategoricalCrossentropy(dtype="float64")
    keras_sparse = sparse(classes[1:], probs[1:])
    ours = losses.categorical_cross_entropy(probs, one_hot, eps=1e-7)
    assert_close(ours, float(keras_value))
    ours_sparse = losses.categorical_cross_entropy(probs[1:], classes[1:], eps=1e-7)
    assert_close(ours_sparse, float(keras_sparse))


# ---------------------------------------------------------------------------------------------
# Argument checking and dtypes
# ---------------------------------------------------------------------------------------------


def test_bad_arguments_raise_value_errors_that_name_the_argument():
    pred = np.zeros(3)
    with pytest.raises(ValueError, match="reduction"):
        losses.mse(pred, pred, reduction="average")
    with pytest.raises(ValueError, match="delta"):
        losses.huber(pred, pred, delta=0.0)
    with pytest.raises(ValueError, match="target"):
        losses.mse(np.zeros((3, 1)), np.zeros(3))  # would broadcast to (3, 3) in NumPy
    with pytest.raises(ValueError, match="target"):
        losses.binary_cross_entropy_with_logits(pred, np.zeros(4))
    with pytest.raises(ValueError, match="eps"):
        losses.binary_cross_entropy(pred, pred, eps=-1.0)
    with pytest.raises(ValueError, match="logits"):
        losses.cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="target"):
        losses.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))  # class 3 of 3
    with pytest.raises(ValueError, match="target"):
        losses.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))  # float "indices"
    with pytest.raises(ValueError, match="target"):
        losses.categorical_cross_entropy(np.full((2, 3), 1 / 3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="pred"):
        losses.mse(["a", "b"], [1.0, 2.0])


def test_results_are_float64_also_for_float32_and_int_inputs():
    pred32 = np.array([0.5, 1.5], dtype=np.float32)
    target = np.array([1, 1])
    assert np.asarray(losses.mse(pred32, target)).dtype == np.float64
    assert losses.mse_grad(pred32, target).dtype == np.float64
    assert losses.softmax(np.array([[1, 2]])).dtype == np.float64
    assert losses.cross_entropy_grad(pred32[None, :], np.array([0])).dtype == np.float64


def test_reference_modules_import_neither_torch_nor_tensorflow():
    code = (
        "import sys\n"
        "import utils.losses, utils.regularization, utils.schedules, utils.functions, utils.data\n"
        "heavy = sorted(m for m in ('torch', 'tensorflow', 'keras', 'jax') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "", f"utils imported {result.stdout.strip()}"


def _torch_distillation(student, teacher, temperature, reduction):
    """The oracle: T² · KL(softmax(t/T) ‖ softmax(s/T)) with torch.nn.functional.kl_div."""
    log_q = torch.log_softmax(student / temperature, dim=-1)
    p = torch.softmax(teacher / temperature, dim=-1)
    per_sample = torch.nn.functional.kl_div(log_q, p, reduction="none").sum(dim=-1)
    reduced = {"mean": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}
    return temperature**2 * reduced[reduction]


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0, 8.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_distillation_loss_matches_torch_kl_div(temperature, reduction):
    rng = np.random.default_rng(7)
    student, teacher = rng.normal(size=(6, 5)) * 3, rng.normal(size=(6, 5)) * 3
    value, grad = torch_loss_and_grad(
        lambda s: _torch_distillation(s, torch.tensor(teacher), temperature, reduction), student
    )
    ours = losses.distillation_loss(student, teacher, temperature, reduction)
    np.testing.assert_allclose(ours, value, rtol=1e-12, atol=1e-14)
    ours_grad = losses.distillation_loss_grad(student, teacher, temperature, reduction)
    np.testing.assert_allclose(ours_grad, grad, rtol=1e-10, atol=1e-14)
    if reduction == "mean":  # batchmean, the reduction Hinton et al.'s loss is used with
        batchmean = torch.nn.functional.kl_div(
            torch.log_softmax(torch.tensor(student) / temperature, dim=-1),
            torch.softmax(torch.tensor(teacher) / temperature, dim=-1),
            reduction="batchmean",
        )
        np.testing.assert_allclose(ours, temperature**2 * batchmean.item(), rtol=1e-12)


def test_distillation_gradient_keeps_its_size_as_the_temperature_grows():
    """With T², ∂L/∂s → (s − t)/(N C) for zero-mean logits; without it, it would fall as 1/T²."""
    rng = np.random.default_rng(0)
    student, teacher = rng.normal(size=(4, 10)), rng.normal(size=(4, 10))
    student -= student.mean(axis=1, keepdims=True)
    teacher -= teacher.mean(axis=1, keepdims=True)
    limit = (student - teacher) / student.size
    sizes = []
    for temperature in (10.0, 100.0):
        grad = losses.distillation_loss_grad(student, teacher, temperature)
        tolerance = (0.1 if temperature == 10 else 0.01) * np.abs(limit).max()
        np.testing.assert_allclose(grad, limit, rtol=0, atol=tolerance)
        sizes.append(np.abs(grad).max())
    assert sizes[1] == pytest.approx(sizes[0], rel=0.1)


def test_distillation_loss_is_zero_only_when_the_student_matches_the_teacher():
    teacher = np.array([[2.0, 0.0, -1.0]])
    assert losses.distillation_loss(teacher + 5.0, teacher) == pytest.approx(0.0, abs=1e-15)
    assert losses.distillation_loss(teacher[:, ::-1], teacher) > 0.1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=0.0), "temperature must be a finite number > 0, got 0.0"),
        (dict(temperature=float("nan")), "temperature must be a finite number > 0"),
        (dict(reduction="avg"), "reduction"),
    ],
)
def test_distillation_bad_arguments_say_what_is_wrong(kwargs, message):
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match=message):
        losses.distillation_loss(logits, logits, **kwargs)
    with pytest.raises(ValueError, match="shape"):
        losses.distillation_loss(logits, np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        losses.distillation_loss(np.zeros(3), np.zeros(3))
