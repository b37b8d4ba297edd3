"""SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, NAdam, Lion, Adafactor, Muon and schedule-free
AdamW as Keras 3 optimizers.

Same names, arguments, defaults and formulas as :mod:`torch.optim` and :mod:`utils.optim.numpy`
(each class's docstring shows the algorithm, from :mod:`utils.optim.spec`), usable wherever a
Keras optimizer is::

    optimizer = Adam(lr=1e-3)                  # or Adam(model.trainable_variables, lr=1e-3)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

    model.compile(optimizer=Adam(lr=1e-3), loss="mse")   # and model.fit(...)

``lr`` is Keras' ``learning_rate`` under torch's name: a float, or a
``keras.optimizers.schedules.LearningRateSchedule``; ``optimizer.lr`` reads and sets it. Other
Keras options (``clipnorm``, ``name``, ...) pass through as keyword arguments.

Where Keras' own optimizers differ from torch's, each description says so in its docstring, and
the tests run the mapping. Two differences hold for all of them:

- ``weight_decay``: Keras applies *decoupled* decay in every optimizer; here it means what the
  description says (L2 for SGD, Adagrad, RMSprop, Adadelta, Adam and NAdam; decoupled for AdamW,
  Lion, Adafactor, Muon, and NAdam with ``decoupled_weight_decay=True``),
  applied to every variable (Keras' ``exclude_from_weight_decay`` has no effect).
- The step counter t is Keras' ``optimizer.iterations + 1``, shared by all variables; torch counts
  per parameter. They differ only for variables that skip steps (no gradient).
"""

from __future__ import annotations

import inspect
from numbers import Real
from typing import ClassVar

import keras
import numpy as np
from keras import ops

from utils.optim import spec as specs
from utils.optim.spec import OptimizerSpec

__all__ = ["Optimizer", *specs.SPECS]


def _constant(value: float, dtype):
    """``value`` as a tensor of ``dtype`` (``ops.cast`` would round it through float32 first)."""
    return ops.convert_to_tensor(value, dtype=dtype)


class Optimizer(keras.optimizers.Optimizer):
    """A Keras optimizer built from a description (``spec``) and a ``kernel``.

    ``build`` creates the state variables the description lists; ``update_step`` casts the
    gradient, applies the weight decay the description names and calls
    ``kernel(grad, variable, lr)``.
    """

    spec: ClassVar[OptimizerSpec]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        spec = cls.spec
        cls.__doc__ = spec.docstring("A Keras 3 optimizer with torch's conventions.")
        parameters = [
            inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
        ]
        parameters += [
            inspect.Parameter(h.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=h.default)
            for h in spec.hyperparameters
        ]
        parameters.append(inspect.Parameter("keras_options", inspect.Parameter.VAR_KEYWORD))
        cls.__signature__ = inspect.Signature(parameters)

    def __init__(self, params=None, *args, learning_rate=None, **kwargs):
        if learning_rate is not None:  # Keras' name for lr, which from_config passes back
            kwargs["lr"] = learning_rate
        ours = {name: kwargs.pop(name) for name in self.spec.names if name in kwargs}
        hyper = self.spec.bind(args, ours)
        lr = hyper.pop("lr")
        super().__init__(
            learning_rate=float(lr) if isinstance(lr, Real) else lr,
            weight_decay=hyper["weight_decay"],
            **kwargs,
        )
        self._hyperparameters = hyper
        for name, value in hyper.items():
            setattr(self, name, value)
        if params is not None:
            self.build(list(params))

    @property
    def lr(self):
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    def build(self, variables):
        if self.built:
            return
        for variable in variables:
            self.spec.check_param_shape(tuple(variable.shape))
        super().build(variables)
        self._slots = {}
        for field in self.spec.state:
            if field is specs.STEP or (field.needed_if and not getattr(self, field.needed_if)):
                continue  # t is Keras' iterations + 1; a field not needed is not created
            initial = (
                getattr(self, field.initial) if isinstance(field.initial, str) else field.initial
            )
            # keras.initializers.Constant would round the value through float32
            self._slots[field.name] = [
                self._state_variable(field, variable, initial) for variable in variables
            ]

    def _state_variable(self, field, variable, initial):
        """The state variable ``field`` of ``variable``, in the described shape (or ``None``):
        a float64 number per variable for a scalar field (NAdam's Π_t; torch and NumPy keep
        these as Python floats), a copy of the variable for a field that starts at it."""
        shape = () if field.scalar else field.shape_for(tuple(variable.shape))
        if shape is None:
            return None
        state = self.add_variable(
            shape,
            initializer=lambda shape, dtype, v=initial: ops.full(shape, v, dtype),
            dtype="float64" if field.scalar else variable.dtype,
            name=f"{variable.path.replace('/', '_')}_{field.name}",
        )
        if field.starts_at_param:
            self.assign(state, variable)
        return state

    def slot(self, name: str, variable):
        """The state variable ``name`` (as the description calls it) of ``variable``."""
        return self._slots[name][self._get_variable_index(variable)]

    def _apply_weight_decay(self, variables):
        """Do nothing: Keras' hook for its decoupled weight decay, run before every step.

        ``weight_decay`` has the description's meaning here and ``update_step`` applies it
        (Keras' own Muon optimizer overrides this hook the same way).
        """

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        grad = ops.cast(gradient, variable.dtype)
        kind = self.spec.decay_kind(self._hyperparameters)
        if kind == "l2":  # g ← g + λθ
            grad = grad + self.weight_decay * variable
        elif kind == "decoupled":  # θ ← θ(1 − γλ)
            self.assign(variable, variable * (1 - lr * self.weight_decay))
        self.kernel(grad, variable, lr)

    def kernel(self, grad, variable, lr) -> None:
        raise NotImplementedError

    def step_count(self, dtype):
        """t, the number of this step: Keras' ``iterations`` counts the finished ones."""
        return ops.cast(self.iterations + 1, dtype)

    def update_moments(self, grad, variable, beta1, beta2):
        """m_t = β₁ m_{t−1} + (1 − β₁) g_t and v_t likewise with g_t²; returns (m_t, v_t)."""
        exp_avg, exp_avg_sq = self.slot("exp_avg", variable), self.slot("exp_avg_sq", variable)
        # computed as m_{t−1} + (1 − β₁)(g_t − m_{t−1}), as torch's lerp
        self.assign_add(exp_avg, (grad - exp_avg) * (1 - beta1))
        self.assign_add(exp_avg_sq, (ops.square(grad) - exp_avg_sq) * (1 - beta2))
        return exp_avg, exp_avg_sq

    def get_config(self):
        return {**super().get_config(), **self._hyperparameters}


class SGD(Optimizer):
    spec = specs.SGD

    def kernel(self, grad, variable, lr):
        if self.momentum != 0:
            buffer = self.slot("momentum_buffer", variable)
            damped_grad = grad
            if self.dampening != 0:  # (1 − τ) g_t, but b_1 = g_1 undamped (as torch)
                one_minus_dampening = _constant(1 - self.dampening, variable.dtype)
                damped_grad = grad * ops.where(self.iterations == 0, 1.0, one_minus_dampening)
            self.assign(buffer, buffer * self.momentum + damped_grad)  # b_t = μ b_{t−1} + ...
            grad = grad + buffer * self.momentum if self.nesterov else buffer
        self.assign_sub(variable, lr * grad)  # θ_t = θ_{t−1} − γ g_t


class Adagrad(Optimizer):
    spec = specs.ADAGRAD

    def kernel(self, grad, variable, lr):
        state_sum = self.slot("sum", variable)
        # γ̃_t = γ / (1 + (t − 1) η), with t − 1 = iterations
        clr = lr / (1 + ops.cast(self.iterations, variable.dtype) * self.lr_decay)
        self.assign_add(state_sum, ops.square(grad))  # s_t = s_{t−1} + g_t²
        self.assign_sub(variable, clr * grad / (ops.sqrt(state_sum) + self.eps))


class RMSprop(Optimizer):
    spec = specs.RMSPROP

    def kernel(self, grad, variable, lr):
        alpha = self.alpha
        square_avg = self.slot("square_avg", variable)
        # v_t = α v_{t−1} + (1 − α) g_t²
        self.assign(square_avg, alpha * square_avg + (1 - alpha) * ops.square(grad))
        if self.centered:
            grad_avg = self.slot("grad_avg", variable)
            self.assign(grad_avg, alpha * grad_avg + (1 - alpha) * grad)  # ḡ_t
            avg = ops.sqrt(square_avg - ops.square(grad_avg)) + self.eps  # √(v_t − ḡ_t²) + ε
        else:
            avg = ops.sqrt(square_avg) + self.eps  # √v_t + ε
        if self.momentum > 0:
            buffer = self.slot("momentum_buffer", variable)
            # b_t = μ b_{t−1} + g_t / (√ṽ_t + ε);  θ_t = θ_{t−1} − γ b_t
            self.assign(buffer, self.momentum * buffer + grad / avg)
            self.assign_sub(variable, lr * buffer)
        else:
            self.assign_sub(variable, lr * grad / avg)


class Adadelta(Optimizer):
    spec = specs.ADADELTA

    def kernel(self, grad, variable, lr):
        rho, eps = self.rho, self.eps
        square_avg = self.slot("square_avg", variable)
        acc_delta = self.slot("acc_delta", variable)
        # v_t = ρ v_{t−1} + (1 − ρ) g_t²
        self.assign(square_avg, rho * square_avg + (1 - rho) * ops.square(grad))
        # Δ_t = √(u_{t−1} + ε) / √(v_t + ε) · g_t
        delta = ops.sqrt(acc_delta + eps) / ops.sqrt(square_avg + eps) * grad
        self.assign(acc_delta, rho * acc_delta + (1 - rho) * ops.square(delta))  # u_t
        self.assign_sub(variable, lr * delta)  # θ_t = θ_{t−1} − γ Δ_t


class Adam(Optimizer):
    spec = specs.ADAM

    def kernel(self, grad, variable, lr):
        dtype = variable.dtype
        beta1, beta2 = self.betas
        exp_avg, exp_avg_sq = self.update_moments(grad, variable, beta1, beta2)
        if self.amsgrad:
            max_exp_avg_sq = self.slot("max_exp_avg_sq", variable)
            self.assign(max_exp_avg_sq, ops.maximum(max_exp_avg_sq, exp_avg_sq))
            exp_avg_sq = max_exp_avg_sq
        step = self.step_count(dtype)
        bias_correction1 = 1 - ops.power(_constant(beta1, dtype), step)
        bias_correction2_sqrt = ops.sqrt(1 - ops.power(_constant(beta2, dtype), step))
        # θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε), multiplied through by √(1 − β₂ᵗ) to save one
        # array operation: θ_t = θ_{t−1} − γ √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m_t / (√v_t + ε √(1 − β₂ᵗ)).
        # Keras' Adam is this line with a constant ε̂ in place of ε √(1 − β₂ᵗ).
        step_size = lr * bias_correction2_sqrt / bias_correction1
        denom = ops.sqrt(exp_avg_sq) + self.eps * bias_correction2_sqrt
        self.assign_sub(variable, exp_avg * step_size / denom)


class AdamW(Adam):
    spec = specs.ADAMW


class NAdam(Optimizer):
    spec = specs.NADAM

    def kernel(self, grad, variable, lr):
        dtype = variable.dtype
        beta1, beta2 = self.betas
        step = self.step_count(dtype)
        decay = self.momentum_decay
        mu = specs.nadam_momentum(beta1, decay, step)  # μ_t (0.96 ** tensor keeps its dtype)
        mu_next = specs.nadam_momentum(beta1, decay, step + 1)
        mu_product = self.slot("mu_product", variable)
        self.assign(mu_product, mu_product * ops.cast(mu, "float64"))  # Π_t = Π_{t−1} μ_t
        mu_product = ops.cast(mu_product, dtype)
        exp_avg, exp_avg_sq = self.update_moments(grad, variable, beta1, beta2)
        bias_correction2 = 1 - ops.power(_constant(beta2, dtype), step)
        denom = ops.sqrt(exp_avg_sq / bias_correction2) + self.eps  # √v̂_t + ε
        # m̂_t = μ_{t+1} m_t / (1 − Π_t μ_{t+1}) + (1 − μ_t) g_t / (1 − Π_t)
        grad_step_size = lr * (1 - mu) / (1 - mu_product)
        exp_avg_step_size = lr * mu_next / (1 - mu_product * mu_next)
        # θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)
        self.assign_sub(variable, (grad_step_size * grad + exp_avg_step_size * exp_avg) / denom)


class Lion(Optimizer):
    spec = specs.LION

    def kernel(self, grad, variable, lr):
        beta1, beta2 = self.betas
        exp_avg = self.slot("exp_avg", variable)
        update = ops.sign(exp_avg * beta1 + grad * (1 - beta1))  # sign(c_t)
        self.assign_sub(variable, lr * update)  # θ_t = θ_{t−1} − γ sign(c_t)
        self.assign(exp_avg, exp_avg * beta2 + grad * (1 - beta2))  # m_t


def _rms(x):
    """RMS(a) = √mean(a²)."""
    return ops.sqrt(ops.mean(ops.square(x)))


class Adafactor(Optimizer):
    spec = specs.ADAFACTOR

    def kernel(self, grad, variable, lr):
        dtype = variable.dtype
        eps1, eps2 = self.eps
        if eps1 is None:
            eps1 = float(np.finfo(keras.backend.standardize_dtype(dtype)).eps)
        step = self.step_count(dtype)
        one_minus_beta2 = ops.power(step, _constant(self.beta2_decay, dtype))  # tᶜ
        rho = ops.minimum(lr, 1 / ops.sqrt(step))  # ρ_t = min(γ, 1/√t)
        # RMS(θ_{t−1}): the variable has been decayed by (1 − γλ) already
        param_rms = _rms(variable) / (1 - lr * self.weight_decay)
        alpha = ops.maximum(_constant(eps2, dtype), param_rms) * rho  # α_t
        if len(variable.shape) >= 2:
            row_var, col_var = self.slot("row_var", variable), self.slot("col_var", variable)
            grad_squared = ops.square(grad)
            # R_t = β̂₂,t R_{t−1} + (1 − β̂₂,t) mean_cols(g²), and C_t over the rows
            row_mean = ops.mean(grad_squared, axis=-1, keepdims=True)
            self.assign_add(row_var, (row_mean - row_var) * one_minus_beta2)
            col_mean = ops.mean(grad_squared, axis=-2, keepdims=True)
            self.assign_add(col_var, (col_mean - col_var) * one_minus_beta2)
            # V̂_t = R_t C_t / max(mean_rows(R_t), ε₁)
            row_mean_of_rows = ops.mean(row_var, axis=-2, keepdims=True)
            var_estimate = row_var * col_var / ops.maximum(row_mean_of_rows, eps1)
        else:
            variance = self.slot("variance", variable)
            self.assign_add(variance, (ops.square(grad) - variance) * one_minus_beta2)
            var_estimate = variance
        update = grad / ops.sqrt(ops.maximum(var_estimate, eps1 * eps1))  # U_t
        update = update / ops.maximum(1.0, _rms(update) / self.d)  # Û_t
        self.assign_sub(variable, alpha * update)  # θ_t = θ_{t−1} − α_t Û_t


def _newton_schulz(matrix, steps: int, coefficients, eps: float):
    """NS_k(M) in M's dtype: see utils.optim.numpy.newton_schulz."""
    a, b, c = coefficients
    tall = matrix.shape[0] > matrix.shape[1]
    x = ops.transpose(matrix) if tall else matrix
    x = x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), eps)  # X_0 = M / max(‖M‖_F, ε)
    for _ in range(steps):
        gram = ops.matmul(x, ops.transpose(x))  # G = X Xᵀ
        x = a * x + ops.matmul(b * gram + c * ops.matmul(gram, gram), x)
    return ops.transpose(x) if tall else x


class Muon(Optimizer):
    spec = specs.MUON

    def kernel(self, grad, variable, lr):
        momentum = self.momentum
        buffer = self.slot("momentum_buffer", variable)
        self.assign_add(buffer, (grad - buffer) * (1 - momentum))  # B_t, as torch's lerp
        update = grad + (buffer - grad) * momentum if self.nesterov else buffer  # B̃_t
        orthogonal = _newton_schulz(update, self.ns_steps, self.ns_coefficients, self.eps)
        # γ̃ = γ √max(1, A/B), or 0.2 γ √max(A, B)
        scale = specs.muon_lr(1.0, self.adjust_lr_fn, tuple(variable.shape))
        self.assign_sub(variable, lr * scale * orthogonal)


class ScheduleFreeAdamW(Optimizer):
    spec = specs.SCHEDULE_FREE_ADAMW

    def kernel(self, grad, variable, lr):
        dtype = variable.dtype
        beta1, beta2 = self.betas
        # the scalars in float64, as the Python floats of torch and NumPy
        step64, lr = self.step_count("float64"), ops.cast(self.learning_rate, "float64")
        if self.warmup_steps:  # γ_t = γ min(1, t/W)
            lr = lr * ops.minimum(step64 / self.warmup_steps, 1.0)
        lr_max = self.slot("lr_max", variable)
        self.assign(lr_max, ops.maximum(lr_max, lr))  # γ_max
        weight = ops.power(step64, self.r) * ops.power(lr_max, self.weight_lr_power)  # w_t
        weight_sum = self.slot("weight_sum", variable)
        self.assign_add(weight_sum, weight)  # S_t
        c = ops.where(weight_sum > 0, weight / ops.maximum(weight_sum, 1e-300), 0.0)  # c_t
        lr, c = ops.cast(lr, dtype), ops.cast(c, dtype)
        exp_avg_sq = self.slot("exp_avg_sq", variable)
        self.assign_add(exp_avg_sq, (ops.square(grad) - exp_avg_sq) * (1 - beta2))  # v_t
        bias_correction2 = ops.cast(1 - ops.power(_constant(beta2, "float64"), step64), dtype)
        denom = ops.sqrt(exp_avg_sq / bias_correction2) + self.eps  # √v̂_t + ε
        z, x = self.slot("z", variable), self.slot("x", variable)
        if self.weight_decay:  # z ← z − γ_t λ y_{t−1}
            self.assign_sub(z, lr * self.weight_decay * variable)
        self.assign_sub(z, lr * grad / denom)  # z_t = z − γ_t g_t / (√v̂_t + ε)
        self.assign(x, (1 - c) * x + c * z)  # x_t = (1 − c_t) x_{t−1} + c_t z_t
        self.assign(variable, (1 - beta1) * z + beta1 * x)  # θ_t = y_t
