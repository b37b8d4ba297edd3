r"""Learning-rate schedules as plain functions of the step.

A schedule answers one question: *which learning rate* :math:`\eta_t` *does update number* ``t``
*use?* Steps count from 0: ``schedule(0)`` is the learning rate of the very first update. That is
also how both frameworks count: after ``t`` calls of a torch scheduler's ``.step()`` the optimizer's
lr is the schedule at ``t``, and a Keras optimizer calls its schedule with ``optimizer.iterations``,
the number of updates already applied.

Each factory (:func:`constant`, :func:`step_decay`, :func:`multi_step`, :func:`exponential`,
:func:`inverse_time`, :func:`polynomial`, :func:`cosine_annealing`, :func:`warmup_cosine`,
:func:`one_cycle`) returns a small frozen dataclass: it prints its hyper-parameters, checks them
when it is built, and is called like a function::

    >>> schedule = cosine_annealing(lr=0.1, total_steps=100)
    >>> schedule(0), schedule(50), schedule(100)
    (0.1, 0.05, 0.0)

Each schedule writes its formula once, in :meth:`Schedule.formula`, using only operations that
NumPy and ``keras.ops`` share (``minimum``, ``clip``, ``cos``, ``floor``, ``power``, ``where``).
Calling the schedule evaluates the formula with NumPy; :func:`to_keras` evaluates the *same*
formula with ``keras.ops`` on the optimizer's step tensor.

Adapters connect a schedule to an optimizer: :func:`apply_schedule` (our NumPy optimizers, torch,
Keras), :func:`to_torch_lambda` (for ``torch.optim.lr_scheduler.LambdaLR``) and :func:`to_keras`.
Nothing here imports torch or TensorFlow until an adapter asks for it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------------------------
# Checking hyper-parameters
# ---------------------------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_lr(value, name: str) -> None:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")


def _check_positive(value, name: str) -> None:
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _check_positive_int(value, name: str) -> None:
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_step(step) -> int:
    if not _is_int(step) or step < 0:
        raise ValueError(f"step must be an int >= 0 (0 is the first update), got {step!r}")
    return int(step)


# ---------------------------------------------------------------------------------------------
# The schedules
# ---------------------------------------------------------------------------------------------


class Schedule:
    """Base class: a learning rate :math:`\\eta_t` for every step ``t = 0, 1, 2, ...``.

    Subclasses define :meth:`formula`; :meth:`__call__` checks the step and evaluates it.
    """

    def __call__(self, step: int) -> float:
        """The learning rate of update number ``step`` (an int, 0 for the first update)."""
        return float(self.formula(np.float64(_check_step(step)), np))

    def formula(self, step, ops):
        """The schedule's formula at a float ``step``, written with NumPy or ``keras.ops``."""
        raise NotImplementedError

    @property
    def base_lr(self) -> float:
        """The reference learning rate the schedule is built around (its ``lr`` argument)."""
        return self.lr


@dataclass(frozen=True)
class Constant(Schedule):
    r""":math:`\eta_t = \eta_0` for every step."""

    lr: float

    def __post_init__(self):
        _check_lr(self.lr, "lr")

    def formula(self, step, ops):
        return self.lr + 0.0 * step  # η_t = η₀ (0·t keeps a Keras tensor a tensor)


@dataclass(frozen=True)
class StepDecay(Schedule):
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps, as ``torch``'s ``StepLR``.

    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}
    """

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        _check_lr(self.lr, "lr")
        _check_positive_int(self.step_size, "step_size")
        _check_positive(self.gamma, "gamma")

    def formula(self, step, ops):
        return self.lr * ops.power(self.gamma, ops.floor(step / self.step_size))  # η₀ γ^⌊t/s⌋


@dataclass(frozen=True)
class MultiStep(Schedule):
    r"""Multiply the rate by ``gamma`` at each milestone, as ``torch``'s ``MultiStepLR``.

    .. math:: \eta_t = \eta_0\,\gamma^{\#\{m \in \text{milestones}\,:\, m \le t\}}

    The new rate applies *from* the milestone on: with ``milestones=(30,)``, update 30 already uses
    :math:`\eta_0\gamma`. (Keras' ``PiecewiseConstantDecay`` switches *after* a boundary, so its
    boundaries are ``m - 1``.)
    """

    lr: float
    milestones: Sequence[int]
    gamma: float = 0.1

    def __post_init__(self):
        _check_lr(self.lr, "lr")
        _check_positive(self.gamma, "gamma")
        try:
            milestones = tuple(self.milestones)
        except TypeError:
            milestones = None
        if milestones is None or not all(_is_int(m) and m > 0 for m in milestones):
            raise ValueError(
                f"milestones must be a sequence of positive ints, got {self.milestones!r}"
            )
        # Stored as a sorted tuple: hashable, immutable, and readable in the repr.
        object.__setattr__(self, "milestones", tuple(sorted(int(m) for m in milestones)))

    def formula(self, step, ops):
        # clip(t − m + 1, 0, 1) is 1 once t ≥ m and 0 before (t is a whole number of steps)
        milestones_passed = sum(ops.clip(step - m + 1.0, 0.0, 1.0) for m in self.milestones)
        return self.lr * ops.power(self.gamma, milestones_passed)  # η₀ γ^#{m ≤ t}


@dataclass(frozen=True)
class Exponential(Schedule):
    r"""Multiply the rate by ``gamma`` every step, as ``torch``'s ``ExponentialLR``.

    .. math:: \eta_t = \eta_0\,\gamma^{t}

    Keras' ``ExponentialDecay(lr, decay_steps, decay_rate)`` is
    :math:`\eta_0\,r^{t/k}`; ``decay_steps=1, decay_rate=gamma`` gives this schedule.
    """

    lr: float
    gamma: float

    def __post_init__(self):
        _check_lr(self.lr, "lr")
        _check_positive(self.gamma, "gamma")

    def formula(self, step, ops):
        return self.lr * ops.power(self.gamma, step)  # η₀ γᵗ


@dataclass(frozen=True)
class InverseTime(Schedule):
    r"""Decay as :math:`1/t`, the classic rate for stochastic approximation (Robbins–Monro).

    .. math:: \eta_t = \frac{\eta_0}{1 + \alpha\, t / k}

    with :math:`\alpha` = ``decay_rate`` and :math:`k` = ``decay_steps``; the same as Keras'
    ``InverseTimeDecay(lr, decay_steps, decay_rate)`` (torch has no built-in equivalent: use
    :func:`to_torch_lambda`).
    """

    lr: float
    decay_rate: float
    decay_steps: int = 1

    def __post_init__(self):
        _check_lr(self.lr, "lr")
        _check_lr(self.decay_rate, "decay_rate")
        _check_positive_int(self.decay_steps, "decay_steps")

    def formula(self, step, ops):
        return self.lr / (1.0 + self.decay_rate * step / self.decay_steps)  # η₀ / (1 + α t/k)


@dataclass(frozen=True)
class Polynomial(Schedule):
    r"""Polynomial decay from ``lr`` to ``end_lr`` over ``total_steps``, then constant.

    .. math:: \eta_t = (\eta_0 - \eta_{\text{end}})
              \Big(1 - \frac{\min(t, T)}{T}\Big)^{p} + \eta_{\text{end}}

    ``power=1`` is a straight line. Same as Keras' ``PolynomialDecay(lr, T, end_lr, power)``;
    torch's ``PolynomialLR(total_iters=T, power=p)`` is the case ``end_lr=0``.
    """

    lr: float
    total_steps: int
    end_lr: float = 0.0
    power: float = 1.0

    def __post_init__(self):
        _check_lr(self.lr, "lr")
        _check_positive_int(self.total_steps, "total_steps")
        _check_lr(self.end_lr, "end_lr")
        _check_positive(self.power, "power")

    def formula(self, step, ops):
        remaining = 1.0 - ops.minimum(step, self.total_steps) / self.total_steps  # 1 − min(t,T)/T
        return (self.lr - self.end_lr) * ops.power(remaining, self.power) + self.end_lr


def _cosine_decay(start_lr, end_lr, fraction, ops):
    # η_end + ½ (η_start − η_end) (1 + cos(π · fraction)),  fraction ∈ [0, 1]
    return end_lr + 0.5 * (start_lr - end_lr) * (1.0 + ops.cos(math.pi * fraction))


@dataclass(frozen=True)
class CosineAnnealing(Schedule):
    r"""Half a cosine from ``lr`` down to ``min_lr`` over ``total_steps``, then ``min_lr``.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
              \Big(1 + \cos\frac{\pi \min(t, T)}{T}\Big)

    (Loshchilov & Hutter's SGDR without restarts). Within :math:`0 \le t \le T` this is torch's
    ``CosineAnnealingLR(T_max=T, eta_min)``, which however keeps following the cosine *back up*
    after :math:`T`; we stay at :math:`\eta_{\min}`, as Keras' ``CosineDecay`` does. Keras states
    the floor as a fraction: ``CosineDecay(lr, T, alpha=min_lr / lr)``.
    """

    lr: float
    total_steps: int
    min_lr: float = 0.0

    def __post_init__(self):
        _check_lr(self.lr, "lr")
        _check_positive_int(self.total_steps, "total_steps")
        _check_lr(self.min_lr, "min_lr")

    def formula(self, step, ops):
        fraction = ops.minimum(step, self.total_steps) / self.total_steps
        return _cosine_decay(self.lr, self.min_lr, fraction, ops)


@dataclass(frozen=True)
class WarmupCosine(Schedule):
    r"""Linear warm-up for ``warmup_steps``, then cosine decay to ``min_lr`` at ``total_steps``.

    With :math:`W` = ``warmup_steps``, :math:`T` = ``total_steps`` and
    :math:`\eta_{\text{start}}` = ``warmup_start_lr``:

    .. math::

        \eta_t = \begin{cases}
            \eta_{\text{start}} + (\eta_0 - \eta_{\text{start}})\,t / W & t < W \\
            \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
            \Big(1 + \cos\frac{\pi(\min(t, T) - W)}{T - W}\Big) & t \ge W
        \end{cases}

    The rate reaches ``lr`` at step :math:`W` and ``min_lr`` at step :math:`T` (total steps
    *including* the warm-up). Keras: ``CosineDecay(initial_learning_rate=warmup_start_lr,
    decay_steps=T - W, alpha=min_lr / lr, warmup_target=lr, warmup_steps=W)`` — note that Keras'
    ``initial_learning_rate`` is the *start of the warm-up* and its ``decay_steps`` excludes it.
    torch: ``SequentialLR([LinearLR(start_factor=warmup_start_lr / lr, total_iters=W),
    CosineAnnealingLR(T_max=T - W, eta_min=min_lr)], milestones=[W])`` (``LinearLR`` needs
    ``warmup_start_lr > 0``).
    """

    lr: float
    warmup_steps: int
    total_steps: int
    min_lr: float = 0.0
    warmup_start_lr: float = 0.0

    def __post_init__(self):
        _check_lr(self.lr, "lr")
        if not _is_int(self.warmup_steps) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {self.warmup_steps!r}")
        _check_positive_int(self.total_steps, "total_steps")
        if self.total_steps <= self.warmup_steps:
            raise ValueError(
                f"total_steps must be larger than warmup_steps (it includes the warm-up), "
                f"got total_steps={self.total_steps}, warmup_steps={self.warmup_steps}"
            )
        _check_lr(self.min_lr, "min_lr")
        _check_lr(self.warmup_start_lr, "warmup_start_lr")

    def formula(self, step, ops):
        # η_start + (η₀ − η_start) t / W   (max(W, 1) only avoids 0/0 when there is no warm-up)
        warmup = self.warmup_start_lr + (self.lr - self.warmup_start_lr) * step / max(
            self.warmup_steps, 1
        )
        decay_fraction = (ops.minimum(step, self.total_steps) - self.warmup_steps) / (
            self.total_steps - self.warmup_steps
        )
        decay = _cosine_decay(self.lr, self.min_lr, decay_fraction, ops)
        return ops.where(step < self.warmup_steps, warmup, decay)


@dataclass(frozen=True)
class OneCycle(Schedule):
    r"""Smith's 1cycle policy, as ``torch.optim.lr_scheduler.OneCycleLR`` (two phases).

    The rate climbs from :math:`\eta_{\max}/d` to :math:`\eta_{\max}` during the first
    ``pct_start`` of the run, then anneals to :math:`\eta_{\max}/(d \cdot d_{\text{final}})`
    at the last step :math:`T - 1`, with :math:`d` = ``div_factor`` and
    :math:`d_{\text{final}}` = ``final_div_factor``. torch's phase boundary is
    :math:`t_1 = \text{pct\_start}\cdot T - 1` (a float):

    .. math::

        \eta_t = \begin{cases}
            \operatorname{anneal}(\eta_{\max}/d,\ \eta_{\max},\ t / t_1) & t \le t_1 \\
            \operatorname{anneal}\big(\eta_{\max},\ \eta_{\max}/(d\,d_{\text{final}}),\
                (t - t_1)/(T - 1 - t_1)\big) & t > t_1
        \end{cases}

    where ``anneal="cos"`` is :math:`\operatorname{anneal}(a, b, x) = b + \tfrac12(a - b)(1 +
    \cos \pi x)` and ``anneal="linear"`` is :math:`a + (b - a)x`. After step :math:`T - 1` the
    rate stays at its final value (torch raises an error instead). torch's ``cycle_momentum``
    (which also cycles momentum) is not part of a learning-rate schedule.
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal: str = "cos"

    def __post_init__(self):
        _check_lr(self.max_lr, "max_lr")
        _check_positive_int(self.total_steps, "total_steps")
        if not _is_number(self.pct_start) or not 0 < self.pct_start < 1:
            raise ValueError(f"pct_start must be a number in (0, 1), got {self.pct_start!r}")
        if self.pct_start * self.total_steps <= 1:
            raise ValueError(
                "pct_start * total_steps must exceed 1 so that the warm-up phase lasts at least "
                f"one step, got pct_start={self.pct_start}, total_steps={self.total_steps}"
            )
        _check_positive(self.div_factor, "div_factor")
        _check_positive(self.final_div_factor, "final_div_factor")
        if self.anneal not in ("cos", "linear"):
            raise ValueError(f"anneal must be 'cos' or 'linear', got {self.anneal!r}")

    @property
    def base_lr(self) -> float:
        return self.max_lr

    @property
    def initial_lr(self) -> float:
        """η_max / d, the rate at step 0."""
        return self.max_lr / self.div_factor

    @property
    def final_lr(self) -> float:
        """η_max / (d · d_final), the rate at step T − 1."""
        return self.initial_lr / self.final_div_factor

    def _anneal(self, start_lr, end_lr, fraction, ops):
        if self.anneal == "cos":
            return _cosine_decay(start_lr, end_lr, fraction, ops)
        return start_lr + (end_lr - start_lr) * fraction

    def formula(self, step, ops):
        last_step = self.total_steps - 1
        step = ops.minimum(step, last_step)
        peak_step = self.pct_start * self.total_steps - 1  # t₁, torch's end of phase 1
        warmup = self._anneal(self.initial_lr, self.max_lr, step / peak_step, ops)
        annealing_fraction = (step - peak_step) / (last_step - peak_step)
        annealing = self._anneal(self.max_lr, self.final_lr, annealing_fraction, ops)
        return ops.where(step <= peak_step, warmup, annealing)


# The factories used throughout the course: lower-case names that read like functions.
constant = Constant
step_decay = StepDecay
multi_step = MultiStep
exponential = Exponential
inverse_time = InverseTime
polynomial = Polynomial
cosine_annealing = CosineAnnealing
warmup_cosine = WarmupCosine
one_cycle = OneCycle


# ---------------------------------------------------------------------------------------------
# Using a schedule: tabulate it, apply it, hand it to torch or Keras
# ---------------------------------------------------------------------------------------------


def values(schedule: Callable[[int], float], num_steps: int) -> np.ndarray:
    """Learning rates of steps ``0, 1, ..., num_steps - 1`` as a float64 array (for plotting).

    ``schedule`` may be any function of the step, not only one of the schedules above.
    """
    if not _is_int(num_steps) or num_steps < 0:
        raise ValueError(f"num_steps must be an int >= 0, got {num_steps!r}")
    if not callable(schedule):
        raise ValueError(f"schedule must be callable as schedule(step), got {schedule!r}")
    return np.array([float(schedule(step)) for step in range(num_steps)], dtype=np.float64)


def apply_schedule(optimizer, schedule: Callable[[int], float], step: int) -> float:
    """Set ``optimizer``'s learning rate to ``schedule(step)`` and return that rate.

    Works with a torch optimizer (every ``param_groups[i]["lr"]``), with our NumPy optimizers
    (their ``lr`` attribute) and with a Keras optimizer (its ``learning_rate``). Call it before
    update number ``step``::

        for step in range(num_steps):
            apply_schedule(optimizer, schedule, step)
            ...  # compute gradients, then optimizer.step()
    """
    lr = float(schedule(step))
    if hasattr(optimizer, "param_groups"):  # torch.optim.Optimizer
        for group in optimizer.param_groups:
            group["lr"] = lr
    elif hasattr(optimizer, "lr"):  # utils.optim.numpy
        optimizer.lr = lr
    elif hasattr(optimizer, "learning_rate"):  # keras.optimizers.Optimizer
        optimizer.learning_rate = lr
    else:
        raise ValueError(
            "optimizer must have torch-style param_groups, an lr attribute or a Keras "
            f"learning_rate attribute, got {type(optimizer).__name__}"
        )
    return lr


def to_torch_lambda(schedule: Schedule, base_lr: float | None = None) -> Callable[[int], float]:
    r"""A ``lr_lambda`` for ``torch.optim.lr_scheduler.LambdaLR`` that follows ``schedule``.

    ``LambdaLR`` sets ``lr = base_lr * lr_lambda(t)`` where ``base_lr`` is the lr the optimizer
    was created with, so we return :math:`t \mapsto \eta_t / \eta_{\text{base}}`. Create the
    optimizer with ``lr=schedule.base_lr`` (the default ``base_lr`` here), or pass the lr you
    used. The product :math:`\eta_{\text{base}}\cdot(\eta_t/\eta_{\text{base}})` equals
    :math:`\eta_t` up to one rounding (relative error below :math:`2^{-52}`); with
    ``lr=1.0`` and ``base_lr=1.0`` it is exact.

        optimizer = torch.optim.SGD(model.parameters(), lr=schedule.base_lr)
        scheduler = LambdaLR(optimizer, to_torch_lambda(schedule))
    """
    if base_lr is None:
        base_lr = schedule.base_lr
    _check_positive(base_lr, "base_lr")

    def lr_lambda(step: int) -> float:
        return schedule(step) / base_lr  # LambdaLR multiplies this by base_lr

    return lr_lambda


@functools.cache
def _keras_schedule_class():
    """Build (once) a ``keras.optimizers.schedules.LearningRateSchedule`` wrapping a Schedule."""
    import keras  # imported here, so that importing this module never loads TensorFlow

    class KerasSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """Evaluates a :class:`Schedule`'s formula with ``keras.ops`` on the step tensor."""

        def __init__(self, schedule: Schedule, dtype: str = "float32"):
            super().__init__()
            self.schedule = schedule
            self.dtype = dtype

        def __call__(self, step):
            step = keras.ops.cast(step, self.dtype)
            lr = self.schedule.formula(step, keras.ops)
            return keras.ops.cast(keras.ops.convert_to_tensor(lr, dtype=self.dtype), self.dtype)

        def get_config(self):
            return {
                "schedule": type(self.schedule).__name__,
                "arguments": dataclasses.asdict(self.schedule),
                "dtype": self.dtype,
            }

        @classmethod
        def from_config(cls, config):
            schedule = globals()[config["schedule"]](**config["arguments"])
            return cls(schedule, config.get("dtype", "float32"))

    return KerasSchedule


def to_keras(schedule: Schedule, dtype: str = "float32"):
    """Wrap ``schedule`` as a ``keras.optimizers.schedules.LearningRateSchedule``.

    The result computes the same formula from the step tensor Keras passes (in ``dtype``,
    float32 like Keras' own schedules), so it works inside ``tf.function`` and ``model.fit``.
    float32 keeps about 7 significant digits of the *largest* rate, so a rate 10⁵ times smaller
    (the end of :func:`one_cycle`) carries a visible relative error; ``dtype="float64"``
    reproduces :meth:`Schedule.__call__` to ~1e-16::

        optimizer = keras.optimizers.SGD(learning_rate=to_keras(schedule))
    """
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if not isinstance(schedule, Schedule):
        raise ValueError(
            "schedule must be one of utils.schedules' schedules (its formula is evaluated with "
            f"keras.ops), got {type(schedule).__name__}"
        )
    return _keras_schedule_class()(schedule, dtype)
