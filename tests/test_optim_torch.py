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
    newton_schulz_from_torch_ops,
    run_oracle,
    run_torch,
    shapes_for,
    torch_scalar_state_in_float64,
)

import utils.optim.torch as optim
from utils.optim.spec import SPECS

# Optimizers that torch.optim has and that take any parameter (a linear model's bias too)
TORCH_HAS = sorted(
    name for name, spec in SPECS.items() if hasattr(torch.optim, name) and spec.ndims is None
)


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
        ("Adafactor", dict(weight_decay=0.1, beta2_decay=-0.5)),
        ("Muon", dict(nesterov=False, adjust_lr_fn="match_rms_adamw")),
    ],
    ids=lambda case: case[0] + str(case[1]),
)
def test_state_dict_resumes_training_exactly(case):
    name, kwargs = case
    shapes = shapes_for(SPECS[name])
    grads = gradients(np.float64, steps=20, shapes=shapes)
    tensors = [
        torch.tensor(p, requires_grad=True) for p in initial_params(np.float64, shapes=shapes)
    ]
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


def test_torch_muon_runs_newton_schulz_in_bfloat16():
    """torch's NS casts its input to bfloat16, whatever the input's dtype: ours keeps float64,
    and equals the same iteration in torch operations without the cast to 1e-12."""
    from torch.optim._muon import _zeropower_via_newtonschulz

    import utils.optim.numpy as numpy_optim

    coefficients = (3.4445, -4.775, 2.0315)
    for shape in [(6, 4), (4, 6)]:
        matrix = torch.randn(
            *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        )
        theirs = _zeropower_via_newtonschulz(matrix, coefficients, 5, 1e-7)
        assert theirs.dtype == torch.bfloat16
        in_float64 = newton_schulz_from_torch_ops(matrix, coefficients, 5, 1e-7)
        ours = numpy_optim.newton_schulz(matrix.numpy())
        np.testing.assert_allclose(ours, in_float64.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours, theirs.double().numpy(), rtol=0, atol=5e-2)
        assert np.abs(ours - theirs.double().numpy()).max() > 1e-4  # bfloat16 shows


def test_muon_differs_from_torch_s_bfloat16_muon_by_its_rounding_only():
    """Against torch.optim.Muon as it is (bfloat16 NS): close, not equal; the float64 variant
    of the same optimizer is the harness' oracle to 1e-10."""
    spec = SPECS["Muon"]
    shapes = shapes_for(spec)
    params = initial_params(np.float64, shapes=shapes)
    grads = gradients(np.float64, shapes=shapes)
    kwargs = dict(lr=2**-6)
    lrs = learning_rates(kwargs["lr"])
    ours = run_torch("Muon", kwargs, params, grads, lrs)
    exact, bfloat16 = spec.oracles
    assert_params_close(
        ours, run_oracle(exact, spec.bind((), kwargs), params, grads, lrs), np.float64
    )
    theirs = run_oracle(bfloat16, spec.bind((), kwargs), params, grads, lrs)
    difference = max(np.abs(a - b).max() for a, b in zip(ours, theirs, strict=True))
    assert 1e-6 < difference < 3e-2


def test_muon_rejects_a_vector_naming_its_shape():
    with pytest.raises(ValueError, match=r"Muon takes 2-D parameters only; .* \(5,\)"):
        optim.Muon([torch.zeros(5, requires_grad=True)])


def test_adafactor_state_is_row_and_column_means_as_torch_keeps_them():
    weight = torch.zeros(6, 4, requires_grad=True)
    ours, theirs = optim.Adafactor([weight]), torch.optim.Adafactor([weight])
    weight.grad = torch.ones(6, 4)
    ours.step()
    theirs.step()
    for name in ("row_var", "col_var"):
        assert ours.state[weight][name].shape == theirs.state[weight][name].shape
    assert "variance" not in ours.state[weight]


def test_schedule_free_eval_and_train_swap_the_average_in_and_out_as_the_authors_package():
    """eval() puts x_t in the parameters, as schedulefree's eval(); train() restores y_t
    exactly; a step in eval mode is refused. Groups with their own rates train as usual."""
    import schedulefree

    torch.manual_seed(0)
    x, y = torch.randn(32, 3, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    models, optimizers = [], []
    for cls in (optim.ScheduleFreeAdamW, schedulefree.AdamWScheduleFree):
        torch.manual_seed(1)
        model = torch.nn.Linear(3, 1).double()
        groups = [{"params": [model.weight], "lr": 0.05}, {"params": [model.bias]}]
        models.append(model)
        optimizers.append(cls(groups, lr=0.02, weight_decay=0.1, warmup_steps=3))
    optimizers[1].train()
    for _ in range(15):
        for model, optimizer in zip(models, optimizers, strict=True):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
    ours, theirs = models
    training_point = [p.detach().clone() for p in ours.parameters()]
    for optimizer in optimizers:
        optimizer.eval()
    for mine, reference in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-10, atol=1e-12)
    assert not torch.equal(ours.weight, training_point[0])
    with pytest.raises(RuntimeError, match="train"):
        optimizers[0].step()
    optimizers[0].train()
    for mine, saved in zip(ours.parameters(), training_point, strict=True):
        torch.testing.assert_close(mine, saved, rtol=0, atol=0)


def _has_a_cxx_compiler() -> bool:
    import shutil

    return any(shutil.which(name) for name in ("c++", "g++", "clang++"))


def _compiled_step(optimizer, backend):
    """The pattern of PyTorch's recipe "(beta) Compiling the optimizer with torch.compile"."""

    @torch.compile(backend=backend, fullgraph=False)
    def step():
        optimizer.step()

    return step


@pytest.mark.parametrize(
    "backend, name, kwargs",
    [
        ("aot_eager", "Adam", {}),
        ("aot_eager", "AdamW", dict(amsgrad=True, weight_decay=0.1)),
        pytest.param(
            "inductor",
            "AdamW",
            dict(amsgrad=True, weight_decay=0.1),
            marks=pytest.mark.skipif(
                not _has_a_cxx_compiler(), reason="inductor on the CPU compiles C++"
            ),
        ),
    ],
    ids=["aot_eager-Adam", "aot_eager-AdamW-amsgrad", "inductor-AdamW-amsgrad"],
)
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compiled_adam_step_compiles_once_and_takes_the_same_steps(backend, name, kwargs):
    """``torch.compile`` of our Adam's ``step()``: the first compiled step creates the state,
    the second compiles the step that every later one runs (a recompilation raises), and the
    parameters are the uncompiled ones to float32 rounding. aot_eager traces the graph that
    inductor compiles, in seconds; inductor (what benchmarks/bench_optim.py times) generates
    and compiles C++, about 10 s more."""
    torch._dynamo.reset()
    shapes = [(3, 4), (5,), ()]
    steps = 12
    params = initial_params(np.float32, shapes=shapes)
    grads = gradients(np.float32, steps=steps, shapes=shapes)
    runs = []
    for compiled in (False, True):
        tensors = [torch.tensor(p, requires_grad=True) for p in params]
        optimizer = getattr(optim, name)(tensors, lr=0.01, **kwargs)
        step = _compiled_step(optimizer, backend) if compiled else optimizer.step
        for number, step_grads in enumerate(grads):
            for tensor, grad in zip(tensors, step_grads, strict=True):
                tensor.grad = torch.tensor(grad)
            stance = "fail_on_recompile" if number >= 2 else "default"
            with torch.compiler.set_stance(stance):
                step()
        assert all(optimizer.state[t]["step"] == steps for t in tensors)
        runs.append([t.detach().clone() for t in tensors])
    for eager, compiled in zip(*runs, strict=True):
        torch.testing.assert_close(compiled, eager, rtol=1e-6, atol=1e-7)
