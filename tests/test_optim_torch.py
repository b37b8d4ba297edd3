"""utils.optim.torch against torch.optim: same trajectories, and the Optimizer protocol works."""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest
import torch
from optim_cases import (
    assert_params_close,
    gradients,
    initial_params,
    learning_rates,
    run_oracle,
    run_torch,
    torch_scalar_state_in_float64,
)

import utils.optim.torch as optim
from utils.optim.spec import SPECS

TORCH_HAS = sorted(name for name, spec in SPECS.items() if hasattr(torch.optim, name))


def train_linear_model(optimizer_class, steps=20):
    """Fit a tiny linear model with two parameter groups, a closure and a StepLR schedule."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    x, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    groups = [
        {"params": [model.weight], "lr": 0.05, "weight_decay": 0.1},
        {"params": [model.bias], "lr": 0.02},
    ]
    optimizer = optimizer_class(groups, lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    losses = []

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    with torch_scalar_state_in_float64():  # as in the oracle: torch.optim.NAdam's Π_t in float64
        for _ in range(steps):
            losses.append(optimizer.step(closure).item())
            scheduler.step()
    return [p.detach().clone() for p in model.parameters()], losses


@pytest.mark.parametrize("name", TORCH_HAS)
def test_trains_a_model_with_a_closure_groups_and_a_scheduler(name):
    ours, our_losses = train_linear_model(getattr(optim, name))
    theirs, their_losses = train_linear_model(getattr(torch.optim, name))
    assert our_losses[-1] < our_losses[0]
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-12)
    for mine, reference in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "case",
    [
        ("SGD", dict(momentum=0.9, dampening=0.2)),
        ("Adagrad", dict(lr_decay=0.1)),
        ("RMSprop", dict(momentum=0.5, centered=True)),
        ("Adam", dict(amsgrad=True)),
        ("AdamW", dict(weight_decay=0.1)),
        ("Adadelta", dict(rho=0.5, weight_decay=0.1)),
        ("NAdam", dict(momentum_decay=0.5, weight_decay=0.1, decoupled_weight_decay=True)),
        ("Lion", dict(betas=(0.5, 0.9), weight_decay=0.1)),
    ],
    ids=lambda case: case[0] + str(case[1]),
)
def test_state_dict_resumes_training_exactly(case):
    name, kwargs = case
    grads = gradients(np.float64, steps=20)
    tensors = [torch.tensor(p, requires_grad=True) for p in initial_params(np.float64)]
    optimizer = getattr(optim, name)(tensors, lr=0.01, **kwargs)

    def run(optimizer, step_grads):
        for grad_list in step_grads:
            for tensor, grad in zip(tensors, grad_list, strict=True):
                tensor.grad = torch.tensor(grad)
            optimizer.step()

    run(optimizer, grads[:10])
    saved_params = [t.detach().clone() for t in tensors]
    saved_state = copy.deepcopy(optimizer.state_dict())  # state_dict() holds references
    run(optimizer, grads[10:])
    uninterrupted = [t.detach().clone() for t in tensors]

    with torch.no_grad():
        for tensor, saved in zip(tensors, saved_params, strict=True):
            tensor.copy_(saved)
    resumed = getattr(optim, name)(tensors, lr=0.5)  # the state dict restores lr too
    resumed.load_state_dict(saved_state)
    run(resumed, grads[10:])
    for tensor, expected in zip(tensors, uninterrupted, strict=True):
        torch.testing.assert_close(tensor.detach(), expected, rtol=0, atol=0)


def test_torch_nadam_rounds_its_momentum_product_to_the_default_dtype():
    """torch.optim.NAdam keeps Π_t in a float32 tensor by default, even for float64 parameters;
    ours keeps a Python float. The float32 Π_t moves the trajectory by about 1e-8 (relative)."""
    kwargs = dict(lr=2**-6, momentum_decay=0.1)
    params, grads, lrs = initial_params(np.float64), gradients(np.float64), learning_rates(2**-6)
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    default_torch = torch.optim.NAdam(tensors, **kwargs)
    for step_grads, lr in zip(grads, lrs, strict=True):
        default_torch.param_groups[0]["lr"] = lr
        for tensor, grad in zip(tensors, step_grads, strict=True):
            tensor.grad = torch.tensor(grad)
        default_torch.step()
    assert default_torch.state[tensors[0]]["mu_product"].dtype == torch.float32
    ours = run_torch("NAdam", kwargs, params, grads, lrs)
    difference = max(
        np.max(np.abs(mine - theirs.detach().numpy()) / np.abs(mine))
        for mine, theirs in zip(ours, tensors, strict=True)
    )
    assert 1e-10 < difference < 1e-6
    # With the float64 default, torch.optim.NAdam is this one to rounding (the main test).
    oracle = SPECS["NAdam"].oracles[0]
    full = SPECS["NAdam"].bind((), kwargs)
    assert_params_close(ours, run_oracle(oracle, full, params, grads, lrs), np.float64)


def test_parameters_without_a_gradient_are_left_alone():
    used, unused = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    optimizer = optim.Adam([used, unused], lr=0.1, weight_decay=0.1)
    used.grad = torch.ones(2)
    optimizer.step()
    assert torch.equal(unused, torch.ones(3)) and not optimizer.state[unused]
    assert optimizer.state[used]["step"] == 1 and not torch.equal(used, torch.ones(2))


def test_lion_trains_a_model_with_a_closure_groups_and_a_scheduler():
    """torch.optim has no Lion (the harness checks it against Keras): here, the protocol."""
    _, losses = train_linear_model(optim.Lion)
    assert losses[-1] < 0.9 * losses[0]


def test_signature_and_docstring_come_from_the_description():
    assert (
        str(inspect.signature(optim.Lion))
        == "(params, lr=0.0001, betas=(0.9, 0.99), weight_decay=0.0)"
    )
    assert SPECS["Adam"].math.strip().splitlines()[0] in optim.Adam.__doc__
    assert optim.AdamW([torch.zeros(2, requires_grad=True)]).defaults["weight_decay"] == 0.01
