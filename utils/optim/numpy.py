"""Optimizers from scratch in NumPy: SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW and NAdam.

Every optimizer in this module comes in two forms, so that you can read the math in one place and
train a model with it in another.

**A pure step function** takes a parameter, its gradient and the optimizer state, and returns the
new parameter and the new state. Nothing is modified in place, and the state is a small named tuple
you can print::

    state = init_adam_state(theta)
    for t in range(100):
        theta, state = adam_step(theta, grad_f(theta), state, lr=0.1)
    state.step, state.exp_avg, state.exp_avg_sq      # t, m_t, v_t

**A class** with the constructor of :mod:`torch.optim` updates a list of NumPy arrays in place::

    optimizer = Adam([weights, bias], lr=1e-3)
    for x, y in batches:
        optimizer.step(grads(weights, bias, x, y))  # one gradient array per parameter
    optimizer.lr = 1e-4                             # a schedule sets ``lr`` between steps

Both forms run one formula: a *kernel*, with each equation written next to the line that computes
it, updates a parameter and its state in place with NumPy ufuncs (``out=``) and a small scratch
workspace. The step function runs the kernel on copies; the class runs it on the parameters
themselves, one block of 131,072 numbers at a time. A block stays in the CPU cache through the
dozen ufuncs of a formula, and a step allocates nothing that grows with the model: three to four
times faster than the textbook formula on whole arrays, where every operation allocates a
temporary array (see ``benchmarks/RESULTS.md``).

Names, arguments and defaults mirror :mod:`torch.optim`, which the tests of this course use as the
oracle: same trajectory to about 1e-10 in float64. That fixes three conventions:

- ``weight_decay`` λ adds λθ to the gradient (L2 regularisation), except in :class:`AdamW` and
  in :class:`NAdam` with ``decoupled_weight_decay=True``, which shrink the parameter directly:
  θ ← θ(1 − γλ) (decoupled weight decay).
- ε is added outside the square root: θ ← θ − γ m̂ / (√v̂ + ε). Adadelta is the exception: as in
  Zeiler's paper, ε sits inside both of its roots, √(u + ε) / √(v + ε).
- The step counter t counts the steps taken with the state, starting at 1 on the first step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from utils.optim._validation import (
    check_adadelta,
    check_adagrad,
    check_adam,
    check_nadam,
    check_rmsprop,
    check_sgd,
)

__all__ = [
    "Optimizer",
    "SGD", "SGDState", "init_sgd_state", "sgd_step",
    "Adagrad", "AdagradState", "init_adagrad_state", "adagrad_step",
    "RMSprop", "RMSpropState", "init_rmsprop_state", "rmsprop_step",
    "Adadelta", "AdadeltaState", "init_adadelta_state", "adadelta_step",
    "Adam", "AdamState", "init_adam_state", "adam_step",
    "AdamW", "AdamWState", "init_adamw_state", "adamw_step",
    "NAdam", "NAdamState", "init_nadam_state", "nadam_step",
]

BLOCK_SIZE = 131_072
"""Numbers per block of the in-place update (512 KB of float32): a few blocks fit in the cache."""


# ---------------------------------------------------------------------------------------------
# Running a kernel: on whole copies (step functions) or block by block in place (classes)
# ---------------------------------------------------------------------------------------------


def _as_float_array(x) -> np.ndarray:
    """``x`` as an array of floats (integers become float64); no copy when it already is one."""
    array = np.asarray(x)
    return array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float64)


def _fresh_copy(x) -> np.ndarray | None:
    """A C-contiguous float copy of ``x`` that the kernels may update in place (``None`` stays)."""
    return None if x is None else np.array(_as_float_array(x), order="C")


def _check_grad_shape(grad: np.ndarray, param: np.ndarray, index: int | None = None) -> None:
    if grad.shape != param.shape:
        grad_name, param_name = (
            ("grad", "param") if index is None else (f"grads[{index}]", f"params[{index}]")
        )
        raise ValueError(
            f"{grad_name} has shape {grad.shape} but {param_name} has shape {param.shape}"
        )


def _run_on_copies(update: Callable, param, grad, state: NamedTuple, **hyper):
    """Pure form of ``update``: apply it to fresh copies and return ``(new_param, new_state)``."""
    param = _fresh_copy(param)
    grad = np.asarray(grad)
    _check_grad_shape(grad, param)
    state = type(state)(*(_fresh_copy(s) if isinstance(s, np.ndarray) else s for s in state))
    workspace = np.empty((2, max(param.size, 1)), dtype=param.dtype)
    return param, update(param, grad, state, workspace, **hyper)


def _blockwise(kernel: Callable, arrays: Sequence, workspace: np.ndarray, **hyper) -> None:
    """Run ``kernel`` on matching slices of the flattened ``arrays`` (``None`` passes through).

    The slices are views, so the kernel's in-place updates land in the arrays. ``workspace`` holds
    two rows of scratch space, each as long as one block.
    """
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    size, block = flat[0].size, workspace.shape[1]
    for start in range(0, size, block):
        stop = min(start + block, size)
        blocks = [None if f is None else f[start:stop] for f in flat]
        kernel(*blocks, workspace[:, : stop - start], **hyper)


def _zeros_if_missing(buffer: np.ndarray | None, param: np.ndarray) -> np.ndarray:
    """Optional state (momentum, AMSGrad maximum, ...) starts at zero on its first use."""
    return np.zeros_like(param) if buffer is None else buffer


class Optimizer:
    """Parameters, learning rate and per-parameter state shared by the NumPy optimizers.

    Subclasses set ``self.state`` (one state tuple per parameter) and implement
    ``_update(param, grad, state, workspace) -> state``, which updates ``param`` in place.
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for index, param in enumerate(self.params):
            if not isinstance(param, np.ndarray) or not np.issubdtype(param.dtype, np.floating):
                raise TypeError(
                    f"params[{index}] must be a NumPy array of floats (it is updated in place), "
                    f"got {type(param).__name__} {getattr(param, 'dtype', '')}".rstrip()
                )
            if not (param.flags.c_contiguous and param.flags.writeable):
                raise ValueError(
                    f"params[{index}] must be a writeable C-contiguous array; "
                    "np.ascontiguousarray(param) makes one"
                )
        self.lr = lr
        # Two block-sized scratch rows per dtype, allocated once: a step allocates nothing that
        # grows with the model.
        largest = {}
        for param in self.params:
            largest[param.dtype] = max(largest.get(param.dtype, 1), param.size)
        self._workspaces = {
            dtype: np.empty((2, min(BLOCK_SIZE, size)), dtype) for dtype, size in largest.items()
        }

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient (same order as ``params``)."""
        grads = [np.asarray(grad) for grad in grads]
        if len(grads) != len(self.params):
            raise ValueError(
                f"step() got {len(grads)} gradients for {len(self.params)} parameters"
            )
        for index, (param, grad) in enumerate(zip(self.params, grads, strict=True)):
            _check_grad_shape(grad, param, index)
            workspace = self._workspaces[param.dtype]
            self.state[index] = self._update(param, grad, self.state[index], workspace)


# ---------------------------------------------------------------------------------------------
# SGD: gradient descent, momentum, Nesterov momentum
# ---------------------------------------------------------------------------------------------


class SGDState(NamedTuple):
    momentum_buffer: np.ndarray | None  # b_{t−1}; None before the first step with momentum


def init_sgd_state(param) -> SGDState:
    """SGD's only state, the momentum buffer, is created by the first step with momentum."""
    return SGDState(momentum_buffer=None)


def _sgd_kernel(param, grad, momentum_buffer, scratch, *, first_step, lr, momentum, dampening,
                weight_decay, nesterov):
    decayed, work = scratch
    if weight_decay != 0:
        grad = np.add(grad, np.multiply(param, weight_decay, out=decayed), out=decayed)  # g += λθ
    if momentum != 0:
        if first_step:
            np.copyto(momentum_buffer, grad)  # b_1 = g_1
        else:
            momentum_buffer *= momentum  # b_t = μ b_{t−1} + (1 − τ) g_t
            damped = grad if dampening == 0 else np.multiply(grad, 1 - dampening, out=work)
            momentum_buffer += damped
        if nesterov:
            grad = np.add(grad, np.multiply(momentum_buffer, momentum, out=work), out=work)
        else:
            grad = momentum_buffer
    param -= np.multiply(grad, lr, out=work)  # θ_t = θ_{t−1} − γ g_t


def _sgd_update(param, grad, state, workspace, *, lr, momentum, dampening, weight_decay,
                nesterov) -> SGDState:
    first_step = state.momentum_buffer is None
    momentum_buffer = state.momentum_buffer
    if momentum != 0 and first_step:
        momentum_buffer = np.empty_like(param)  # the kernel writes b_1 = g_1 into it
    _blockwise(_sgd_kernel, (param, grad, momentum_buffer), workspace, first_step=first_step,
               lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
               nesterov=nesterov)
    return SGDState(momentum_buffer)


def sgd_step(param, grad, state: SGDState, *, lr: float = 1e-3, momentum: float = 0.0,
             dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
    r"""One step of stochastic gradient descent, as ``torch.optim.SGD``; returns ``(param, state)``.

    With γ = lr, μ = momentum, τ = dampening, λ = weight_decay::

        g_t ← g_t + λ θ_{t−1}                  if λ ≠ 0
        b_t = g_t                               at the first step with μ ≠ 0
        b_t = μ b_{t−1} + (1 − τ) g_t           afterwards
        g_t ← g_t + μ b_t                       if nesterov
        g_t ← b_t                               otherwise (if μ ≠ 0)
        θ_t = θ_{t−1} − γ g_t

    Plain gradient descent is μ = 0; Nesterov's accelerated gradient is ``nesterov=True`` (which
    needs μ > 0 and τ = 0). Note the first momentum step: the buffer starts at g_1 (undamped),
    not at (1 − τ) g_1.
    """
    check_sgd(lr, momentum, dampening, weight_decay, nesterov)
    return _run_on_copies(_sgd_update, param, grad, state, lr=lr, momentum=momentum,
                          dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum; see :func:`sgd_step`.

    Example::

        optimizer = SGD([w, b], lr=0.1, momentum=0.9, nesterov=True)
        optimizer.step([grad_w, grad_b])  # updates w and b in place
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        check_sgd(lr, momentum, dampening, weight_decay, nesterov)
        super().__init__(params, lr)
        self.momentum, self.dampening = momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.state = [init_sgd_state(p) for p in self.params]

    def _update(self, param, grad, state, workspace):
        return _sgd_update(param, grad, state, workspace, lr=self.lr, momentum=self.momentum,
                           dampening=self.dampening, weight_decay=self.weight_decay,
                           nesterov=self.nesterov)


# ---------------------------------------------------------------------------------------------
# Adagrad: per-coordinate step sizes from the sum of squared gradients
# ---------------------------------------------------------------------------------------------


class AdagradState(NamedTuple):
    step: int  # t, the number of steps taken
    sum: np.ndarray  # s_t, the running sum of squared gradients


def init_adagrad_state(param, initial_accumulator_value: float = 0.0) -> AdagradState:
    """t = 0 and s_0 = ``initial_accumulator_value`` everywhere."""
    return AdagradState(step=0, sum=np.full_like(_as_float_array(param), initial_accumulator_value))


def _adagrad_kernel(param, grad, state_sum, scratch, *, clr, weight_decay, eps):
    decayed, work = scratch
    if weight_decay != 0:
        grad = np.add(grad, np.multiply(param, weight_decay, out=decayed), out=decayed)  # g += λθ
    state_sum += np.square(grad, out=work)  # s_t = s_{t−1} + g_t²
    denom = np.sqrt(state_sum, out=work)
    denom += eps  # √s_t + ε
    param -= np.multiply(np.divide(grad, denom, out=work), clr, out=work)  # θ −= γ̃ g/(√s + ε)


def _adagrad_update(param, grad, state, workspace, *, lr, lr_decay, weight_decay,
                    eps) -> AdagradState:
    step = state.step + 1
    clr = lr / (1 + (step - 1) * lr_decay)  # γ̃_t = γ / (1 + (t − 1) η)
    _blockwise(_adagrad_kernel, (param, grad, state.sum), workspace, clr=clr,
               weight_decay=weight_decay, eps=eps)
    return AdagradState(step, state.sum)


def adagrad_step(param, grad, state: AdagradState, *, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, eps: float = 1e-10):
    r"""One Adagrad step, as ``torch.optim.Adagrad``; returns ``(param, state)``.

    With γ = lr, η = lr_decay, λ = weight_decay, and s_0 = ``initial_accumulator_value`` (set by
    :func:`init_adagrad_state`)::

        g_t ← g_t + λ θ_{t−1}                  if λ ≠ 0
        γ̃_t = γ / (1 + (t − 1) η)
        s_t = s_{t−1} + g_t²
        θ_t = θ_{t−1} − γ̃_t g_t / (√s_t + ε)

    Keras' ``Adagrad`` starts at s_0 = 0.1 and puts ε inside the root, √(s_t + ε), with ε = 1e-7;
    so ``initial_accumulator_value=0.1 + 1e-7`` with a negligible ε (say 1e-300) reproduces it
    to rounding.
    """
    check_adagrad(lr, lr_decay, weight_decay, eps)
    return _run_on_copies(_adagrad_update, param, grad, state, lr=lr, lr_decay=lr_decay,
                          weight_decay=weight_decay, eps=eps)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011); see :func:`adagrad_step`."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        check_adagrad(lr, lr_decay, weight_decay, eps, initial_accumulator_value)
        super().__init__(params, lr)
        self.lr_decay, self.weight_decay, self.eps = lr_decay, weight_decay, eps
        self.initial_accumulator_value = initial_accumulator_value
        self.state = [init_adagrad_state(p, initial_accumulator_value) for p in self.params]

    def _update(self, param, grad, state, workspace):
        return _adagrad_update(param, grad, state, workspace, lr=self.lr, lr_decay=self.lr_decay,
                               weight_decay=self.weight_decay, eps=self.eps)


# ---------------------------------------------------------------------------------------------
# RMSprop: a moving average of squared gradients instead of their sum
# ---------------------------------------------------------------------------------------------


class RMSpropState(NamedTuple):
    square_avg: np.ndarray  # v_t
    grad_avg: np.ndarray | None = None  # ḡ_t, if centered
    momentum_buffer: np.ndarray | None = None  # b_t, if momentum > 0


def init_rmsprop_state(param) -> RMSpropState:
    """v_0 = 0; ḡ and b start at zero when a centered or momentum step first needs them."""
    return RMSpropState(square_avg=np.zeros_like(_as_float_array(param)))


def _rmsprop_kernel(param, grad, square_avg, grad_avg, momentum_buffer, scratch, *, lr, alpha, eps,
                    weight_decay, momentum):
    decayed, work = scratch
    if weight_decay != 0:
        grad = np.add(grad, np.multiply(param, weight_decay, out=decayed), out=decayed)  # g += λθ
    square_avg *= alpha  # v_t = α v_{t−1} + (1 − α) g_t²
    square_avg += np.multiply(np.square(grad, out=work), 1 - alpha, out=work)
    if grad_avg is not None:
        grad_avg *= alpha  # ḡ_t = α ḡ_{t−1} + (1 − α) g_t
        grad_avg += np.multiply(grad, 1 - alpha, out=work)
        denom = np.subtract(square_avg, np.square(grad_avg, out=work), out=work)  # v_t − ḡ_t²
        np.sqrt(denom, out=denom)
    else:
        denom = np.sqrt(square_avg, out=work)
    denom += eps  # √ṽ_t + ε
    direction = np.divide(grad, denom, out=work)  # g_t / (√ṽ_t + ε)
    if momentum_buffer is not None:
        momentum_buffer *= momentum  # b_t = μ b_{t−1} + g_t / (√ṽ_t + ε)
        momentum_buffer += direction
        direction = momentum_buffer
    param -= np.multiply(direction, lr, out=work)  # θ_t = θ_{t−1} − γ b_t


def _rmsprop_update(param, grad, state, workspace, *, lr, alpha, eps, weight_decay, momentum,
                    centered) -> RMSpropState:
    grad_avg = _zeros_if_missing(state.grad_avg, param) if centered else None
    momentum_buffer = _zeros_if_missing(state.momentum_buffer, param) if momentum > 0 else None
    _blockwise(_rmsprop_kernel, (param, grad, state.square_avg, grad_avg, momentum_buffer),
               workspace, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
               momentum=momentum)
    return RMSpropState(state.square_avg, grad_avg, momentum_buffer)


def rmsprop_step(param, grad, state: RMSpropState, *, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False):
    r"""One RMSprop step, as ``torch.optim.RMSprop``; returns ``(param, state)``.

    With γ = lr, α = alpha, μ = momentum, λ = weight_decay (v_0 = ḡ_0 = b_0 = 0)::

        g_t ← g_t + λ θ_{t−1}                  if λ ≠ 0
        v_t = α v_{t−1} + (1 − α) g_t²
        ḡ_t = α ḡ_{t−1} + (1 − α) g_t           if centered
        ṽ_t = v_t − ḡ_t²  if centered,  else  ṽ_t = v_t
        b_t = μ b_{t−1} + g_t / (√ṽ_t + ε)      if μ > 0,  else  b_t = g_t / (√ṽ_t + ε)
        θ_t = θ_{t−1} − γ b_t

    Keras' ``RMSprop`` calls α ``rho`` (default 0.9, lr 1e-3), puts ε inside the root,
    √(ṽ_t + ε), and folds γ into its momentum buffer — the same trajectory for a constant lr
    once ε is negligible.
    """
    check_rmsprop(lr, alpha, eps, weight_decay, momentum)
    return _run_on_copies(_rmsprop_update, param, grad, state, lr=lr, alpha=alpha, eps=eps,
                          weight_decay=weight_decay, momentum=momentum, centered=centered)


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), optionally centered and with momentum; see :func:`rmsprop_step`."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        check_rmsprop(lr, alpha, eps, weight_decay, momentum)
        super().__init__(params, lr)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered
        self.state = [init_rmsprop_state(p) for p in self.params]

    def _update(self, param, grad, state, workspace):
        return _rmsprop_update(param, grad, state, workspace, lr=self.lr, alpha=self.alpha,
                               eps=self.eps, weight_decay=self.weight_decay,
                               momentum=self.momentum, centered=self.centered)


# ---------------------------------------------------------------------------------------------
# Adadelta: RMSprop with the units fixed by a moving average of the updates
# ---------------------------------------------------------------------------------------------


class AdadeltaState(NamedTuple):
    square_avg: np.ndarray  # v_t, moving average of squared gradients
    acc_delta: np.ndarray  # u_t, moving average of squared updates


def init_adadelta_state(param) -> AdadeltaState:
    """v_0 = u_0 = 0."""
    zeros = np.zeros_like(_as_float_array(param))
    return AdadeltaState(square_avg=zeros, acc_delta=zeros.copy())


def _adadelta_kernel(param, grad, square_avg, acc_delta, scratch, *, lr, rho, eps, weight_decay):
    decayed, work = scratch
    if weight_decay != 0:
        grad = np.add(grad, np.multiply(param, weight_decay, out=decayed), out=decayed)  # g += λθ
    square_avg *= rho  # v_t = ρ v_{t−1} + (1 − ρ) g_t²
    square_avg += np.multiply(np.square(grad, out=work), 1 - rho, out=work)
    std = np.sqrt(np.add(square_avg, eps, out=work), out=work)  # √(v_t + ε)
    delta = np.divide(grad, std, out=work)
    # √(u_{t−1} + ε), in the row that held λθ + g_t: the gradient is no longer needed
    rms_delta = np.sqrt(np.add(acc_delta, eps, out=decayed), out=decayed)
    delta *= rms_delta  # Δ_t = √(u_{t−1} + ε) / √(v_t + ε) · g_t
    acc_delta *= rho  # u_t = ρ u_{t−1} + (1 − ρ) Δ_t²
    acc_delta += np.multiply(np.square(delta, out=decayed), 1 - rho, out=decayed)
    param -= np.multiply(delta, lr, out=work)  # θ_t = θ_{t−1} − γ Δ_t


def _adadelta_update(param, grad, state, workspace, *, lr, rho, eps,
                     weight_decay) -> AdadeltaState:
    _blockwise(_adadelta_kernel, (param, grad, state.square_avg, state.acc_delta), workspace,
               lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
    return AdadeltaState(state.square_avg, state.acc_delta)


def adadelta_step(param, grad, state: AdadeltaState, *, lr: float = 1.0, rho: float = 0.9,
                  eps: float = 1e-6, weight_decay: float = 0.0):
    r"""One Adadelta step, as ``torch.optim.Adadelta``; returns ``(param, state)``.

    With γ = lr, ρ = rho, λ = weight_decay (v_0 = u_0 = 0)::

        g_t ← g_t + λ θ_{t−1}                  if λ ≠ 0
        v_t = ρ v_{t−1} + (1 − ρ) g_t²
        Δ_t = √(u_{t−1} + ε) / √(v_t + ε) · g_t
        u_t = ρ u_{t−1} + (1 − ρ) Δ_t²
        θ_t = θ_{t−1} − γ Δ_t

    Zeiler's Adadelta has no learning rate: γ = 1, torch's default. The ratio of two RMS values
    gives Δ the units of θ, and ε sits inside both roots. With u_0 = 0, ε also sets the scale of
    the first step: Δ_1 ≈ √(ε / (1 − ρ)) · sign(g_1) where g_1² ≫ ε.

    Keras' ``Adadelta`` runs this formula, ε placement included, but with other defaults:
    ``learning_rate=1e-3, rho=0.95, epsilon=1e-7``, so ``Adadelta(lr=1e-3, rho=0.95, eps=1e-7)``
    here is Keras' default one.
    """
    check_adadelta(lr, rho, eps, weight_decay)
    return _run_on_copies(_adadelta_update, param, grad, state, lr=lr, rho=rho, eps=eps,
                          weight_decay=weight_decay)


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012); see :func:`adadelta_step`."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0):
        check_adadelta(lr, rho, eps, weight_decay)
        super().__init__(params, lr)
        self.rho, self.eps, self.weight_decay = rho, eps, weight_decay
        self.state = [init_adadelta_state(p) for p in self.params]

    def _update(self, param, grad, state, workspace):
        return _adadelta_update(param, grad, state, workspace, lr=self.lr, rho=self.rho,
                                eps=self.eps, weight_decay=self.weight_decay)


# ---------------------------------------------------------------------------------------------
# Adam and AdamW: momentum and RMSprop, with bias correction
# ---------------------------------------------------------------------------------------------


class AdamState(NamedTuple):
    step: int  # t, the number of steps taken
    exp_avg: np.ndarray  # m_t, first moment
    exp_avg_sq: np.ndarray  # v_t, second moment
    max_exp_avg_sq: np.ndarray | None = None  # max_{s≤t} v_s, if amsgrad


AdamWState = AdamState  # AdamW keeps the same state as Adam


def init_adam_state(param) -> AdamState:
    """t = 0, m_0 = v_0 = 0; the AMSGrad maximum starts at zero when an amsgrad step needs it."""
    zeros = np.zeros_like(_as_float_array(param))
    return AdamState(step=0, exp_avg=zeros, exp_avg_sq=zeros.copy())


init_adamw_state = init_adam_state


def _adam_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, *, step, lr, beta1,
                 beta2, eps, weight_decay, decoupled_weight_decay):
    decayed, work = scratch
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay  # θ ← θ (1 − γλ)
        else:  # g ← g + λθ
            grad = np.add(grad, np.multiply(param, weight_decay, out=decayed), out=decayed)
    exp_avg *= beta1  # m_t = β₁ m_{t−1} + (1 − β₁) g_t
    exp_avg += np.multiply(grad, 1 - beta1, out=work)
    exp_avg_sq *= beta2  # v_t = β₂ v_{t−1} + (1 − β₂) g_t²
    exp_avg_sq += np.multiply(np.square(grad, out=work), 1 - beta2, out=work)
    if max_exp_avg_sq is not None:
        # AMSGrad: v_max = max(v_max, v_t) takes the place of v_t
        exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    denom = np.sqrt(exp_avg_sq, out=work)
    denom /= math.sqrt(bias_correction2)  # √v̂_t = √(v_t / (1 − β₂ᵗ))
    denom += eps
    step_size = lr / bias_correction1  # γ m̂_t = γ m_t / (1 − β₁ᵗ)
    # θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)
    param -= np.multiply(np.divide(exp_avg, denom, out=work), step_size, out=work)


def _adam_update(param, grad, state, workspace, *, lr, beta1, beta2, eps, weight_decay, amsgrad,
                 decoupled_weight_decay) -> AdamState:
    step = state.step + 1
    max_exp_avg_sq = _zeros_if_missing(state.max_exp_avg_sq, param) if amsgrad else None
    arrays = (param, grad, state.exp_avg, state.exp_avg_sq, max_exp_avg_sq)
    _blockwise(_adam_kernel, arrays, workspace, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
               weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay)
    return AdamState(step, state.exp_avg, state.exp_avg_sq, max_exp_avg_sq)


def adam_step(param, grad, state: AdamState, *, lr: float = 1e-3, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
              amsgrad: bool = False):
    r"""One Adam step, as ``torch.optim.Adam``; returns ``(param, state)``.

    With γ = lr, λ = weight_decay (m_0 = v_0 = 0, t counts from 1)::

        g_t ← g_t + λ θ_{t−1}                  if λ ≠ 0
        m_t = β₁ m_{t−1} + (1 − β₁) g_t
        v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        v_t ← max(v_max, v_t), stored as v_max  if amsgrad
        m̂_t = m_t / (1 − β₁ᵗ)
        v̂_t = v_t / (1 − β₂ᵗ)
        θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)

    Keras' ``Adam`` computes θ_t = θ_{t−1} − γ √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m_t / (√v_t + ε̂): its
    ``epsilon`` ε̂ (default 1e-7) is Kingma & Ba's "epsilon hat", added to the *uncorrected* √v_t.
    The two agree exactly when ε = ε̂ / √(1 − β₂ᵗ) at step t — a constant ε̂ is a larger
    ε early in training.
    """
    check_adam(lr, (beta1, beta2), eps, weight_decay)
    return _run_on_copies(_adam_update, param, grad, state, lr=lr, beta1=beta1, beta2=beta2,
                          eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                          decoupled_weight_decay=False)


def adamw_step(param, grad, state: AdamState, *, lr: float = 1e-3, beta1: float = 0.9,
               beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 1e-2,
               amsgrad: bool = False):
    r"""One AdamW step, as ``torch.optim.AdamW``; returns ``(param, state)``.

    Adam (see :func:`adam_step`) with *decoupled* weight decay (Loshchilov & Hutter, 2019): the
    parameter shrinks before the Adam update instead of λθ joining the gradient::

        θ_{t−1} ← θ_{t−1} (1 − γλ)
        θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)       with m̂_t, v̂_t from the raw gradient

    Keras' ``AdamW`` decays the same way (with its own ε̂ convention, see :func:`adam_step`).
    """
    check_adam(lr, (beta1, beta2), eps, weight_decay)
    return _run_on_copies(_adam_update, param, grad, state, lr=lr, beta1=beta1, beta2=beta2,
                          eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                          decoupled_weight_decay=True)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), optionally AMSGrad; see :func:`adam_step`.

    Example::

        optimizer = Adam([w, b], lr=1e-3, betas=(0.9, 0.999))
        optimizer.step([grad_w, grad_b])  # updates w and b in place
        optimizer.state[0].exp_avg        # m_t of w
    """

    _decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        check_adam(lr, betas, eps, weight_decay)
        super().__init__(params, lr)
        self.betas, self.eps = tuple(betas), eps
        self.weight_decay, self.amsgrad = weight_decay, amsgrad
        self.state = [init_adam_state(p) for p in self.params]

    def _update(self, param, grad, state, workspace):
        beta1, beta2 = self.betas
        return _adam_update(param, grad, state, workspace, lr=self.lr, beta1=beta1, beta2=beta2,
                            eps=self.eps, weight_decay=self.weight_decay, amsgrad=self.amsgrad,
                            decoupled_weight_decay=self._decoupled_weight_decay)


class AdamW(Adam):
    """Adam with decoupled weight decay (default λ = 0.01, as torch); see :func:`adamw_step`."""

    _decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


# ---------------------------------------------------------------------------------------------
# NAdam: Adam with Nesterov momentum
# ---------------------------------------------------------------------------------------------


class NAdamState(NamedTuple):
    step: int  # t, the number of steps taken
    mu_product: float  # Π_t = μ_1 μ_2 ⋯ μ_t, the product of the momentum schedule so far
    exp_avg: np.ndarray  # m_t, first moment
    exp_avg_sq: np.ndarray  # v_t, second moment


def init_nadam_state(param) -> NAdamState:
    """t = 0, Π_0 = 1 (the empty product), m_0 = v_0 = 0."""
    zeros = np.zeros_like(_as_float_array(param))
    return NAdamState(step=0, mu_product=1.0, exp_avg=zeros, exp_avg_sq=zeros.copy())


def _nadam_kernel(param, grad, exp_avg, exp_avg_sq, scratch, *, step, lr, beta1, beta2, eps,
                  weight_decay, decoupled_weight_decay, grad_step_size, exp_avg_step_size):
    decayed, work = scratch
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay  # θ ← θ (1 − γλ)
        else:  # g ← g + λθ
            grad = np.add(grad, np.multiply(param, weight_decay, out=decayed), out=decayed)
    exp_avg *= beta1  # m_t = β₁ m_{t−1} + (1 − β₁) g_t
    exp_avg += np.multiply(grad, 1 - beta1, out=work)
    exp_avg_sq *= beta2  # v_t = β₂ v_{t−1} + (1 − β₂) g_t²
    exp_avg_sq += np.multiply(np.square(grad, out=work), 1 - beta2, out=work)
    denom = np.sqrt(exp_avg_sq, out=work)
    denom /= math.sqrt(1 - beta2**step)  # √v̂_t = √(v_t / (1 − β₂ᵗ))
    denom += eps
    # θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε), one term of m̂_t at a time, in the row that held λθ + g_t
    # (read here for the last time):  γ (1 − μ_t) / (1 − Π_t) · g_t / (√v̂_t + ε) ...
    param -= np.multiply(np.divide(grad, denom, out=decayed), grad_step_size, out=decayed)
    # ... and γ μ_{t+1} / (1 − Π_{t+1}) · m_t / (√v̂_t + ε)
    param -= np.multiply(np.divide(exp_avg, denom, out=decayed), exp_avg_step_size, out=decayed)


def _nadam_update(param, grad, state, workspace, *, lr, beta1, beta2, eps, weight_decay,
                  momentum_decay, decoupled_weight_decay) -> NAdamState:
    step = state.step + 1
    mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))  # μ_t = β₁ (1 − ½ · 0.96^(tψ))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))  # μ_{t+1}
    mu_product = state.mu_product * mu  # Π_t = Π_{t−1} μ_t
    grad_step_size = lr * (1 - mu) / (1 - mu_product)  # γ (1 − μ_t) / (1 − Π_t)
    # γ μ_{t+1} / (1 − Π_{t+1}), with Π_{t+1} = Π_t μ_{t+1}
    exp_avg_step_size = lr * mu_next / (1 - mu_product * mu_next)
    _blockwise(_nadam_kernel, (param, grad, state.exp_avg, state.exp_avg_sq), workspace,
               step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
               decoupled_weight_decay=decoupled_weight_decay, grad_step_size=grad_step_size,
               exp_avg_step_size=exp_avg_step_size)
    return NAdamState(step, mu_product, state.exp_avg, state.exp_avg_sq)


def nadam_step(param, grad, state: NAdamState, *, lr: float = 2e-3, beta1: float = 0.9,
               beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
               momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False):
    r"""One NAdam step, as ``torch.optim.NAdam``; returns ``(param, state)``.

    With γ = lr, λ = weight_decay, ψ = momentum_decay (m_0 = v_0 = 0, Π_0 = 1, t counts from 1)::

        g_t ← g_t + λ θ_{t−1}                  if λ ≠ 0 (L2)
        θ_{t−1} ← θ_{t−1} (1 − γλ)             instead, if decoupled_weight_decay
        μ_t = β₁ (1 − ½ · 0.96^(tψ))           the momentum schedule
        Π_t = Π_{t−1} μ_t                       = μ_1 μ_2 ⋯ μ_t
        m_t = β₁ m_{t−1} + (1 − β₁) g_t
        v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t = μ_{t+1} m_t / (1 − Π_t μ_{t+1}) + (1 − μ_t) g_t / (1 − Π_t)
        v̂_t = v_t / (1 − β₂ᵗ)
        θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)

    Nesterov's look-ahead (Dozat, 2016): m̂_t mixes the momentum of the *next* step, μ_{t+1} m_t,
    with the current gradient, each divided by its own bias correction. The schedule μ_t rises
    from about β₁/2 towards β₁; ψ = 0.004 (Dozat's 1/250) makes it slow: μ_t ≈ 0.58 β₁ after
    1,000 steps, 0.9 β₁ after 10,000. ``momentum_decay=0`` keeps μ_t = β₁/2. The moment m_t itself
    decays with β₁, not with μ_t.

    torch keeps Π_t in a 0-d tensor of torch's default dtype, float32 unless
    ``torch.set_default_dtype(torch.float64)``: a float64 run of ``torch.optim.NAdam`` with the
    default dtype rounds Π_t to float32 and drifts from this one by about 1e-8 (relative). Here
    Π_t is a Python float; with torch's default dtype set to float64 the two agree to 1e-10.

    Keras' ``Nadam`` uses μ_t = β₁ (1 − ½ · 0.96ᵗ): this schedule with ψ = 1, 250 times faster
    than torch's default (μ_t ≈ 0.94 β₁ after 50 steps). Its ε sits where torch's does (unlike
    Keras' ``Adam``) and its weight decay is decoupled, so ``keras.optimizers.Nadam(learning_rate=γ,
    epsilon=ε, weight_decay=λ)`` is ``NAdam(lr=γ, eps=ε, weight_decay=λ, momentum_decay=1.0,
    decoupled_weight_decay=True)`` (Keras' defaults: γ = 1e-3, ε = 1e-7). They agree to about 1e-7
    (relative), not 1e-10, in float64: Keras' update step rounds the 0.96 of μ_t through float32
    (its Π_t does not).
    """
    check_nadam(lr, (beta1, beta2), eps, weight_decay, momentum_decay)
    return _run_on_copies(_nadam_update, param, grad, state, lr=lr, beta1=beta1, beta2=beta2,
                          eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                          decoupled_weight_decay=decoupled_weight_decay)


class NAdam(Optimizer):
    """NAdam (Dozat, 2016), Adam with Nesterov momentum; see :func:`nadam_step`.

    ``decoupled_weight_decay=True`` shrinks the parameters as :class:`AdamW` does (NAdamW).
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False):
        check_nadam(lr, betas, eps, weight_decay, momentum_decay)
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        self.momentum_decay, self.decoupled_weight_decay = momentum_decay, decoupled_weight_decay
        self.state = [init_nadam_state(p) for p in self.params]

    def _update(self, param, grad, state, workspace):
        beta1, beta2 = self.betas
        return _nadam_update(param, grad, state, workspace, lr=self.lr, beta1=beta1, beta2=beta2,
                             eps=self.eps, weight_decay=self.weight_decay,
                             momentum_decay=self.momentum_decay,
                             decoupled_weight_decay=self.decoupled_weight_decay)
