"""Optimizers from scratch in NumPy: SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, NAdam, Lion,
Adafactor, Muon and schedule-free AdamW.

Each optimizer comes in two forms, side by side, tested equal.

**The reading form** is a pure function on whole arrays that looks like the formula of the
chapter. It returns the new parameter and the new state; nothing is modified in place::

    state = init_state("Adam", theta)
    for t in range(100):
        theta, state = adam_step(theta, grad_f(theta), state, lr=0.1)
    state.step, state.exp_avg, state.exp_avg_sq      # t, m_t, v_t

**The fast form** is a class with the constructor of :mod:`torch.optim`. It updates a list of
arrays in place, one block of 131,072 numbers at a time, with ufuncs writing into a small
scratch space (``out=``): a block stays in the CPU cache through the dozen operations of a
formula, and a step allocates nothing that grows with the model (three to four times faster
than the reading form; see ``benchmarks/RESULTS.md``). Adafactor's row and column means and
Muon's matrix products are not elementwise: their fast form works on whole arrays (one
parameter-sized temporary per step, and Newton–Schulz's products for Muon), not in blocks::

    optimizer = Adam([weights, bias], lr=1e-3)
    for x, y in batches:
        optimizer.step(grads(weights, bias, x, y))  # one gradient array per parameter
    optimizer.lr = 1e-4                             # a schedule sets ``lr`` between steps
    checkpoint = optimizer.state_dict()             # and load_state_dict(checkpoint)

What an optimizer is — its hyper-parameters and their ranges, its state, its math — is written
once, in :mod:`utils.optim.spec`; this module keeps the two forms of each kernel. Weight decay is
not in the kernels: :func:`l2` and :func:`decoupled_decay` (and their block versions in
:func:`_blocks`) apply it before the kernel runs, as the description says.

Names, arguments and defaults mirror :mod:`torch.optim`, the oracle of the tests (same
trajectory to about 1e-10 in float64). The step counter t counts the steps taken with the
state, from 1 at the first step.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from utils.optim import spec as specs
from utils.optim.spec import OptimizerSpec

__all__ = [
    "Optimizer", "init_state", "l2", "decoupled_decay", "STATE_TYPES", "STEP_FUNCTIONS",
    "newton_schulz",
    *(name for spec in specs.SPECS for name in (spec, spec.lower() + "_step")),
]  # fmt: skip

BLOCK_SIZE = 131_072
"""Numbers per block of the in-place update (512 KB of float32): a few blocks fit in the cache."""


# ---------------------------------------------------------------------------------------------
# State, weight decay and the two ways to run a kernel
# ---------------------------------------------------------------------------------------------


def state_type(spec: OptimizerSpec) -> type:
    """The named tuple of one optimizer's per-parameter state, fields as in its description."""
    fields = [(f.name, Any) for f in spec.state]
    state = NamedTuple(f"{spec.name}State", fields)
    state.__new__.__defaults__ = tuple(None for f in spec.state if f.needed_if)
    state.__doc__ = f"{spec.name}'s state: " + ", ".join(
        f"{f.name} ({f.symbol}, {f.doc})" for f in spec.state
    )
    return state


def _as_float_array(x) -> np.ndarray:
    """``x`` as an array of floats (integers become float64); no copy when it already is one."""
    array = np.asarray(x)
    return array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float64)


def init_state(name: str, param, **hyperparameters) -> NamedTuple:
    """The state of optimizer ``name`` before its first step on ``param``.

    Scalars start at their initial value (t = 0), arrays at zero or at the hyper-parameter that
    sets them (Adagrad's ``initial_accumulator_value``); optional state
    is ``None`` until a step needs it, and so is a field that this parameter's shape does not
    have (Adafactor's ``variance`` of a matrix). Arrays have the shape the description gives.
    """
    spec = specs.SPECS[name]
    hyper = spec.bind((), hyperparameters)
    param = _as_float_array(param)
    spec.check_param_shape(param.shape)
    values = []
    for field in spec.state:
        initial = hyper[field.initial] if isinstance(field.initial, str) else field.initial
        shape = None if field.scalar else field.shape_for(param.shape)
        if field.scalar:
            values.append(initial)
        elif field.starts_at_param:
            values.append(np.array(param, copy=True))
        elif field.needed_if or shape is None:
            values.append(None)
        else:
            values.append(np.full(shape, initial, dtype=param.dtype))
    return STATE_TYPES[name](*values)


def l2(grad, param, weight_decay):
    """L2 regularisation as part of the gradient: g ← g + λθ."""
    return grad + weight_decay * param


def decoupled_decay(param, lr, weight_decay):
    """Decoupled weight decay: θ ← θ(1 − γλ), apart from the gradient."""
    return param * (1 - lr * weight_decay)


def _check_grad_shape(grad: np.ndarray, param: np.ndarray, index: int | None = None) -> None:
    if grad.shape != param.shape:
        grad_name, param_name = (
            ("grad", "param") if index is None else (f"grads[{index}]", f"params[{index}]")
        )
        raise ValueError(
            f"{grad_name} has shape {grad.shape} but {param_name} has shape {param.shape}"
        )


def _kernel_arguments(spec: OptimizerSpec, hyper: dict) -> dict:
    """The hyper-parameters a kernel sees: not the weight decay, not the initial state."""
    initial = {f.initial for f in spec.state if isinstance(f.initial, str)}
    skip = {"decoupled_weight_decay", *initial}
    if not spec.kernel_gets_weight_decay:
        skip.add("weight_decay")
    return {name: value for name, value in hyper.items() if name not in skip}


def _reading_step(spec: OptimizerSpec, update: Callable) -> Callable:
    """The pure step function of ``spec``: validate, decay, then the reading form ``update``."""

    def step(param, grad, state, **hyperparameters):
        hyper = spec.bind((), hyperparameters)
        param, grad = _as_float_array(param), np.asarray(grad)
        spec.check_param_shape(param.shape)
        _check_grad_shape(grad, param)
        kind = spec.decay_kind(hyper)
        if kind == "l2":
            grad = l2(grad, param, hyper["weight_decay"])
        elif kind == "decoupled":
            param = decoupled_decay(param, hyper["lr"], hyper["weight_decay"])
        return update(param, grad, state, **_kernel_arguments(spec, hyper))

    step.__name__ = step.__qualname__ = update.__name__ + "_step"
    step.__doc__ = spec.docstring(
        f"The reading form, on whole arrays: returns ``(param, state)``, starting from "
        f"``init_state({spec.name!r}, param)``."
    )
    parameters = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for name in ("param", "grad", "state")
    ] + [
        inspect.Parameter(h.name, inspect.Parameter.KEYWORD_ONLY, default=h.default)
        for h in spec.hyperparameters
    ]
    step.__signature__ = inspect.Signature(parameters)
    return step


def _blocks(param, grad, buffers, workspace, *, decay, lr, weight_decay) -> Iterator[tuple]:
    """Matching block views of ``param``, ``grad`` and the state ``buffers``, decay applied.

    Yields ``(param, grad, *buffers, scratch)`` per block of the flattened arrays (``None``
    buffers pass through as ``None``). The views write through to the arrays. ``scratch`` holds
    two rows of scratch space for the kernel; a third row receives g + λθ under L2 decay.
    """
    flat = [None if a is None else a.reshape(-1) for a in (param, grad, *buffers)]
    size, block = param.size, workspace.shape[1]
    for start in range(0, size, block):
        stop = min(start + block, size)
        p, g, *rest = (None if f is None else f[start:stop] for f in flat)
        scratch = workspace[:, : stop - start]
        if decay == "l2":  # g ← g + λθ
            g = np.add(g, np.multiply(p, weight_decay, out=scratch[2]), out=scratch[2])
        elif decay == "decoupled":  # θ ← θ(1 − γλ)
            p *= 1 - lr * weight_decay
        yield (p, g, *rest, scratch[:2])


def _zeros_if_missing(buffer: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """Optional state (momentum, AMSGrad maximum, ...) starts at zero on its first use."""
    return np.zeros_like(like) if buffer is None else buffer


class Optimizer:
    """The fast form of an optimizer: parameters updated in place, block by block.

    A subclass names its description, ``spec``, and its fast kernel, ``fast(blocks, param,
    state, **hyperparameters) -> state``, which loops over ``blocks(*state_arrays)``. Its
    constructor, validation, docstring, ``repr`` and ``state_dict`` come from the description.

    A kernel that is not elementwise (Adafactor's row means, Muon's matrix products) sets
    ``blocked = False``: it is then called as ``fast(param, grad, state, **hyperparameters)``
    on whole arrays, the weight decay already applied (θ in place; g + λθ as a new array).
    """

    spec: ClassVar[OptimizerSpec]
    fast: ClassVar[Callable]
    blocked: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        spec = cls.spec
        cls.__doc__ = spec.docstring(
            f"The fast, in-place form: ``optimizer = {spec.name}(params, ...)``, then "
            "``optimizer.step(grads)`` once per step. The reading form is "
            f":func:`{spec.name.lower()}_step`."
        )
        parameters = [inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        parameters += [
            inspect.Parameter(h.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=h.default)
            for h in spec.hyperparameters
        ]
        cls.__signature__ = inspect.Signature(parameters)

    def __init__(self, params: Sequence[np.ndarray], *args, **kwargs):
        hyper = self.spec.bind(args, kwargs)
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
            self.spec.check_param_shape(param.shape, index)
        for name, value in hyper.items():
            setattr(self, name, value)
        self.state = [init_state(self.spec.name, p, **hyper) for p in self.params]
        # Three block-sized scratch rows per dtype, allocated once: a step allocates nothing
        # that grows with the model.
        largest = {}
        for param in self.params:
            largest[param.dtype] = max(largest.get(param.dtype, 1), param.size)
        self._workspaces = {
            dtype: np.empty((3, min(BLOCK_SIZE, size)), dtype) for dtype, size in largest.items()
        }

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The current hyper-parameters (``lr`` included, as a schedule last set it)."""
        return {name: getattr(self, name) for name in self.spec.names}

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {arguments})"

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient (same order as ``params``)."""
        grads = [np.asarray(grad) for grad in grads]
        if len(grads) != len(self.params):
            raise ValueError(f"step() got {len(grads)} gradients for {len(self.params)} parameters")
        hyper = self.hyperparameters
        self.spec.validate(hyper)  # a learner may have set an attribute by hand
        decay = dict(
            decay=self.spec.decay_kind(hyper), lr=hyper["lr"], weight_decay=hyper["weight_decay"]
        )
        arguments = _kernel_arguments(self.spec, hyper)
        for index, (param, grad) in enumerate(zip(self.params, grads, strict=True)):
            _check_grad_shape(grad, param, index)
            if not self.blocked:
                if decay["decay"] == "l2":  # g ← g + λθ
                    grad = l2(grad, param, decay["weight_decay"])
                elif decay["decay"] == "decoupled":  # θ ← θ(1 − γλ)
                    param *= 1 - decay["lr"] * decay["weight_decay"]
                self.state[index] = type(self).fast(param, grad, self.state[index], **arguments)
                continue
            workspace = self._workspaces[param.dtype]

            def blocks(*buffers, param=param, grad=grad, workspace=workspace):
                return _blocks(param, grad, buffers, workspace, **decay)

            self.state[index] = type(self).fast(blocks, param, self.state[index], **arguments)

    def state_dict(self) -> dict[str, Any]:
        """A copy of the hyper-parameters and of each parameter's state, to save and restore."""
        return {
            "hyperparameters": dict(self.hyperparameters),
            "state": [copy.deepcopy(state._asdict()) for state in self.state],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (for the same parameters, in the same order)."""
        saved = state_dict["state"]
        if len(saved) != len(self.params):
            raise ValueError(
                f"the state dict holds {len(saved)} parameters' state, "
                f"this optimizer has {len(self.params)}"
            )
        state_class = STATE_TYPES[self.spec.name]
        states = []
        for index, (fields, param) in enumerate(zip(saved, self.params, strict=True)):
            if set(fields) != set(state_class._fields):
                raise ValueError(
                    f"state[{index}] has fields {sorted(fields)}, "
                    f"{self.spec.name} keeps {list(state_class._fields)}"
                )
            for field in self.spec.state:
                value = fields[field.name]
                expected = None if field.scalar else field.shape_for(param.shape)
                if isinstance(value, np.ndarray) and value.shape != expected:
                    raise ValueError(
                        f"state[{index}].{field.name} has shape {value.shape} "
                        f"but params[{index}] of shape {param.shape} needs {expected}"
                    )
            states.append(state_class(**copy.deepcopy(fields)))
        hyper = self.spec.bind((), state_dict["hyperparameters"])
        for name, value in hyper.items():
            setattr(self, name, value)
        self.state = states


# ---------------------------------------------------------------------------------------------
# SGD: gradient descent, momentum, Nesterov momentum
# ---------------------------------------------------------------------------------------------


def sgd(param, grad, state, *, lr, momentum, dampening, nesterov):
    buffer = state.momentum_buffer
    if momentum != 0:
        if buffer is None:
            buffer = np.copy(grad)  # b_1 = g_1
        else:
            buffer = momentum * buffer + (1 - dampening) * grad  # b_t = μ b_{t−1} + (1 − τ) g_t
        grad = grad + momentum * buffer if nesterov else buffer
    return param - lr * grad, state._replace(momentum_buffer=buffer)  # θ_t = θ_{t−1} − γ g_t


def _sgd_fast(blocks, param, state, *, lr, momentum, dampening, nesterov):
    first_step = state.momentum_buffer is None
    buffer = state.momentum_buffer
    if momentum != 0 and first_step:
        buffer = np.empty_like(param)
    for param, grad, buffer_block, (work, _) in blocks(buffer):
        if momentum != 0:
            if first_step:
                np.copyto(buffer_block, grad)
            else:
                buffer_block *= momentum
                damped = grad if dampening == 0 else np.multiply(grad, 1 - dampening, out=work)
                buffer_block += damped
            if nesterov:
                grad = np.add(grad, np.multiply(buffer_block, momentum, out=work), out=work)
            else:
                grad = buffer_block
        param -= np.multiply(grad, lr, out=work)
    return state._replace(momentum_buffer=buffer)


# ---------------------------------------------------------------------------------------------
# Adagrad: per-coordinate step sizes from the sum of squared gradients
# ---------------------------------------------------------------------------------------------


def adagrad(param, grad, state, *, lr, lr_decay, eps):
    step = state.step + 1
    clr = lr / (1 + (step - 1) * lr_decay)  # γ̃_t = γ / (1 + (t − 1) η)
    state_sum = state.sum + grad**2  # s_t = s_{t−1} + g_t²
    param = param - clr * grad / (np.sqrt(state_sum) + eps)  # θ_t = θ_{t−1} − γ̃_t g_t / (√s_t + ε)
    return param, state._replace(step=step, sum=state_sum)


def _adagrad_fast(blocks, param, state, *, lr, lr_decay, eps):
    step = state.step + 1
    clr = lr / (1 + (step - 1) * lr_decay)
    for param, grad, state_sum, (work, _) in blocks(state.sum):
        state_sum += np.square(grad, out=work)
        denom = np.sqrt(state_sum, out=work)
        denom += eps
        param -= np.multiply(np.divide(grad, denom, out=work), clr, out=work)
    return state._replace(step=step)


# ---------------------------------------------------------------------------------------------
# RMSprop: a moving average of squared gradients instead of their sum
# ---------------------------------------------------------------------------------------------


def rmsprop(param, grad, state, *, lr, alpha, eps, momentum, centered):
    square_avg = alpha * state.square_avg + (1 - alpha) * grad**2  # v_t
    grad_avg, buffer = state.grad_avg, state.momentum_buffer
    if centered:
        grad_avg = alpha * _zeros_if_missing(grad_avg, param) + (1 - alpha) * grad  # ḡ_t
        direction = grad / (np.sqrt(square_avg - grad_avg**2) + eps)  # g_t / (√ṽ_t + ε)
    else:
        direction = grad / (np.sqrt(square_avg) + eps)
    if momentum > 0:
        buffer = momentum * _zeros_if_missing(buffer, param) + direction  # b_t
        direction = buffer
    return param - lr * direction, state._replace(
        square_avg=square_avg, grad_avg=grad_avg, momentum_buffer=buffer
    )


def _rmsprop_fast(blocks, param, state, *, lr, alpha, eps, momentum, centered):
    grad_avg = _zeros_if_missing(state.grad_avg, param) if centered else None
    buffer = _zeros_if_missing(state.momentum_buffer, param) if momentum > 0 else None
    for param, grad, square_avg, grad_avg_block, buffer_block, (work, _) in blocks(
        state.square_avg, grad_avg, buffer
    ):
        square_avg *= alpha
        square_avg += np.multiply(np.square(grad, out=work), 1 - alpha, out=work)
        if centered:
            grad_avg_block *= alpha
            grad_avg_block += np.multiply(grad, 1 - alpha, out=work)
            denom = np.subtract(square_avg, np.square(grad_avg_block, out=work), out=work)
            np.sqrt(denom, out=denom)
        else:
            denom = np.sqrt(square_avg, out=work)
        denom += eps
        direction = np.divide(grad, denom, out=work)
        if momentum > 0:
            buffer_block *= momentum
            buffer_block += direction
            direction = buffer_block
        param -= np.multiply(direction, lr, out=work)
    return state._replace(grad_avg=grad_avg, momentum_buffer=buffer)


# ---------------------------------------------------------------------------------------------
# Adadelta: RMSprop with the units fixed by a moving average of the updates
# ---------------------------------------------------------------------------------------------


def adadelta(param, grad, state, *, lr, rho, eps):
    square_avg = rho * state.square_avg + (1 - rho) * grad**2  # v_t
    delta = np.sqrt(state.acc_delta + eps) / np.sqrt(square_avg + eps) * grad  # Δ_t
    acc_delta = rho * state.acc_delta + (1 - rho) * delta**2  # u_t
    return param - lr * delta, state._replace(
        square_avg=square_avg, acc_delta=acc_delta
    )  # θ_t = θ_{t−1} − γ Δ_t


def _adadelta_fast(blocks, param, state, *, lr, rho, eps):
    for param, grad, square_avg, acc_delta, (work, spare) in blocks(
        state.square_avg, state.acc_delta
    ):
        square_avg *= rho
        square_avg += np.multiply(np.square(grad, out=work), 1 - rho, out=work)
        std = np.sqrt(np.add(square_avg, eps, out=work), out=work)
        delta = np.divide(grad, std, out=work)
        delta *= np.sqrt(np.add(acc_delta, eps, out=spare), out=spare)
        acc_delta *= rho
        acc_delta += np.multiply(np.square(delta, out=spare), 1 - rho, out=spare)
        param -= np.multiply(delta, lr, out=work)
    return state


# ---------------------------------------------------------------------------------------------
# Adam and AdamW: momentum and RMSprop, with bias correction
# ---------------------------------------------------------------------------------------------


def adam(param, grad, state, *, lr, betas, eps, amsgrad):
    beta1, beta2 = betas
    step = state.step + 1
    exp_avg = beta1 * state.exp_avg + (1 - beta1) * grad  # m_t
    exp_avg_sq = beta2 * state.exp_avg_sq + (1 - beta2) * grad**2  # v_t
    max_exp_avg_sq = state.max_exp_avg_sq
    if amsgrad:
        max_exp_avg_sq = np.maximum(_zeros_if_missing(max_exp_avg_sq, param), exp_avg_sq)
    m_hat = exp_avg / (1 - beta1**step)  # m̂_t = m_t / (1 − β₁ᵗ)
    v_hat = (max_exp_avg_sq if amsgrad else exp_avg_sq) / (1 - beta2**step)  # v̂_t
    param = param - lr * m_hat / (np.sqrt(v_hat) + eps)  # θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)
    return param, state._replace(
        step=step, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, max_exp_avg_sq=max_exp_avg_sq
    )


adamw = adam  # the same kernel; the description of AdamW decouples the decay


def _adam_fast(blocks, param, state, *, lr, betas, eps, amsgrad):
    beta1, beta2 = betas
    step = state.step + 1
    max_exp_avg_sq = _zeros_if_missing(state.max_exp_avg_sq, param) if amsgrad else None
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    step_size = lr / (1 - beta1**step)
    for param, grad, exp_avg, exp_avg_sq, max_block, (work, _) in blocks(
        state.exp_avg, state.exp_avg_sq, max_exp_avg_sq
    ):
        exp_avg *= beta1
        exp_avg += np.multiply(grad, 1 - beta1, out=work)
        exp_avg_sq *= beta2
        exp_avg_sq += np.multiply(np.square(grad, out=work), 1 - beta2, out=work)
        if amsgrad:
            exp_avg_sq = np.maximum(max_block, exp_avg_sq, out=max_block)
        denom = np.sqrt(exp_avg_sq, out=work)
        denom /= bias_correction2_sqrt
        denom += eps
        param -= np.multiply(np.divide(exp_avg, denom, out=work), step_size, out=work)
    return state._replace(step=step, max_exp_avg_sq=max_exp_avg_sq)


# ---------------------------------------------------------------------------------------------
# NAdam: Adam with Nesterov momentum
# ---------------------------------------------------------------------------------------------


def nadam(param, grad, state, *, lr, betas, eps, momentum_decay):
    beta1, beta2 = betas
    step = state.step + 1
    mu = specs.nadam_momentum(beta1, momentum_decay, step)  # μ_t
    mu_next = specs.nadam_momentum(beta1, momentum_decay, step + 1)  # μ_{t+1}
    mu_product = state.mu_product * mu  # Π_t = Π_{t−1} μ_t
    exp_avg = beta1 * state.exp_avg + (1 - beta1) * grad  # m_t
    exp_avg_sq = beta2 * state.exp_avg_sq + (1 - beta2) * grad**2  # v_t
    # m̂_t = μ_{t+1} m_t / (1 − Π_t μ_{t+1}) + (1 − μ_t) g_t / (1 − Π_t)
    m_hat = mu_next * exp_avg / (1 - mu_product * mu_next) + (1 - mu) * grad / (1 - mu_product)
    v_hat = exp_avg_sq / (1 - beta2**step)  # v̂_t = v_t / (1 − β₂ᵗ)
    param = param - lr * m_hat / (np.sqrt(v_hat) + eps)
    return param, state._replace(
        step=step, mu_product=mu_product, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq
    )


def _nadam_fast(blocks, param, state, *, lr, betas, eps, momentum_decay):
    beta1, beta2 = betas
    step = state.step + 1
    mu = specs.nadam_momentum(beta1, momentum_decay, step)
    mu_next = specs.nadam_momentum(beta1, momentum_decay, step + 1)
    mu_product = state.mu_product * mu
    grad_step_size = lr * (1 - mu) / (1 - mu_product)
    exp_avg_step_size = lr * mu_next / (1 - mu_product * mu_next)
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    for param, grad, exp_avg, exp_avg_sq, (work, spare) in blocks(state.exp_avg, state.exp_avg_sq):
        exp_avg *= beta1
        exp_avg += np.multiply(grad, 1 - beta1, out=work)
        exp_avg_sq *= beta2
        exp_avg_sq += np.multiply(np.square(grad, out=work), 1 - beta2, out=work)
        denom = np.sqrt(exp_avg_sq, out=work)
        denom /= bias_correction2_sqrt
        denom += eps
        # one term of m̂_t at a time
        param -= np.multiply(np.divide(grad, denom, out=spare), grad_step_size, out=spare)
        param -= np.multiply(np.divide(exp_avg, denom, out=spare), exp_avg_step_size, out=spare)
    return state._replace(step=step, mu_product=mu_product)


# ---------------------------------------------------------------------------------------------
# Lion: the sign of an interpolated momentum
# ---------------------------------------------------------------------------------------------


def lion(param, grad, state, *, lr, betas):
    beta1, beta2 = betas
    update = np.sign(beta1 * state.exp_avg + (1 - beta1) * grad)  # sign(c_t)
    exp_avg = beta2 * state.exp_avg + (1 - beta2) * grad  # m_t = β₂ m_{t−1} + (1 − β₂) g_t
    return param - lr * update, state._replace(exp_avg=exp_avg)  # θ_t = θ_{t−1} − γ sign(c_t)


def _lion_fast(blocks, param, state, *, lr, betas):
    beta1, beta2 = betas
    for param, grad, exp_avg, (work, spare) in blocks(state.exp_avg):
        update = np.multiply(exp_avg, beta1, out=work)
        update += np.multiply(grad, 1 - beta1, out=spare)
        np.sign(update, out=update)
        param -= np.multiply(update, lr, out=work)
        exp_avg *= beta2
        exp_avg += np.multiply(grad, 1 - beta2, out=spare)
    return state


# ---------------------------------------------------------------------------------------------
# Adafactor: the second moment of a matrix kept as its row and column means
# ---------------------------------------------------------------------------------------------


def _rms(array) -> float:
    """RMS(a) = √mean(a²), as a Python float."""
    array = np.asarray(array)
    return math.sqrt(float(np.vdot(array, array)) / array.size)


def _adafactor_scalars(param, step, *, lr, beta2_decay, eps, weight_decay):
    """(1 − β̂₂,t, α_t, ε₁) at step t; ``param`` has been decayed to θ_{t−1}(1 − γλ)."""
    eps1, eps2 = eps
    if eps1 is None:
        eps1 = float(np.finfo(param.dtype).eps)
    one_minus_beta2 = step**beta2_decay  # 1 − β̂₂,t = tᶜ
    rho = min(lr, 1 / math.sqrt(step))  # ρ_t = min(γ, 1/√t)
    param_rms = _rms(param) / (1 - lr * weight_decay)  # RMS(θ_{t−1}), before the decay
    return one_minus_beta2, max(eps2, param_rms) * rho, eps1  # α_t = max(ε₂, RMS(θ)) ρ_t


def adafactor(param, grad, state, *, lr, beta2_decay, eps, d, weight_decay):
    step = state.step + 1
    one_minus_beta2, alpha, eps1 = _adafactor_scalars(
        param, step, lr=lr, beta2_decay=beta2_decay, eps=eps, weight_decay=weight_decay
    )
    row_var, col_var, variance = state.row_var, state.col_var, state.variance
    if param.ndim >= 2:
        # R_t = β̂₂,t R_{t−1} + (1 − β̂₂,t) mean_cols(g²), and C_t over the rows
        row_var = (1 - one_minus_beta2) * row_var + one_minus_beta2 * np.mean(
            grad**2, axis=-1, keepdims=True
        )
        col_var = (1 - one_minus_beta2) * col_var + one_minus_beta2 * np.mean(
            grad**2, axis=-2, keepdims=True
        )
        # V̂_t = R_t C_t / max(mean_rows(R_t), ε₁)
        var_estimate = row_var * col_var / np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        variance = (1 - one_minus_beta2) * variance + one_minus_beta2 * grad**2  # V̂_t
        var_estimate = variance
    update = grad / np.sqrt(np.maximum(var_estimate, eps1 * eps1))  # U_t = g / √max(V̂, ε₁²)
    update = update / max(1.0, _rms(update) / d)  # Û_t = U_t / max(1, RMS(U_t)/d)
    return param - alpha * update, state._replace(  # θ_t = θ_{t−1} − α_t Û_t
        step=step, row_var=row_var, col_var=col_var, variance=variance
    )


def _adafactor_fast(param, grad, state, *, lr, beta2_decay, eps, d, weight_decay):
    """Whole arrays: the row and column means need every number of a row or a column."""
    step = state.step + 1
    one_minus_beta2, alpha, eps1 = _adafactor_scalars(
        param, step, lr=lr, beta2_decay=beta2_decay, eps=eps, weight_decay=weight_decay
    )
    if param.ndim >= 2:
        rows, cols = param.shape[-2:]
        # mean(g²) along one axis without a g²-sized temporary
        row_mean = np.einsum("...j,...j->...", grad, grad)[..., None] / cols
        col_mean = np.einsum("...ij,...ij->...j", grad, grad)[..., None, :] / rows
        for buffer, mean in ((state.row_var, row_mean), (state.col_var, col_mean)):
            buffer *= 1 - one_minus_beta2
            buffer += one_minus_beta2 * mean
        update = np.multiply(state.row_var, state.col_var)  # the one param-sized temporary
        update /= np.maximum(state.row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        variance = state.variance
        variance *= 1 - one_minus_beta2
        variance += one_minus_beta2 * np.square(grad)
        update = np.array(variance, copy=True)
    np.maximum(update, eps1 * eps1, out=update)
    np.sqrt(update, out=update)
    np.divide(grad, update, out=update)
    update *= alpha / max(1.0, _rms(update) / d)
    param -= update
    return state._replace(step=step)


# ---------------------------------------------------------------------------------------------
# Muon: momentum orthogonalised by a Newton–Schulz iteration
# ---------------------------------------------------------------------------------------------


def newton_schulz(matrix, steps=5, coefficients=(3.4445, -4.775, 2.0315), eps=1e-7):
    """NS_k(M): a matrix with M's singular vectors and singular values pushed towards 1.

    X_0 = M / max(‖M‖_F, ε), then X_j = a X_{j−1} + (b G + c G²) X_{j−1} with
    G = X_{j−1} X_{j−1}ᵀ, on the wide orientation of M (transposed while rows > columns, so
    that G is the smaller Gram matrix). Computed in M's dtype (torch.optim.Muon: bfloat16).
    """
    a, b, c = coefficients
    x = _as_float_array(matrix)
    if x.ndim != 2:
        raise ValueError(f"newton_schulz needs a 2-D matrix, got shape {x.shape}")
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / max(float(np.linalg.norm(x)), eps)  # X_0 = M / max(‖M‖_F, ε): ‖X_0‖₂ ≤ 1
    for _ in range(steps):
        gram = x @ x.T  # G = X Xᵀ
        x = a * x + (b * gram + c * gram @ gram) @ x  # X ← a X + (b G + c G²) X
    return x.T if tall else x


def muon(param, grad, state, *, lr, momentum, nesterov, ns_coefficients, eps, ns_steps,
         adjust_lr_fn):  # fmt: skip
    buffer = momentum * state.momentum_buffer + (1 - momentum) * grad  # B_t
    update = (1 - momentum) * grad + momentum * buffer if nesterov else buffer  # B̃_t
    orthogonal = newton_schulz(update, ns_steps, ns_coefficients, eps)  # O_t = NS_k(B̃_t)
    adjusted_lr = specs.muon_lr(lr, adjust_lr_fn, param.shape)  # γ̃
    return param - adjusted_lr * orthogonal, state._replace(momentum_buffer=buffer)


def _muon_fast(param, grad, state, *, lr, momentum, nesterov, ns_coefficients, eps, ns_steps,
               adjust_lr_fn):  # fmt: skip
    """Whole arrays: Newton–Schulz multiplies matrices."""
    buffer = state.momentum_buffer
    buffer *= momentum
    buffer += (1 - momentum) * grad
    update = np.multiply(grad, 1 - momentum)
    update = np.add(update, np.multiply(buffer, momentum), out=update) if nesterov else buffer
    orthogonal = newton_schulz(update, ns_steps, ns_coefficients, eps)
    orthogonal *= specs.muon_lr(lr, adjust_lr_fn, param.shape)
    param -= orthogonal
    return state


# ---------------------------------------------------------------------------------------------
# Schedule-free AdamW: steps on z, an average x, gradients at their interpolation y
# ---------------------------------------------------------------------------------------------


def _schedule_free_scalars(state, *, lr, warmup_steps, r, weight_lr_power):
    """(t, γ_t, γ_max, S_t, c_t) at the next step (:func:`spec.schedule_free_weights`)."""
    step = state.step + 1
    weights = specs.schedule_free_weights(
        step, lr, state.lr_max, state.weight_sum, warmup_steps, r, weight_lr_power
    )
    return step, *weights


def schedulefreeadamw(param, grad, state, *, lr, betas, eps, weight_decay, warmup_steps, r,
                      weight_lr_power):  # fmt: skip
    beta1, beta2 = betas
    step, scheduled_lr, lr_max, weight_sum, c = _schedule_free_scalars(
        state, lr=lr, warmup_steps=warmup_steps, r=r, weight_lr_power=weight_lr_power
    )
    exp_avg_sq = beta2 * state.exp_avg_sq + (1 - beta2) * grad**2  # v_t
    denom = np.sqrt(exp_avg_sq / (1 - beta2**step)) + eps  # √v̂_t + ε
    # z_t = z_{t−1} − γ_t λ y_{t−1} − γ_t g_t / (√v̂_t + ε); param is y_{t−1}
    z = state.z - scheduled_lr * weight_decay * param - scheduled_lr * grad / denom
    x = (1 - c) * state.x + c * z  # x_t = (1 − c_t) x_{t−1} + c_t z_t
    param = (1 - beta1) * z + beta1 * x  # θ_t = y_t
    return param, state._replace(
        step=step, z=z, x=x, exp_avg_sq=exp_avg_sq, lr_max=lr_max, weight_sum=weight_sum
    )


def _schedule_free_fast(blocks, param, state, *, lr, betas, eps, weight_decay, warmup_steps, r,
                        weight_lr_power):  # fmt: skip
    beta1, beta2 = betas
    step, scheduled_lr, lr_max, weight_sum, c = _schedule_free_scalars(
        state, lr=lr, warmup_steps=warmup_steps, r=r, weight_lr_power=weight_lr_power
    )
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    for y, grad, z, x, exp_avg_sq, (work, spare) in blocks(state.z, state.x, state.exp_avg_sq):
        exp_avg_sq *= beta2
        exp_avg_sq += np.multiply(np.square(grad, out=work), 1 - beta2, out=work)
        denom = np.sqrt(exp_avg_sq, out=work)
        denom /= bias_correction2_sqrt
        denom += eps
        if weight_decay:
            z -= np.multiply(y, scheduled_lr * weight_decay, out=spare)
        z -= np.multiply(np.divide(grad, denom, out=work), scheduled_lr, out=work)
        x *= 1 - c
        x += np.multiply(z, c, out=work)
        np.multiply(x, beta1, out=y)
        y += np.multiply(z, 1 - beta1, out=work)
    return state._replace(step=step, lr_max=lr_max, weight_sum=weight_sum)


# ---------------------------------------------------------------------------------------------
# Each description joined to its two forms
# ---------------------------------------------------------------------------------------------

STATE_TYPES: dict[str, type] = {name: state_type(spec) for name, spec in specs.SPECS.items()}
"""The named tuple of each optimizer's state, by class name (``STATE_TYPES["Adam"]``)."""

sgd_step = _reading_step(specs.SGD, sgd)
adagrad_step = _reading_step(specs.ADAGRAD, adagrad)
rmsprop_step = _reading_step(specs.RMSPROP, rmsprop)
adadelta_step = _reading_step(specs.ADADELTA, adadelta)
adam_step = _reading_step(specs.ADAM, adam)
adamw_step = _reading_step(specs.ADAMW, adamw)
nadam_step = _reading_step(specs.NADAM, nadam)
lion_step = _reading_step(specs.LION, lion)
adafactor_step = _reading_step(specs.ADAFACTOR, adafactor)
muon_step = _reading_step(specs.MUON, muon)
schedulefreeadamw_step = _reading_step(specs.SCHEDULE_FREE_ADAMW, schedulefreeadamw)


class SGD(Optimizer):
    spec, fast = specs.SGD, _sgd_fast


class Adagrad(Optimizer):
    spec, fast = specs.ADAGRAD, _adagrad_fast


class RMSprop(Optimizer):
    spec, fast = specs.RMSPROP, _rmsprop_fast


class Adadelta(Optimizer):
    spec, fast = specs.ADADELTA, _adadelta_fast


class Adam(Optimizer):
    spec, fast = specs.ADAM, _adam_fast


class AdamW(Optimizer):
    spec, fast = specs.ADAMW, _adam_fast


class NAdam(Optimizer):
    spec, fast = specs.NADAM, _nadam_fast


class Lion(Optimizer):
    spec, fast = specs.LION, _lion_fast


class Adafactor(Optimizer):
    spec, fast, blocked = specs.ADAFACTOR, _adafactor_fast, False

    def state_bytes(self) -> int:
        """Bytes of state kept for the parameters (R_t and C_t: m + n numbers per matrix)."""
        return sum(
            value.nbytes for state in self.state for value in state if isinstance(value, np.ndarray)
        )


class Muon(Optimizer):
    spec, fast, blocked = specs.MUON, _muon_fast, False


class ScheduleFreeAdamW(Optimizer):
    spec, fast = specs.SCHEDULE_FREE_ADAMW, _schedule_free_fast


STEP_FUNCTIONS: dict[str, Callable] = {
    name: globals()[name.lower() + "_step"] for name in specs.SPECS
}
"""The reading form of each optimizer, by class name."""
