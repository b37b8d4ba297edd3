"""Each optimizer described once: its hyper-parameters, its state, its math, its oracles.

The NumPy, PyTorch and TensorFlow implementations in this package keep only their kernels; the
rest comes from the description here:

- the constructor's arguments and defaults, and their validation (``ValueError`` naming the
  argument, the value and the valid range, in the words of ``torch.optim``);
- the docstrings (the algorithm box below) and the ``repr``;
- the state a NumPy optimizer keeps, its ``state_dict`` and the pure step functions;
- the test tables: example settings, invalid values, random settings, and the framework
  optimizers the tests compare with (``torch.optim`` or Keras, whichever has the optimizer).

Weight decay is not part of any kernel. :attr:`OptimizerSpec.weight_decay` says which kind the
optimizer applies, and each framework module writes the two kinds once:

- ``"l2"``: L2 regularisation, g ← g + λθ, before the kernel sees the gradient;
- ``"decoupled"``: θ ← θ(1 − γλ), before the kernel updates θ (Loshchilov & Hutter, 2019);
- ``"choice"``: L2, or decoupled when the ``decoupled_weight_decay`` argument is true;
- ``"kernel"``: the kernel applies λ itself, where its math says (schedule-free AdamW decays
  the sequence z_t at the point y_{t−1}, which is neither of the two kinds).

This module imports no array library, so that it can be read (and imported) on its own.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

__all__ = [
    "Hyperparameter",
    "StateField",
    "Oracle",
    "OptimizerSpec",
    "SPECS",
    "nadam_momentum",
    "muon_lr",
    "schedule_free_weights",
]


@dataclass(frozen=True)
class Hyperparameter:
    """One constructor argument: name, default, meaning and valid range.

    ``low``/``high`` bound the value (``None``: unbounded); ``strict`` names the bounds that the
    value may not equal (``"low"``, ``"high"`` or both). ``kind`` is ``"float"``, ``"bool"``,
    ``"pair"`` (two floats, each in the range, as ``betas``), ``"lr"`` (a float, or a schedule
    object that its framework checks), ``"int"`` (an integer in the range), ``"choice"`` (one of
    ``choices``) or ``"tuple"`` (as many finite floats as the default has, each in the range;
    ``None`` items allowed when ``nullable``, as Adafactor's ``eps=(None, 1e-3)``).
    """

    name: str
    default: Any
    symbol: str
    doc: str
    low: float | None = None
    high: float | None = None
    strict: tuple[str, ...] = ()
    kind: str = "float"
    choices: tuple = ()
    nullable: bool = False

    @property
    def label(self) -> str:
        """How torch.optim's messages call it: "learning rate", "epsilon value", "rho value"."""
        return {"lr": "learning rate", "eps": "epsilon value"}.get(self.name, f"{self.name} value")

    def range_text(self, name: str | None = None) -> str:
        """The range as an inequality: "lr >= 0", "0 <= beta < 1", "eps > 0"."""
        name = name or self.name
        below = "<" if "low" in self.strict else "<="
        above = "<" if "high" in self.strict else "<="
        if self.low is None and self.high is None:
            return f"{name} a finite number"
        if self.low is None:
            return f"{name} {above} {self.high:g}"
        if self.high is None:
            return f"{name} {'>' if 'low' in self.strict else '>='} {self.low:g}"
        return f"{self.low:g} {below} {name} {above} {self.high:g}"

    def contains(self, value) -> bool:
        """Whether ``value`` lies in the range (NaN never does)."""
        if self.low is not None:
            if not (value > self.low if "low" in self.strict else value >= self.low):
                return False
        if self.high is not None:
            if not (value < self.high if "high" in self.strict else value <= self.high):
                return False
        return True

    def check(self, value) -> None:
        """Raise ``ValueError`` naming this argument if ``value`` is outside its range."""
        if self.kind == "bool":
            if not isinstance(value, bool | int):
                raise ValueError(f"Invalid {self.name} value: {value!r} (expected True or False)")
        elif self.kind == "pair":
            if isinstance(value, str) or not hasattr(value, "__len__") or len(value) != 2:
                raise ValueError(f"Invalid {self.name}: {value} (expected a pair (beta1, beta2))")
            for index, beta in enumerate(value):
                if not self.contains(beta):
                    raise ValueError(
                        f"Invalid beta parameter at index {index}: {beta} "
                        f"(expected {self.range_text('beta')})"
                    )
        elif self.kind == "lr" and not isinstance(value, Real):
            return  # a schedule: its framework checks it
        elif self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or not self.contains(value):
                raise ValueError(
                    f"Invalid {self.label}: {value!r} (expected an integer, {self.range_text()})"
                )
        elif self.kind == "choice":
            if value not in self.choices:
                options = ", ".join(repr(c) for c in self.choices)
                raise ValueError(f"Invalid {self.label}: {value!r} (expected one of {options})")
        elif self.kind == "tuple":
            self._check_tuple(value)
        elif not self.contains(value):
            raise ValueError(f"Invalid {self.label}: {value} (expected {self.range_text()})")

    def _check_tuple(self, value) -> None:
        length = len(self.default)
        if isinstance(value, str) or not hasattr(value, "__len__") or len(value) != length:
            raise ValueError(
                f"Invalid {self.name}: {value!r} (expected a tuple of {length} numbers)"
            )
        for index, item in enumerate(value):
            if item is None and self.nullable:
                continue
            if not isinstance(item, Real) or not math.isfinite(item) or not self.contains(item):
                item_name = f"{self.name}[{index}]"
                raise ValueError(
                    f"Invalid {item_name} value: {item} in {self.name}={tuple(value)!r} "
                    f"(expected {self.range_text(item_name)}"
                    f"{' or None' if self.nullable else ''})"
                )


@dataclass(frozen=True)
class StateField:
    """One piece of per-parameter state.

    ``initial`` is the starting value: a number, or the name of the hyper-parameter that sets it
    (Adagrad's ``initial_accumulator_value``). ``needed_if`` names a hyper-parameter: the field
    exists only when it is true or non-zero (AMSGrad's maximum, RMSprop's momentum buffer); it is
    ``None`` until the first step that uses it. ``scalar`` fields are Python numbers (the step
    counter), the others arrays shaped like the parameter, unless ``shape`` maps the parameter's
    shape to the field's (Adafactor's row and column statistics) or to ``None``: the field does
    not exist for that parameter and stays ``None``. ``starts_at_param``: the array starts as a
    copy of the parameter, not at ``initial`` (schedule-free AdamW's z_0 = x_0 = θ_0).
    """

    name: str
    symbol: str
    doc: str
    initial: float | str = 0.0
    needed_if: str | None = None
    scalar: bool = False
    shape: Callable[[tuple], tuple | None] | None = None
    starts_at_param: bool = False

    def shape_for(self, param_shape: tuple) -> tuple | None:
        """The field's shape for a parameter of ``param_shape`` (``None``: no such field)."""
        return tuple(param_shape) if self.shape is None else self.shape(tuple(param_shape))


@dataclass(frozen=True)
class Oracle:
    """A framework optimizer that computes the same steps, for the tests.

    ``library`` is ``"torch"`` (``torch.optim.<name>``) or ``"keras"``
    (``keras.optimizers.<name>``). ``translate`` maps our hyper-parameters to its arguments, or
    returns ``None`` when it has no equivalent setting; this is where a convention difference
    (Keras' ε̂, its initial accumulator) is written down. ``constant_lr``: the two agree only while
    the learning rate does not change. ``rtol`` (and ``atol``) loosen the tolerance where the
    framework rounds a constant through float32, or computes in a lower precision (torch's Muon
    runs Newton–Schulz in bfloat16). ``variant`` names a change the tests make to the framework
    optimizer (``ORACLE_VARIANTS`` in ``tests/optim_cases.py``): ``"float64 newton-schulz"``
    runs torch.optim.Muon with its bfloat16 Newton–Schulz replaced by the same iteration in the
    parameter's dtype, written in torch operations.
    """

    library: str
    name: str
    translate: Callable[[dict], dict | None] = dict
    constant_lr: bool = False
    rtol: float | None = None
    atol: float | None = None
    note: str = ""
    variant: str = ""


@dataclass(frozen=True)
class OptimizerSpec:
    """The description of one optimizer, shared by its three implementations."""

    name: str
    summary: str
    hyperparameters: tuple[Hyperparameter, ...]
    state: tuple[StateField, ...]
    math: str
    notes: str = ""
    weight_decay: str = "l2"
    oracles: tuple[Oracle, ...] = ()
    examples: tuple[dict, ...] = ()
    constraints: tuple[Callable[[Mapping], None], ...] = ()
    ndims: tuple[int, ...] | None = None
    test_shapes: tuple[tuple[int, ...], ...] | None = None
    kernel_sees_weight_decay: bool = False

    # ``ndims``: the numbers of dimensions a parameter may have (``None``: any); Muon takes
    # matrices only. ``test_shapes``: the parameter shapes the tests use instead of the
    # default ones. ``kernel_sees_weight_decay``: the kernel also receives λ (the decay itself is
    # still applied before it; Adafactor needs RMS(θ_{t−1}) of the undecayed θ); it is implied
    # by ``weight_decay="kernel"``, where the kernel applies the decay.

    @property
    def kernel_gets_weight_decay(self) -> bool:
        """Whether the kernels receive ``weight_decay`` among their arguments."""
        return self.kernel_sees_weight_decay or self.weight_decay == "kernel"

    def check_param_shape(self, shape: tuple, index: int | None = None) -> None:
        """Raise ``ValueError`` naming the shape of a parameter this optimizer does not take."""
        if self.ndims is not None and len(shape) not in self.ndims:
            where = "a parameter" if index is None else f"params[{index}]"
            dims = " or ".join(f"{n}-D" for n in self.ndims)
            raise ValueError(
                f"{self.name} takes {dims} parameters only; {where} has shape {tuple(shape)} "
                f"({len(shape)}-D)"
            )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    @property
    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hyperparameters}

    def hyperparameter(self, name: str) -> Hyperparameter:
        return next(h for h in self.hyperparameters if h.name == name)

    def bind(self, args: tuple = (), kwargs: Mapping | None = None) -> dict[str, Any]:
        """Positional and keyword arguments as a full, validated dict of hyper-parameters."""
        kwargs = dict(kwargs or {})
        if len(args) > len(self.names):
            raise TypeError(f"{self.name}() takes at most {len(self.names)} hyper-parameters")
        for name, value in zip(self.names, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{self.name}() got multiple values for argument '{name}'")
            kwargs[name] = value
        unknown = sorted(set(kwargs) - set(self.names))
        if unknown:
            raise TypeError(
                f"{self.name}() got an unexpected argument {unknown[0]!r}; "
                f"its hyper-parameters are {', '.join(self.names)}"
            )
        hyper = {**self.defaults, **kwargs}
        self.validate(hyper)
        for parameter in self.hyperparameters:
            if parameter.kind in ("pair", "tuple"):
                hyper[parameter.name] = tuple(hyper[parameter.name])
        return hyper

    def validate(self, hyper: Mapping) -> None:
        for parameter in self.hyperparameters:
            if parameter.name in hyper:
                parameter.check(hyper[parameter.name])
        for constraint in self.constraints:
            constraint(hyper)

    def decay_kind(self, hyper: Mapping) -> str | None:
        """``"l2"``, ``"decoupled"`` or ``None`` (no decay) for these hyper-parameters."""
        if not hyper.get("weight_decay"):
            return None
        if self.weight_decay == "choice":
            return "decoupled" if hyper["decoupled_weight_decay"] else "l2"
        return self.weight_decay  # "l2", "decoupled", or "kernel": the kernel applies it

    def signature_text(self) -> str:
        return ", ".join(f"{h.name}={h.default!r}" for h in self.hyperparameters)

    def docstring(self, framework_note: str = "") -> str:
        """The algorithm box and conventions, for every implementation's docstring."""
        symbols = "\n".join(
            f"    {h.symbol:<6} ``{h.name}`` = {h.default!r}: {h.doc}" for h in self.hyperparameters
        )
        state = "\n".join(f"    {s.symbol:<6} ``{s.name}``: {s.doc}" for s in self.state)
        decay = {
            "l2": "``weight_decay`` λ is L2 regularisation: g_t ← g_t + λθ_{t−1} before the step.",
            "decoupled": "``weight_decay`` λ is decoupled: θ_{t−1} ← θ_{t−1}(1 − γλ) first.",
            "choice": (
                "``weight_decay`` λ is L2 (g_t ← g_t + λθ_{t−1}), or decoupled "
                "(θ_{t−1} ← θ_{t−1}(1 − γλ)) with ``decoupled_weight_decay=True``."
            ),
            "kernel": "``weight_decay`` λ is applied inside the step, as the lines above show.",
        }[self.weight_decay]
        parts = [
            f"{self.summary}",
            f"Hyper-parameters (defaults)::\n\n{symbols}",
            f"State, per parameter::\n\n{state}",
            f"One step, t = 1, 2, ...::\n\n{_indent(self.math.strip())}",
            decay,
        ]
        if self.notes:
            parts.append(self.notes.strip())
        if framework_note:
            parts.append(framework_note.strip())
        return "\n\n".join(parts)


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


# ---------------------------------------------------------------------------------------------
# Building blocks shared by several descriptions
# ---------------------------------------------------------------------------------------------


def _lr(default: float) -> Hyperparameter:
    return Hyperparameter("lr", default, "γ", "learning rate", low=0.0, kind="lr")


def _weight_decay(default: float = 0.0) -> Hyperparameter:
    return Hyperparameter("weight_decay", default, "λ", "weight decay", low=0.0)


def _eps(default: float, doc: str = "added to the denominator") -> Hyperparameter:
    return Hyperparameter("eps", default, "ε", doc, low=0.0, strict=("low",))


def _betas(default: tuple[float, float], doc: str) -> Hyperparameter:
    return Hyperparameter(
        "betas", default, "β₁, β₂", doc, low=0.0, high=1.0, strict=("high",), kind="pair"
    )


def _flag(name: str, default: bool, doc: str) -> Hyperparameter:
    return Hyperparameter(name, default, "", doc, kind="bool")


STEP = StateField("step", "t", "the number of steps taken", initial=0, scalar=True)


def nadam_momentum(beta1, momentum_decay, step):
    """NAdam's momentum schedule μ_t = β₁ (1 − ½ · 0.96^(tψ)), for numbers or tensors."""
    return beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))


def muon_lr(lr, adjust_lr_fn, shape):
    """Muon's γ̃ for an A × B matrix: γ √max(1, A/B) ("original", None) or 0.2 γ √max(A, B)."""
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr * math.sqrt(max(1, rows / cols))


def schedule_free_weights(step, lr, lr_max, weight_sum, warmup_steps, r, weight_lr_power):
    """Schedule-free AdamW's scalars at step t, from γ_max and S_{t−1}: returns
    (γ_t, γ_max, S_t, c_t), the warmed-up rate and the weight of z_t in the average."""
    scheduled_lr = lr * min(1.0, step / warmup_steps) if warmup_steps else lr  # γ_t
    lr_max = max(lr_max, scheduled_lr)  # γ_max
    weight = step**r * lr_max**weight_lr_power  # w_t = tʳ γ_maxᵖ
    weight_sum = weight_sum + weight  # S_t
    return scheduled_lr, lr_max, weight_sum, weight / weight_sum if weight_sum else 0.0


def _no_decay(hyper) -> bool:
    return not hyper.get("weight_decay")


def _nesterov_needs_momentum(hyper) -> None:
    if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
        raise ValueError(
            "Nesterov momentum requires a momentum > 0 and zero dampening "
            f"(got momentum={hyper['momentum']}, dampening={hyper['dampening']})"
        )


def _tiny(eps) -> bool:
    """ε so small that √v + ε and √(v + ε) agree to rounding: the Keras mappings need it."""
    return eps <= 1e-100


# ---------------------------------------------------------------------------------------------
# The optimizers
# ---------------------------------------------------------------------------------------------


SGD = OptimizerSpec(
    name="SGD",
    summary="Stochastic gradient descent, optionally with (Nesterov) momentum.",
    hyperparameters=(
        _lr(1e-3),
        Hyperparameter("momentum", 0.0, "μ", "momentum factor", low=0.0),
        Hyperparameter("dampening", 0.0, "τ", "dampening of the new gradient", 0.0, 1.0),
        _weight_decay(),
        _flag("nesterov", False, "Nesterov momentum (needs μ > 0 and τ = 0)"),
    ),
    state=(StateField("momentum_buffer", "b_t", "momentum buffer", needed_if="momentum"),),
    math="""
b_t = g_t                               at the first step with μ ≠ 0
b_t = μ b_{t−1} + (1 − τ) g_t           afterwards
g_t ← g_t + μ b_t                       if nesterov
g_t ← b_t                               otherwise (if μ ≠ 0)
θ_t = θ_{t−1} − γ g_t
""",
    notes="""
Plain gradient descent is μ = 0. The first momentum step starts the buffer at g_1
(undamped), not at (1 − τ) g_1, as torch does. Keras' ``SGD`` stores v = μv − γg, the
learning rate inside the velocity: the same steps while γ is constant, other ones after
a learning-rate change.
""",
    constraints=(_nesterov_needs_momentum,),
    oracles=(
        Oracle("torch", "SGD"),
        Oracle(
            "keras",
            "SGD",
            lambda h: (
                dict(learning_rate=h["lr"], momentum=h["momentum"], nesterov=h["nesterov"])
                if h["dampening"] == 0 and _no_decay(h)
                else None
            ),
            constant_lr=True,
            note="γ inside Keras' velocity",
        ),
    ),
    examples=(
        dict(lr=2**-3),
        dict(lr=2**-4, momentum=0.875),
        dict(lr=2**-4, momentum=0.9, dampening=0.3),
        dict(lr=2**-4, momentum=0.875, nesterov=True),
        dict(lr=2**-4, momentum=0.8, nesterov=True, weight_decay=0.1),
        dict(lr=2**-4, momentum=0.5, dampening=0.5, weight_decay=0.01),
    ),
)

ADAGRAD = OptimizerSpec(
    name="Adagrad",
    summary="Adagrad (Duchi, Hazan & Singer, 2011): per-coordinate steps from summed g².",
    hyperparameters=(
        _lr(1e-2),
        Hyperparameter("lr_decay", 0.0, "η", "learning-rate decay", low=0.0),
        _weight_decay(),
        Hyperparameter("initial_accumulator_value", 0.0, "s_0", "initial sum", low=0.0),
        _eps(1e-10),
    ),
    state=(
        STEP,
        StateField("sum", "s_t", "running sum of squared gradients", "initial_accumulator_value"),
    ),
    math="""
γ̃_t = γ / (1 + (t − 1) η)
s_t = s_{t−1} + g_t²
θ_t = θ_{t−1} − γ̃_t g_t / (√s_t + ε)
""",
    notes="""
Keras' ``Adagrad`` puts ε inside the root, √(s_t + ε), and starts at s_0 = 0.1 with
ε = 1e-7: with a negligible ε here the two are the same formula.
""",
    oracles=(
        Oracle("torch", "Adagrad"),
        Oracle(
            "keras",
            "Adagrad",
            lambda h: (
                dict(
                    learning_rate=h["lr"],
                    initial_accumulator_value=h["initial_accumulator_value"],
                    epsilon=h["eps"],
                )
                if _tiny(h["eps"]) and h["lr_decay"] == 0 and _no_decay(h)
                else None
            ),
            note="ε inside the root",
        ),
    ),
    examples=(
        dict(lr=2**-3),
        dict(lr=2**-3, lr_decay=0.05, initial_accumulator_value=0.3),
        dict(lr=2**-3, lr_decay=0.01, weight_decay=0.1, eps=1e-6),
        dict(lr=2**-3, initial_accumulator_value=0.125, eps=1e-300),
    ),
)

RMSPROP = OptimizerSpec(
    name="RMSprop",
    summary="RMSprop (Hinton, 2012): a moving average of g² instead of Adagrad's sum.",
    hyperparameters=(
        _lr(1e-2),
        Hyperparameter("alpha", 0.99, "α", "smoothing constant", 0.0, 1.0),
        _eps(1e-8),
        _weight_decay(),
        Hyperparameter("momentum", 0.0, "μ", "momentum factor", low=0.0),
        _flag("centered", False, "divide by an estimate of the variance, not of E[g²]"),
    ),
    state=(
        StateField("square_avg", "v_t", "moving average of g²"),
        StateField("grad_avg", "ḡ_t", "moving average of g", needed_if="centered"),
        StateField("momentum_buffer", "b_t", "momentum buffer", needed_if="momentum"),
    ),
    math="""
v_t = α v_{t−1} + (1 − α) g_t²
ḡ_t = α ḡ_{t−1} + (1 − α) g_t           if centered
ṽ_t = v_t − ḡ_t²  if centered,  else  ṽ_t = v_t
b_t = μ b_{t−1} + g_t / (√ṽ_t + ε)      if μ > 0,  else  b_t = g_t / (√ṽ_t + ε)
θ_t = θ_{t−1} − γ b_t
""",
    notes="""
Keras' ``RMSprop`` calls α ``rho`` (default 0.9, lr 1e-3), puts ε inside the root,
√(ṽ_t + ε), and folds γ into its momentum buffer: the same trajectory for a constant γ
once ε is negligible.
""",
    oracles=(
        Oracle("torch", "RMSprop"),
        Oracle(
            "keras",
            "RMSprop",
            lambda h: (
                dict(
                    learning_rate=h["lr"],
                    rho=h["alpha"],
                    epsilon=h["eps"],
                    momentum=h["momentum"],
                    centered=h["centered"],
                )
                if _tiny(h["eps"]) and _no_decay(h)
                else None
            ),
            constant_lr=True,
            note="α is Keras' rho; ε inside the root; γ inside the momentum",
        ),
    ),
    examples=(
        dict(lr=2**-6),
        dict(lr=2**-6, momentum=0.9),
        dict(lr=2**-6, centered=True),
        dict(lr=2**-6, centered=True, momentum=0.9, alpha=0.9),
        dict(lr=2**-6, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-4),
        dict(lr=2**-6, alpha=0.875, momentum=0.5, centered=True, eps=1e-300),
    ),
)

ADADELTA = OptimizerSpec(
    name="Adadelta",
    summary="Adadelta (Zeiler, 2012): RMSprop with units fixed by an average of the updates.",
    hyperparameters=(
        _lr(1.0),
        Hyperparameter("rho", 0.9, "ρ", "smoothing constant", 0.0, 1.0),
        _eps(1e-6, "inside both square roots"),
        _weight_decay(),
    ),
    state=(
        StateField("square_avg", "v_t", "moving average of g²"),
        StateField("acc_delta", "u_t", "moving average of the squared updates"),
    ),
    math="""
v_t = ρ v_{t−1} + (1 − ρ) g_t²
Δ_t = √(u_{t−1} + ε) / √(v_t + ε) · g_t
u_t = ρ u_{t−1} + (1 − ρ) Δ_t²
θ_t = θ_{t−1} − γ Δ_t
""",
    notes="""
Zeiler's Adadelta has no learning rate: γ = 1, torch's default. The ratio of two RMS values
gives Δ the units of θ. With u_0 = 0, ε sets the scale of the first step:
Δ_1 ≈ √(ε / (1 − ρ)) · sign(g_1) where g_1² ≫ ε. Keras' ``Adadelta`` is this formula with
other defaults (``learning_rate=1e-3, rho=0.95, epsilon=1e-7``).
""",
    oracles=(
        Oracle("torch", "Adadelta"),
        Oracle(
            "keras",
            "Adadelta",
            lambda h: (
                dict(learning_rate=h["lr"], rho=h["rho"], epsilon=h["eps"])
                if _no_decay(h)
                else None
            ),
        ),
    ),
    examples=(
        dict(lr=1.0),
        dict(lr=2**-1, rho=0.5, eps=1e-3),
        dict(lr=1.0, rho=0.875, eps=2**-10),
        dict(lr=1.0, rho=0.95, eps=1e-8, weight_decay=0.1),
    ),
)

_ADAM_MATH = """
m_t = β₁ m_{t−1} + (1 − β₁) g_t
v_t = β₂ v_{t−1} + (1 − β₂) g_t²
v_t ← max(v_max, v_t), kept as v_max    if amsgrad
m̂_t = m_t / (1 − β₁ᵗ)
v̂_t = v_t / (1 − β₂ᵗ)
θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)
"""
_ADAM_NOTES = """
Keras' ``{keras}`` computes θ_t = θ_{{t−1}} − γ √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m_t / (√v_t + ε̂): its
``epsilon`` ε̂ (default 1e-7) is Kingma & Ba's "epsilon hat", added to the *uncorrected* √v_t.
The two agree when ε = ε̂ / √(1 − β₂ᵗ) at step t (a constant ε̂ is a larger ε early in
training), and exactly when ε is negligible.
"""
_ADAM_STATE = (
    STEP,
    StateField("exp_avg", "m_t", "first moment"),
    StateField("exp_avg_sq", "v_t", "second moment"),
    StateField("max_exp_avg_sq", "v_max", "max_{s≤t} v_s", needed_if="amsgrad"),
)


def _keras_adam(h) -> dict | None:
    if not _tiny(h["eps"]):
        return None
    beta1, beta2 = h["betas"]
    return dict(
        learning_rate=h["lr"], beta_1=beta1, beta_2=beta2, epsilon=h["eps"], amsgrad=h["amsgrad"]
    )


ADAM = OptimizerSpec(
    name="Adam",
    summary="Adam (Kingma & Ba, 2015), optionally AMSGrad (Reddi, Kale & Kumar, 2018).",
    hyperparameters=(
        _lr(1e-3),
        _betas((0.9, 0.999), "decay rates of the two moments"),
        _eps(1e-8),
        _weight_decay(),
        _flag("amsgrad", False, "divide by the largest v_t so far"),
    ),
    state=_ADAM_STATE,
    math=_ADAM_MATH,
    notes=_ADAM_NOTES.format(keras="Adam"),
    oracles=(
        Oracle("torch", "Adam"),
        Oracle(
            "keras",
            "Adam",
            lambda h: _keras_adam(h) if _no_decay(h) else None,
            note="Keras' ε̂ (negligible ε)",
        ),
    ),
    examples=(
        dict(lr=2**-6),
        dict(lr=2**-6, amsgrad=True),
        dict(lr=2**-6, amsgrad=True, weight_decay=0.1),
        dict(lr=2**-6, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.01),
        dict(lr=2**-6, betas=(0.875, 1 - 2**-10), eps=1e-300, amsgrad=True),
    ),
)

ADAMW = OptimizerSpec(
    name="AdamW",
    summary="Adam with decoupled weight decay (Loshchilov & Hutter, 2019).",
    hyperparameters=(
        _lr(1e-3),
        _betas((0.9, 0.999), "decay rates of the two moments"),
        _eps(1e-8),
        _weight_decay(1e-2),
        _flag("amsgrad", False, "divide by the largest v_t so far"),
    ),
    state=_ADAM_STATE,
    math=_ADAM_MATH,
    notes=(
        "m̂_t and v̂_t come from the raw gradient: the decay does not pass through them."
        + _ADAM_NOTES.format(keras="AdamW")
    ),
    weight_decay="decoupled",
    oracles=(
        Oracle("torch", "AdamW"),
        Oracle(
            "keras",
            "AdamW",
            lambda h: (
                {**_keras_adam(h), "weight_decay": h["weight_decay"]} if _tiny(h["eps"]) else None
            ),
            note="Keras' ε̂ (negligible ε)",
        ),
    ),
    examples=(
        dict(lr=2**-6),
        dict(lr=2**-6, weight_decay=0.1, amsgrad=True, betas=(0.8, 0.99)),
        dict(lr=2**-6, weight_decay=2**-4, betas=(0.875, 1 - 2**-10), eps=1e-300),
    ),
)

NADAM = OptimizerSpec(
    name="NAdam",
    summary="NAdam (Dozat, 2016): Adam with Nesterov momentum.",
    hyperparameters=(
        _lr(2e-3),
        _betas((0.9, 0.999), "decay rates of the two moments"),
        _eps(1e-8),
        _weight_decay(),
        Hyperparameter("momentum_decay", 4e-3, "ψ", "speed of the momentum schedule", low=0.0),
        _flag("decoupled_weight_decay", False, "decay as AdamW does (NAdamW)"),
    ),
    state=(
        STEP,
        StateField("mu_product", "Π_t", "μ_1 μ_2 ⋯ μ_t", initial=1.0, scalar=True),
        StateField("exp_avg", "m_t", "first moment"),
        StateField("exp_avg_sq", "v_t", "second moment"),
    ),
    math="""
μ_t = β₁ (1 − ½ · 0.96^(tψ))           the momentum schedule
Π_t = Π_{t−1} μ_t
m_t = β₁ m_{t−1} + (1 − β₁) g_t
v_t = β₂ v_{t−1} + (1 − β₂) g_t²
m̂_t = μ_{t+1} m_t / (1 − Π_t μ_{t+1}) + (1 − μ_t) g_t / (1 − Π_t)
v̂_t = v_t / (1 − β₂ᵗ)
θ_t = θ_{t−1} − γ m̂_t / (√v̂_t + ε)
""",
    notes="""
Nesterov's look-ahead: m̂_t mixes the momentum of the *next* step, μ_{t+1} m_t, with the
current gradient, each divided by its own bias correction. The schedule rises from about
β₁/2 towards β₁; ψ = 0.004 (Dozat's 1/250) makes it slow: μ_t ≈ 0.58 β₁ after 1,000 steps.
The moment m_t itself decays with β₁, not with μ_t.

torch keeps Π_t in a tensor of its default dtype (float32 unless changed): a float64 run of
``torch.optim.NAdam`` then drifts from this one by about 1e-8 (relative). Keras' ``Nadam``
uses ψ = 1 (μ_t ≈ 0.94 β₁ after 50 steps), torch's ε placement and decoupled decay:
``keras.optimizers.Nadam(learning_rate=γ, epsilon=ε, weight_decay=λ)`` is
``NAdam(lr=γ, eps=ε, weight_decay=λ, momentum_decay=1.0, decoupled_weight_decay=True)``, to
about 1e-7 (its update rounds the 0.96 of μ_t through float32).
""",
    weight_decay="choice",
    oracles=(
        Oracle("torch", "NAdam"),
        Oracle(
            "keras",
            "Nadam",
            lambda h: (
                dict(
                    learning_rate=h["lr"],
                    beta_1=h["betas"][0],
                    beta_2=h["betas"][1],
                    epsilon=h["eps"],
                    weight_decay=h["weight_decay"] or None,
                )
                if h["momentum_decay"] == 1.0 and (h["decoupled_weight_decay"] or _no_decay(h))
                else None
            ),
            rtol=1e-6,
            note="ψ = 1; 0.96 rounded through float32",
        ),
    ),
    examples=(
        dict(lr=2**-6),
        dict(lr=2**-6, betas=(0.5, 0.9), eps=1e-3, momentum_decay=0.1),
        dict(lr=2**-6, weight_decay=0.1, momentum_decay=0.0),
        dict(lr=2**-6, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=1.0),
        dict(
            lr=2**-6,
            betas=(0.875, 1 - 2**-10),
            eps=2**-7,
            weight_decay=2**-4,
            momentum_decay=1.0,
            decoupled_weight_decay=True,
        ),
    ),
)

LION = OptimizerSpec(
    name="Lion",
    summary="Lion (Chen et al., 2023): the sign of an interpolated momentum.",
    hyperparameters=(
        _lr(1e-4),
        _betas((0.9, 0.99), "interpolation (β₁) and momentum (β₂) rates"),
        _weight_decay(),
    ),
    state=(StateField("exp_avg", "m_t", "momentum"),),
    math="""
c_t = β₁ m_{t−1} + (1 − β₁) g_t
θ_t = θ_{t−1} − γ sign(c_t)
m_t = β₂ m_{t−1} + (1 − β₂) g_t
""",
    notes="""
Every coordinate moves by exactly γ (or 0), so Lion's γ is typically 3–10 times smaller than
AdamW's, and its λ as many times larger to keep γλ (Chen et al., 2023). The update uses
β₁ and the stored momentum uses β₂: two rates, one buffer, no second moment (half of
Adam's state). ``torch.optim`` has no Lion; ``keras.optimizers.Lion`` is this formula
(Keras' default γ is 1e-3; its β₁ must be > 0).
""",
    weight_decay="decoupled",
    oracles=(
        Oracle(
            "keras",
            "Lion",
            lambda h: (
                dict(
                    learning_rate=h["lr"],
                    beta_1=h["betas"][0],
                    beta_2=h["betas"][1],
                    weight_decay=h["weight_decay"] or None,
                )
                if h["betas"][0] > 0
                else None
            ),
        ),
    ),
    examples=(
        dict(lr=2**-8),
        dict(lr=2**-8, betas=(0.875, 0.984375)),
        dict(lr=2**-8, betas=(0.5, 0.75), weight_decay=2**-3),
    ),
)


def _rows_shape(shape: tuple) -> tuple | None:
    """Adafactor's R_t: the mean over the last axis, kept as an axis of length 1 (as torch)."""
    return shape[:-1] + (1,) if len(shape) >= 2 else None


def _columns_shape(shape: tuple) -> tuple | None:
    """Adafactor's C_t: the mean over the second-to-last axis, kept as an axis of length 1."""
    return shape[:-2] + (1,) + shape[-1:] if len(shape) >= 2 else None


def _unfactored_shape(shape: tuple) -> tuple | None:
    """Adafactor's V̂_t of a vector or a scalar: the full moving average of g²."""
    return shape if len(shape) < 2 else None


def _decay_below_one(hyper) -> None:
    """θ(1 − γλ) must shrink θ, not flip or erase it: Adafactor recovers RMS(θ_{t−1}) from it."""
    lr, weight_decay = hyper["lr"], hyper.get("weight_decay", 0.0)
    if weight_decay and isinstance(lr, Real) and not lr * weight_decay < 1:
        raise ValueError(
            f"Invalid weight_decay value: {weight_decay} with lr={lr} "
            "(expected lr * weight_decay < 1)"
        )


def _tiny_eps1(h) -> bool:
    return h["eps"][0] is not None and _tiny(h["eps"][0] ** 0.5)


ADAFACTOR = OptimizerSpec(
    name="Adafactor",
    summary=(
        "Adafactor (Shazeer & Stern, 2018): Adam's second moment kept as row and column "
        "averages, steps relative to the parameter's scale."
    ),
    hyperparameters=(
        _lr(1e-2),
        Hyperparameter("beta2_decay", -0.8, "c", "β̂₂,t = 1 − tᶜ", high=0.0),
        Hyperparameter(
            "eps",
            (None, 1e-3),
            "ε₁, ε₂",
            "floor of V̂_t (None: the dtype's machine epsilon) and of RMS(θ)",
            low=0.0,
            kind="tuple",
            nullable=True,
        ),
        Hyperparameter("d", 1.0, "d", "clipping threshold of RMS(U_t)", low=1.0),
        _weight_decay(),
    ),
    state=(
        STEP,
        StateField("row_var", "R_t", "row means of g² (≥ 2-D θ)", shape=_rows_shape),
        StateField("col_var", "C_t", "column means of g² (≥ 2-D θ)", shape=_columns_shape),
        StateField("variance", "V̂_t", "moving average of g² (0-D, 1-D θ)", shape=_unfactored_shape),
    ),
    math="""
β̂₂,t = 1 − tᶜ                          (c ≤ 0: β̂₂,1 = 0, then towards 1)
ρ_t = min(γ, 1/√t)
α_t = max(ε₂, RMS(θ_{t−1})) ρ_t          RMS(a) = √mean(a²)
if θ has ≥ 2 dimensions (factored over the last two):
    R_t = β̂₂,t R_{t−1} + (1 − β̂₂,t) mean_cols(g_t²)
    C_t = β̂₂,t C_{t−1} + (1 − β̂₂,t) mean_rows(g_t²)
    V̂_t = R_t C_t / max(mean_rows(R_t), ε₁)
else:
    V̂_t = β̂₂,t V̂_{t−1} + (1 − β̂₂,t) g_t²
U_t = g_t / √max(V̂_t, ε₁²)
Û_t = U_t / max(1, RMS(U_t) / d)
θ_t = θ_{t−1} − α_t Û_t
""",
    notes="""
The conventions of ``torch.optim.Adafactor``: γ caps the relative step size ρ_t (Shazeer &
Stern use 0.01), ε₁ floors V̂_t and the mean of R_t instead of being added to g², ε₁ = None
is the machine epsilon of the parameter's dtype, and λ is decoupled with the learning rate
γ (θ ← θ(1 − γλ)). α_t uses θ_{t−1} before the decay: the decay is applied before the kernel
as for every optimizer, and the kernel recovers RMS(θ_{t−1}) = RMS(θ(1 − γλ)) / (1 − γλ),
hence lr · weight_decay < 1. State for an m × n matrix: m + n numbers instead of Adam's 2mn.

Keras' ``Adafactor`` adds ε₁ to g² (the paper's form), keeps R_t without its axis of length 1,
and applies its decay before computing α_t: with a negligible ε₁ and no decay it computes the
same steps (``epsilon_1=ε₁, epsilon_2=ε₂, clip_threshold=d, beta_2_decay=c``).
""",
    weight_decay="decoupled",
    kernel_sees_weight_decay=True,
    constraints=(_decay_below_one,),
    test_shapes=((), (5,), (3, 4), (6, 2), (2, 3, 4)),
    oracles=(
        Oracle("torch", "Adafactor"),
        Oracle(
            "keras",
            "Adafactor",
            lambda h: (
                dict(
                    learning_rate=h["lr"],
                    beta_2_decay=h["beta2_decay"],
                    epsilon_1=h["eps"][0],
                    epsilon_2=h["eps"][1],
                    clip_threshold=h["d"],
                )
                if _tiny_eps1(h) and _no_decay(h)
                else None
            ),
            note="ε₁ added to g²: negligible ε₁, no decay",
        ),
    ),
    examples=(
        dict(lr=2**-4),
        dict(lr=2**-3, beta2_decay=-0.5, eps=(1e-30, 2**-4), d=2.0),
        dict(lr=2**-4, eps=(1e-3, 1e-3), weight_decay=0.5),
        dict(lr=2**-2, beta2_decay=-1.0, d=1.0, eps=(1e-200, 0.5)),
    ),
)


MUON = OptimizerSpec(
    name="Muon",
    summary=(
        "Muon (Jordan et al., 2024): momentum orthogonalised by a Newton–Schulz iteration, "
        "for matrices."
    ),
    hyperparameters=(
        _lr(1e-3),
        _weight_decay(0.1),
        Hyperparameter("momentum", 0.95, "μ", "momentum factor", 0.0, 1.0),
        _flag("nesterov", True, "Nesterov momentum: orthogonalise (1 − μ) g_t + μ B_t"),
        Hyperparameter(
            "ns_coefficients",
            (3.4445, -4.775, 2.0315),
            "a, b, c",
            "coefficients of the quintic Newton–Schulz polynomial",
            kind="tuple",
        ),
        _eps(1e-7, "floor of ‖X‖_F in the normalisation"),
        Hyperparameter(
            "ns_steps", 5, "k", "Newton–Schulz iterations", 0, 100, strict=("high",), kind="int"
        ),
        Hyperparameter(
            "adjust_lr_fn",
            None,
            "",
            "lr scale: None or 'original' √max(1, A/B), 'match_rms_adamw' 0.2 √max(A, B)",
            kind="choice",
            choices=(None, "original", "match_rms_adamw"),
        ),
    ),
    state=(StateField("momentum_buffer", "B_t", "momentum buffer"),),
    math="""
B_t = μ B_{t−1} + (1 − μ) g_t
B̃_t = (1 − μ) g_t + μ B_t   if nesterov,  else  B̃_t = B_t
O_t = NS_k(B̃_t), for an A × B matrix (transposed while A > B):
    X_0 = B̃_t / max(‖B̃_t‖_F, ε)
    X_j = a X_{j−1} + (b G + c G²) X_{j−1},   G = X_{j−1} X_{j−1}ᵀ
γ̃ = γ √max(1, A/B)   or, with 'match_rms_adamw',  γ̃ = 0.2 γ √max(A, B)
θ_t = θ_{t−1} − γ̃ O_t
""",
    notes="""
NS_k pushes every singular value of B̃_t towards 1 (to about 0.7–1.2: the coefficients buy
speed, not exactness), so O_t ≈ U Vᵀ of the SVD B̃_t = U S Vᵀ: every direction of the matrix
moves by the same amount. The conventions of ``torch.optim.Muon``: the decay is decoupled
with the unadjusted γ (θ ← θ(1 − γλ)), default λ = 0.1. Matrices only: use AdamW for
biases, norms and embeddings.

torch runs NS_k in bfloat16 (about 3 significant digits); here it runs in the parameter's
dtype, so torch.optim.Muon agrees only to about 1e-2 (relative). The tests also compare
:func:`newton_schulz` with a float64 NS written in torch operations, and torch.optim.Muon
with its NS swapped for that one, to 1e-10. Keras' ``Muon`` is no oracle here: it keeps
B_t/(1 − μ) (the scale NS removes), adds 1e-7 to ‖X‖_F instead of flooring it, scales as
'match_rms_adamw' (``rms_rate=0.2``), and fails on float64 variables (its γ̃ multiplies by a
float32 √max(A, B)).
""",
    weight_decay="decoupled",
    ndims=(2,),
    test_shapes=((3, 4), (6, 2), (5, 5)),
    oracles=(
        Oracle(
            "torch", "Muon", variant="float64 newton-schulz", note="NS in the parameter's dtype"
        ),
        Oracle("torch", "Muon", rtol=3e-2, atol=3e-3, note="NS in bfloat16"),
    ),
    examples=(
        dict(lr=2**-6),
        dict(lr=2**-6, nesterov=False, momentum=0.875, weight_decay=0.0),
        dict(lr=2**-5, adjust_lr_fn="match_rms_adamw", weight_decay=2**-3),
        dict(lr=2**-6, adjust_lr_fn="match_rms_adamw", nesterov=False, ns_steps=3),
        dict(lr=2**-6, adjust_lr_fn="original", momentum=0.5, eps=1e-3),
    ),
)


def _float32_exact(value: float) -> bool:
    """Whether float32 holds ``value`` exactly (Keras rounds some constants through float32)."""
    return struct.unpack("f", struct.pack("f", value))[0] == value


def _keras_schedule_free(h) -> dict | None:
    """Keras weights the average by 1/t: ours too without warm-up, or with weight_lr_power = 0."""
    beta1, beta2 = h["betas"]
    uniform = h["r"] == 0 and (h["warmup_steps"] == 0 or h["weight_lr_power"] == 0)
    if not (uniform and _no_decay(h) and _float32_exact(beta1) and _float32_exact(beta2)):
        return None
    return dict(
        learning_rate=h["lr"],
        beta_1=beta1,
        beta_2=beta2,
        epsilon=h["eps"],
        warmup_steps=h["warmup_steps"],
    )


SCHEDULE_FREE_ADAMW = OptimizerSpec(
    name="ScheduleFreeAdamW",
    summary=(
        "Schedule-free AdamW (Defazio et al., 2024): no learning-rate schedule; the parameters "
        "hold y_t, the model is evaluated at the average x_t."
    ),
    hyperparameters=(
        _lr(2.5e-3),
        _betas((0.9, 0.999), "interpolation y = (1 − β₁) z + β₁ x; decay rate of v_t"),
        _eps(1e-8),
        _weight_decay(),
        Hyperparameter(
            "warmup_steps", 0, "W", "linear warm-up of γ over the first W steps", 0, kind="int"
        ),
        Hyperparameter("r", 0.0, "r", "polynomial weighting of the average, tʳ", low=0.0),
        Hyperparameter(
            "weight_lr_power", 2.0, "p", "weight of step t in the average: γ_max,tᵖ", low=0.0
        ),
    ),
    state=(
        STEP,
        StateField("z", "z_t", "the sequence the steps are taken on", starts_at_param=True),
        StateField("x", "x_t", "the average of the z's, where to evaluate", starts_at_param=True),
        StateField("exp_avg_sq", "v_t", "second moment"),
        StateField("lr_max", "γ_max", "the largest γ_t so far", initial=0.0, scalar=True),
        StateField("weight_sum", "S_t", "the sum of the weights w_1 ... w_t", scalar=True),
    ),
    math="""
γ_t = γ min(1, t/W)                        (γ_t = γ without warm-up, W = 0)
γ_max = max(γ_max, γ_t),  w_t = tʳ γ_maxᵖ,  S_t = S_{t−1} + w_t,  c_t = w_t / S_t
v_t = β₂ v_{t−1} + (1 − β₂) g_t²           (g_t is the gradient at θ_{t−1} = y_{t−1})
z_t = z_{t−1} − γ_t λ y_{t−1} − γ_t g_t / (√(v_t / (1 − β₂ᵗ)) + ε)
x_t = (1 − c_t) x_{t−1} + c_t z_t
θ_t = y_t = (1 − β₁) z_t + β₁ x_t
""",
    notes="""
The parameters hold y_t, where the gradient is taken; evaluate (and save) the model at x_t,
``state.x``. Without warm-up, w_t is constant and x_t the uniform average of z_1 ... z_t.
The conventions of the authors' package ``schedulefree`` (``AdamWScheduleFree``, the oracle
of the tests): λ decays z at y_{t−1}, and the weights use the largest γ_t so far. It keeps
x_t implicit, (y_t − (1 − β₁) z_t)/β₁, and swaps it into the parameters with
``optimizer.eval()``; here x_t is stored, one more parameter-sized buffer.

Keras' ``ScheduleFreeAdamW`` (3.15) weights by c_t = 1/t, applies its decay to y, and
recovers x_{t−1} from y_{t−1} and z_t, read after z has been updated, instead of z_{t−1}: from
the second step on it follows a different trajectory. With the same inputs and x_{t−1} taken
from z_{t−1}, it computes the same steps.
""",
    weight_decay="kernel",
    oracles=(
        Oracle("schedulefree", "AdamWScheduleFreeReference", note="the authors' x_t kept"),
        Oracle("schedulefree", "AdamWScheduleFree", note="the authors' fast form"),
        Oracle(
            "keras",
            "ScheduleFreeAdamW",
            _keras_schedule_free,
            variant="x from the previous z",
            note="uniform average, no decay",
        ),
    ),
    examples=(
        dict(lr=2**-5),
        dict(lr=2**-5, betas=(0.875, 1 - 2**-10), eps=1e-300),
        dict(lr=2**-4, weight_decay=0.25, betas=(0.5, 0.75)),
        dict(lr=2**-4, warmup_steps=10),
        dict(lr=2**-4, warmup_steps=10, weight_lr_power=0.0, betas=(0.75, 0.9375)),
        dict(lr=2**-5, r=1.0, weight_lr_power=1.0, eps=1e-3),
    ),
)


SPECS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        SGD, ADAGRAD, RMSPROP, ADADELTA, ADAM, ADAMW, NADAM, LION,
        ADAFACTOR, MUON, SCHEDULE_FREE_ADAMW,
    )
}  # fmt: skip
"""Every optimizer of the course, by class name."""
