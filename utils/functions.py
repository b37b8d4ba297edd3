r"""Optimization landscapes: test functions with analytic gradients, to watch optimizers move.

Each landscape is a small object with

- ``f(x)``: the value; ``x`` has shape ``(..., d)`` so a whole grid of points can be evaluated at
  once for a contour plot (``x`` of shape ``(d,)`` gives a scalar);
- ``grad(x)``: the gradient :math:`\nabla f(x)`, shape ``(..., d)``;
- ``hessian(x)``: the Hessian :math:`\nabla^2 f(x)`, shape ``(..., d, d)``;
- ``minima``: every global minimiser as an ``(k, d)`` array (``minimum`` is the first one),
  and ``bounds``: the ``((x1_min, x1_max), (x2_min, x2_max))`` window to plot.

The factories are :func:`quadratic`, :func:`ill_conditioned_quadratic`, :func:`rosenbrock`,
:func:`beale`, :func:`himmelblau` and :func:`saddle`.

The two-dimensional ``f`` use nothing but arithmetic on ``x[..., 0]`` and ``x[..., 1]``, so they
also accept a torch or TensorFlow tensor: that is how the tests check every hand-derived
gradient against ``torch.autograd`` and ``tf.GradientTape``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Bounds = tuple[tuple[float, float], tuple[float, float]]


def _as_points(x, dim: int):
    """Lists and numbers become float64 arrays; arrays and framework tensors pass through (so
    autograd can differentiate ``f``). The last axis must have length ``dim``."""
    if isinstance(x, (list, tuple, int, float)):
        x = np.asarray(x, dtype=np.float64)
    if isinstance(x, np.ndarray):
        x = x.astype(np.result_type(x.dtype, np.float64), copy=False)
    if len(x.shape) == 0 or x.shape[-1] != dim:
        raise ValueError(
            f"x must have shape (..., {dim}) (one point per row), got shape {tuple(x.shape)}"
        )
    return x


class Landscape:
    """A function to minimise, with its derivatives and what is known about its minima."""

    dim: int = 2
    minima: np.ndarray  # (k, dim): every global minimiser
    bounds: Bounds | None  # plotting window

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def minimum(self) -> np.ndarray | None:
        """A global minimiser (the first of :attr:`minima`), or ``None`` if there is none."""
        return self.minima[0].copy() if len(self.minima) else None

    def __call__(self, x):
        return self.f(x)

    def f(self, x):
        raise NotImplementedError

    def grad(self, x) -> np.ndarray:
        raise NotImplementedError

    def hessian(self, x) -> np.ndarray:
        raise NotImplementedError


def _matrix(rows) -> np.ndarray:
    """Stack ``[[a, b], [c, d]]`` of arrays with shape ``(...)`` into shape ``(..., 2, 2)``."""
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


# ---------------------------------------------------------------------------------------------
# Quadratics: the model problem of convex optimization
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Quadratic(Landscape):
    r"""The quadratic :math:`f(x) = \tfrac12 x^\top A x - b^\top x` with symmetric :math:`A`.

    .. math:: \nabla f(x) = A x - b, \qquad \nabla^2 f(x) = A

    Its curvatures are the eigenvalues of :math:`A`: the largest :math:`a_{\max}` (papers'
    smoothness constant *L*), the smallest :math:`a_{\min}` (their strong-convexity constant
    :math:`\mu`) and the condition number :math:`\kappa = a_{\max} / a_{\min}`. Gradient descent
    converges for :math:`\eta < 2/a_{\max}`, and its rate with the best constant step is
    :math:`(\kappa - 1)/(\kappa + 1)` per step. When :math:`A` is positive definite the unique
    minimiser is :math:`x^\star = A^{-1} b`.
    """

    A: np.ndarray
    b: np.ndarray | None = None
    bounds: Bounds | None = None
    eigenvalues: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        A = np.array(self.A, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(f"A must be a square (d, d) matrix, got shape {A.shape}")
        if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12):
            raise ValueError("A must be symmetric (f only sees (A + Aᵀ)/2; pass that instead)")
        dim = A.shape[0]
        b = np.zeros(dim) if self.b is None else np.array(self.b, dtype=np.float64)
        if b.shape != (dim,):
            raise ValueError(f"b must have shape ({dim},) to match A, got shape {b.shape}")
        eigenvalues = np.linalg.eigvalsh(A)  # ascending
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "eigenvalues", eigenvalues)
        bounds = self.bounds
        if bounds is None and dim == 2:
            x1, x2 = (float(v) for v in (self.minimum if self.minimum is not None else (0, 0)))
            bounds = ((x1 - 5.0, x1 + 5.0), (x2 - 3.0, x2 + 3.0))
        object.__setattr__(self, "bounds", bounds)

    @property
    def dim(self) -> int:
        return self.A.shape[0]

    @property
    def name(self) -> str:
        return f"Quadratic (κ = {self.condition_number:.3g})"

    @property
    def a_max(self) -> float:
        """The largest curvature, the largest eigenvalue of :math:`A` (papers' *L*)."""
        return float(self.eigenvalues[-1])

    @property
    def a_min(self) -> float:
        """The smallest curvature, the smallest eigenvalue of :math:`A` (papers' :math:`\\mu`;
        ≤ 0: not strongly convex)."""
        return float(self.eigenvalues[0])

    @property
    def condition_number(self) -> float:
        """:math:`\\kappa = a_{\\max} / a_{\\min}`; ``inf`` when :math:`A` is not positive
        definite."""
        return self.a_max / self.a_min if self.a_min > 0 else float("inf")

    @property
    def minima(self) -> np.ndarray:
        if self.a_min <= 0:  # unbounded below, or a whole line of minimisers: no unique answer
            return np.empty((0, self.dim))
        return np.linalg.solve(self.A, self.b)[None, :]  # x* = A⁻¹ b

    def f(self, x):
        x = _as_points(x, self.dim)
        # ½ xᵀAx − bᵀx, for every point x along the leading axes
        return 0.5 * np.sum(x * (x @ self.A), axis=-1) - x @ self.b

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        return x @ self.A - self.b  # A x − b  (A is symmetric)

    def hessian(self, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        return np.broadcast_to(self.A, x.shape + (self.dim,)).copy()


def quadratic(A, b=None, bounds: Bounds | None = None) -> Quadratic:
    r"""The quadratic :math:`\tfrac12 x^\top A x - b^\top x` (see :class:`Quadratic`).

    d2l's ill-conditioned example :math:`f(x) = 0.1 x_1^2 + 2 x_2^2` is
    ``quadratic(np.diag([0.2, 4.0]))`` (:math:`\kappa = 20`).
    """
    return Quadratic(A=A, b=b, bounds=bounds)


def ill_conditioned_quadratic(condition: float = 10.0) -> Quadratic:
    r"""The valley :math:`f(x) = \tfrac12(x_1^2 + \kappa\,x_2^2)` with condition number
    :math:`\kappa` = ``condition``: curvature 1 along :math:`x_1`, :math:`\kappa` along
    :math:`x_2`. Gradient descent zig-zags across the valley once :math:`\kappa` is large.
    """
    if not np.isscalar(condition) or not np.isfinite(condition) or condition < 1:
        raise ValueError(f"condition must be a finite number >= 1, got {condition!r}")
    return Quadratic(A=np.diag([1.0, float(condition)]))


# ---------------------------------------------------------------------------------------------
# Classic non-convex test functions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Rosenbrock(Landscape):
    r"""Rosenbrock's banana valley, minimum 0 at :math:`(a, a^2)`.

    .. math::

        f(x, y) &= (a - x)^2 + b\,(y - x^2)^2 \\
        \nabla f &= \big(-2(a - x) - 4bx(y - x^2),\ \ 2b(y - x^2)\big) \\
        \nabla^2 f &= \begin{pmatrix} 2 - 4b(y - x^2) + 8bx^2 & -4bx \\ -4bx & 2b \end{pmatrix}

    Easy to find the valley, slow to follow its curved floor to the minimum.
    """

    a: float = 1.0
    b: float = 100.0
    bounds: Bounds = ((-2.0, 2.0), (-1.0, 3.0))

    def __post_init__(self):
        if not np.isscalar(self.b) or self.b <= 0:
            raise ValueError(f"b must be a positive number, got {self.b!r}")

    @property
    def minima(self) -> np.ndarray:
        return np.array([[self.a, self.a**2]], dtype=np.float64)

    def f(self, x):
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        return (self.a - x1) ** 2 + self.b * (x2 - x1**2) ** 2

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        valley = x2 - x1**2  # y − x²
        return np.stack(
            [-2.0 * (self.a - x1) - 4.0 * self.b * x1 * valley, 2.0 * self.b * valley], axis=-1
        )

    def hessian(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        off_diagonal = -4.0 * self.b * x1
        return _matrix(
            [
                [2.0 - 4.0 * self.b * (x2 - x1**2) + 8.0 * self.b * x1**2, off_diagonal],
                [off_diagonal, np.full_like(x1, 2.0 * self.b)],
            ]
        )


_BEALE_CONSTANTS = (1.5, 2.25, 2.625)


@dataclass(frozen=True, eq=False)
class Beale(Landscape):
    r"""Beale's function, minimum 0 at :math:`(3, 0.5)`, with flat plateaus and steep ridges.

    .. math::

        f(x, y) = \sum_{i=1}^{3} r_i^2, \qquad r_i = c_i - x + x y^i, \qquad
        c = (1.5,\ 2.25,\ 2.625)

    With :math:`\partial r_i/\partial x = y^i - 1` and :math:`\partial r_i/\partial y = i x
    y^{i-1}`, the chain rule gives :math:`\nabla f = \sum_i 2 r_i \nabla r_i` and
    :math:`\nabla^2 f = \sum_i 2(\nabla r_i \nabla r_i^\top + r_i \nabla^2 r_i)`.
    """

    bounds: Bounds = ((-4.5, 4.5), (-4.5, 4.5))

    @property
    def minima(self) -> np.ndarray:
        return np.array([[3.0, 0.5]])

    def f(self, x):
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        return sum((c - x1 + x1 * x2**i) ** 2 for i, c in enumerate(_BEALE_CONSTANTS, start=1))

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        grad_x1, grad_x2 = 0.0, 0.0
        for i, c in enumerate(_BEALE_CONSTANTS, start=1):
            residual = c - x1 + x1 * x2**i  # r_i
            grad_x1 = grad_x1 + 2.0 * residual * (x2**i - 1.0)  # 2 r_i ∂r_i/∂x
            grad_x2 = grad_x2 + 2.0 * residual * i * x1 * x2 ** (i - 1)  # 2 r_i ∂r_i/∂y
        return np.stack(np.broadcast_arrays(grad_x1, grad_x2), axis=-1)

    def hessian(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        h11, h12, h22 = 0.0, 0.0, 0.0
        for i, c in enumerate(_BEALE_CONSTANTS, start=1):
            residual = c - x1 + x1 * x2**i
            dr_dx, dr_dy = x2**i - 1.0, i * x1 * x2 ** (i - 1)
            # ∂²r/∂x² = 0,  ∂²r/∂x∂y = i yⁱ⁻¹,  ∂²r/∂y² = i(i−1) x yⁱ⁻²
            d2r_dxdy = i * x2 ** (i - 1)
            d2r_dy2 = i * (i - 1) * x1 * x2 ** (i - 2) if i >= 2 else 0.0 * x1
            h11 = h11 + 2.0 * dr_dx**2
            h12 = h12 + 2.0 * (dr_dx * dr_dy + residual * d2r_dxdy)
            h22 = h22 + 2.0 * (dr_dy**2 + residual * d2r_dy2)
        h11, h12, h22 = np.broadcast_arrays(h11, h12, h22)
        return _matrix([[h11, h12], [h12, h22]])


@dataclass(frozen=True, eq=False)
class Himmelblau(Landscape):
    r"""Himmelblau's function: four global minima (value 0), a local maximum and four saddles.

    .. math::

        f(x, y) &= (x^2 + y - 11)^2 + (x + y^2 - 7)^2 \\
        \nabla f &= \big(4x(x^2 + y - 11) + 2(x + y^2 - 7),\ \
                        2(x^2 + y - 11) + 4y(x + y^2 - 7)\big) \\
        \nabla^2 f &= \begin{pmatrix} 12x^2 + 4y - 42 & 4x + 4y \\
                                      4x + 4y & 4x + 12y^2 - 26 \end{pmatrix}

    Which minimum an optimizer reaches depends on where it starts.
    """

    bounds: Bounds = ((-5.0, 5.0), (-5.0, 5.0))

    @property
    def minima(self) -> np.ndarray:
        # (3, 2) is exact; the other three are roots of a quartic, to full double precision.
        return np.array(
            [
                [3.0, 2.0],
                [-2.805118086952745, 3.131312518250573],
                [-3.779310253377747, -3.283185991286170],
                [3.584428340330492, -1.848126526964404],
            ]
        )

    def f(self, x):
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        return (x1**2 + x2 - 11.0) ** 2 + (x1 + x2**2 - 7.0) ** 2

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        first, second = x1**2 + x2 - 11.0, x1 + x2**2 - 7.0
        return np.stack([4.0 * x1 * first + 2.0 * second, 2.0 * first + 4.0 * x2 * second], axis=-1)

    def hessian(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        x1, x2 = x[..., 0], x[..., 1]
        off_diagonal = 4.0 * x1 + 4.0 * x2
        return _matrix(
            [
                [12.0 * x1**2 + 4.0 * x2 - 42.0, off_diagonal],
                [off_diagonal, 4.0 * x1 + 12.0 * x2**2 - 26.0],
            ]
        )


@dataclass(frozen=True, eq=False)
class Saddle(Landscape):
    r"""The saddle :math:`f(x, y) = x^2 - y^2`: a stationary point at the origin that is no
    minimum (the function is unbounded below, so :attr:`minima` is empty).

    .. math::

        \nabla f = (2x,\ -2y), \qquad \nabla^2 f = \begin{pmatrix} 2 & 0 \\ 0 & -2 \end{pmatrix}

    Gradient descent started exactly on the :math:`x`-axis converges to the saddle; any
    perturbation in :math:`y` grows by a factor :math:`1 + 2\eta` per step and escapes.
    """

    bounds: Bounds = ((-2.0, 2.0), (-2.0, 2.0))
    saddle_point: np.ndarray = field(default_factory=lambda: np.zeros(2), init=False, repr=False)

    @property
    def minima(self) -> np.ndarray:
        return np.empty((0, 2))

    def f(self, x):
        x = _as_points(x, 2)
        return x[..., 0] ** 2 - x[..., 1] ** 2

    def grad(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        return np.stack([2.0 * x[..., 0], -2.0 * x[..., 1]], axis=-1)

    def hessian(self, x) -> np.ndarray:
        x = _as_points(x, 2)
        return np.broadcast_to(np.diag([2.0, -2.0]), x.shape + (2,)).copy()


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Rosenbrock:
    """Rosenbrock's function :math:`(a - x)^2 + b(y - x^2)^2` (see :class:`Rosenbrock`)."""
    return Rosenbrock(a=a, b=b)


def beale() -> Beale:
    """Beale's function (see :class:`Beale`)."""
    return Beale()


def himmelblau() -> Himmelblau:
    """Himmelblau's function (see :class:`Himmelblau`)."""
    return Himmelblau()


def saddle() -> Saddle:
    """The saddle :math:`x^2 - y^2` (see :class:`Saddle`)."""
    return Saddle()
