"""Chapter 8's measuring tools: where training memory goes, and how long a step takes.

Three questions, one function each:

- How many bytes does training keep per parameter? :func:`bytes_per_parameter` answers from the
  formats (4 bytes in float32, 2 in bfloat16 or float16, 1 in int8) and what each optimizer
  stores; :func:`training_memory` multiplies by a model's size.
- How many does it really use? :func:`tensor_bytes` adds up the tensors a model and a
  ``torch.optim`` optimizer hold, and :func:`peak_memory` runs a training step under PyTorch's
  ``MemTracker`` (``torch.distributed._tools.mem_tracker``, which FSDP's memory planning uses), a
  tracker of every tensor the allocator hands out, sorted into parameters, gradients,
  activations, optimizer state and temporaries, on the CPU as on a GPU.
- How long does a step take? :func:`time_per_call` gives the median of repeated calls, waiting
  for the GPU to finish before reading the clock (a GPU runs asynchronously: without the wait
  you time the launch, not the work).

The byte counts follow Rajbhandari et al. (2020, ZeRO), §3.1: mixed-precision Adam keeps a 16-bit
copy of the weights and of the gradients (2 + 2 bytes) and, in float32, the master weights, the
first and the second moment (K = 12 bytes): 16 bytes per parameter, the same as float32 Adam.
8-bit Adam (Dettmers et al. 2022) stores each moment in 1 byte (plus one float32 scale per block
of 2,048 numbers); Adafactor (Shazeer & Stern 2018) keeps, for an r × c matrix, r + c numbers
instead of r·c.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable

import torch

__all__ = [
    "FORMATS",
    "OPTIMIZERS",
    "PRECISIONS",
    "bytes_per_parameter",
    "training_memory",
    "tensor_bytes",
    "optimizer_state_tensors",
    "peak_memory",
    "time_per_call",
]

FORMATS = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1}  # bytes per number

# Optimizer state in numbers per parameter, kept in float32 (8-bit Adam: in int8).
OPTIMIZERS = {
    "SGD": 0,
    "SGD momentum": 1,  # the velocity
    "Adam": 2,  # m and v
    "8-bit Adam": 2,  # m and v, one byte each
    "Adafactor": 0,  # r + c numbers per r × c matrix: o(1) per parameter for large matrices
}
PRECISIONS = ("float32", "mixed")  # mixed: 16-bit weights and gradients, float32 master weights


def _check_choice(value, choices, name: str) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def bytes_per_parameter(optimizer: str = "Adam", precision: str = "float32") -> dict[str, int]:
    """Bytes that training keeps for each parameter: ``{"weights", "gradients", "optimizer"}``.

    In ``"mixed"`` precision the weights and gradients are 16-bit (2 bytes each) and the
    optimizer's share includes the float32 master copy of the weights (4 bytes), which the update
    is applied to (Micikevicius et al. 2018). Activations are not per parameter: they grow with
    the batch and are measured separately.

    >>> bytes_per_parameter("Adam", "mixed")
    {'weights': 2, 'gradients': 2, 'optimizer': 12}
    """
    _check_choice(optimizer, tuple(OPTIMIZERS), "optimizer")
    _check_choice(precision, PRECISIONS, "precision")
    state_bytes = 1 if optimizer == "8-bit Adam" else FORMATS["float32"]
    state = OPTIMIZERS[optimizer] * state_bytes
    if precision == "float32":
        return {"weights": 4, "gradients": 4, "optimizer": state}
    return {"weights": 2, "gradients": 2, "optimizer": FORMATS["float32"] + state}


def training_memory(n_params: int, optimizer: str = "Adam", precision: str = "float32") -> int:
    """Bytes of weights, gradients and optimizer state for a model of ``n_params`` parameters."""
    if isinstance(n_params, bool) or not isinstance(n_params, int) or n_params < 0:
        raise ValueError(f"n_params must be a non-negative integer, got {n_params!r}")
    return n_params * sum(bytes_per_parameter(optimizer, precision).values())


def tensor_bytes(tensors: Iterable[torch.Tensor | None]) -> int:
    """Bytes of the given tensors' elements (``None``, e.g. a missing gradient, counts 0)."""
    return sum(t.numel() * t.element_size() for t in tensors if t is not None)


def optimizer_state_tensors(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The tensors a ``torch.optim`` optimizer keeps per parameter (moments, velocities...)."""
    return [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]


def peak_memory(step: Callable[[], object], *tracked, when: str = "peak") -> dict[str, int]:
    """Run ``step()`` once under ``MemTracker`` and return its peak, in bytes, by category.

    ``tracked`` are the modules and optimizers whose parameters, gradients and states the
    tracker should recognise. The keys are MemTracker's: ``"Parameter"``, ``"Buffer"``,
    ``"Gradient"``, ``"Activation"``, ``"Temp"``, ``"Optstate"``, ``"Other"`` and ``"Total"``,
    summed over devices. Activations are the tensors created during the forward pass and kept
    for the backward; ``"Temp"`` the short-lived ones of the backward pass. Only tensors
    allocated during ``step()`` count as activations: create its inputs before the call (a slice
    taken inside counts its whole base tensor). ``when="current"`` gives what is still held when
    ``step()`` returns (e.g. the activations a forward pass keeps for the backward), as long as
    its return value is alive.
    """
    _check_choice(when, ("peak", "current"), "when")
    from torch.distributed._tools.mem_tracker import MemTracker

    tracker = MemTracker()
    tracker.track_external(*tracked)
    with tracker:
        result = step()
        snapshot = tracker.get_tracker_snapshot(when)
    del result
    totals: dict[str, int] = {}
    for by_kind in snapshot.values():
        for kind, size in by_kind.items():
            key = getattr(kind, "value", kind)
            totals[key] = totals.get(key, 0) + size
    return totals


def time_per_call(fn: Callable[[], object], repeats: int = 20, warmup: int = 3) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after ``warmup`` calls.

    The median, not the mean: one call slowed by another program does not move it. On a GPU the
    clock is read only after ``torch.cuda.synchronize()``.
    """
    for value, name, low in ((repeats, "repeats", 1), (warmup, "warmup", 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
