"""Cases shared by the optimizer tests (test_optim_*.py): hyper-parameters, gradients, the oracle.

The oracle is ``torch.optim`` with ``foreach=False``, its plain per-tensor loop, run with torch's
default dtype set to float64: torch keeps scalar state (step counts, NAdam's product of momentum
coefficients Π_t) in tensors of the default dtype, and a float32 Π_t alone moves a float64 NAdam
run by about 1e-8. Every run starts from the same parameters, takes ``STEPS`` steps with seeded
random gradients that change each step, and halves the learning rate halfway through, as a
schedule would.

Learning rates are powers of two: Keras keeps ``learning_rate`` in a float32 variable, and a power
of two survives that rounding, so float64 runs in every framework can be compared to ~1e-12.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from hypothesis import settings
from hypothesis import strategies as st

SHAPES = [(), (3, 4), (5,)]
STEPS = 50
LR_CHANGE_STEP = 25  # the learning rate halves from this step on
SETTINGS = settings(max_examples=8, deadline=None, derandomize=True)  # per optimizer
TOLERANCE = {  # (rtol, atol) against torch.optim
    np.float64: (1e-10, 1e-12),
    np.float32: (1e-5, 1e-6),
}

CASES = [
    ("SGD", dict(lr=2**-3)),  # plain gradient descent
    ("SGD", dict(lr=2**-4, momentum=0.9)),
    ("SGD", dict(lr=2**-4, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=2**-4, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=2**-4, momentum=0.5, dampening=0.5, weight_decay=0.01)),
    ("Adagrad", dict(lr=2**-3)),
    ("Adagrad", dict(lr=2**-3, lr_decay=0.05, initial_accumulator_value=0.3)),
    ("Adagrad", dict(lr=2**-3, lr_decay=0.01, weight_decay=0.1, eps=1e-6)),
    ("RMSprop", dict(lr=2**-6)),
    ("RMSprop", dict(lr=2**-6, momentum=0.9)),
    ("RMSprop", dict(lr=2**-6, centered=True)),
    ("RMSprop", dict(lr=2**-6, centered=True, momentum=0.9, alpha=0.9)),
    ("RMSprop", dict(lr=2**-6, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-4)),
    ("Adam", dict(lr=2**-6)),
    ("Adam", dict(lr=2**-6, amsgrad=True)),
    ("Adam", dict(lr=2**-6, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=2**-6, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.01)),
    ("AdamW", dict(lr=2**-6)),
    ("AdamW", dict(lr=2**-6, weight_decay=0.1, amsgrad=True, betas=(0.8, 0.99))),
    ("Adadelta", dict(lr=1.0)),
    ("Adadelta", dict(lr=2**-1, rho=0.5, eps=1e-3)),
    ("Adadelta", dict(lr=1.0, rho=0.95, eps=1e-8, weight_decay=0.1)),
    ("NAdam", dict(lr=2**-6)),
    ("NAdam", dict(lr=2**-6, betas=(0.5, 0.9), eps=1e-3, momentum_decay=0.1)),
    ("NAdam", dict(lr=2**-6, weight_decay=0.1, momentum_decay=0.0)),
    ("NAdam", dict(lr=2**-6, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=1.0)),
]


def case_id(case) -> str:
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


# Invalid arguments, and a piece of the message each must raise (argument name and value).
BAD_HYPERPARAMETERS = [
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SGD", dict(lr=float("nan")), "Invalid learning rate: nan"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(momentum=0.9, dampening=1.5), "Invalid dampening value: 1.5"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum > 0"),
    ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
    ("SGD", dict(weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    ("Adagrad", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adagrad", dict(lr_decay=-0.5), "Invalid lr_decay value: -0.5"),
    ("Adagrad", dict(initial_accumulator_value=-0.1), "initial_accumulator_value value: -0.1"),
    ("Adagrad", dict(eps=0.0), "Invalid epsilon value: 0.0"),
    ("Adagrad", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("RMSprop", dict(alpha=1.5), "Invalid alpha value: 1.5"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    ("RMSprop", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("RMSprop", dict(momentum=-0.9), "Invalid momentum value: -0.9"),
    ("RMSprop", dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
    ("Adam", dict(lr=-1e-3), "Invalid learning rate: -0.001"),
    ("Adam", dict(betas=(1.5, 0.999)), "Invalid beta parameter at index 0: 1.5"),
    ("Adam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("Adam", dict(betas=(-0.1, 0.999)), "Invalid beta parameter at index 0: -0.1"),
    ("Adam", dict(betas=(0.9,)), "Invalid betas: (0.9,)"),
    ("Adam", dict(eps=0.0), "Invalid epsilon value: 0.0"),
    ("Adam", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("AdamW", dict(weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    ("AdamW", dict(betas=(0.9, 2.0)), "Invalid beta parameter at index 1: 2.0"),
    ("Adadelta", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adadelta", dict(rho=1.1), "Invalid rho value: 1.1 (expected 0 <= rho <= 1)"),
    ("Adadelta", dict(rho=-0.5), "Invalid rho value: -0.5"),
    ("Adadelta", dict(rho=float("nan")), "Invalid rho value: nan"),
    ("Adadelta", dict(eps=0.0), "Invalid epsilon value: 0.0"),
    ("Adadelta", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("NAdam", dict(lr=-2e-3), "Invalid learning rate: -0.002"),
    ("NAdam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("NAdam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("NAdam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("NAdam", dict(weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    ("NAdam", dict(momentum_decay=-4e-3), "Invalid momentum_decay value: -0.004"),
    ("NAdam", dict(momentum_decay=float("nan")), "Invalid momentum_decay value: nan"),
]


def bad_id(bad) -> str:
    return case_id(bad[:2])


def initial_params(dtype, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def gradients(dtype, seed: int = 1, steps: int = STEPS) -> list[list[np.ndarray]]:
    """One list of gradients per step, a fresh random draw each step."""
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape).astype(dtype) for shape in SHAPES] for _ in range(steps)]


def learning_rates(lr: float, steps: int = STEPS) -> list[float]:
    return [lr if step < LR_CHANGE_STEP else lr / 2 for step in range(steps)]


@contextmanager
def torch_scalar_state_in_float64():
    """Set torch's default dtype to float64 for a while: the dtype of torch.optim's scalar state.

    Parameters and gradients keep their own dtype (``torch.tensor`` of a NumPy array keeps it).
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def torch_reference(name, kwargs, params, grads, lrs) -> list[np.ndarray]:
    """Final parameters after the steps of ``torch.optim.<name>`` (per-tensor implementation)."""
    with torch_scalar_state_in_float64():
        tensors = [torch.tensor(p, requires_grad=True) for p in params]
        optimizer = getattr(torch.optim, name)(tensors, **kwargs, foreach=False)
        for step_grads, lr in zip(grads, lrs, strict=True):
            optimizer.param_groups[0]["lr"] = lr
            for tensor, grad in zip(tensors, step_grads, strict=True):
                tensor.grad = torch.tensor(grad)
            optimizer.step()
    return [t.detach().numpy() for t in tensors]


def assert_params_close(ours, reference, dtype) -> None:
    rtol, atol = TOLERANCE[dtype]
    for index, (mine, theirs) in enumerate(zip(ours, reference, strict=True)):
        assert np.asarray(mine).dtype == dtype
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol, err_msg=f"params[{index}]")


# Random hyper-parameter combinations for hypothesis, one strategy per optimizer. The tests draw
# from each optimizer's strategy in turn (``HYPERPARAMETERS[name]``), so that every optimizer gets
# its share of examples; one draw over all optimizers leaves some of them out.
learning_rate = st.sampled_from([2.0**-k for k in range(1, 9)])
weight_decay = st.sampled_from([0.0, 1e-3]) | st.floats(0.0, 0.2)
eps = st.sampled_from([1e-10, 1e-8, 1e-3]) | st.floats(1e-8, 0.1)
beta = st.floats(0.0, 0.999)


@st.composite
def sgd_kwargs(draw):
    momentum = draw(st.sampled_from([0.0, 0.9]) | st.floats(0.0, 0.99))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.0]) | st.floats(0.0, 1.0))
    return dict(lr=draw(learning_rate), momentum=momentum, dampening=dampening,
                weight_decay=draw(weight_decay), nesterov=nesterov)


HYPERPARAMETERS = {
    "SGD": sgd_kwargs(),
    "Adagrad": st.fixed_dictionaries(dict(
        lr=learning_rate, lr_decay=st.sampled_from([0.0]) | st.floats(0.0, 0.5),
        weight_decay=weight_decay, initial_accumulator_value=st.floats(0.0, 1.0), eps=eps,
    )),
    "RMSprop": st.fixed_dictionaries(dict(
        lr=learning_rate, alpha=st.floats(0.5, 0.999), eps=eps, weight_decay=weight_decay,
        momentum=st.sampled_from([0.0]) | st.floats(0.0, 0.99), centered=st.booleans(),
    )),
    "Adam": st.fixed_dictionaries(dict(
        lr=learning_rate, betas=st.tuples(beta, beta), eps=eps, weight_decay=weight_decay,
        amsgrad=st.booleans(),
    )),
    "AdamW": st.fixed_dictionaries(dict(
        lr=learning_rate, betas=st.tuples(beta, beta), eps=eps, weight_decay=weight_decay,
        amsgrad=st.booleans(),
    )),
    "Adadelta": st.fixed_dictionaries(dict(
        lr=st.just(1.0) | learning_rate, rho=st.sampled_from([0.0, 0.9, 1.0]) | st.floats(0.0, 1.0),
        eps=eps, weight_decay=weight_decay,
    )),
    "NAdam": st.fixed_dictionaries(dict(
        lr=learning_rate, betas=st.tuples(beta, beta), eps=eps, weight_decay=weight_decay,
        momentum_decay=st.sampled_from([4e-3, 0.0, 1.0]) | st.floats(0.0, 10.0),
        decoupled_weight_decay=st.booleans(),
    )),
}
