"""SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW and NAdam as Keras 3 optimizers.

Same names, arguments, defaults and formulas as :mod:`torch.optim` and :mod:`utils.optim.numpy`
(the step functions there show the math), usable wherever a Keras optimizer is::

    optimizer = Adam(lr=1e-3)                  # or Adam(model.trainable_variables, lr=1e-3)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

    model.compile(optimizer=Adam(lr=1e-3), loss="mse")   # and model.fit(...)

``lr`` is Keras' ``learning_rate`` under torch's name: a float, or a
``keras.optimizers.schedules.LearningRateSchedule``; ``optimizer.lr`` reads and sets it. Other
Keras options (``clipnorm``, ``name``, ...) pass through as keyword arguments.

Where Keras' built-in optimizers differ from torch's (the tests check each mapping):

- ``weight_decay``: Keras applies *decoupled* decay θ ← θ(1 − γλ) in every optimizer; here it
  means what it means in torch: L2, g ← g + λθ, for SGD, Adagrad, RMSprop, Adadelta, Adam and
  NAdam, and decoupled decay for AdamW and for NAdam with ``decoupled_weight_decay=True`` only. It
  applies to every variable (Keras' ``exclude_from_weight_decay`` has no effect).
- Adam's ``epsilon`` in Keras is ε̂, added to the uncorrected √v_t; torch's ε is added to √v̂_t.
  They agree when ε̂ = ε √(1 − β₂ᵗ), see :func:`utils.optim.numpy.adam_step`. Keras' default
  ε̂ = 1e-7.
- Keras' Adagrad and RMSprop put ε inside the square root, √(v + ε); Keras' Adagrad starts its
  accumulator at 0.1; Keras' RMSprop calls α ``rho`` and defaults to ρ = 0.9, lr = 1e-3.
- Keras' Adadelta is torch's formula, ε inside both roots included, with other defaults:
  ``learning_rate=1e-3, rho=0.95, epsilon=1e-7`` against torch's lr = 1, ρ = 0.9, ε = 1e-6.
- Keras' Nadam uses the momentum schedule μ_t = β₁ (1 − ½ · 0.96ᵗ), which is torch's
  μ_t = β₁ (1 − ½ · 0.96^(tψ)) with ψ = ``momentum_decay=1.0`` instead of 0.004; its ε sits where
  torch's does (not Keras' Adam ε̂). So Keras' Nadam (defaults lr = 1e-3, ε = 1e-7) is
  ``NAdam(momentum_decay=1.0, decoupled_weight_decay=True)``, to about 1e-7: Keras' update step
  rounds the 0.96 of μ_t through float32.
- Keras' SGD stores v = μ v − γ g (the learning rate inside the velocity); torch stores
  b = μ b + g and multiplies by γ afterwards. Same steps while γ is constant, different ones after
  a learning-rate change.
- The step counter t is Keras' ``optimizer.iterations + 1``, shared by all variables; torch counts
  per parameter. They differ only for variables that skip steps (no gradient).
"""

from __future__ import annotations

from numbers import Real

import keras
from keras import ops

from utils.optim._validation import (
    check_adadelta,
    check_adagrad,
    check_adam,
    check_lr,
    check_nadam,
    check_rmsprop,
    check_sgd,
)

__all__ = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam"]


def _constant(value: float, dtype):
    """``value`` as a tensor of ``dtype`` (``ops.cast`` would round it through float32 first)."""
    return ops.convert_to_tensor(value, dtype=dtype)


class _Optimizer(keras.optimizers.Optimizer):
    """Torch-style arguments on a Keras optimizer; ``hyperparameters`` become attributes."""

    def __init__(self, params, lr, hyperparameters: dict, *, learning_rate=None, **kwargs):
        if learning_rate is not None:  # Keras' name for lr, which from_config passes back
            check_lr(learning_rate)
            lr = learning_rate
        super().__init__(
            learning_rate=float(lr) if isinstance(lr, Real) else lr,
            weight_decay=hyperparameters["weight_decay"],
            **kwargs,
        )
        self._hyperparameters = hyperparameters
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        if params is not None:
            self.build(list(params))

    @property
    def lr(self):
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    def _apply_weight_decay(self, variables):
        """Do nothing: Keras' hook for its decoupled weight decay, run before every step.

        Here ``weight_decay`` has torch's meaning and ``update_step`` applies it (Keras' own Muon
        optimizer overrides this hook the same way).
        """

    def _add_state(self, variables, name, initializer="zeros"):
        return [self.add_variable_from_reference(v, name, initializer) for v in variables]

    def _state(self, states, variable):
        return states[self._get_variable_index(variable)]

    def _with_l2(self, gradient, variable):
        """g ← g + λθ (L2 weight decay, as torch), in the variable's dtype."""
        grad = ops.cast(gradient, variable.dtype)
        return grad + self.weight_decay * variable if self.weight_decay != 0 else grad

    def get_config(self):
        return {**super().get_config(), **self._hyperparameters}


class SGD(_Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    The math is in :func:`utils.optim.numpy.sgd_step`.
    """

    def __init__(self, params=None, lr=1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, **kwargs):
        check_sgd(lr, momentum, dampening, weight_decay, nesterov)
        hyperparameters = dict(momentum=momentum, dampening=dampening,
                               weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, lr, hyperparameters, **kwargs)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentum_buffers = (
            self._add_state(variables, "momentum_buffer") if self.momentum != 0 else []
        )

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        grad = self._with_l2(gradient, variable)  # g ← g + λθ
        if self.momentum != 0:
            momentum_buffer = self._state(self._momentum_buffers, variable)
            damped_grad = grad
            if self.dampening != 0:  # (1 − τ) g_t, but b_1 = g_1 undamped (as torch)
                one_minus_dampening = _constant(1 - self.dampening, dtype)
                damped_grad = grad * ops.where(self.iterations == 0, 1.0, one_minus_dampening)
            # b_t = μ b_{t−1} + (1 − τ) g_t
            self.assign(momentum_buffer, momentum_buffer * self.momentum + damped_grad)
            if self.nesterov:
                grad = grad + momentum_buffer * self.momentum  # g_t + μ b_t
            else:
                grad = momentum_buffer
        self.assign_sub(variable, lr * grad)  # θ_t = θ_{t−1} − γ g_t


class Adagrad(_Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``; the math: :func:`utils.optim.numpy.adagrad_step`."""

    def __init__(self, params=None, lr=1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, **kwargs):
        check_adagrad(lr, lr_decay, weight_decay, eps, initial_accumulator_value)
        hyperparameters = dict(lr_decay=lr_decay, weight_decay=weight_decay,
                               initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, lr, hyperparameters, **kwargs)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        value = self.initial_accumulator_value
        # s_0 = initial_accumulator_value (keras.initializers.Constant would round it to float32)
        self._sums = self._add_state(
            variables, "sum", lambda shape, dtype: ops.full(shape, value, dtype)
        )

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        grad = self._with_l2(gradient, variable)  # g ← g + λθ
        state_sum = self._state(self._sums, variable)
        # γ̃_t = γ / (1 + (t − 1) η), with t − 1 = iterations
        clr = lr / (1 + ops.cast(self.iterations, variable.dtype) * self.lr_decay)
        self.assign_add(state_sum, ops.square(grad))  # s_t = s_{t−1} + g_t²
        self.assign_sub(variable, clr * grad / (ops.sqrt(state_sum) + self.eps))


class RMSprop(_Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``; the math: :func:`utils.optim.numpy.rmsprop_step`."""

    def __init__(self, params=None, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 **kwargs):
        check_rmsprop(lr, alpha, eps, weight_decay, momentum)
        hyperparameters = dict(alpha=alpha, eps=eps, weight_decay=weight_decay,
                               momentum=momentum, centered=centered)
        super().__init__(params, lr, hyperparameters, **kwargs)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._square_avgs = self._add_state(variables, "square_avg")
        self._grad_avgs = self._add_state(variables, "grad_avg") if self.centered else []
        self._momentum_buffers = (
            self._add_state(variables, "momentum_buffer") if self.momentum > 0 else []
        )

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        grad = self._with_l2(gradient, variable)  # g ← g + λθ
        alpha = self.alpha
        square_avg = self._state(self._square_avgs, variable)
        # v_t = α v_{t−1} + (1 − α) g_t²
        self.assign(square_avg, alpha * square_avg + (1 - alpha) * ops.square(grad))
        if self.centered:
            grad_avg = self._state(self._grad_avgs, variable)
            # ḡ_t = α ḡ_{t−1} + (1 − α) g_t
            self.assign(grad_avg, alpha * grad_avg + (1 - alpha) * grad)
            avg = ops.sqrt(square_avg - ops.square(grad_avg)) + self.eps  # √(v_t − ḡ_t²) + ε
        else:
            avg = ops.sqrt(square_avg) + self.eps  # √v_t + ε
        if self.momentum > 0:
            momentum_buffer = self._state(self._momentum_buffers, variable)
            # b_t = μ b_{t−1} + g_t / (√ṽ_t + ε);  θ_t = θ_{t−1} − γ b_t
            self.assign(momentum_buffer, self.momentum * momentum_buffer + grad / avg)
            self.assign_sub(variable, lr * momentum_buffer)
        else:
            self.assign_sub(variable, lr * grad / avg)


class Adadelta(_Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``; the math: :func:`utils.optim.numpy.adadelta_step`.

    Keras' own ``Adadelta`` runs the same formula with defaults lr = 1e-3, ρ = 0.95, ε = 1e-7.
    """

    def __init__(self, params=None, lr=1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, **kwargs):
        check_adadelta(lr, rho, eps, weight_decay)
        hyperparameters = dict(rho=rho, eps=eps, weight_decay=weight_decay)
        super().__init__(params, lr, hyperparameters, **kwargs)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._square_avgs = self._add_state(variables, "square_avg")
        self._acc_deltas = self._add_state(variables, "acc_delta")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        grad = self._with_l2(gradient, variable)  # g ← g + λθ
        rho, eps = self.rho, self.eps
        square_avg = self._state(self._square_avgs, variable)
        acc_delta = self._state(self._acc_deltas, variable)
        # v_t = ρ v_{t−1} + (1 − ρ) g_t²
        self.assign(square_avg, rho * square_avg + (1 - rho) * ops.square(grad))
        # Δ_t = √(u_{t−1} + ε) / √(v_t + ε) · g_t
        delta = ops.sqrt(acc_delta + eps) / ops.sqrt(square_avg + eps) * grad
        self.assign(acc_delta, rho * acc_delta + (1 - rho) * ops.square(delta))  # u_t
        self.assign_sub(variable, lr * delta)  # θ_t = θ_{t−1} − γ Δ_t


class Adam(_Optimizer):
    """Adam, optionally AMSGrad, as ``torch.optim.Adam`` (ε as torch's, not Keras' ε̂).

    The math is in :func:`utils.optim.numpy.adam_step`.
    """

    _decoupled_weight_decay = False

    def __init__(self, params=None, lr=1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, **kwargs):
        check_adam(lr, betas, eps, weight_decay)
        hyperparameters = dict(betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                               amsgrad=amsgrad)
        super().__init__(params, lr, hyperparameters, **kwargs)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._exp_avgs = self._add_state(variables, "exp_avg")
        self._exp_avg_sqs = self._add_state(variables, "exp_avg_sq")
        self._max_exp_avg_sqs = self._add_state(variables, "max_exp_avg_sq") if self.amsgrad else []

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        beta1, beta2 = self.betas
        if self._decoupled_weight_decay:
            grad = ops.cast(gradient, dtype)
            if self.weight_decay != 0:
                self.assign(variable, variable * (1 - lr * self.weight_decay))  # θ ← θ(1 − γλ)
        else:
            grad = self._with_l2(gradient, variable)  # g ← g + λθ
        exp_avg = self._state(self._exp_avgs, variable)
        exp_avg_sq = self._state(self._exp_avg_sqs, variable)
        # m_t = β₁ m_{t−1} + (1 − β₁) g_t, computed as m_{t−1} + (1 − β₁)(g_t − m_{t−1})
        self.assign_add(exp_avg, (grad - exp_avg) * (1 - beta1))
        # v_t = β₂ v_{t−1} + (1 − β₂) g_t², likewise
        self.assign_add(exp_avg_sq, (ops.square(grad) - exp_avg_sq) * (1 - beta2))
        if self.amsgrad:
            max_exp_avg_sq = self._state(self._max_exp_avg_sqs, variable)
            self.assign(max_exp_avg_sq, ops.maximum(max_exp_avg_sq, exp_avg_sq))
            exp_avg_sq = max_exp_avg_sq
        step = ops.cast(self.iterations + 1, dtype)  # t: iterations counts finished steps
        bias_correction1 = 1 - ops.power(_constant(beta1, dtype), step)
        bias_correction2_sqrt = ops.sqrt(1 - ops.power(_constant(beta2, dtype), step))
        # θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε), multiplied through by √(1 − β₂ᵗ) to save one
        # array operation: θ_t = θ_{t−1} − γ √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m_t / (√v_t + ε √(1 − β₂ᵗ)).
        # Keras' Adam is this line with a constant ε̂ in place of ε √(1 − β₂ᵗ).
        step_size = lr * bias_correction2_sqrt / bias_correction1
        denom = ops.sqrt(exp_avg_sq) + self.eps * bias_correction2_sqrt
        self.assign_sub(variable, exp_avg * step_size / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW`` (default λ = 0.01).

    The math is in :func:`utils.optim.numpy.adamw_step`.
    """

    _decoupled_weight_decay = True

    def __init__(self, params=None, lr=1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, **kwargs):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **kwargs)


class NAdam(_Optimizer):
    """NAdam (Adam with Nesterov momentum), as ``torch.optim.NAdam``.

    The math is in :func:`utils.optim.numpy.nadam_step`. Each variable keeps its Π_t in a scalar
    variable of its own dtype. Keras' own ``Nadam`` is this one with ``momentum_decay=1.0`` and
    ``decoupled_weight_decay=True`` (see the module docstring).
    """

    def __init__(self, params=None, lr=2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, **kwargs):
        check_nadam(lr, betas, eps, weight_decay, momentum_decay)
        hyperparameters = dict(betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                               momentum_decay=momentum_decay,
                               decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, lr, hyperparameters, **kwargs)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._exp_avgs = self._add_state(variables, "exp_avg")
        self._exp_avg_sqs = self._add_state(variables, "exp_avg_sq")
        self._mu_products = [  # Π_0 = 1, one scalar per variable
            self.add_variable((), "ones", v.dtype, name=f"{v.path.replace('/', '_')}_mu_product")
            for v in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        beta1, beta2 = self.betas
        if self.decoupled_weight_decay:
            grad = ops.cast(gradient, dtype)
            if self.weight_decay != 0:
                self.assign(variable, variable * (1 - lr * self.weight_decay))  # θ ← θ(1 − γλ)
        else:
            grad = self._with_l2(gradient, variable)  # g ← g + λθ
        step = ops.cast(self.iterations + 1, dtype)  # t: iterations counts finished steps
        decay = _constant(0.96, dtype)
        mu = beta1 * (1 - 0.5 * ops.power(decay, step * self.momentum_decay))  # μ_t
        mu_next = beta1 * (1 - 0.5 * ops.power(decay, (step + 1) * self.momentum_decay))
        mu_product = self._state(self._mu_products, variable)
        self.assign(mu_product, mu_product * mu)  # Π_t = Π_{t−1} μ_t
        exp_avg = self._state(self._exp_avgs, variable)
        exp_avg_sq = self._state(self._exp_avg_sqs, variable)
        # m_t = β₁ m_{t−1} + (1 − β₁) g_t, computed as m_{t−1} + (1 − β₁)(g_t − m_{t−1})
        self.assign_add(exp_avg, (grad - exp_avg) * (1 - beta1))
        # v_t = β₂ v_{t−1} + (1 − β₂) g_t², likewise
        self.assign_add(exp_avg_sq, (ops.square(grad) - exp_avg_sq) * (1 - beta2))
        bias_correction2 = 1 - ops.power(_constant(beta2, dtype), step)
        denom = ops.sqrt(exp_avg_sq / bias_correction2) + self.eps  # √v̂_t + ε
        # m̂_t = μ_{t+1} m_t / (1 − Π_t μ_{t+1}) + (1 − μ_t) g_t / (1 − Π_t)
        grad_step_size = lr * (1 - mu) / (1 - mu_product)
        exp_avg_step_size = lr * mu_next / (1 - mu_product * mu_next)
        # θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)
        self.assign_sub(variable, (grad_step_size * grad + exp_avg_step_size * exp_avg) / denom)
