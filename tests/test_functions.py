"""utils.functions: hand-derived gradients and Hessians against torch.autograd, tf.GradientTape
and finite differences; minima against scipy.optimize."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from scipy import optimize  # noqa: E402

from utils import functions  # noqa: E402

NONLINEAR = [
    functions.rosenbrock(),
    functions.rosenbrock(a=-0.5, b=10.0),
    functions.beale(),
    functions.himmelblau(),
    functions.saddle(),
]
NONLINEAR_IDS = ["rosenbrock", "rosenbrock-a-0.5-b10", "beale", "himmelblau", "saddle"]


def random_points(landscape, count=20, seed=0):
    """Points spread over the landscape's plotting window."""
    (x1_min, x1_max), (x2_min, x2_max) = landscape.bounds
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x1_min, x1_max, count), rng.uniform(x2_min, x2_max, count)])


def torch_grad_and_hessian(f, point):
    x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(f(x), x)
    hessian = torch.autograd.functional.hessian(f, torch.tensor(point, dtype=torch.float64))
    return grad.numpy(), hessian.numpy()


def tf_grad(f, point):
    x = tf.Variable(point, dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = f(x)
    return tape.gradient(value, x).numpy()


def finite_difference_grad(f, point, h=1e-6):
    # central differences: (f(x + h eᵢ) − f(x − h eᵢ)) / 2h, error O(h²)
    grad = np.zeros_like(point)
    for i in range(len(point)):
        step = np.zeros_like(point)
        step[i] = h
        grad[i] = (f(point + step) - f(point - step)) / (2 * h)
    return grad


def assert_grad_close(ours, reference, rtol=1e-10):
    scale = max(1.0, np.abs(reference).max())
    np.testing.assert_allclose(ours, reference, rtol=rtol, atol=rtol * scale)


# ---------------------------------------------------------------------------------------------
# Gradients and Hessians
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("landscape", NONLINEAR, ids=NONLINEAR_IDS)
def test_gradient_and_hessian_match_torch_autograd(landscape):
    for point in random_points(landscape):
        grad, hessian = torch_grad_and_hessian(landscape.f, point)
        assert_grad_close(landscape.grad(point), grad)
        assert_grad_close(landscape.hessian(point), hessian)


@pytest.mark.parametrize("landscape", NONLINEAR, ids=NONLINEAR_IDS)
def test_gradient_matches_tf_gradient_tape(landscape):
    for point in random_points(landscape, count=8, seed=1):
        assert_grad_close(landscape.grad(point), tf_grad(landscape.f, point))


@pytest.mark.parametrize("landscape", NONLINEAR, ids=NONLINEAR_IDS)
def test_gradient_matches_finite_differences(landscape):
    for point in random_points(landscape, count=10, seed=2):
        reference = finite_difference_grad(landscape.f, point)
        assert_grad_close(landscape.grad(point), reference, rtol=1e-6)


def random_spd_matrix(dim, condition, seed):
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    eigenvalues = np.geomspace(1.0, condition, dim)
    return rotation @ np.diag(eigenvalues) @ rotation.T


@pytest.mark.parametrize("dim", [2, 5])
def test_quadratic_gradient_hessian_and_constants_match_independent_computations(dim):
    A = random_spd_matrix(dim, condition=50.0, seed=dim)
    A = 0.5 * (A + A.T)
    b = np.arange(1.0, dim + 1)
    landscape = functions.quadratic(A, b)
    A_t, b_t = torch.tensor(A), torch.tensor(b)

    def f_torch(x):
        return 0.5 * x @ A_t @ x - b_t @ x  # ½ xᵀAx − bᵀx, written independently

    rng = np.random.default_rng(0)
    for point in rng.normal(size=(10, dim)):
        grad, hessian = torch_grad_and_hessian(f_torch, point)
        assert landscape.f(point) == pytest.approx(f_torch(torch.tensor(point)).item(), rel=1e-12)
        assert_grad_close(landscape.grad(point), grad)
        assert_grad_close(landscape.hessian(point), hessian)
        A_tf, b_tf = tf.constant(A), tf.constant(b)

        def f_tf(x, A_tf=A_tf, b_tf=b_tf):
            return 0.5 * tf.tensordot(x, tf.linalg.matvec(A_tf, x), 1) - tf.tensordot(b_tf, x, 1)

        assert_grad_close(landscape.grad(point), tf_grad(f_tf, point))

    # L = ‖A‖₂ (largest singular value), μ = 1/‖A⁻¹‖₂, κ = cond₂(A)
    assert landscape.a_max == pytest.approx(np.linalg.norm(A, 2), rel=1e-10)
    assert landscape.a_min == pytest.approx(1 / np.linalg.norm(np.linalg.inv(A), 2), rel=1e-10)
    assert landscape.condition_number == pytest.approx(50.0, rel=1e-8)
    assert landscape.condition_number == pytest.approx(np.linalg.cond(A), rel=1e-8)
    result = optimize.minimize(landscape.f, np.zeros(dim), jac=landscape.grad, tol=1e-12)
    np.testing.assert_allclose(landscape.minimum, result.x, atol=1e-6)
    assert np.abs(landscape.grad(landscape.minimum)).max() < 1e-12


def test_ill_conditioned_quadratic_has_the_requested_condition_number():
    landscape = functions.ill_conditioned_quadratic(condition=25.0)
    assert (landscape.a_max, landscape.a_min, landscape.condition_number) == (25.0, 1.0, 25.0)
    assert landscape.f([2.0, 1.0]) == pytest.approx(0.5 * (4.0 + 25.0))
    # d2l's f(x) = 0.1 x₁² + 2 x₂² as a quadratic: A = diag(0.2, 4), κ = 20
    d2l = functions.quadratic(np.diag([0.2, 4.0]))
    assert d2l.f([3.0, -1.0]) == pytest.approx(0.1 * 9 + 2 * 1)
    assert d2l.condition_number == pytest.approx(20.0)


# ---------------------------------------------------------------------------------------------
# Minima, known values, vectorisation
# ---------------------------------------------------------------------------------------------

ALL = [
    *NONLINEAR[:-1],
    functions.ill_conditioned_quadratic(),
    functions.quadratic([[2.0, 0.5], [0.5, 1.0]], [1.0, -1.0]),
]


@pytest.mark.parametrize(
    "landscape", ALL, ids=[*NONLINEAR_IDS[:-1], "ill-conditioned", "quadratic"]
)
def test_every_minimum_has_zero_gradient_positive_definite_hessian_and_scipy_agrees(landscape):
    assert len(landscape.minima) >= 1
    for minimum in landscape.minima:
        assert np.abs(landscape.grad(minimum)).max() < 1e-12
        assert np.all(np.linalg.eigvalsh(landscape.hessian(minimum)) > 0)
        # Started nearby, a generic minimiser lands on the stored point.
        start = minimum + np.array([0.05, -0.05])
        result = optimize.minimize(
            landscape.f,
            start,
            jac=landscape.grad,
            hess=landscape.hessian,
            method="trust-exact",
            options={"gtol": 1e-12},
        )
        np.testing.assert_allclose(result.x, minimum, atol=1e-8)
    assert np.all(landscape.f(landscape.minima) <= landscape.f(random_points(landscape)).min())


def test_known_values_from_the_literature():
    assert functions.rosenbrock().f([0.0, 0.0]) == 1.0
    assert functions.rosenbrock().f([1.0, 1.0]) == 0.0
    assert functions.rosenbrock(a=2.0, b=1.0).minimum.tolist() == [2.0, 4.0]
    assert functions.beale().f([0.0, 0.0]) == pytest.approx(14.203125)
    assert functions.beale().f([3.0, 0.5]) == 0.0
    assert functions.himmelblau().f([0.0, 0.0]) == 170.0
    np.testing.assert_allclose(
        functions.himmelblau().f(functions.himmelblau().minima), 0, atol=1e-20
    )


def test_saddle_has_a_stationary_point_that_is_no_minimum():
    landscape = functions.saddle()
    assert landscape.minimum is None and landscape.minima.shape == (0, 2)
    np.testing.assert_array_equal(landscape.grad(landscape.saddle_point), [0.0, 0.0])
    eigenvalues = np.linalg.eigvalsh(landscape.hessian(landscape.saddle_point))
    assert eigenvalues.min() < 0 < eigenvalues.max()  # indefinite
    assert landscape.f([0.0, 10.0]) == -100.0  # unbounded below


@pytest.mark.parametrize(
    "landscape", ALL + [functions.saddle()], ids=lambda landscape: landscape.name
)
def test_f_grad_and_hessian_evaluate_a_whole_grid_at_once(landscape):
    grid = random_points(landscape, count=12).reshape(3, 4, 2)
    values = landscape.f(grid)
    grads = landscape.grad(grid)
    hessians = landscape.hessian(grid)
    assert values.shape == (3, 4) and grads.shape == (3, 4, 2) and hessians.shape == (3, 4, 2, 2)
    for index in np.ndindex(3, 4):
        assert values[index] == pytest.approx(landscape.f(grid[index]), rel=1e-14)
        np.testing.assert_allclose(grads[index], landscape.grad(grid[index]), rtol=1e-14)
        np.testing.assert_allclose(hessians[index], landscape.hessian(grid[index]), rtol=1e-14)
    assert np.ndim(landscape.f(grid[0, 0])) == 0  # one point in, a scalar out
    assert landscape(grid[0, 0]) == landscape.f(grid[0, 0])


def test_landscapes_carry_bounds_and_a_name_for_plotting():
    for landscape in ALL + [functions.saddle()]:
        (x1_min, x1_max), (x2_min, x2_max) = landscape.bounds
        assert x1_min < x1_max and x2_min < x2_max
        assert isinstance(landscape.name, str) and landscape.name
    assert functions.quadratic(np.eye(3)).bounds is None  # no 2-D window for 3-D
    assert "20" in functions.quadratic(np.diag([0.2, 4.0])).name  # shows κ


def test_bad_inputs_raise_value_errors_that_name_the_argument():
    with pytest.raises(ValueError, match="x"):
        functions.rosenbrock().f(np.zeros(3))
    with pytest.raises(ValueError, match="x"):
        functions.quadratic(np.eye(3)).grad(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="A"):
        functions.quadratic([[1.0, 2.0], [0.0, 1.0]])  # not symmetric
    with pytest.raises(ValueError, match="A"):
        functions.quadratic(np.ones((2, 3)))
    with pytest.raises(ValueError, match="b"):
        functions.quadratic(np.eye(2), b=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="condition"):
        functions.ill_conditioned_quadratic(condition=0.5)
    with pytest.raises(ValueError, match="b"):
        functions.rosenbrock(b=-1.0)


def test_indefinite_quadratic_has_no_minimum_and_infinite_condition_number():
    landscape = functions.quadratic(np.diag([2.0, -2.0]))  # the saddle x² − y² again
    assert landscape.minimum is None and landscape.condition_number == float("inf")
    np.testing.assert_allclose(
        landscape.f(random_points(landscape)), functions.saddle().f(random_points(landscape))
    )
