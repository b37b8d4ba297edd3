"""Exercises 8: Training large models efficiently.

Notebook: ``solutions/08_large_models.ipynb`` (source) → ``exercises/08_large_models.ipynb``.
The references are written here, next to the oracles that check them:

- 8.1, the memory of weights, gradients and optimizer state, is *measured* in fp32: a model is
  built, one ``torch.optim`` step is taken, and the bytes of the parameters, their ``.grad`` and
  the optimizer's per-parameter state tensors are added up (``numel() * element_size()``; the
  scalar ``step`` counter of Adam is left out). In mixed precision the same measurement is made
  on the construction of Micikevicius et al. (2018) and ZeRO §3 (Rajbhandari et al., 2020): a
  float16 copy of the weights and its float16 gradients, and float32 master weights that a
  ``torch.optim`` optimizer updates (the float32 gradient the update reads is made a bucket at
  a time and not counted, as in ZeRO). Which tensors exist is therefore the papers' choice;
  their sizes are torch's (on the meta device above a million parameters: the sizes without
  the memory). For Adam this is ZeRO's 2 + 2 + 12 = 16 bytes per parameter.
- 8.2, gradient accumulation: ``torch.autograd`` and ``torch.optim.SGD`` on the full batch.
- 8.3, the dynamic loss scale: ``torch.amp.GradScaler("cpu")`` driven through the steps.
- 8.4, ZeRO's memory per rank: the paper's table, (2 + 2 + K)Ψ, 2Ψ + 2Ψ + KΨ/N, 2Ψ + (2 + K)Ψ/N
  and (2 + 2 + K)Ψ/N with K = 12, with the shards cut by ``torch.chunk`` (as FSDP's flat
  parameter is padded: ⌈Ψ/N⌉ elements on rank 0) and sized by torch on the meta device. No
  process group is started: which states a stage partitions is the paper's, not a measurement.
- 8.5, magnitude pruning: ``torch.nn.utils.prune.l1_unstructured``'s mask.
- 8.6, symmetric int8 quantization: the scale of ``MinMaxObserver(per_tensor_symmetric,
  qint8)`` (max|x|/127.5, in float32) and the integers of ``torch.quantize_per_tensor``
  (x · (1/s) in float32, ties to even, clamped to [−128, 127]). x/s rounds differently from
  x · (1/s) when it lands within an ulp of a half; the cases are chosen so that it does not
  (a test checks every route), so a learner who divides is not failed for it.
- 8.7, an experiment: how much of a trained digits MLP global magnitude pruning can remove
  while the validation accuracy stays within 1 point (dense 0.956; 60 % pruned 0.952, 65 %
  0.937). The MLP is trained once, in NumPy (chapter 7's ``mlp_train``); the oracle loads its
  weights into ``torch.nn.Linear`` layers, prunes them with ``prune.global_unstructured`` and
  evaluates in torch.
- 8.8, a diagnosis: a ``GradScaler`` loop that clips the gradients before unscaling them; the
  oracle is the loop written as torch's AMP recipe says (``scaler.unscale_`` first).
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings

import numpy as np

from utils.data import digits
from utils.losses import cross_entropy_grad
from utils.regularization import clip_grad_global_norm

from ..spec import Case, Exercise, ExerciseSet, Mistake
from .ch07 import mlp_forward, mlp_train

# ---------------------------------------------------------------------------------------------
# 8.1: the memory of training
# ---------------------------------------------------------------------------------------------

#: Bytes per parameter of the optimizer's state, kept in float32 in both precisions (the
#: tables the mistakes below change; the reference is utils.efficiency's).
STATE_BYTES = {"SGD": 0, "SGD momentum": 4, "Adam": 8}
#: Bytes per parameter of (weights, gradients, float32 master weights) in each precision.
PRECISION_BYTES = {"float32": (4, 4, 0), "mixed": (2, 2, 4)}


def _training_memory(n_params, optimizer, precision):
    """Ψ × (weights + gradients + master weights + optimizer state), in bytes: the chapter's
    :func:`utils.efficiency.training_memory` (imported here: it imports torch)."""
    from utils.efficiency import training_memory

    return training_memory(int(n_params), str(optimizer), str(precision))


def _torch_optimizer(name, params):
    import torch

    if name == "SGD":
        return torch.optim.SGD(params, lr=0.1)
    if name == "SGD momentum":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)
    return torch.optim.Adam(params, lr=1e-3)


def _nbytes(tensor):
    return tensor.numel() * tensor.element_size()


def _state_bytes(optimizer):
    """The optimizer's per-parameter state tensors (momentum, exp_avg, ...), not ``step``."""
    return sum(
        _nbytes(value)
        for param, state in optimizer.state.items()
        for value in state.values()
        if hasattr(value, "numel") and value.shape == param.shape
    )


def _measured_training_memory(n_params, optimizer, precision):
    """Build the tensors, take one torch.optim step, add up what exists (see the module)."""
    import torch

    n = int(n_params)
    device = "cpu" if n <= 1_000_000 else "meta"  # meta: torch's sizes without the memory
    sizes = [n - n // 3, n // 3]  # two tensors, as a model has several
    if precision == "float32":
        params = [torch.nn.Parameter(torch.zeros(size, device=device)) for size in sizes]
        for param in params:
            param.grad = torch.ones_like(param)
        opt = _torch_optimizer(optimizer, params)
        opt.step()
        return sum(_nbytes(p) + _nbytes(p.grad) for p in params) + _state_bytes(opt)
    half = [torch.zeros(size, dtype=torch.float16, device=device) for size in sizes]
    half_grads = [torch.ones_like(h) for h in half]
    master = [torch.nn.Parameter(h.float()) for h in half]
    opt = _torch_optimizer(optimizer, master)
    for param, grad in zip(master, half_grads, strict=True):
        param.grad = grad.float()  # read by the step, then dropped: not counted
    opt.step()
    for param in master:
        param.grad = None
    model = sum(_nbytes(h) + _nbytes(g) for h, g in zip(half, half_grads, strict=True))
    return model + sum(_nbytes(p) for p in master) + _state_bytes(opt)


def _memory_case(n_params, optimizer, precision):
    return lambda rng: {"n_params": n_params, "optimizer": optimizer, "precision": precision}


def _memory_variant(weights=None, grads=None, master=None, state=None, per_param=False):
    """A mistaken byte count: each part may be replaced by ``part(optimizer, precision)``."""

    def answer(n_params, optimizer, precision):
        right = (*PRECISION_BYTES[precision], STATE_BYTES[optimizer])
        parts = [
            right[i] if part is None else part(optimizer, precision)
            for i, part in enumerate((weights, grads, master, state))
        ]
        return sum(parts) * (1 if per_param else n_params)

    return answer


TRAINING_MEMORY = Exercise(
    id="8.1",
    name="training_memory",
    title="What training keeps in memory",
    reference=_training_memory,
    oracle=_measured_training_memory,
    cases=(
        Case("1,000,000 parameters, Adam, float32", _memory_case(1_000_000, "Adam", "float32")),
        Case("1,000,000 parameters, Adam, mixed", _memory_case(1_000_000, "Adam", "mixed")),
        Case("300,000 parameters, SGD, float32", _memory_case(300_000, "SGD", "float32")),
        Case(
            "300,000 parameters, SGD momentum, float32",
            _memory_case(300_000, "SGD momentum", "float32"),
        ),
        Case("50,000 parameters, SGD, mixed", _memory_case(50_000, "SGD", "mixed")),
        Case(
            "50,000 parameters, SGD momentum, mixed", _memory_case(50_000, "SGD momentum", "mixed")
        ),
        Case(
            "GPT-2 small, 124,439,808 parameters, Adam, mixed",
            _memory_case(124_439_808, "Adam", "mixed"),
        ),
    ),
    mistakes=(
        Mistake(
            "the gradients are missing: backward() stores one gradient per parameter, in the "
            "precision of the weights it belongs to (4 bytes in fp32, 2 in mixed).",
            _memory_variant(grads=lambda o, p: 0),
        ),
        Mistake(
            "in mixed precision you forgot the float32 master copy of the weights: the update "
            "is made on a 4-byte copy, because a 2-byte weight cannot hold small updates.",
            _memory_variant(master=lambda o, p: 0),
        ),
        Mistake(
            "you stored the optimizer's state in 16 bits too: mixed precision keeps the "
            "master weights and every optimizer state in float32 (4 bytes each).",
            _memory_variant(state=lambda o, p: STATE_BYTES[o] // (2 if p == "mixed" else 1)),
        ),
        Mistake(
            "Adam keeps two states per parameter, the first moment m and the second moment v, "
            "4 bytes each: 8 bytes, not 4.",
            _memory_variant(state=lambda o, p: 4 if o == "Adam" else STATE_BYTES[o]),
        ),
        Mistake(
            "plain SGD (no momentum) keeps no state at all: w ← w − η g needs only the weights "
            "and the gradient.",
            _memory_variant(state=lambda o, p: 4 if o == "SGD" else STATE_BYTES[o]),
        ),
        Mistake(
            "that is bytes per parameter: multiply by the number of parameters n_params.",
            _memory_variant(per_param=True),
        ),
    ),
    hints=(
        "Add up, per parameter: the weight, its gradient, in mixed precision a float32 master "
        "copy, and the optimizer's state (none for SGD, a momentum buffer, or Adam's m and v). "
        "fp32 is 4 bytes, fp16/bf16 2 bytes; optimizer states are float32 in both modes.",
        "Mixed-precision Adam is ZeRO's 2 + 2 + 12 = 16 bytes per parameter: the fp16 weight "
        "and gradient, then the float32 master weight, m and v. Multiply by n_params.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 8.2: gradient accumulation
# ---------------------------------------------------------------------------------------------


def _mse_grad(w, X, y):
    """∇ of (1/n) Σᵢ (xᵢ·w − yᵢ)², the mean over the n rows given."""
    return 2 / len(y) * X.T @ (X @ w - y)


def _accumulate_step(w, X, y, lr, micro_batch_size):
    """One SGD step on the mean squared error of the full batch, whatever the micro-batches."""
    return w - lr * _mse_grad(w, X, y)


def _torch_full_batch_step(w, X, y, lr, micro_batch_size):
    import torch
    import torch.nn.functional as F

    param = torch.nn.Parameter(torch.from_numpy(w.copy()))
    optimizer = torch.optim.SGD([param], lr=float(lr))
    optimizer.zero_grad()
    F.mse_loss(torch.from_numpy(X) @ param, torch.from_numpy(y)).backward()
    optimizer.step()
    return param.detach().numpy()


def _micro_batches(n, size):
    return [slice(start, start + size) for start in range(0, n, int(size))]


def _accumulated(w, X, y, lr, size, weigh, zero_each=False):
    """Σ over micro-batches of weigh(rows, n, k) × (mean gradient on those rows), one step."""
    batches = _micro_batches(len(y), size)
    total = np.zeros_like(w)
    for rows in batches:
        grad = weigh(len(y[rows]), len(y), len(batches)) * _mse_grad(w, X[rows], y[rows])
        total = grad if zero_each else total + grad
    return w - lr * total


def _step_every_micro_batch(w, X, y, lr, size):
    batches = _micro_batches(len(y), size)
    for rows in batches:
        w = w - lr * _mse_grad(w, X[rows], y[rows]) / len(batches)
    return w


def _accumulation_case(n, d, size, lr=0.1):
    def make(rng):
        return {
            "w": rng.normal(size=d),
            "X": rng.normal(size=(n, d)),
            "y": rng.normal(size=n),
            "lr": np.float64(lr),
            "micro_batch_size": int(size),
        }

    return make


GRADIENT_ACCUMULATION = Exercise(
    id="8.2",
    name="accumulate_step",
    title="Gradient accumulation",
    reference=_accumulate_step,
    oracle=_torch_full_batch_step,
    cases=(
        Case("12 samples in 4 micro-batches of 3", _accumulation_case(12, 3, 3), 21),
        Case("10 samples in micro-batches of 4, 4 and 2", _accumulation_case(10, 3, 4), 22),
        Case("9 samples in micro-batches of 2, 2, 2, 2 and 1", _accumulation_case(9, 4, 2), 23),
        Case("5 samples in one micro-batch of 5", _accumulation_case(5, 2, 5, 0.05), 24),
    ),
    mistakes=(
        Mistake(
            "your step is k times too large (k micro-batches): each micro-batch's loss is a "
            "mean over its own rows, and adding k of them up counts the batch k times. Scale "
            "each micro-batch's loss (or gradient) down before you add it.",
            lambda w, X, y, lr, size: _accumulated(w, X, y, lr, size, lambda b, n, k: 1.0),
        ),
        Mistake(
            "only the last micro-batch reaches the step: the gradients are reset inside the "
            "loop (`optimizer.zero_grad()` per micro-batch). Zero them once, before the first.",
            lambda w, X, y, lr, size: _accumulated(
                w, X, y, lr, size, lambda b, n, k: 1 / k, zero_each=True
            ),
        ),
        Mistake(
            "with an uneven last micro-batch, dividing every micro-batch by k weighs its few "
            "rows as much as a full one. Weigh micro-batch j by its share of the rows, b_j / n.",
            lambda w, X, y, lr, size: _accumulated(w, X, y, lr, size, lambda b, n, k: 1 / k),
        ),
        Mistake(
            "you stepped after every micro-batch: that is k small SGD steps, each at a new w. "
            "Accumulate the gradients over all micro-batches, then step once.",
            _step_every_micro_batch,
        ),
        Mistake(
            "you summed the squared errors instead of averaging them: the loss is the mean over "
            "the batch (`F.mse_loss`'s default), so your step is n times too large.",
            lambda w, X, y, lr, size: _accumulated(w, X, y, lr, size, lambda b, n, k: b),
        ),
    ),
    hints=(
        "The full-batch loss is (1/n) Σᵢ over all n rows. Split the sum by micro-batch: "
        "micro-batch j, of b_j rows, contributes (b_j/n) × (its own mean loss).",
        "Loop over `range(0, n, micro_batch_size)`; add (b_j/n) × the gradient of each "
        "micro-batch's mean squared error to a running total; after the loop, "
        "`w - lr * total`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 8.3: the dynamic loss scale
# ---------------------------------------------------------------------------------------------


def _update_scale(scale, growth_tracker, found_inf, growth_factor, backoff_factor, growth_interval):
    """torch.amp.GradScaler.update: back off on an overflow, grow after enough clean steps."""
    if found_inf:
        return float(scale * backoff_factor), 0
    if growth_tracker + 1 == growth_interval:
        return float(scale * growth_factor), 0
    return float(scale), int(growth_tracker + 1)


def _grad_scaler_update(scale, growth_tracker, found_inf, growth_factor, backoff_factor,
                        growth_interval):  # fmt: skip
    """A GradScaler("cpu") brought to this state by clean steps, then one more step."""
    import torch

    param = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.SGD([param], lr=0.0)
    scaler = torch.amp.GradScaler(
        "cpu",
        init_scale=float(scale),
        growth_factor=float(growth_factor),
        backoff_factor=float(backoff_factor),
        growth_interval=int(growth_interval),
    )
    for overflow in [False] * int(growth_tracker) + [bool(found_inf)]:
        optimizer.zero_grad()
        loss = (param * (math.inf if overflow else 1.0)).sum()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return scaler.get_scale(), int(scaler.state_dict()["_growth_tracker"])


def _scale_case(scale, tracker, found_inf, growth=2.0, backoff=0.5, interval=2000):
    return lambda rng: {
        "scale": float(scale),
        "growth_tracker": int(tracker),
        "found_inf": bool(found_inf),
        "growth_factor": float(growth),
        "backoff_factor": float(backoff),
        "growth_interval": int(interval),
    }


def _scale_variant(*, reset_on_inf=True, backoff=True, divide=False, off_by_one=False,
                   reset_on_growth=True, grow_always=False):  # fmt: skip
    def answer(scale, tracker, found_inf, growth_factor, backoff_factor, interval):
        if found_inf:
            factor = (1 / backoff_factor if divide else backoff_factor) if backoff else 1.0
            return scale * factor, 0 if reset_on_inf else tracker
        tracker += 1
        if grow_always:
            return scale * growth_factor, tracker
        if (tracker > interval) if off_by_one else (tracker == interval):
            return scale * growth_factor, 0 if reset_on_growth else tracker
        return scale, tracker

    return answer


LOSS_SCALE_UPDATE = Exercise(
    id="8.3",
    name="update_scale",
    title="The dynamic loss scale",
    reference=_update_scale,
    oracle=_grad_scaler_update,
    cases=(
        Case("an overflow at scale 65536, 5 clean steps in", _scale_case(65536, 5, True)),
        Case("the 2000th clean step in a row", _scale_case(1024, 1999, False)),
        Case("a clean step in the middle of an interval", _scale_case(1024, 10, False)),
        Case(
            "an overflow just before growth was due (factors 4 and 0.25, interval 3)",
            _scale_case(8, 2, True, 4.0, 0.25, 3),
        ),
        Case("interval 1: every clean step grows", _scale_case(4, 0, False, 2.0, 0.5, 1)),
        Case("the very first step, clean", _scale_case(65536, 0, False)),
    ),
    mistakes=(
        Mistake(
            "after an overflow the count of clean steps must start again from 0: growth needs "
            "`growth_interval` clean steps *in a row*.",
            _scale_variant(reset_on_inf=False),
        ),
        Mistake(
            "the scale should shrink after an overflow: multiply it by `backoff_factor` "
            "(0.5), do not divide by it.",
            _scale_variant(divide=True),
        ),
        Mistake(
            "after an overflow the scale must shrink (× `backoff_factor`), or the next step "
            "overflows again.",
            _scale_variant(backoff=False),
        ),
        Mistake(
            "you grow one step late: the scale grows on the clean step that brings the count "
            "to `growth_interval` (2000 steps, not 2001).",
            _scale_variant(off_by_one=True),
        ),
        Mistake(
            "after growing, the count of clean steps starts again from 0; otherwise the scale "
            "would grow on every step from then on.",
            _scale_variant(reset_on_growth=False),
        ),
        Mistake(
            "the scale grows only once every `growth_interval` clean steps, not on every clean "
            "step: count them in `growth_tracker`.",
            _scale_variant(grow_always=True),
        ),
    ),
    hints=(
        "Two branches. An overflow (found_inf): shrink the scale and restart the count. A "
        "clean step: add one to the count; when it reaches growth_interval, grow the scale.",
        "On overflow return `(scale * backoff_factor, 0)`. Otherwise let `count = "
        "growth_tracker + 1`; if `count == growth_interval` return `(scale * growth_factor, "
        "0)`, else `(scale, count)`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 8.4: ZeRO's memory per rank
# ---------------------------------------------------------------------------------------------

ADAM_K = 12  # bytes of float32 state per parameter: master weights, m and v


def _zero_memory(n_params, n_ranks, stage):
    """Bytes on rank 0 (the largest shard, ⌈Ψ/N⌉) under ZeRO stage 0-3, mixed-precision Adam."""
    n, shard = int(n_params), -(-int(n_params) // int(n_ranks))
    weights = 2 * (shard if stage >= 3 else n)
    grads = 2 * (shard if stage >= 2 else n)
    states = ADAM_K * (shard if stage >= 1 else n)
    return weights + grads + states


def _torch_zero_memory(n_params, n_ranks, stage):
    """The paper's partitioning, with the shard of rank 0 cut by torch.chunk, sized by torch."""
    import torch

    flat = torch.empty(int(n_params), device="meta")
    shard = torch.chunk(flat, int(n_ranks))[0].numel()  # what rank 0 holds
    full = flat.numel()

    def tensors(numel, dtype, count=1):
        return [torch.empty(numel, dtype=dtype, device="meta") for _ in range(count)]

    held = tensors(shard if stage >= 3 else full, torch.float16)  # the fp16 weights
    held += tensors(shard if stage >= 2 else full, torch.float16)  # their gradients
    held += tensors(shard if stage >= 1 else full, torch.float32, 3)  # master, m, v
    return sum(_nbytes(tensor) for tensor in held)


def _zero_case(n_params, n_ranks, stage):
    return lambda rng: {"n_params": n_params, "n_ranks": n_ranks, "stage": stage}


def _zero_variant(k=ADAM_K, half=2, shift=0, everything=False, floor=False):
    def answer(n_params, n_ranks, stage):
        shard = n_params // n_ranks if floor else -(-n_params // n_ranks)
        stage = min(stage + shift, 3)
        parts = [(half, 3), (half, 2), (k, 1)]
        return sum(
            size * (shard if stage >= (1 if everything else start) else n_params)
            for size, start in parts
        )

    return answer


_PAPER = 7_500_000_000  # ZeRO's Figure 1: Ψ = 7.5 B parameters on N = 64 GPUs

ZERO_MEMORY = Exercise(
    id="8.4",
    name="zero_memory_per_rank",
    title="ZeRO's memory per GPU",
    reference=_zero_memory,
    oracle=_torch_zero_memory,
    cases=(
        Case("Ψ = 7.5 B, N = 64, stage 0 (plain data parallelism)", _zero_case(_PAPER, 64, 0)),
        Case("Ψ = 7.5 B, N = 64, stage 1", _zero_case(_PAPER, 64, 1)),
        Case("Ψ = 7.5 B, N = 64, stage 2", _zero_case(_PAPER, 64, 2)),
        Case("Ψ = 7.5 B, N = 64, stage 3", _zero_case(_PAPER, 64, 3)),
        Case("Ψ = 1,000,000, N = 4, stage 2", _zero_case(1_000_000, 4, 2)),
        Case("Ψ = 10, N = 3, stage 1 (3 does not divide 10)", _zero_case(10, 3, 1)),
        Case("Ψ = 1,000,003, N = 8, stage 3", _zero_case(1_000_003, 8, 3)),
        Case("Ψ = 124,439,808, N = 1, stage 3 (one GPU)", _zero_case(124_439_808, 1, 3)),
    ),
    mistakes=(
        Mistake(
            "K is 12 for mixed-precision Adam: the float32 master weights (4 bytes) count, "
            "besides m and v (4 + 4).",
            _zero_variant(k=8),
        ),
        Mistake(
            "your stages are one step ahead: stage 1 partitions only the optimizer states, "
            "stage 2 adds the gradients, stage 3 the weights.",
            _zero_variant(shift=1),
        ),
        Mistake(
            "you divided everything by N from stage 1 on: stage 1 partitions only the "
            "optimizer states; each GPU still holds all the fp16 weights and gradients.",
            _zero_variant(everything=True),
        ),
        Mistake(
            "when N does not divide Ψ, rank 0 holds ⌈Ψ/N⌉ elements, not ⌊Ψ/N⌋: the shards must "
            "cover every parameter (FSDP pads the flat parameter). Round the shard up.",
            _zero_variant(floor=True),
        ),
        Mistake(
            "the weights and gradients are 2-byte fp16 in mixed precision, not 4-byte fp32.",
            _zero_variant(half=4),
        ),
    ),
    hints=(
        "Per parameter: 2 bytes of fp16 weight, 2 of fp16 gradient, K = 12 of float32 state. "
        "Stage 1 splits the K bytes across the N GPUs, stage 2 also the gradients, stage 3 "
        "also the weights.",
        "Let `shard = -(-n_params // n_ranks)` (⌈Ψ/N⌉, in integers). Each of the three parts "
        "is either `n_params` or `shard` elements, depending on the stage.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 8.5: magnitude pruning
# ---------------------------------------------------------------------------------------------


def _prune_count(amount, size):
    """round(amount · n), Python's round (half to even), as torch's _compute_nparams_toprune."""
    return round(float(amount) * size)


def _magnitude_prune(weight, amount):
    """Mask of the weight's dtype: 0 on the round(amount · n) smallest |w|, 1 elsewhere."""
    mask = np.ones_like(weight)
    order = np.argsort(np.abs(weight), axis=None, kind="stable")
    mask.flat[order[: _prune_count(amount, weight.size)]] = 0
    return mask


def _torch_magnitude_prune(weight, amount):
    import torch
    from torch.nn.utils import prune

    module = torch.nn.Module()
    module.weight = torch.nn.Parameter(torch.from_numpy(weight.copy()))
    prune.l1_unstructured(module, "weight", amount=float(amount))
    return module.weight_mask.numpy()


def _prune_case(shape, amount):
    return lambda rng: {"weight": rng.normal(size=shape), "amount": float(amount)}


def _prune_variant(count=_prune_count, key=np.abs, keep_smallest=False, per_row=False):
    def answer(weight, amount):
        if per_row and weight.ndim == 2:
            return np.stack([answer(row, amount) for row in weight])
        mask = np.ones_like(weight)
        order = np.argsort(key(weight), axis=None, kind="stable")
        k = int(count(amount, weight.size))
        chosen = order[weight.size - k :] if keep_smallest else order[:k]
        mask.flat[chosen] = 0
        return mask

    return answer


MAGNITUDE_PRUNE = Exercise(
    id="8.5",
    name="magnitude_prune",
    title="Magnitude pruning",
    reference=_magnitude_prune,
    oracle=_torch_magnitude_prune,
    cases=(
        Case("a (4, 5) weight, amount 0.5", _prune_case((4, 5), 0.5), 51),
        Case(
            "100 weights, amount 0.29 (amount · n is 28.999999999999996)",
            _prune_case(100, 0.29),
            52,
        ),
        Case("a (3, 4) weight, amount 0.375 (amount · n = 4.5)", _prune_case((3, 4), 0.375), 53),
        Case(
            "a (5, 5) weight, amount 0.56 (amount · n is 14.000000000000002)",
            _prune_case((5, 5), 0.56),
            54,
        ),
        Case("a (3, 8) weight, amount 0.25", _prune_case((3, 8), 0.25), 55),
    ),
    mistakes=(
        Mistake(
            "you pruned the largest weights and kept the smallest: magnitude pruning removes "
            "the weights with the smallest |w|, which contribute least.",
            _prune_variant(keep_smallest=True),
        ),
        Mistake(
            "you ranked the weights by their signed value: a large negative weight matters as "
            "much as a large positive one. Rank by magnitude, |w|.",
            _prune_variant(key=lambda w: w),
        ),
        Mistake(
            "you truncated amount · n with int(): 0.29 × 100 is 28.999999999999996 in floating "
            "point. torch rounds it to the nearest integer (Python's round).",
            _prune_variant(count=lambda a, n: int(a * n)),
        ),
        Mistake(
            "you rounded amount · n up: 0.56 × 25 is 14.000000000000002 in floating point, and "
            "torch prunes round(amount · n) = 14 weights, not 15.",
            _prune_variant(count=lambda a, n: math.ceil(a * n)),
        ),
        Mistake(
            "you rounded 4.5 up to 5: Python's round, which torch uses, rounds a half to the "
            "even neighbour (round(4.5) = 4).",
            _prune_variant(count=lambda a, n: math.floor(a * n + 0.5)),
        ),
        Mistake(
            "you pruned each row separately: unstructured pruning ranks all the entries of the "
            "tensor together, so some rows lose more than others.",
            _prune_variant(per_row=True),
        ),
    ),
    hints=(
        "Count k = round(amount · n) with Python's `round`, n = `weight.size`; then set the "
        "mask to 0 at the k entries of smallest |w| in the whole tensor, 1 elsewhere.",
        "`order = np.argsort(np.abs(weight), axis=None)` ranks the flattened tensor; "
        "`mask = np.ones_like(weight)` and `mask.flat[order[:k]] = 0`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 8.6: symmetric int8 quantization
# ---------------------------------------------------------------------------------------------

INT8_MIN, INT8_MAX = -128, 127
_FLOAT32_EPS = np.finfo(np.float32).eps  # torch's observers never let the scale reach 0


def _quantize_int8(x):
    """Per-tensor symmetric int8, as torch: scale = max|x| / 127.5, q = clamp(rint(x/s))."""
    largest = np.max(np.abs(x))
    scale = max(np.float32(largest / np.float32((INT8_MAX - INT8_MIN) / 2)), _FLOAT32_EPS)
    inverse = np.float32(1) / scale  # torch multiplies by 1/scale, in float32
    q = np.clip(np.rint(x * inverse), INT8_MIN, INT8_MAX)  # rint: ties to even
    return q.astype(np.int8), np.float32(scale)


def _torch_quantize_int8(x):
    import torch
    from torch.ao.quantization import MinMaxObserver

    tensor = torch.from_numpy(x)
    observer = MinMaxObserver(qscheme=torch.per_tensor_symmetric, dtype=torch.qint8)
    observer(tensor)
    scale, zero_point = observer.calculate_qparams()
    assert int(zero_point) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # quantized dtypes are deprecated (2.10)
        q = torch.quantize_per_tensor(tensor, float(scale), 0, torch.qint8)
    return q.int_repr().numpy(), np.float32(scale.item())


def _random_weights(shape, spread=0.1):
    return lambda rng: {"x": (spread * rng.normal(size=shape)).astype(np.float32)}


def _negative_largest(rng):
    x = rng.normal(size=12)
    x[5] = -3 * np.abs(x).max()
    return {"x": x.astype(np.float32)}


def _sixteenths(rng):
    """max |x| = 7.96875 = 127.5/16, so scale = 1/16 exactly and x/scale hits the ties."""
    q = [127.5, 2.5, -3.5, 0.5, 1.5, -0.5, 40.0, -100.25, 12.75]
    return {"x": (np.array(q) / 16).astype(np.float32)}


def _negative_extreme(rng):
    """max |x| = 127.5/128, on a negative entry: x/scale = −127.5, which rounds to −128."""
    q = [[-127.5, 3.5, 0.25], [60.0, -4.5, 99.0], [-0.75, 126.5, 1.0]]
    return {"x": (np.array(q) / 128).astype(np.float32)}


def _outlier(rng):
    x = 0.01 * rng.normal(size=20)
    x[7] = 1.5
    return {"x": x.astype(np.float32)}


def _quantize_variant(*, levels=127.5, magnitude=True, rounding=np.rint, low=INT8_MIN,
                      clamp=True, dtype=np.int8):  # fmt: skip
    def answer(x):
        scale = np.float32((np.max(np.abs(x)) if magnitude else np.max(x)) / np.float32(levels))
        values = rounding(x * (np.float32(1) / scale))
        if clamp:
            values = np.clip(values, low, INT8_MAX)
        return values.astype(dtype), scale

    return answer


QUANTIZE_INT8 = Exercise(
    id="8.6",
    name="quantize_int8",
    title="Symmetric int8 quantization",
    reference=_quantize_int8,
    oracle=_torch_quantize_int8,
    cases=(
        Case("a (4, 8) float32 weight matrix", _random_weights((4, 8)), 61),
        Case("12 weights whose largest magnitude is negative", _negative_largest, 66),
        Case("multiples of 1/16: x/scale is 127.5, 2.5, −3.5, 0.5, ...", _sixteenths),
        Case("a (3, 3) matrix with x/scale = −127.5, 3.5, −4.5, ...", _negative_extreme),
        Case("20 small weights and one outlier of 1.5", _outlier, 65),
    ),
    mistakes=(
        Mistake(
            "your scale is max|x|/127. torch's symmetric int8 scale is max|x|/127.5, half the "
            "width of the range [−128, 127] (255 steps), which is what the check expects.",
            _quantize_variant(levels=127.0),
        ),
        Mistake(
            "your scale comes from max(x): when the largest magnitude is negative, that "
            "weight falls outside the range. Use max|x|.",
            _quantize_variant(magnitude=False),
        ),
        Mistake(
            "you rounded halves up (floor(v + 0.5)): torch rounds a half to the even integer, "
            "as `np.rint` and `np.round` do (2.5 → 2, −3.5 → −4).",
            _quantize_variant(rounding=lambda v: np.floor(v + 0.5)),
        ),
        Mistake(
            "you truncated x/scale towards zero instead of rounding it to the nearest integer.",
            _quantize_variant(rounding=np.trunc),
        ),
        Mistake(
            "your largest weight became 128, which int8 cannot hold: max|x|/scale is 127.5 and "
            "rounds to 128. Clamp to [−128, 127] after rounding.",
            _quantize_variant(clamp=False, dtype=np.int64),
        ),
        Mistake(
            "your largest positive weight became −128: 128 does not fit in int8 and wrapped "
            "around when you cast. Clamp to [−128, 127] before casting.",
            _quantize_variant(clamp=False),
        ),
        Mistake(
            "you clamped to [−127, 127]: torch's int8 range is [−128, 127], and −127.5 rounds "
            "to −128.",
            _quantize_variant(low=-127),
        ),
    ),
    hints=(
        "Three steps: the scale s = max|x| / 127.5; q = x / s rounded to the nearest integer, "
        "ties to even; clamp q to [−128, 127] and store it as int8. Keep float32 throughout.",
        "`scale = np.abs(x).max() / 127.5`, then "
        "`np.clip(np.rint(x / scale), -128, 127).astype(np.int8)`; return `(q, scale)`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 8.7: how much can be pruned? (an experiment)
# ---------------------------------------------------------------------------------------------

NETWORK = {"sizes": (64, 64, 10), "steps": 200, "lr": 1e-2, "seed": 0}
MIN_AMOUNT = 0.5  # the goal: remove at least half of the weights ...
MAX_DROP = 0.01  # ... and lose at most 1 point of validation accuracy
# Measured (tests/test_exercises_ch08.py): dense 0.956; 0.5 → 0.959, 0.6 → 0.952 (kept),
# 0.65 → 0.937, 0.7 → 0.885, 0.8 → 0.681 (lost)
_AMOUNT_GRID = np.round(np.arange(0.0, 0.951, 0.05), 2)


@functools.cache
def _digits():
    return digits(seed=0)  # the split of chapter 7's exercises: 1,257 / 270 / 270 images


def _one_blas_thread():
    """BLAS on one thread: on a busy machine (a grader running kernels side by side), threads
    that wait for each other make these small products several times slower. The weights can
    differ from a multi-threaded run's in the last bits; the accuracies do not."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover - utils.data.digits needs scikit-learn anyway
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@functools.cache
def trained_network():
    """[W₁, b₁, W₂, b₂] of a 64 → 64 → 10 MLP trained on the digits (full-batch Adam)."""
    data = _digits()
    with _one_blas_thread():
        params = mlp_train(
            NETWORK["sizes"],
            data.x_train,
            lambda logits: cross_entropy_grad(logits, data.y_train),
            NETWORK["steps"],
            NETWORK["lr"],
            NETWORK["seed"],
        )
    return tuple(params)


def global_magnitude_prune(params, amount):
    """Zero the round(amount · n) smallest |w| over W₁ and W₂ together; biases stay."""
    W1, b1, W2, b2 = params
    weights = np.concatenate([W1.ravel(), W2.ravel()])
    keep = _magnitude_prune(weights, amount)
    return [W1 * keep[: W1.size].reshape(W1.shape), b1, W2 * keep[W1.size :].reshape(W2.shape), b2]


def pruned_accuracy(amount):
    """Validation accuracy of the trained MLP after global magnitude pruning (no fine-tuning)."""
    data = _digits()
    logits = mlp_forward(global_magnitude_prune(trained_network(), amount), data.x_val)[1]
    return float(np.mean(logits.argmax(axis=1) == data.y_val))


def _keeps_accuracy(accuracy, dense):
    return accuracy >= dense - MAX_DROP - 1e-12


def _largest_amount(accuracies):
    dense = accuracies[0]
    kept = [
        a for a, acc in zip(_AMOUNT_GRID, accuracies, strict=True) if _keeps_accuracy(acc, dense)
    ]
    return float(max(kept))


@functools.cache
def _grid_accuracies():
    return tuple(pruned_accuracy(float(amount)) for amount in _AMOUNT_GRID)


def _best_amount():
    """The largest amount of the grid 0, 0.05, ..., 0.95 within 1 point of the dense network."""
    return _largest_amount(_grid_accuracies())


def _torch_best_amount():
    """The same grid, pruned by prune.global_unstructured and evaluated by torch."""
    import torch
    from torch.nn.utils import prune

    data = _digits()
    x = torch.from_numpy(data.x_val)
    accuracies = []
    for amount in _AMOUNT_GRID:
        layers = []
        for W, b in zip(trained_network()[::2], trained_network()[1::2], strict=True):
            layer = torch.nn.Linear(*W.shape, dtype=torch.float64)
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(W.T))
                layer.bias.copy_(torch.from_numpy(b))
            layers.append(layer)
        prune.global_unstructured(
            [(layer, "weight") for layer in layers],
            pruning_method=prune.L1Unstructured,
            amount=float(amount),
        )
        with torch.no_grad():
            logits = layers[1](torch.relu(layers[0](x)))
        accuracies.append(float(np.mean(logits.argmax(dim=1).numpy() == data.y_val)))
    return _largest_amount(accuracies)


def _judge_amount(value):
    amount = float(value)
    if not 0 <= amount < 1:
        return f"your amount is {amount:.6g}; choose a fraction with 0 ≤ amount < 1."
    dense, accuracy = pruned_accuracy(0.0), pruned_accuracy(amount)
    if not _keeps_accuracy(accuracy, dense):
        return (
            f"pruning {amount:.0%} of the weights leaves a validation accuracy of "
            f"{accuracy:.3f}, more than 1 point below the dense network's {dense:.3f}: "
            "prune less."
        )
    if amount < MIN_AMOUNT:
        return (
            f"pruning {amount:.0%} of the weights keeps the accuracy ({accuracy:.3f}), but the "
            f"goal is a network at most half as dense: prune at least {MIN_AMOUNT:.0%}."
        )
    return None


PRUNING_AMOUNT = Exercise(
    id="8.7",
    name="pruning_amount",
    title="How much can you prune? An experiment",
    reference=_best_amount,
    oracle=_torch_best_amount,
    points=2,
    judge=_judge_amount,
    mistakes=(
        Mistake(
            "an amount of 0 prunes nothing: the network keeps its accuracy, and all its "
            "weights. Find how far you can go.",
            lambda: 0.0,
        ),
        Mistake(
            "the amount is a fraction of the weights, between 0 and 1, not a percentage.",
            lambda: 60.0,
        ),
        Mistake(
            "at 90 % the pruned network has lost most of what it knew: without fine-tuning, "
            "this small MLP cannot lose that many weights. Scan smaller amounts.",
            lambda: 0.9,
        ),
    ),
    hints=(
        "Call `pruned_accuracy(a)` for a = 0, 0.1, ..., 0.9 and compare each with the dense "
        "network's `pruned_accuracy(0)`.",
        "Accuracy holds up to a point and then falls off a cliff. Any amount of at least 0.5 "
        "whose accuracy is within 0.01 of the dense network's passes; refine the scan between "
        "the last amount that passes and the first that does not.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 8.8: diagnose a mixed-precision loop that clips scaled gradients
# ---------------------------------------------------------------------------------------------

LOSS_SCALE = 2.0**16  # GradScaler's init_scale; it never grows within these few steps


def _regression_loop(weight, bias, features, targets, lr, steps, clip):
    """SGD on the mean squared error of features @ weightᵀ + bias; ``clip(grads)`` → grads."""
    weight, bias = np.array(weight, dtype=np.float64), np.array(bias, dtype=np.float64)
    scale = 2 / targets.size  # ∂/∂pred of mean((pred − y)²)
    for _ in range(int(steps)):
        residual = scale * (features @ weight.T + bias - targets)
        grads = clip([residual.T @ features, residual.sum(axis=0)])
        weight, bias = weight - lr * grads[0], bias - lr * grads[1]
    return weight, bias


def _train_fixed_clipped(weight, bias, features, targets, lr, max_norm, steps):
    """Clip the *unscaled* gradients to a global norm of max_norm, as if no scaler were used."""
    return _regression_loop(
        weight,
        bias,
        features,
        targets,
        lr,
        steps,
        lambda grads: clip_grad_global_norm(grads, float(max_norm))[0],
    )


def buggy_train(weight, bias, features, targets, lr, max_norm, steps):
    """The notebook's broken loop: clip_grad_norm_ on the gradients still multiplied by S."""

    def clip(grads):
        scaled = [LOSS_SCALE * g for g in grads]
        clipped, _ = clip_grad_global_norm(scaled, float(max_norm))
        return [g / LOSS_SCALE for g in clipped]

    return _regression_loop(weight, bias, features, targets, lr, steps, clip)


def _torch_amp_train(weight, bias, features, targets, lr, max_norm, steps):
    """torch's AMP recipe for clipping: scale, backward, unscale_, clip, step, update."""
    import torch
    import torch.nn.functional as F

    model = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(weight))
        model.bias.copy_(torch.from_numpy(bias))
    optimizer = torch.optim.SGD(model.parameters(), lr=float(lr))
    scaler = torch.amp.GradScaler("cpu", init_scale=LOSS_SCALE)
    x, y = torch.from_numpy(features), torch.from_numpy(targets)
    for _ in range(int(steps)):
        optimizer.zero_grad()
        scaler.scale(F.mse_loss(model(x), y)).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), float(max_norm))
        scaler.step(optimizer)
        scaler.update()
    return model.weight.detach().numpy(), model.bias.detach().numpy()


def _clip_loop(clip):
    def answer(weight, bias, features, targets, lr, max_norm, steps):
        return _regression_loop(
            weight, bias, features, targets, lr, steps, lambda grads: clip(grads, max_norm)
        )

    return answer


def _regression_case(n, d, m, lr, max_norm, steps, spread=5.0):
    def make(rng):
        true_weight = spread * rng.normal(size=(m, d))
        features = rng.normal(size=(n, d))
        return {
            "weight": np.zeros((m, d)),
            "bias": np.zeros(m),
            "features": features,
            "targets": features @ true_weight.T + 0.1 * rng.normal(size=(n, m)),
            "lr": np.float64(lr),
            "max_norm": np.float64(max_norm),
            "steps": np.int64(steps),
        }

    return make


FIXED_AMP_LOOP = Exercise(
    id="8.8",
    name="train_fixed",
    title="Diagnose a mixed-precision loop that barely learns",
    reference=_train_fixed_clipped,
    oracle=_torch_amp_train,
    points=2,
    time_limit=15.0,  # a learner's torch loop: the first one in a kernel starts torch's threads
    cases=(
        Case(
            "n = 40, d = 3, 2 outputs, η = 0.1, max_norm = 1, 30 steps",
            _regression_case(40, 3, 2, 0.1, 1.0, 30),
            81,
        ),
        Case(
            "n = 30, d = 5, 1 output, η = 0.05, max_norm = 2, 40 steps",
            _regression_case(30, 5, 1, 0.05, 2.0, 40),
            82,
        ),
        Case(
            "n = 25, d = 2, 3 outputs, η = 0.2, max_norm = 5, 20 steps",
            _regression_case(25, 2, 3, 0.2, 5.0, 20, spread=1.0),
            83,
        ),
    ),
    mistakes=(
        Mistake(
            "that is what the broken loop computes: `clip_grad_norm_` sees the gradients "
            "still multiplied by the loss scale (65536), so it clips almost every step, to a "
            "norm 65536 times too small. Call `scaler.unscale_(optimizer)` before clipping.",
            buggy_train,
        ),
        Mistake(
            "you removed the clipping instead of fixing it: the loop is meant to clip the "
            "gradients' global norm to `max_norm`, after unscaling them.",
            _clip_loop(lambda grads, max_norm: grads),
        ),
        Mistake(
            "you clipped each tensor on its own: `clip_grad_norm_(model.parameters(), ...)` "
            "clips the global norm of all the gradients together, which keeps their direction.",
            _clip_loop(
                lambda grads, max_norm: [clip_grad_global_norm(g, max_norm)[0] for g in grads]
            ),
        ),
        Mistake(
            "you clipped each entry to [−max_norm, max_norm] (`clip_grad_value_`): the loop "
            "clips the gradients' norm (`clip_grad_norm_`), which keeps their direction.",
            _clip_loop(lambda grads, max_norm: [np.clip(g, -max_norm, max_norm) for g in grads]),
        ),
        Mistake(
            "your gradients were divided by the scale twice: `scaler.step` unscales them "
            "itself unless you called `scaler.unscale_(optimizer)`; dividing by hand as well "
            "makes the steps 65536 times too small.",
            _clip_loop(
                lambda grads, max_norm: [
                    g / LOSS_SCALE for g in clip_grad_global_norm(grads, max_norm)[0]
                ]
            ),
        ),
    ),
    hints=(
        "Print the gradient norm that `clip_grad_norm_` returns in the broken loop. It is the "
        "norm of the *scaled* gradients: the loss was multiplied by `scaler.get_scale()`.",
        "torch's AMP recipe: `scaler.scale(loss).backward()`, then "
        "`scaler.unscale_(optimizer)`, then `clip_grad_norm_`, then `scaler.step(optimizer)` "
        "and `scaler.update()`.",
    ),
)

EXERCISE_SET = ExerciseSet(
    chapter="8",
    title="Training large models efficiently",
    notebook="08_large_models",
    exercises=(
        TRAINING_MEMORY,
        GRADIENT_ACCUMULATION,
        LOSS_SCALE_UPDATE,
        ZERO_MEMORY,
        MAGNITUDE_PRUNE,
        QUANTIZE_INT8,
        PRUNING_AMOUNT,
        FIXED_AMP_LOOP,
    ),
)
