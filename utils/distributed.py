"""Chapter 8's data-parallel training: one script, run as 1 process, as DDP ranks or as FSDP ranks.

    python -m utils.distributed --single --out single.json
    torchrun --standalone --nproc_per_node=2 -m utils.distributed --out ddp.json
    torchrun --standalone --nproc_per_node=2 -m utils.distributed --fsdp --out fsdp.json

The same script runs unchanged on several machines; start this on each of the 2 nodes (HOST is
the first node's address, JOB any name shared by the nodes):

    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 \\
        --rdzv_id=JOB -m utils.distributed --global-batch 1024 --out ddp.json

Every run trains the same small network (64 → 128 → 10, ReLU) on the scikit-learn digits
(``utils.data.digits``, 1,257 training images) for ``--steps`` steps of Adam (or SGD with
momentum), from the same seeded initial weights, on the same sequence of global batches: global
batch t is the training rows tB, …, tB + B − 1 (wrapping round the 1,257 rows). With N ranks,
rank r takes the contiguous shard of b = B/N rows starting at tB + rb.

Why DDP gives the weights of the single process. Each rank computes the mean loss over its b
rows and its gradient g_r; DistributedDataParallel all-reduces the gradients and divides by N
(Li et al. 2020, "PyTorch Distributed"), so every rank applies

    (1/N) Σ_r g_r = (1/N) Σ_r (1/b) Σ_{i ∈ shard r} ∇ℓ_i = (1/B) Σ_{i ∈ batch} ∇ℓ_i,

the gradient of the mean loss over the global batch, which is what ``--single`` computes in one
process. The weights then agree up to the order of floating-point additions: in float64 the
measured difference after 20 steps is ~1e-16, far below the 1e-6 the chapter asserts (float32
gives ~1e-7). The equality needs equal shards (hence B divisible by N) and a mean, not a sum,
inside each rank. Each rank starts from the same seed, and DDP also broadcasts rank 0's
weights when it wraps the model, so the replicas start equal and stay equal.

Why explicit indices instead of ``DistributedSampler``. ``DistributedSampler(shuffle=False)``
gives rank r the rows r, r + N, r + 2N, …; batched by b, rank r's t-th batch is then an
interleaved (not contiguous) shard of the same global batch, and the union is the same. But the
sampler pads the data set by repeating rows when its length is not divisible by N, and the
shard is hidden in a DataLoader; writing the indices out keeps the shard one line a learner can
read and that the result records (``rank_rows``).

``--fsdp`` shards instead of replicating: ``torch.distributed.fsdp.fully_shard`` (FSDP2; Zhao et
al. 2023, "PyTorch FSDP") on each linear layer and on the whole model keeps on each rank only
its slice (rows along dimension 0) of every parameter, of its gradient and of the optimizer
states, as ZeRO stage 3 (Rajbhandari et al. 2020): each rank holds about 1/N of
(parameters + gradients + optimizer states). The layer's full parameters are all-gathered for
its forward and backward and freed afterwards; the bytes reported are the persistent ones (the
local shards after the last step), not the transient peak. FSDP2 splits dimension 0 as
``torch.chunk`` does, ⌈d/N⌉ rows to the first ranks: with ``--hidden 127`` on 2 ranks, rank 0 holds
64 of the first layer's 127 rows and rank 1 63, and the local shards still add up to exactly the
unsharded size (FSDP2 pads only its communication buffers). FSDP2 runs on gloo and CPU in torch
2.13. Its gradients are reduce-scattered averages, so its weights match the other two runs.

On a machine with a GPU for every rank, each rank takes GPU ``LOCAL_RANK`` and the backend is
NCCL; otherwise (no GPU, or Colab's one GPU for two ranks) the ranks run on the CPU with gloo, one
thread each so that 2 ranks on 2 cores do not oversubscribe.

Rank 0 writes ``--out`` (JSON): the options, world size, backend, the global-batch loss of every
step and each rank's own loss, the rows each rank used, the final weights (flat, in
``model.parameters()`` order) with their SHA-256, the bytes each rank holds, and seconds.
:func:`launch` runs the script in a subprocess and returns that dictionary.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# cuBLAS is deterministic only with a fixed workspace; read when CUDA starts, so set it first
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from utils.cli import positive  # noqa: E402
from utils.data import digits  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODES = ("single", "ddp", "fsdp")
OPTIMIZERS = ("adam", "sgd")
DTYPES = {"float64": torch.float64, "float32": torch.float32}
SGD_MOMENTUM = 0.9


def make_model(hidden: int, dtype: torch.dtype, seed: int) -> torch.nn.Sequential:
    """The 64 → hidden → 10 network, initialised from ``seed`` (the same on every rank)."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    ).to(dtype)


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM)


def shard_rows(step: int, global_batch: int, rank: int, world_size: int, n: int) -> np.ndarray:
    """Training rows of rank ``rank``'s shard of global batch ``step``: b = B/N contiguous rows
    starting at step·B + rank·b, modulo the ``n`` training rows."""
    per_rank = global_batch // world_size
    start = step * global_batch + rank * per_rank
    return np.arange(start, start + per_rank) % n


def _local(tensor: torch.Tensor) -> torch.Tensor:
    """The part of ``tensor`` this rank stores: its shard for an FSDP DTensor, else itself."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def held_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """Bytes of parameters, gradients and per-element optimizer states this rank stores.

    The optimizer's ``step`` counters (one scalar per tensor, replicated on every rank) are left
    out: ZeRO's arithmetic counts the states that grow with the number of parameters.
    """
    params = list(model.parameters())
    states = [
        value
        for state in optimizer.state.values()
        for value in state.values()
        if torch.is_tensor(value) and value.dim() > 0
    ]

    def nbytes(tensors):
        return sum(_local(t).numel() * t.element_size() for t in tensors)

    return {
        "parameters": nbytes(params),
        "gradients": nbytes(p.grad for p in params if p.grad is not None),
        "optimizer_state": nbytes(states),
    }


def unsharded_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """What one full replica of parameters, gradients and optimizer states takes (as DDP holds)."""
    params = list(model.parameters())
    per_element = sum(
        1
        for state in optimizer.state.values()
        for value in state.values()
        if torch.is_tensor(value) and value.dim() > 0
    ) // len(params)  # Adam keeps 2 states per tensor (m and v), SGD with momentum 1
    full = sum(p.shape.numel() * p.element_size() for p in params)  # shape is the global one
    return {"parameters": full, "gradients": full, "optimizer_state": per_element * full}


def zero_bytes_per_rank(
    parameters: int,
    world_size: int,
    stage: int,
    param_bytes: float = 2,
    grad_bytes: float = 2,
    state_bytes: float = 12,
) -> float:
    """Bytes of model states each of ``world_size`` data-parallel ranks holds under ZeRO.

    Rajbhandari et al. (2020), section 5, with Ψ parameters and N ranks; the defaults are their
    mixed-precision Adam (fp16 parameters and gradients, K = 12 bytes of fp32 copy, m and v):

    - stage 0 (plain data parallelism, DDP): (2 + 2 + K) Ψ;
    - stage 1 (optimizer states sharded): 2Ψ + 2Ψ + KΨ/N;
    - stage 2 (and gradients): 2Ψ + (2 + K) Ψ/N;
    - stage 3 (and parameters, as FSDP): (2 + 2 + K) Ψ/N.

    Their example, Ψ = 7.5e9 on N = 64: 120, 31.4, 16.6 and 1.9 GB.
    """
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"ZeRO stage must be 0, 1, 2 or 3, got {stage!r}")
    sharded = {0: (), 1: ("states",), 2: ("states", "grads"), 3: ("states", "grads", "params")}
    per_element = {"params": param_bytes, "grads": grad_bytes, "states": state_bytes}
    return parameters * sum(
        size / world_size if part in sharded[stage] else size for part, size in per_element.items()
    )


def setup(mode: str) -> tuple[int, int, torch.device, str]:
    """Start the process group (unless ``single``); returns rank, world size, device, backend."""
    if mode == "single":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return 0, 1, device, "none"
    # one GPU per rank, or all ranks on the CPU (Colab has one GPU for the two ranks)
    if torch.cuda.device_count() >= int(os.environ.get("LOCAL_WORLD_SIZE", "1")):
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), device, backend


def wrap(model: torch.nn.Module, mode: str, device: torch.device) -> torch.nn.Module:
    if mode == "ddp":
        ids = [device.index] if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if mode == "fsdp":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh(device.type, (dist.get_world_size(),))
        for layer in model:
            if isinstance(layer, torch.nn.Linear):
                fully_shard(layer, mesh=mesh)  # one unit per layer: gathered only while it runs
        return fully_shard(model, mesh=mesh)
    return model


def flat_weights(model: torch.nn.Module) -> torch.Tensor:
    """All weights in one float64 vector on CPU; under FSDP a collective every rank must call."""
    full = [p.full_tensor() if hasattr(p, "full_tensor") else p for p in model.parameters()]
    return torch.cat([p.detach().reshape(-1).to("cpu", torch.float64) for p in full])


def train(args: argparse.Namespace) -> dict | None:
    """Run ``args.steps`` steps in this process; rank 0 returns the results, other ranks None."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rank, world_size, device, backend = setup(args.mode)
    dtype = DTYPES[args.dtype]
    x_train, y_train, *_ = digits(dtype=np.float64)
    x_all = torch.as_tensor(x_train, dtype=dtype, device=device)
    y_all = torch.as_tensor(y_train, device=device)

    model = wrap(make_model(args.hidden, dtype, args.seed).to(device), args.mode, device)
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)
    losses, rows_used = [], []
    start = time.perf_counter()
    for step in range(args.steps):
        rows = shard_rows(step, args.global_batch, rank, world_size, len(y_all))
        index = torch.as_tensor(rows, device=device)
        optimizer.zero_grad(set_to_none=True)
        # the mean over this rank's b rows; DDP's 1/N average then makes it the global mean
        loss = torch.nn.functional.cross_entropy(model(x_all[index]), y_all[index])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        rows_used.append(rows.tolist())
    seconds = time.perf_counter() - start

    weights = flat_weights(model)
    held = held_bytes(model, optimizer)
    full = unsharded_bytes(model, optimizer)
    parameters = sum(p.shape.numel() for p in model.parameters())
    element = DTYPES[args.dtype].itemsize
    if world_size > 1:
        per_rank = [None] * world_size
        dist.all_gather_object(per_rank, (losses, rows_used, held, weights.numpy()))
        # Free DDP's reducer while the process group is still registered: freed after
        # destroy_process_group, the reducer would destroy gloo's group while holding the GIL,
        # which gloo's threads may need to finish their last work, and the rank hangs (seen here)
        del model, optimizer
        gc.collect()  # DDP's hooks make reference cycles
        dist.destroy_process_group()
    else:
        per_rank = [(losses, rows_used, held, weights.numpy())]
    if rank != 0:
        return None

    rank_losses, rank_rows, rank_held, rank_weights = zip(*per_rank, strict=True)
    return {
        "mode": args.mode,
        "world_size": world_size,
        "backend": backend,
        "device": device.type,
        "dtype": args.dtype,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "steps": args.steps,
        "global_batch": args.global_batch,
        "per_rank_batch": args.global_batch // world_size,
        "hidden": args.hidden,
        "parameters": parameters,
        "seed": args.seed,
        "torch": torch.__version__,
        # equal shards: the mean of the ranks' mean losses is the global batch's mean loss
        "losses": np.mean(rank_losses, axis=0).tolist(),
        "rank_losses": [list(r) for r in rank_losses],
        "rank_rows": [list(r) for r in rank_rows],
        "weights": weights.tolist(),
        "weights_sha256": hashlib.sha256(weights.numpy().tobytes()).hexdigest(),
        # DDP: every replica must hold the same weights; FSDP's full_tensor is the same gather
        "replica_max_abs_difference": max(
            float(np.max(np.abs(w - rank_weights[0]))) for w in rank_weights
        ),
        "bytes_per_rank": {key: [h[key] for h in rank_held] for key in held},
        "bytes_unsharded": full,
        # ZeRO stage 3 (Rajbhandari et al. 2020): every rank holds 1/N of all three
        "zero3_bytes_per_rank": zero_bytes_per_rank(
            parameters,
            world_size,
            stage=3,
            param_bytes=element,
            grad_bytes=element,
            state_bytes=full["optimizer_state"] / parameters,
        ),
        "seconds": seconds,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m utils.distributed", description=__doc__.split("\n")[0]
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--single", dest="mode", action="store_const", const="single", help="one process, no DDP"
    )
    how.add_argument(
        "--fsdp", dest="mode", action="store_const", const="fsdp", help="FSDP2 instead of DDP"
    )
    p.set_defaults(mode="ddp")
    p.add_argument("--steps", type=positive(int), default=20)
    p.add_argument("--global-batch", type=positive(int), default=64, help="B, split over ranks")
    p.add_argument("--hidden", type=positive(int), default=128)
    p.add_argument("--lr", type=positive(float), default=1e-2)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float64")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="rank 0 writes the results here as JSON")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, checked against the world size torchrun announces in ``WORLD_SIZE``."""
    p = parser()
    args = p.parse_args(argv)
    launched = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if args.mode == "single" and world_size > 1:
        p.error(f"--single runs one process, but torchrun started {world_size}; drop --single")
    if args.mode != "single" and not launched:
        p.error(
            f"{args.mode.upper()} needs the ranks torchrun starts: run 'torchrun --standalone "
            f"--nproc_per_node=2 -m utils.distributed ...', or pass --single for one process"
        )
    if args.global_batch % world_size:
        p.error(
            f"--global-batch {args.global_batch} is not divisible by the {world_size} ranks; "
            f"equal shards are what make the ranks' average the global-batch mean"
        )
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = train(args)
    if result is None:
        return
    print(
        f"{args.mode}: {result['world_size']} rank(s), {result['backend']}, final loss "
        f"{result['losses'][-1]:.6f}, {result['seconds']:.2f} s, "
        f"weights {result['weights_sha256'][:12]}"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result))


def launch(
    mode: str = "ddp",
    nproc: int = 2,
    out: str | os.PathLike | None = None,
    timeout: float = 120,
    **options,
) -> dict:
    """Run the script in a subprocess and return its results.

    ``mode`` is ``"single"`` (one plain process), ``"ddp"`` or ``"fsdp"`` (``nproc`` ranks
    started by ``torchrun --standalone``). ``options`` are the script's, with underscores:
    ``launch("ddp", steps=5, global_batch=32, optimizer="sgd")``. The dictionary is the JSON rank
    0 writes, with ``weights`` as a NumPy array and ``launch_seconds``, the wall time including
    the processes' start-up. A failed run raises ``RuntimeError`` with the end of its stderr.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "single" and nproc != 1:
        nproc = 1  # the single run is the one-process reference, whatever nproc says
    if not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be a positive int, got {nproc!r}")
    flags = []
    for name, value in options.items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(out) if out is not None else Path(scratch) / "result.json"
        script = ["-m", "utils.distributed", "--out", str(path), *flags]
        if mode == "single":
            command = [sys.executable, *script, "--single"]
        else:
            torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
            command = [*torchrun, f"--nproc_per_node={nproc}", *script]
            command += ["--fsdp"] if mode == "fsdp" else []
        seconds = _run(command, timeout)
        result = json.loads(path.read_text())
    result["weights"] = np.asarray(result["weights"])
    result["launch_seconds"] = seconds
    return result


def _run(command: list[str], timeout: float) -> float:
    """Run ``command`` from the repository root and return its wall time in seconds; raise with
    the tail of its stderr if it fails."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",  # torchrun would set it too, with a warning
        "HF_HUB_OFFLINE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    start = time.perf_counter()
    # a session of its own, so that a timeout ends torchrun's ranks too, not only torchrun
    run = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stderr = _stop(run)
        raise RuntimeError(
            f"{' '.join(command)} did not finish in {timeout} s\n"
            f"--- end of stderr ---\n{stderr[-2000:]}"
        ) from None
    except BaseException:  # an interrupt, say: the ranks must not outlive the notebook cell
        _stop(run)
        raise
    if run.returncode != 0:
        # argparse's message ("... error: ...") first: torchrun's traceback follows it
        errors = [line for line in stderr.splitlines() if "error:" in line]
        message = "\n".join(dict.fromkeys(errors))
        raise RuntimeError(
            f"{' '.join(command)} failed with exit code {run.returncode}\n{message}\n"
            f"--- end of stderr ---\n{stderr[-2000:]}"
        )
    return time.perf_counter() - start


def _stop(run: subprocess.Popen) -> str:
    """Kill ``run`` and every process it started; return what it wrote to stderr.

    torchrun starts each rank in a session of its own, so killing torchrun's process group
    leaves the ranks running, holding the output pipes open; they are found and killed first.
    """
    try:
        import psutil

        ranks = psutil.Process(run.pid).children(recursive=True)
    except Exception:  # no psutil: torchrun passes SIGTERM on to its ranks itself
        ranks = []
        run.terminate()
    for rank in ranks:
        try:
            rank.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(run.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        return run.communicate(timeout=30)[1] or ""
    except subprocess.TimeoutExpired:
        return "(a process still holds the output open)"


def max_abs_difference(a: dict, b: dict) -> float:
    """The largest absolute difference between two runs' final weights."""
    return float(np.max(np.abs(np.asarray(a["weights"]) - np.asarray(b["weights"]))))


if __name__ == "__main__":
    main()
