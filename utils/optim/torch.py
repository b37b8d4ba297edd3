"""SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW and NAdam as ``torch.optim.Optimizer`` subclasses.

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

Scalar state is kept as Python numbers: the step counter t, and NAdam's product of momentum
coefficients Π_t, which ``torch.optim.NAdam`` keeps in a tensor of torch's default dtype (float32
unless changed; see :func:`utils.optim.numpy.nadam_step`).
"""

from __future__ import annotations

import math

import torch

from utils.optim._validation import (
    check_adadelta,
    check_adagrad,
    check_adam,
    check_nadam,
    check_rmsprop,
    check_sgd,
)

__all__ = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam"]


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


class Adadelta(_Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``; the math: :func:`utils.optim.numpy.adadelta_step`."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0):
        check_adadelta(lr, rho, eps, weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _update(self, group, params, grads, states):
        rho, eps = group["rho"], group["eps"]
        square_avgs = _state_buffers(params, states, "square_avg")
        acc_deltas = _state_buffers(params, states, "acc_delta")
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])  # g ← g + λθ
        torch._foreach_mul_(square_avgs, rho)  # v_t = ρ v_{t−1} + (1 − ρ) g_t²
        torch._foreach_addcmul_(square_avgs, grads, grads, 1 - rho)
        std = torch._foreach_add(square_avgs, eps)
        torch._foreach_sqrt_(std)  # √(v_t + ε)
        deltas = torch._foreach_add(acc_deltas, eps)
        torch._foreach_sqrt_(deltas)  # √(u_{t−1} + ε)
        torch._foreach_div_(deltas, std)
        torch._foreach_mul_(deltas, grads)  # Δ_t = √(u_{t−1} + ε) / √(v_t + ε) · g_t
        torch._foreach_mul_(acc_deltas, rho)  # u_t = ρ u_{t−1} + (1 − ρ) Δ_t²
        torch._foreach_addcmul_(acc_deltas, deltas, deltas, 1 - rho)
        torch._foreach_add_(params, deltas, alpha=-group["lr"])  # θ_t = θ_{t−1} − γ Δ_t


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


class NAdam(_Optimizer):
    """NAdam (Adam with Nesterov momentum), as ``torch.optim.NAdam``.

    The math is in :func:`utils.optim.numpy.nadam_step`. Π_t is a Python float here, so this
    equals ``torch.optim.NAdam`` to 1e-10 in float64 when torch's default dtype is float64, and to
    about 1e-8 when it is float32 (torch then rounds Π_t to float32).
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False):
        check_nadam(lr, betas, eps, weight_decay, momentum_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, group, params, grads, states):
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        psi = group["momentum_decay"]
        steps = _count_steps(states)
        exp_avgs = _state_buffers(params, states, "exp_avg")
        exp_avg_sqs = _state_buffers(params, states, "exp_avg_sq")
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                torch._foreach_mul_(params, 1 - lr * weight_decay)  # θ ← θ (1 − γλ)
            else:
                grads = torch._foreach_add(grads, params, alpha=weight_decay)  # g ← g + λθ
        mus = [beta1 * (1 - 0.5 * 0.96 ** (step * psi)) for step in steps]  # μ_t
        mu_nexts = [beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * psi)) for step in steps]  # μ_{t+1}
        for state, mu in zip(states, mus, strict=True):
            state["mu_product"] = state.get("mu_product", 1.0) * mu  # Π_t = Π_{t−1} μ_t
        mu_products = [state["mu_product"] for state in states]
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)  # m_t = β₁ m_{t−1} + (1 − β₁) g_t
        torch._foreach_mul_(exp_avg_sqs, beta2)  # v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        bias_correction2_sqrt = [math.sqrt(1 - beta2**step) for step in steps]
        denom = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denom, bias_correction2_sqrt)  # √v̂_t = √v_t / √(1 − β₂ᵗ)
        torch._foreach_add_(denom, group["eps"])
        # θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε), one term of m̂_t at a time:
        # −γ (1 − μ_t) / (1 − Π_t) · g_t / (√v̂_t + ε)
        minus_grad_step_sizes = [
            -lr * (1 - mu) / (1 - mu_product)
            for mu, mu_product in zip(mus, mu_products, strict=True)
        ]
        torch._foreach_addcdiv_(params, grads, denom, minus_grad_step_sizes)
        # −γ μ_{t+1} / (1 − Π_{t+1}) · m_t / (√v̂_t + ε), with Π_{t+1} = Π_t μ_{t+1}
        minus_exp_avg_step_sizes = [
            -lr * mu_next / (1 - mu_product * mu_next)
            for mu_next, mu_product in zip(mu_nexts, mu_products, strict=True)
        ]
        torch._foreach_addcdiv_(params, exp_avgs, denom, minus_exp_avg_step_sizes)
