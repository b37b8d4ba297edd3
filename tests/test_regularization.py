"""utils.regularization against torch (autograd, optimizers, clip_grad_*) and TensorFlow/Keras."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from utils import regularization as reg  # noqa: E402

SETTINGS = settings(deadline=None, derandomize=True, max_examples=25)

# One to three tensors of small shapes, entries of very different sizes.
tensor_lists = st.lists(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
        elements=st.floats(-1e3, 1e3, allow_subnormal=False),
    ),
    min_size=1,
    max_size=3,
)


def random_params(seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(3, 4)), rng.normal(size=5), np.array([0.0, 1.0, -2.0])]
    return params


# ---------------------------------------------------------------------------------------------
# L2 and L1
# ---------------------------------------------------------------------------------------------


def test_l2_penalty_and_grad_match_torch_autograd_and_sgd_weight_decay():
    params = random_params()
    lam, lr = 0.3, 0.1
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    penalty = 0.5 * lam * sum((t**2).sum() for t in tensors)  # λ/2 Σ‖w‖²
    penalty.backward()
    assert reg.l2_penalty(params, lam) == pytest.approx(penalty.item(), rel=1e-14)
    for ours, t in zip(reg.l2_grad(params, lam), tensors, strict=True):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-15)

    # torch.optim.SGD(weight_decay=λ) adds λw to the gradient: the gradient of our l2_penalty.
    weights = [torch.tensor(p) for p in params]
    for w in weights:
        w.grad = torch.zeros_like(w)
    torch.optim.SGD(weights, lr=lr, weight_decay=lam).step()
    for p, w, g in zip(params, weights, reg.l2_grad(params, lam), strict=True):
        np.testing.assert_allclose(p - lr * g, w.numpy(), rtol=1e-15)


def test_l2_and_l1_penalties_match_keras_regularizers():
    w = random_params()[0]
    lam = 0.2
    # Keras' L2(l2) is l2·Σw², without the ½: L2(λ/2) is our l2_penalty(λ).
    keras_l2 = keras.regularizers.L2(l2=lam / 2)(tf.constant(w))
    assert reg.l2_penalty(w, lam) == pytest.approx(float(keras_l2), rel=1e-6)
    keras_l1 = keras.regularizers.L1(l1=lam)(tf.constant(w))
    assert reg.l1_penalty(w, lam) == pytest.approx(float(keras_l1), rel=1e-6)


def test_l1_penalty_and_subgradient_match_torch_autograd_including_zero():
    params = random_params()
    lam = 0.7
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    penalty = lam * sum(t.abs().sum() for t in tensors)
    penalty.backward()
    assert reg.l1_penalty(params, lam) == pytest.approx(penalty.item(), rel=1e-14)
    subgradients = reg.l1_subgradient(params, lam)
    for ours, t in zip(subgradients, tensors, strict=True):
        np.testing.assert_array_equal(ours, t.grad.numpy())
    assert subgradients[2][0] == 0.0  # at w = 0: 0, as torch.sign


@SETTINGS
@given(
    w=hnp.arrays(np.float64, 7, elements=st.floats(-10, 10)),
    threshold=st.floats(0.0, 5.0),
)
def test_soft_threshold_matches_torch_softshrink_and_solves_the_prox_problem(w, threshold):
    ours = reg.soft_threshold(w, threshold)
    reference = torch.nn.functional.softshrink(torch.tensor(w), lambd=threshold).numpy()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-15)

    # prox: u minimises ½(u − w)² + τ|u|, so no nearby u does better
    def objective(u):
        return 0.5 * (u - w) ** 2 + threshold * np.abs(u)

    for shift in (-1e-3, 1e-3):
        assert np.all(objective(ours) <= objective(ours + shift) + 1e-12)


def test_soft_threshold_sets_small_weights_exactly_to_zero():
    shrunk = reg.soft_threshold(np.array([-3.0, -0.5, 0.0, 0.2, 2.0]), 1.0)
    np.testing.assert_array_equal(shrunk, [-2.0, 0.0, 0.0, 0.0, 1.0])


def test_one_ista_step_is_proximal_gradient_on_a_lasso():
    # ISTA on ½‖Xw − y‖²/n + λ‖w‖₁ converges to what scikit-learn's Lasso finds.
    from sklearn.linear_model import Lasso

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    y = X @ np.array([2.0, 0.0, -1.0, 0.0, 0.0, 0.5]) + 0.1 * rng.normal(size=40)
    lam = 0.1
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X / len(y)).max()
    w = np.zeros(6)
    for _ in range(3000):
        w = reg.soft_threshold(w - lr * X.T @ (X @ w - y) / len(y), lr * lam)
    lasso = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(w, lasso.coef_, atol=1e-8)
    assert np.count_nonzero(w == 0.0) == np.count_nonzero(lasso.coef_ == 0.0) > 0


# ---------------------------------------------------------------------------------------------
# Decoupled weight decay
# ---------------------------------------------------------------------------------------------


def test_decoupled_weight_decay_is_bit_exact_with_torch_adamw():
    rng = np.random.default_rng(3)
    param = rng.normal(size=(4, 3))
    lr, weight_decay = 0.01, 0.1
    weight = torch.tensor(param.copy(), requires_grad=True)
    weight.grad = torch.zeros_like(weight)  # zero gradient: Adam's part of the step is 0
    torch.optim.AdamW([weight], lr=lr, weight_decay=weight_decay).step()

    returned = reg.decoupled_weight_decay(param, lr, weight_decay)
    assert returned is param  # updated in place
    np.testing.assert_array_equal(param, weight.detach().numpy())


def test_decoupled_weight_decay_matches_keras_adamw():
    param = random_params()[0]
    lr, weight_decay = 0.01, 0.1
    variable = keras.Variable(param.copy(), dtype="float64")
    optimizer = keras.optimizers.AdamW(learning_rate=lr, weight_decay=weight_decay)
    optimizer.apply_gradients([(tf.zeros_like(variable), variable)])
    # Keras keeps the learning rate in a float32 variable, hence the loose tolerance.
    reg.decoupled_weight_decay(param, lr, weight_decay)
    np.testing.assert_allclose(param, variable.numpy(), rtol=1e-9)


def test_decoupled_weight_decay_rejects_what_it_cannot_update_in_place():
    with pytest.raises(ValueError, match="param"):
        reg.decoupled_weight_decay([1.0, 2.0], 0.1, 0.1)
    with pytest.raises(ValueError, match="param"):
        reg.decoupled_weight_decay(np.array([1, 2]), 0.1, 0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        reg.decoupled_weight_decay(np.ones(2), 0.1, -0.1)


# ---------------------------------------------------------------------------------------------
# Clipping
# ---------------------------------------------------------------------------------------------


def torch_grads(arrays):
    """Parameters whose .grad holds ``arrays`` (float64)."""
    params = []
    for array in arrays:
        param = torch.zeros(array.shape, dtype=torch.float64, requires_grad=True)
        param.grad = torch.tensor(array)
        params.append(param)
    return params


@SETTINGS
@given(grads=tensor_lists, clip_value=st.floats(0.01, 100.0))
def test_clip_grad_value_matches_torch(grads, clip_value):
    params = torch_grads(grads)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    for ours, param in zip(reg.clip_grad_value(grads, clip_value), params, strict=True):
        np.testing.assert_array_equal(ours, param.grad.numpy())


@SETTINGS
@given(grads=tensor_lists, max_norm=st.floats(0.01, 100.0))
def test_clip_grad_global_norm_matches_torch_clip_grad_norm(grads, max_norm):
    originals = [g.copy() for g in grads]
    params = torch_grads(grads)
    torch_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)

    clipped, total_norm = reg.clip_grad_global_norm(grads, max_norm)
    assert total_norm == pytest.approx(torch_norm.item(), rel=1e-14, abs=1e-300)
    for ours, param in zip(clipped, params, strict=True):
        np.testing.assert_allclose(ours, param.grad.numpy(), rtol=1e-14, atol=1e-300)
    for g, original in zip(grads, originals, strict=True):
        np.testing.assert_array_equal(g, original)  # inputs untouched


@SETTINGS
@given(grads=tensor_lists, max_norm=st.floats(0.01, 100.0))
def test_clip_grad_global_norm_with_eps_zero_is_tf_clip_by_global_norm(grads, max_norm):
    tf_clipped, tf_norm = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
    clipped, total_norm = reg.clip_grad_global_norm(grads, max_norm, eps=0.0)
    assert total_norm == pytest.approx(float(tf_norm), rel=1e-13)
    for ours, reference in zip(clipped, tf_clipped, strict=True):
        np.testing.assert_allclose(ours, reference.numpy(), rtol=1e-13, atol=1e-300)


def test_torch_and_tensorflow_global_clipping_differ_by_the_eps():
    grads = [np.array([3.0, 4.0]), np.array([12.0])]  # global norm 13
    max_norm = 1.0
    torch_style, norm = reg.clip_grad_global_norm(grads, max_norm)
    tf_style, _ = reg.clip_grad_global_norm(grads, max_norm, eps=0.0)
    assert norm == 13.0
    assert reg.global_norm(tf_style) == pytest.approx(1.0, rel=1e-15)
    # torch: ‖g‖·c/(‖g‖ + 1e-6) = 13/(13 + 1e-6), a relative 1e-6/13 below c
    assert reg.global_norm(torch_style) == pytest.approx(13.0 / (13.0 + 1e-6), rel=1e-15)
    assert 1.0 - reg.global_norm(torch_style) == pytest.approx(1e-6 / 13.0, rel=1e-6)


def test_global_clipping_keeps_the_direction_and_per_tensor_clipping_does_not():
    grads = [np.array([30.0, 40.0]), np.array([0.3])]
    clipped, _ = reg.clip_grad_global_norm(grads, 1.0)
    ratios = np.concatenate([c / g for c, g in zip(clipped, grads, strict=True)])
    np.testing.assert_allclose(ratios, ratios[0])  # one common factor
    per_tensor = reg.clip_grad_norm(grads, 1.0)
    np.testing.assert_array_equal(per_tensor[1], grads[1])  # small tensor untouched
    assert np.linalg.norm(per_tensor[0]) == pytest.approx(1.0, rel=1e-6)


@SETTINGS
@given(grads=tensor_lists, max_norm=st.floats(0.01, 100.0))
def test_clip_grad_norm_per_tensor_matches_tf_clip_by_norm_and_torch(grads, max_norm):
    tf_style = reg.clip_grad_norm(grads, max_norm, eps=0.0)
    for ours, g in zip(tf_style, grads, strict=True):
        reference = tf.clip_by_norm(tf.constant(g), max_norm).numpy()
        np.testing.assert_allclose(ours, reference, rtol=1e-13, atol=1e-300)
    torch_style = reg.clip_grad_norm(grads, max_norm)
    for ours, g in zip(torch_style, grads, strict=True):
        (param,) = torch_grads([g])
        torch.nn.utils.clip_grad_norm_([param], max_norm)
        np.testing.assert_allclose(ours, param.grad.numpy(), rtol=1e-14, atol=1e-300)


def test_a_single_array_in_gives_a_single_array_out():
    g = np.array([3.0, 4.0])
    assert isinstance(reg.clip_grad_norm(g, 1.0), np.ndarray)
    assert isinstance(reg.clip_grad_value(g, 1.0), np.ndarray)
    assert isinstance(reg.l2_grad(g, 0.1), np.ndarray)
    clipped, norm = reg.clip_grad_global_norm(g, 1.0, eps=0.0)
    np.testing.assert_allclose(clipped, [0.6, 0.8])
    assert norm == 5.0
    zero, zero_norm = reg.clip_grad_global_norm([np.zeros(3)], 1.0, eps=0.0)
    np.testing.assert_array_equal(zero[0], np.zeros(3))  # no 0/0
    assert zero_norm == 0.0


def test_bad_arguments_raise_value_errors_that_name_the_argument():
    g = [np.ones(2)]
    with pytest.raises(ValueError, match="lam"):
        reg.l2_penalty(g, -1.0)
    with pytest.raises(ValueError, match="lam"):
        reg.l1_subgradient(g, float("nan"))
    with pytest.raises(ValueError, match="threshold"):
        reg.soft_threshold(np.ones(2), -0.1)
    with pytest.raises(ValueError, match="clip_value"):
        reg.clip_grad_value(g, 0.0)
    with pytest.raises(ValueError, match="max_norm"):
        reg.clip_grad_norm(g, -1.0)
    with pytest.raises(ValueError, match="max_norm"):
        reg.clip_grad_global_norm(g, 0.0)
    with pytest.raises(ValueError, match="eps"):
        reg.clip_grad_global_norm(g, 1.0, eps=-1e-6)
    with pytest.raises(ValueError, match=r"grads\[1\]"):
        reg.clip_grad_value([np.ones(2), np.array(["a"])], 1.0)
