"""SGD, Adagrad, RMSprop, Adam and AdamW as ``torch.optim.Optimizer`` subclasses.

They take the same arguments as :mod:`torch.optim` and :mod:`utils.optim.numpy`, follow the same
formulas (see the step functions of :mod:`utils.optim.numpy` for the math), and work wherever
``torch.optim`` does: parameter groups, ``state_dict()``, closures, schedulers, and a GPU::

    optimizer = Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

Each step updates a whole parameter group at once with ``torch._foreach_*`` operations — one
call updates every tensor of a list — as ``torch.optim`` does by default on a GPU
(``foreach=True``): the many small kernels of a step are then not launched one tensor at a time.
"""

from __future__ import annotations

import math

import torch

from utils.optim._validation import check_adagrad, check_adam, check_rmsprop, check_sgd

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]


def _state_buffers(params, states, name, fill=0.0):
    """The tensors ``state[name]`` of each parameter, filled with ``fill`` on first use."""
    for param, state in zip(params, states, strict=True):
        if name not in state:
            state[name] = torch.full_like(param, fill, memory_format=torch.preserve_format)
    return [state[name] for state in states]


def _count_steps(states) -> list[int]:
    """Increment and return each parameter's step counter t (1 at its first step)."""
    for state in states:
        state["step"] = state.get("step", 0) + 1
    return [state["step"] for state in states]


class _Optimizer(torch.optim.Optimizer):
    """Runs ``_update(group, params, grads, states)`` on the parameters that have a gradient."""

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step; ``closure``, if given, re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                grads = [p.grad for p in params]
                self._update(group, params, grads, [self.state[p] for p in params])
        return loss


class SGD(_Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    The math is in :func:`utils.optim.numpy.sgd_step`.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        check_sgd(lr, momentum, dampening, weight_decay, nesterov)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _update(self, group, params, grads, states):
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            grads = torch._foreach_add(grads, params, alpha=weight_decay)  # g ← g + λθ
        if momentum != 0:
            buffers, old_buffers, old_grads = [], [], []
            for grad, state in zip(grads, states, strict=True):
                if "momentum_buffer" in state:
                    old_buffers.append(state["momentum_buffer"])
                    old_grads.append(grad)
                else:
                    state["momentum_buffer"] = torch.clone(grad).detach()  # b_1 = g_1
                buffers.append(state["momentum_buffer"])
            if old_buffers:
                torch._foreach_mul_(old_buffers, momentum)  # b_t = μ b_{t−1} + (1 − τ) g_t
                torch._foreach_add_(old_buffers, old_grads, alpha=1 - group["dampening"])
            if group["nesterov"]:
                grads = torch._foreach_add(grads, buffers, alpha=momentum)  # g_t + μ b_t
            else:
                grads = buffers
        torch._foreach_add_(params, grads, alpha=-lr)  # θ_t = θ_{t−1} − γ g_t


class Adagrad(_Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``; the math: :func:`utils.optim.numpy.adagrad_step`."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        check_adagrad(lr, lr_decay, weight_decay, eps, initial_accumulator_value)
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def _update(self, group, params, grads, states):
        steps = _count_steps(states)
        sums = _state_buffers(params, states, "sum", fill=group["initial_accumulator_value"])
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])  # g ← g + λθ
        # −γ̃_t = −γ / (1 + (t − 1) η)
        minus_clr = [-group["lr"] / (1 + (step - 1) * group["lr_decay"]) for step in steps]
        torch._foreach_addcmul_(sums, grads, grads)  # s_t = s_{t−1} + g_t²
        std = torch._foreach_sqrt(sums)
        torch._foreach_add_(std, group["eps"])  # √s_t + ε
        torch._foreach_addcdiv_(params, grads, std, minus_clr)  # θ_t = θ_{t−1} − γ̃_t g_t / std


class RMSprop(_Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``; the math: :func:`utils.optim.numpy.rmsprop_step`."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        check_rmsprop(lr, alpha, eps, weight_decay, momentum)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _update(self, group, params, grads, states):
        alpha, momentum = group["alpha"], group["momentum"]
        square_avgs = _state_buffers(params, states, "square_avg")
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])  # g ← g + λθ
        torch._foreach_mul_(square_avgs, alpha)  # v_t = α v_{t−1} + (1 − α) g_t²
        torch._foreach_addcmul_(square_avgs, grads, grads, 1 - alpha)
        if group["centered"]:
            grad_avgs = _state_buffers(params, states, "grad_avg")
            torch._foreach_lerp_(grad_avgs, grads, 1 - alpha)  # ḡ_t = α ḡ_{t−1} + (1 − α) g_t
            avg = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1)  # v − ḡ²
            torch._foreach_sqrt_(avg)
        else:
            avg = torch._foreach_sqrt(square_avgs)
        torch._foreach_add_(avg, group["eps"])  # √ṽ_t + ε
        if momentum > 0:
            buffers = _state_buffers(params, states, "momentum_buffer")
            torch._foreach_mul_(buffers, momentum)  # b_t = μ b_{t−1} + g_t / (√ṽ_t + ε)
            torch._foreach_addcdiv_(buffers, grads, avg)
            torch._foreach_add_(params, buffers, alpha=-group["lr"])  # θ_t = θ_{t−1} − γ b_t
        else:
            torch._foreach_addcdiv_(params, grads, avg, value=-group["lr"])


class Adam(_Optimizer):
    """Adam, optionally AMSGrad, as ``torch.optim.Adam``.

    The math is in :func:`utils.optim.numpy.adam_step`.
    """

    _decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        check_adam(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _update(self, group, params, grads, states):
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        steps = _count_steps(states)
        exp_avgs = _state_buffers(params, states, "exp_avg")
        exp_avg_sqs = _state_buffers(params, states, "exp_avg_sq")
        if weight_decay != 0:
            if self._decoupled_weight_decay:
                torch._foreach_mul_(params, 1 - lr * weight_decay)  # θ ← θ (1 − γλ)
            else:
                grads = torch._foreach_add(grads, params, alpha=weight_decay)  # g ← g + λθ
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)  # m_t = β₁ m_{t−1} + (1 − β₁) g_t
        torch._foreach_mul_(exp_avg_sqs, beta2)  # v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        if group["amsgrad"]:
            max_exp_avg_sqs = _state_buffers(params, states, "max_exp_avg_sq")
            torch._foreach_maximum_(max_exp_avg_sqs, exp_avg_sqs)  # v_max = max(v_max, v_t)
            exp_avg_sqs = max_exp_avg_sqs
        bias_correction2_sqrt = [math.sqrt(1 - beta2**step) for step in steps]
        minus_step_size = [-lr / (1 - beta1**step) for step in steps]  # −γ / (1 − β₁ᵗ)
        denom = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denom, bias_correction2_sqrt)  # √v̂_t = √v_t / √(1 − β₂ᵗ)
        torch._foreach_add_(denom, group["eps"])
        torch._foreach_addcdiv_(params, exp_avgs, denom, minus_step_size)  # θ −= γ m̂ / (√v̂ + ε)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW`` (default λ = 0.01).

    The math is in :func:`utils.optim.numpy.adamw_step`.
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
