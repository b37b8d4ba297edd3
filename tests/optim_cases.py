"""The optimizer test harness: implementations, oracles and cases, all from utils.optim.spec.

Nothing here names an optimizer. Each description in :mod:`utils.optim.spec` brings its example
settings, the ranges of its hyper-parameters and its oracles (``torch.optim`` or Keras, with the
mapping of conventions); this module turns them into

- ``EQUIVALENCE_CASES``: implementation (NumPy fast and reading forms, PyTorch, TensorFlow) ×
  oracle × example setting, run for ``STEPS`` steps of seeded random gradients, the learning rate
  halved halfway (unless the oracle agrees only at a constant rate), on the parameter shapes of
  ``shapes_for(spec)`` (the description's ``test_shapes``, else ``SHAPES``);
- ``random_hyperparameters(spec, oracle)``: hypothesis strategies over the valid ranges;
- ``invalid_hyperparameters(spec)``: values just outside each range.

The torch oracle is ``torch.optim`` with ``foreach=False`` (its plain per-tensor loop), or the
authors' ``schedulefree`` package, run with torch's default dtype set to float64: torch keeps
scalar state (step counts, NAdam's Π_t) in tensors of the default dtype. The Keras oracle runs
``apply_gradients`` in a ``tf.function``. Learning rates are powers of two and Keras examples
use values float32 holds exactly: Keras keeps ``learning_rate``, β's and accumulators in
float32, and such values survive that rounding.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from hypothesis import assume, settings
from hypothesis import strategies as st

from utils.optim.spec import SPECS, Hyperparameter, OptimizerSpec, Oracle

SHAPES = [(), (3, 4), (5,)]
STEPS = 50
LR_CHANGE_STEP = 25  # the learning rate halves from this step on
SETTINGS = settings(max_examples=8, deadline=None, derandomize=True)  # per optimizer
TOLERANCE = {  # (rtol, atol) against an oracle
    np.float64: (1e-10, 1e-12),
    np.float32: (1e-5, 1e-6),
}
IMPLEMENTATIONS = ("numpy", "numpy-reading", "torch", "tensorflow")


def shapes_for(spec: OptimizerSpec) -> list[tuple]:
    """The parameter shapes the tests use for ``spec`` (Muon: matrices only)."""
    return list(spec.test_shapes) if spec.test_shapes is not None else list(SHAPES)


def initial_params(dtype, seed: int = 0, shapes=SHAPES) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def gradients(dtype, seed: int = 1, steps: int = STEPS, shapes=SHAPES) -> list[list[np.ndarray]]:
    """One list of gradients per step, a fresh random draw each step."""
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape).astype(dtype) for shape in shapes] for _ in range(steps)]


def learning_rates(lr: float, steps: int = STEPS, constant: bool = False) -> list[float]:
    return [lr if constant or step < LR_CHANGE_STEP else lr / 2 for step in range(steps)]


# ---------------------------------------------------------------------------------------------
# Our implementations
# ---------------------------------------------------------------------------------------------


def run_numpy(name, kwargs, params, grads, lrs) -> list[np.ndarray]:
    import utils.optim.numpy as optim

    params = [p.copy() for p in params]
    optimizer = getattr(optim, name)(params, **kwargs)
    for step_grads, lr in zip(grads, lrs, strict=True):
        optimizer.lr = lr
        optimizer.step(step_grads)
    return params


def run_numpy_reading(name, kwargs, params, grads, lrs) -> list[np.ndarray]:
    import utils.optim.numpy as optim

    step = optim.STEP_FUNCTIONS[name]
    params = list(params)
    states = [optim.init_state(name, p, **kwargs) for p in params]
    for step_grads, lr in zip(grads, lrs, strict=True):
        for index, grad in enumerate(step_grads):
            params[index], states[index] = step(
                params[index], grad, states[index], **{**kwargs, "lr": lr}
            )
    return params


def run_torch(name, kwargs, params, grads, lrs) -> list[np.ndarray]:
    import torch

    import utils.optim.torch as optim

    with torch_scalar_state_in_float64():
        tensors = [torch.tensor(p, requires_grad=True) for p in params]
        optimizer = getattr(optim, name)(tensors, **kwargs)
        return _torch_loop(optimizer, tensors, grads, lrs)


def run_tensorflow(name, kwargs, params, grads, lrs, graph: bool = True) -> list[np.ndarray]:
    import utils.optim.tensorflow as optim

    return _keras_loop(lambda: getattr(optim, name)(**kwargs), params, grads, lrs, graph)


RUNNERS = {
    "numpy": run_numpy,
    "numpy-reading": run_numpy_reading,
    "torch": run_torch,
    "tensorflow": run_tensorflow,
}


# ---------------------------------------------------------------------------------------------
# The oracles
# ---------------------------------------------------------------------------------------------


@contextmanager
def torch_scalar_state_in_float64():
    """Set torch's default dtype to float64 for a while: the dtype of torch.optim's scalar state.

    Parameters and gradients keep their own dtype (``torch.tensor`` of a NumPy array keeps it).
    """
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def newton_schulz_from_torch_ops(grad, ns_coefficients, ns_steps, eps):
    """torch.optim.Muon's ``_zeropower_via_newtonschulz`` without its cast to bfloat16."""
    import torch

    a, b, c = ns_coefficients
    tall = grad.size(0) > grad.size(1)
    x = grad.T if tall else grad
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


@contextmanager
def float64_newton_schulz():
    """torch.optim.Muon with its Newton–Schulz in the parameter's dtype, not bfloat16."""
    import torch.optim._muon as muon

    original = muon._zeropower_via_newtonschulz
    muon._zeropower_via_newtonschulz = newton_schulz_from_torch_ops
    try:
        yield
    finally:
        muon._zeropower_via_newtonschulz = original


KERAS_SCHEDULE_FREE_READ = "momentum_old = momentum.value"
"""The line of Keras' ScheduleFreeAdamW.update_step that keeps a reference to z, not its value."""


@contextmanager
def keras_schedule_free_with_previous_z():
    """keras.optimizers.ScheduleFreeAdamW with z_{t−1} copied before z is updated.

    Keras' ``momentum.value`` is the variable itself, so after ``assign_sub`` it reads z_t and
    x_{t−1} = (y_{t−1} − (1 − β₁) z)/β₁ comes out wrong. The variant copies the value instead;
    it fails loudly if Keras' line changes (``test_keras_schedule_free_reads_the_updated_z``
    checks that the unpatched optimizer still differs).
    """
    import inspect
    import textwrap

    from keras.src.optimizers import schedule_free_adamw as module

    cls = module.ScheduleFreeAdamW
    source = textwrap.dedent(inspect.getsource(cls.update_step))
    assert KERAS_SCHEDULE_FREE_READ in source, (
        "Keras' ScheduleFreeAdamW changed: revise the variant"
    )
    source = source.replace(KERAS_SCHEDULE_FREE_READ, "momentum_old = ops.copy(momentum.value)")
    namespace: dict = {}
    exec(compile(source, module.__file__, "exec"), vars(module), namespace)  # noqa: S102
    original = cls.update_step
    cls.update_step = namespace["update_step"]
    try:
        yield
    finally:
        cls.update_step = original


ORACLE_VARIANTS = {
    "": contextmanager(lambda: (yield)),
    "float64 newton-schulz": float64_newton_schulz,
    "x from the previous z": keras_schedule_free_with_previous_z,
}
"""The changes the tests make to a framework optimizer, by ``Oracle.variant``."""


def _torch_loop(optimizer, tensors, grads, lrs) -> list[np.ndarray]:
    import torch

    for step_grads, lr in zip(grads, lrs, strict=True):
        for group in optimizer.param_groups:
            group["lr"] = lr
        for tensor, grad in zip(tensors, step_grads, strict=True):
            tensor.grad = torch.tensor(grad)
        optimizer.step()
    return [t.detach().numpy() for t in tensors]


def _keras_loop(make_optimizer, params, grads, lrs, graph: bool = True) -> list[np.ndarray]:
    import keras
    import tensorflow as tf

    variables = [keras.Variable(p) for p in params]
    optimizer = make_optimizer()
    optimizer.build(variables)

    def apply(step_grads):
        optimizer.apply_gradients(zip(step_grads, variables, strict=True))

    if graph:
        apply = tf.function(apply)
    for step_grads, lr in zip(grads, lrs, strict=True):
        optimizer.learning_rate = lr
        apply([tf.constant(g) for g in step_grads])
    return [v.numpy() for v in variables]


def _torch_oracle_class(oracle: Oracle):
    """``torch.optim.<name>``, or ``schedulefree.<name>`` (the authors' torch package)."""
    import torch

    if oracle.library == "schedulefree":
        import schedulefree

        return getattr(schedulefree, oracle.name), {}
    options = {"foreach": False} if oracle.name != "Muon" else {}  # Muon has no foreach
    return getattr(torch.optim, oracle.name), options


def run_oracle(oracle: Oracle, kwargs, params, grads, lrs) -> list[np.ndarray]:
    """Final parameters after the steps of the framework's own optimizer."""
    theirs = oracle.translate(kwargs)
    if oracle.library in ("torch", "schedulefree"):
        import torch

        cls, options = _torch_oracle_class(oracle)
        with torch_scalar_state_in_float64(), ORACLE_VARIANTS[oracle.variant]():
            tensors = [torch.tensor(p, requires_grad=True) for p in params]
            optimizer = cls(tensors, **theirs, **options)
            if hasattr(optimizer, "train"):  # schedulefree steps only in train mode
                optimizer.train()
            return _torch_loop(optimizer, tensors, grads, lrs)
    import keras

    with ORACLE_VARIANTS[oracle.variant]():
        return _keras_loop(
            lambda: getattr(keras.optimizers, oracle.name)(**theirs), params, grads, lrs
        )


def oracle_id(oracle: Oracle) -> str:
    variant = f"[{oracle.variant}]" if oracle.variant else ""
    return f"{oracle.library}.{oracle.name}{variant}"


def assert_params_close(ours, reference, dtype, rtol=None, atol=None) -> None:
    """Equal to the dtype's tolerance, or to an oracle's looser ``rtol``/``atol``."""
    default_rtol, default_atol = TOLERANCE[dtype]
    rtol = default_rtol if rtol is None else max(rtol, default_rtol)
    atol = default_atol if atol is None else max(atol, default_atol)
    for index, (mine, theirs) in enumerate(zip(ours, reference, strict=True)):
        assert np.asarray(mine).dtype == dtype
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol, err_msg=f"params[{index}]")


# ---------------------------------------------------------------------------------------------
# Cases from the descriptions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    spec: OptimizerSpec
    kwargs: dict
    oracle: Oracle

    @property
    def name(self) -> str:
        return self.spec.name

    def __str__(self) -> str:
        arguments = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.name}({arguments})-vs-{oracle_id(self.oracle)}"


def case_id(case) -> str:
    return str(case)


EQUIVALENCE_CASES = [
    Case(spec, example, oracle)
    for spec in SPECS.values()
    for example in spec.examples
    for oracle in spec.oracles
    if oracle.translate(spec.bind((), example)) is not None
]


def _cap(parameter: Hyperparameter) -> float:
    """The largest value the random tests draw: the range's top, or 10 × the default."""
    if parameter.high is not None:
        return parameter.high - (1e-3 if "high" in parameter.strict else 0.0)
    defaults = parameter.default if isinstance(parameter.default, tuple) else [parameter.default]
    return max(1.0, *(10 * abs(float(d)) for d in defaults if d is not None))


def _floor(parameter: Hyperparameter) -> float:
    """The smallest value the random tests draw: the range's bottom, or −10 × the default."""
    if parameter.low is None:
        return -max(1.0, 10 * abs(float(parameter.default)))
    return parameter.low + (1e-8 if "low" in parameter.strict else 0.0)


def _value_strategy(parameter: Hyperparameter, width: int):
    if parameter.kind == "bool":
        return st.booleans()
    if parameter.kind == "lr":
        return st.sampled_from([2.0**-k for k in range(1, 9)])
    if parameter.kind == "choice":
        return st.sampled_from(parameter.choices)
    if parameter.kind == "int":  # Newton–Schulz steps: 0 to 10
        return st.integers(int(parameter.low), max(int(parameter.low), parameter.default, 10))
    if parameter.kind == "tuple":
        return st.just(parameter.default)
    low, high = _floor(parameter), _cap(parameter)
    if width == 32:  # bounds that float32 holds, inside the range
        low, high = float(np.float32(low)), float(np.float32(high))
    floats = st.floats(low, high, width=width)
    if parameter.kind == "pair":
        return st.tuples(floats, floats)
    return st.sampled_from([float(parameter.default)]) | floats


def random_hyperparameters(spec: OptimizerSpec, oracle: Oracle):
    """Valid hyper-parameters of ``spec`` that ``oracle`` has an equivalent for.

    Values are float32 numbers when the oracle is Keras (which keeps them in float32).
    """
    width = 32 if oracle.library == "keras" else 64

    @st.composite
    def draw(draw_value):
        kwargs = {
            p.name: draw_value(_value_strategy(p, width), label=p.name)
            for p in spec.hyperparameters
        }
        try:
            spec.validate(kwargs)
        except ValueError:
            assume(False)
        assume(oracle.translate(kwargs) is not None)
        return kwargs

    return draw()


def invalid_hyperparameters(spec: OptimizerSpec) -> list[tuple[str, object]]:
    """(argument, value) pairs just outside each range, and NaN, for ``spec``."""
    bad = []
    for parameter in spec.hyperparameters:
        if parameter.kind == "bool":
            continue
        if parameter.kind == "choice":
            bad.append((parameter.name, "no such choice"))
            continue
        if parameter.kind == "tuple":
            default = tuple(parameter.default)
            bad += [(parameter.name, default[:-1]), (parameter.name, (*default[:-1], math.nan))]
            if parameter.low is not None:
                bad.append((parameter.name, (parameter.low - 0.5, *default[1:])))
            continue
        if parameter.kind == "int":
            bad.append((parameter.name, 2.5))
        if parameter.kind == "pair":
            first, second = parameter.default
            bad += [
                (parameter.name, (parameter.low - 0.5, second)),
                (parameter.name, (first, parameter.high + 0.5)),
                (parameter.name, (first, math.nan)),
                (parameter.name, (first,)),
            ]
            if "high" in parameter.strict:
                bad.append((parameter.name, (first, parameter.high)))
            continue
        bad.append((parameter.name, math.nan))
        if parameter.low is not None:
            bad.append((parameter.name, parameter.low - (1 if parameter.kind == "int" else 0.5)))
        if "low" in parameter.strict:
            bad.append((parameter.name, parameter.low))
        if parameter.high is not None:
            bad.append((parameter.name, parameter.high + 0.5))
    return bad


INVALID_CASES = [
    (spec.name, name, value)
    for spec in SPECS.values()
    for name, value in invalid_hyperparameters(spec)
]


def invalid_id(case) -> str:
    return f"{case[0]}({case[1]}={case[2]})"
