"""utils.efficiency against what PyTorch allocates: optimizer states, peaks and activations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils import efficiency


def _mlp(widths=(16, 32, 32, 4)):
    torch.manual_seed(0)
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _batch(n=8, features=16, classes=4):
    generator = torch.Generator().manual_seed(1)
    return torch.randn(n, features, generator=generator), torch.arange(n) % classes


TORCH_OPTIMIZERS = {
    "SGD": lambda p: torch.optim.SGD(p, lr=0.1),
    "SGD momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "Adam": lambda p: torch.optim.Adam(p, lr=1e-3),
}


@pytest.mark.parametrize("name", TORCH_OPTIMIZERS)
def test_float32_bytes_are_what_torch_optim_allocates(name):
    model = _mlp()
    optimizer = TORCH_OPTIMIZERS[name](model.parameters())
    x, y = _batch()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    n = sum(p.numel() for p in model.parameters())
    state = [t for t in efficiency.optimizer_state_tensors(optimizer) if t.dim() > 0]
    measured = {
        "weights": efficiency.tensor_bytes(model.parameters()),
        "gradients": efficiency.tensor_bytes(p.grad for p in model.parameters()),
        "optimizer": efficiency.tensor_bytes(state),
    }
    expected = efficiency.bytes_per_parameter(name, "float32")
    assert measured == {k: v * n for k, v in expected.items()}
    assert efficiency.training_memory(n, name, "float32") == sum(measured.values())


def test_mixed_precision_adam_is_zeros_sixteen_bytes_per_parameter():
    # Rajbhandari et al. (2020), §3.1: 2 + 2 + K with K = 12 (master weights, m, v)
    assert efficiency.bytes_per_parameter("Adam", "mixed") == {
        "weights": 2,
        "gradients": 2,
        "optimizer": 12,
    }
    assert efficiency.training_memory(7_500_000_000, "Adam", "mixed") == 120_000_000_000
    assert efficiency.training_memory(10, "8-bit Adam", "float32") == 10 * (4 + 4 + 2)


def test_the_peak_of_a_fused_adam_step_holds_exactly_its_state():
    model = _mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x, y = _batch()

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    step()
    peak = efficiency.peak_memory(step, model, optimizer)
    assert peak["Parameter"] == efficiency.tensor_bytes(model.parameters())
    assert peak["Optstate"] == efficiency.tensor_bytes(
        efficiency.optimizer_state_tensors(optimizer)
    )
    assert peak["Total"] == sum(v for k, v in peak.items() if k != "Total")


def test_activations_held_after_the_forward_pass_are_the_relu_outputs_and_log_probabilities():
    model = _mlp((16, 32, 32, 4))
    x, y = _batch(n=8)
    held = efficiency.peak_memory(lambda: F.cross_entropy(model(x), y), model, when="current")
    relu_outputs, log_probabilities = 2 * 8 * 32 * 4, 8 * 4 * 4
    assert 0 <= held["Activation"] - (relu_outputs + log_probabilities) <= 16
    assert held["Gradient"] == 0


def test_time_per_call_calls_warmup_plus_repeats_times():
    calls = []
    seconds = efficiency.time_per_call(lambda: calls.append(1), repeats=7, warmup=2)
    assert len(calls) == 9 and 0 <= seconds < 0.1


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: efficiency.bytes_per_parameter("LAMB"), "optimizer"),
        (lambda: efficiency.bytes_per_parameter("Adam", "fp8"), "precision"),
        (lambda: efficiency.training_memory(-1), "n_params"),
        (lambda: efficiency.training_memory(1.5), "n_params"),
        (lambda: efficiency.time_per_call(lambda: None, repeats=0), "repeats"),
        (lambda: efficiency.time_per_call(lambda: None, warmup=-1), "warmup"),
        (lambda: efficiency.peak_memory(lambda: None, when="later"), "when"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()
