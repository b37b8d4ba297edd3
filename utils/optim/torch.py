"""SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, NAdam, Lion, Adafactor, Muon and schedule-free
AdamW as ``torch.optim`` optimizers.

Same arguments and formulas as :mod:`torch.optim` and :mod:`utils.optim.numpy` (each class's
docstring shows the algorithm, from :mod:`utils.optim.spec`), and they work wherever
``torch.optim`` does: parameter groups, ``state_dict()``, closures, schedulers, and a GPU::

    optimizer = Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

Each kernel updates a whole parameter group at once with ``torch._foreach_*`` operations — one
call updates every tensor of a list — as ``torch.optim`` does by default on a GPU
(``foreach=True``); Adafactor and Muon, whose row means and matrix products differ per tensor,
loop over the tensors. Weight decay is applied by :class:`Optimizer` before the kernel runs, once
for every optimizer. Scalar state (the step counter t, NAdam's Π_t) is kept as Python numbers,
except Adam's and AdamW's t: a 0-dim tensor, so that ``torch.compile`` compiles their step once::

    @torch.compile(fullgraph=False)
    def step():
        optimizer.step()
"""

from __future__ import annotations

import inspect
import math
from typing import ClassVar

import torch

from utils.optim import spec as specs
from utils.optim.spec import OptimizerSpec

__all__ = ["Optimizer", *specs.SPECS, "shipped_step_times"]


class Optimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` built from a description (``spec``) and a foreach ``kernel``.

    ``step()`` collects the parameters of each group that have a gradient, applies the weight
    decay that the description names, and calls ``kernel(group, params, grads, states)``.
    """

    spec: ClassVar[OptimizerSpec]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        spec = cls.spec
        own = cls.__dict__.get("__doc__") or ""  # what a subclass adds (ScheduleFreeAdamW)
        cls.__doc__ = spec.docstring("A ``torch.optim.Optimizer`` with foreach kernels. " + own)
        parameters = [inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        parameters += [
            inspect.Parameter(h.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=h.default)
            for h in spec.hyperparameters
        ]
        cls.__signature__ = inspect.Signature(parameters)

    def __init__(self, params, *args, **kwargs):
        super().__init__(params, self.spec.bind(args, kwargs))
        for group in self.param_groups:
            for param in group["params"]:
                self.spec.check_param_shape(tuple(param.shape))

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step; ``closure``, if given, re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            kind = self.spec.decay_kind(group)
            if kind == "l2":  # g ← g + λθ
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            elif kind == "decoupled":  # θ ← θ(1 − γλ)
                torch._foreach_mul_(params, 1 - group["lr"] * group["weight_decay"])
            self.kernel(group, params, grads, [self.state[p] for p in params])
        return loss

    def buffers(self, params, states, name: str, group) -> list[torch.Tensor]:
        """The tensors ``state[name]``, created at their described initial value (and shape) on
        first use; ``None`` for a parameter whose shape has no such field."""
        field = next(f for f in self.spec.state if f.name == name)
        initial = group[field.initial] if isinstance(field.initial, str) else field.initial
        for param, state in zip(params, states, strict=True):
            if name in state:
                continue
            shape = field.shape_for(tuple(param.shape))
            if shape is None:
                continue
            if field.starts_at_param:
                state[name] = param.detach().clone(memory_format=torch.preserve_format)
            elif shape == tuple(param.shape):
                state[name] = torch.full_like(param, initial, memory_format=torch.preserve_format)
            else:
                state[name] = param.new_full(shape, initial)
        return [state.get(name) for state in states]

    @staticmethod
    def count_steps(states) -> list[int]:
        """Increment and return each parameter's step counter t (1 at its first step)."""
        for state in states:
            state["step"] = state.get("step", 0) + 1
        return [state["step"] for state in states]

    @staticmethod
    def count_steps_in_tensors(states) -> list[torch.Tensor]:
        """:meth:`count_steps` with t in 0-dim float64 tensors on the CPU. ``torch.compile``
        bakes a Python number into the compiled code and compiles again whenever it changes
        (every step, until it gives up after 8 and runs eagerly); a tensor is an input of one
        compiled step. float64, as Python's floats, so the bias corrections stay within an ulp
        of float64 of what Python numbers give."""
        for state in states:
            if "step" not in state:
                state["step"] = torch.zeros((), dtype=torch.float64)
        steps = [state["step"] for state in states]
        torch._foreach_add_(steps, 1)
        return steps

    def kernel(self, group, params, grads, states) -> None:
        raise NotImplementedError


def _update_moments(exp_avgs, exp_avg_sqs, grads, beta1, beta2) -> None:
    """m_t = β₁ m_{t−1} + (1 − β₁) g_t and v_t = β₂ v_{t−1} + (1 − β₂) g_t², in place."""
    torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)


def _bias_corrected_denominators(exp_avg_sqs, bias_correction2_sqrts, eps) -> list[torch.Tensor]:
    """√v̂_t + ε, with √v̂_t = √v_t / √(1 − β₂ᵗ); one √(1 − β₂ᵗ) per tensor, numbers or 0-dim
    tensors."""
    denom = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_div_(denom, bias_correction2_sqrts)
    torch._foreach_add_(denom, eps)
    return denom


class SGD(Optimizer):
    spec = specs.SGD

    def kernel(self, group, params, grads, states):
        momentum = group["momentum"]
        if momentum != 0:
            buffers, old_buffers, old_grads = [], [], []
            for grad, state in zip(grads, states, strict=True):
                if "momentum_buffer" in state:
                    old_buffers.append(state["momentum_buffer"])
                    old_grads.append(grad)
                else:
                    state["momentum_buffer"] = torch.clone(grad).detach()  # b_1 = g_1
                buffers.append(state["momentum_buffer"])
            if old_buffers:  # b_t = μ b_{t−1} + (1 − τ) g_t
                torch._foreach_mul_(old_buffers, momentum)
                torch._foreach_add_(old_buffers, old_grads, alpha=1 - group["dampening"])
            if group["nesterov"]:
                grads = torch._foreach_add(grads, buffers, alpha=momentum)  # g_t + μ b_t
            else:
                grads = buffers
        torch._foreach_add_(params, grads, alpha=-group["lr"])  # θ_t = θ_{t−1} − γ g_t


class Adagrad(Optimizer):
    spec = specs.ADAGRAD

    def kernel(self, group, params, grads, states):
        steps = self.count_steps(states)
        sums = self.buffers(params, states, "sum", group)
        # −γ̃_t = −γ / (1 + (t − 1) η)
        minus_clr = [-group["lr"] / (1 + (step - 1) * group["lr_decay"]) for step in steps]
        torch._foreach_addcmul_(sums, grads, grads)  # s_t = s_{t−1} + g_t²
        std = torch._foreach_sqrt(sums)
        torch._foreach_add_(std, group["eps"])  # √s_t + ε
        torch._foreach_addcdiv_(params, grads, std, minus_clr)  # θ_t = θ_{t−1} − γ̃_t g_t / std


class RMSprop(Optimizer):
    spec = specs.RMSPROP

    def kernel(self, group, params, grads, states):
        alpha, momentum = group["alpha"], group["momentum"]
        square_avgs = self.buffers(params, states, "square_avg", group)
        torch._foreach_mul_(square_avgs, alpha)  # v_t = α v_{t−1} + (1 − α) g_t²
        torch._foreach_addcmul_(square_avgs, grads, grads, 1 - alpha)
        if group["centered"]:
            grad_avgs = self.buffers(params, states, "grad_avg", group)
            torch._foreach_lerp_(grad_avgs, grads, 1 - alpha)  # ḡ_t = α ḡ_{t−1} + (1 − α) g_t
            avg = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1)  # v − ḡ²
            torch._foreach_sqrt_(avg)
        else:
            avg = torch._foreach_sqrt(square_avgs)
        torch._foreach_add_(avg, group["eps"])  # √ṽ_t + ε
        if momentum > 0:
            buffers = self.buffers(params, states, "momentum_buffer", group)
            torch._foreach_mul_(buffers, momentum)  # b_t = μ b_{t−1} + g_t / (√ṽ_t + ε)
            torch._foreach_addcdiv_(buffers, grads, avg)
            torch._foreach_add_(params, buffers, alpha=-group["lr"])  # θ_t = θ_{t−1} − γ b_t
        else:
            torch._foreach_addcdiv_(params, grads, avg, value=-group["lr"])


class Adadelta(Optimizer):
    spec = specs.ADADELTA

    def kernel(self, group, params, grads, states):
        rho, eps = group["rho"], group["eps"]
        square_avgs = self.buffers(params, states, "square_avg", group)
        acc_deltas = self.buffers(params, states, "acc_delta", group)
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


class Adam(Optimizer):
    spec = specs.ADAM

    def kernel(self, group, params, grads, states):
        lr, (beta1, beta2) = group["lr"], group["betas"]
        steps = self.count_steps_in_tensors(states)
        exp_avgs = self.buffers(params, states, "exp_avg", group)
        exp_avg_sqs = self.buffers(params, states, "exp_avg_sq", group)
        _update_moments(exp_avgs, exp_avg_sqs, grads, beta1, beta2)
        if group["amsgrad"]:
            max_exp_avg_sqs = self.buffers(params, states, "max_exp_avg_sq", group)
            torch._foreach_maximum_(max_exp_avg_sqs, exp_avg_sqs)  # v_max = max(v_max, v_t)
            exp_avg_sqs = max_exp_avg_sqs
        t = torch.stack(steps)  # one vector: a few operations for all tensors, not per tensor
        bias_correction2_sqrts = torch.sqrt(1 - beta2**t).unbind()  # √(1 − β₂ᵗ)
        denom = _bias_corrected_denominators(exp_avg_sqs, bias_correction2_sqrts, group["eps"])
        # The step size −γ / (1 − β₁ᵗ) divides the denominator: _foreach_addcdiv_ takes it as
        # Python numbers, which torch.compile bakes in, or a 1-D tensor, which it cannot trace.
        torch._foreach_div_(denom, torch.div(-lr, 1 - beta1**t).unbind())
        torch._foreach_addcdiv_(params, exp_avgs, denom)  # θ −= γ m̂ / (√v̂ + ε)


class AdamW(Adam):
    spec = specs.ADAMW


class NAdam(Optimizer):
    spec = specs.NADAM

    def kernel(self, group, params, grads, states):
        lr, (beta1, beta2), psi = group["lr"], group["betas"], group["momentum_decay"]
        steps = self.count_steps(states)
        exp_avgs = self.buffers(params, states, "exp_avg", group)
        exp_avg_sqs = self.buffers(params, states, "exp_avg_sq", group)
        mus = [specs.nadam_momentum(beta1, psi, step) for step in steps]  # μ_t
        mu_nexts = [specs.nadam_momentum(beta1, psi, step + 1) for step in steps]  # μ_{t+1}
        for state, mu in zip(states, mus, strict=True):
            state["mu_product"] = state.get("mu_product", 1.0) * mu  # Π_t = Π_{t−1} μ_t
        mu_products = [state["mu_product"] for state in states]
        _update_moments(exp_avgs, exp_avg_sqs, grads, beta1, beta2)
        bias_correction2_sqrts = [math.sqrt(1 - beta2**step) for step in steps]  # √(1 − β₂ᵗ)
        denom = _bias_corrected_denominators(exp_avg_sqs, bias_correction2_sqrts, group["eps"])
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


class Lion(Optimizer):
    spec = specs.LION

    def kernel(self, group, params, grads, states):
        beta1, beta2 = group["betas"]
        exp_avgs = self.buffers(params, states, "exp_avg", group)
        updates = torch._foreach_lerp(exp_avgs, grads, 1 - beta1)  # c_t = β₁ m + (1 − β₁) g
        torch._foreach_sign_(updates)
        torch._foreach_add_(params, updates, alpha=-group["lr"])  # θ_t = θ_{t−1} − γ sign(c_t)
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta2)  # m_t = β₂ m_{t−1} + (1 − β₂) g_t


class Adafactor(Optimizer):
    spec = specs.ADAFACTOR

    def kernel(self, group, params, grads, states):
        lr, decay, d = group["lr"], group["weight_decay"], group["d"]
        steps = self.count_steps(states)
        rows = self.buffers(params, states, "row_var", group)
        cols = self.buffers(params, states, "col_var", group)
        variances = self.buffers(params, states, "variance", group)
        for param, grad, step, row_var, col_var, variance in zip(
            params, grads, steps, rows, cols, variances, strict=True
        ):
            eps1, eps2 = group["eps"]
            if eps1 is None:
                eps1 = torch.finfo(param.dtype).eps
            one_minus_beta2 = step ** group["beta2_decay"]  # 1 − β̂₂,t = tᶜ
            rho = min(lr, 1 / math.sqrt(step))  # ρ_t = min(γ, 1/√t)
            # RMS(θ_{t−1}): the parameter has been decayed by (1 − γλ) already
            param_rms = param.norm().item() / math.sqrt(param.numel()) / (1 - lr * decay)
            alpha = max(eps2, param_rms) * rho  # α_t = max(ε₂, RMS(θ_{t−1})) ρ_t
            if grad.dim() >= 2:
                row_var.lerp_(grad.square().mean(dim=-1, keepdim=True), one_minus_beta2)  # R_t
                col_var.lerp_(grad.square().mean(dim=-2, keepdim=True), one_minus_beta2)  # C_t
                # V̂_t = R_t C_t / max(mean_rows(R_t), ε₁)
                var_estimate = row_var * col_var
                var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
            else:
                variance.lerp_(grad.square(), one_minus_beta2)  # V̂_t
                var_estimate = variance.clone()
            update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)  # U_t
            update_rms = update.norm().item() / math.sqrt(update.numel())
            # θ_t = θ_{t−1} − α_t U_t / max(1, RMS(U_t)/d)
            param.add_(update, alpha=-alpha / max(1.0, update_rms / d))


def _newton_schulz(matrix, steps: int, coefficients, eps: float) -> torch.Tensor:
    """NS_k(M) in M's dtype (torch.optim.Muon casts to bfloat16): see utils.optim.numpy."""
    a, b, c = coefficients
    tall = matrix.size(0) > matrix.size(1)
    x = matrix.T if tall else matrix
    x = x / x.norm().clamp(min=eps)  # X_0 = M / max(‖M‖_F, ε)
    for _ in range(steps):
        gram = x @ x.T  # G = X Xᵀ
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


class Muon(Optimizer):
    spec = specs.MUON

    def kernel(self, group, params, grads, states):
        momentum = group["momentum"]
        buffers = self.buffers(params, states, "momentum_buffer", group)
        torch._foreach_lerp_(buffers, grads, 1 - momentum)  # B_t = μ B_{t−1} + (1 − μ) g_t
        if group["nesterov"]:
            updates = torch._foreach_lerp(grads, buffers, momentum)  # (1 − μ) g_t + μ B_t
        else:
            updates = buffers
        for param, update in zip(params, updates, strict=True):
            orthogonal = _newton_schulz(
                update, group["ns_steps"], group["ns_coefficients"], group["eps"]
            )
            adjusted_lr = specs.muon_lr(group["lr"], group["adjust_lr_fn"], param.shape)
            param.add_(orthogonal, alpha=-adjusted_lr)  # θ_t = θ_{t−1} − γ̃ O_t


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW: the parameters hold y_t; :meth:`eval` puts the average x_t in them.

    As with the authors' ``schedulefree.AdamWScheduleFree``, call ``optimizer.eval()`` before
    evaluating or saving the model and ``optimizer.train()`` before training again.
    """

    spec = specs.SCHEDULE_FREE_ADAMW

    def __init__(self, params, *args, **kwargs):
        super().__init__(params, *args, **kwargs)
        self.training = True

    @torch.no_grad()
    def eval(self) -> None:
        """Set every parameter to its average x_t: the point to evaluate and to save."""
        if self.training:
            for group in self.param_groups:
                params = [p for p in group["params"] if "x" in self.state[p]]
                if params:
                    torch._foreach_copy_(params, [self.state[p]["x"] for p in params])
            self.training = False

    @torch.no_grad()
    def train(self) -> None:
        """Set every parameter back to y_t = (1 − β₁) z_t + β₁ x_t, where training goes on."""
        if not self.training:
            for group in self.param_groups:
                params = [p for p in group["params"] if "x" in self.state[p]]
                if params:
                    states = [self.state[p] for p in params]
                    self._interpolate(group, params, states)
            self.training = True

    @staticmethod
    def _interpolate(group, params, states) -> None:
        """θ ← z + β₁ (x − z) = (1 − β₁) z + β₁ x: the same operations in the step and in
        :meth:`train`, so that train() restores y_t exactly."""
        torch._foreach_copy_(params, [state["z"] for state in states])
        torch._foreach_lerp_(params, [state["x"] for state in states], group["betas"][0])

    @staticmethod
    def _scalars(group, state) -> tuple[int, float, float]:
        """Advance t, γ_max and S_t of one parameter; return (t, γ_t, c_t)."""
        step = state["step"] = state.get("step", 0) + 1
        lr, state["lr_max"], state["weight_sum"], c = specs.schedule_free_weights(
            step, group["lr"], state.get("lr_max", 0.0), state.get("weight_sum", 0.0),
            group["warmup_steps"], group["r"], group["weight_lr_power"],
        )  # fmt: skip
        return step, lr, c

    def kernel(self, group, params, grads, states):
        if not self.training:
            raise RuntimeError(
                "call optimizer.train() before optimizer.step() (it is in eval mode)"
            )
        beta2, eps, decay = group["betas"][1], group["eps"], group["weight_decay"]
        steps, lrs, weights = zip(*(self._scalars(group, state) for state in states), strict=True)
        zs = self.buffers(params, states, "z", group)
        xs = self.buffers(params, states, "x", group)
        exp_avg_sqs = self.buffers(params, states, "exp_avg_sq", group)
        torch._foreach_mul_(exp_avg_sqs, beta2)  # v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        denom = torch._foreach_div(exp_avg_sqs, [1 - beta2**step for step in steps])
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, eps)  # √v̂_t + ε
        if decay:  # z ← z − γ_t λ y_{t−1}
            torch._foreach_add_(zs, torch._foreach_mul(params, [-lr * decay for lr in lrs]))
        # z_t = z − γ_t g_t / (√v̂_t + ε)
        torch._foreach_addcdiv_(zs, grads, denom, [-lr for lr in lrs])
        torch._foreach_lerp_(xs, zs, list(weights))  # x_t = (1 − c_t) x_{t−1} + c_t z_t
        self._interpolate(group, params, states)  # θ_t = y_t


def shipped_step_times() -> dict:
    """Adam's step on 10 M float32 parameters, timed for ``torch.optim`` (for-loop, foreach,
    fused), ours and ours under ``torch.compile``, as measured by ``python
    benchmarks/bench_optim.py --save utils/results/optimizer_steps.json`` and shipped with the
    package: the machine, the versions and one row per implementation (median ms per step,
    ratios to ``torch.optim``'s fused and foreach steps)."""
    import json
    from importlib import resources

    path = resources.files("utils") / "results" / "optimizer_steps.json"
    return json.loads(path.read_text(encoding="utf-8"))
