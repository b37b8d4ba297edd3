"""Time one optimizer step on 10 million float32 parameters: ours against each framework's own.

    python benchmarks/bench_optim.py [--rounds 5] [--steps-per-round 5] [--size 10_000_000]
                                     [--save utils/results/optimizer_steps.json]

For Adam, SGD with momentum, Adafactor and schedule-free AdamW, every implementation gets its
own copy of the parameters (four tensors summing to ``--size`` numbers: vectors, and matrices of
2,000 columns for Adafactor, whose state is factored for matrices) and fixed gradients; Muon,
whose Newton–Schulz iteration multiplies matrices, gets four 1024 × 512 matrices (2 M numbers).
The steps are timed in rounds, a few steps of each implementation per round, so that a busy
machine slows them all alike; the table shows the median time per step and the ratio to the
framework's own optimizer:

- ``utils.optim.numpy`` and ``utils.optim.torch`` against ``torch.optim`` with ``foreach=True``
  (``fused=True`` is shown for information: a single C++ kernel per step, and for Adam also
  ``torch.optim``'s plain loop over the tensors, ``foreach=False``; torch's Muon has neither,
  and is the reference as it is, with its Newton–Schulz in bfloat16; schedule-free AdamW is
  compared with the authors' ``schedulefree.AdamWScheduleFree``);
- Adam's ``utils.optim.torch`` step under ``torch.compile`` against ``torch.optim`` with
  ``fused=True``: compiled by a few untimed steps before the rounds (the compile time is
  printed), after which a recompilation would be an error;
- ``utils.optim.tensorflow`` against ``keras.optimizers``, both in a ``tf.function``.

It also measures, with :mod:`tracemalloc`, the peak memory a NumPy step allocates, next to the
textbook NumPy Adam that allocates a temporary array per operation, and the bytes of state
Adafactor keeps for a 1024 × 512 matrix (ours, torch's, and Adam's). Thread counts are the
defaults; NumPy's ufuncs run on one thread, torch and TensorFlow use all cores.

``--save PATH`` writes the Adam rows, the machine and the versions as JSON: the file that ships
as ``utils/results/optimizer_steps.json`` (read by ``utils.optim.torch.shipped_step_times``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
import tracemalloc
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import schedulefree  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

import utils.optim.numpy as numpy_optim  # noqa: E402
import utils.optim.tensorflow as tf_optim  # noqa: E402
import utils.optim.torch as torch_optim  # noqa: E402

SETTINGS = {  # the hyper-parameters of each benchmarked optimizer, torch's names
    "Adam": dict(lr=1e-3),
    "SGD": dict(lr=1e-2, momentum=0.9),
    "Adafactor": dict(lr=1e-2),
    "Muon": dict(lr=1e-3),
    "ScheduleFreeAdamW": dict(lr=2.5e-3),
}
TORCH_CLASSES = {  # the torch optimizer each one is compared with: torch.optim's, if it has it
    "ScheduleFreeAdamW": ("schedulefree.AdamWScheduleFree", schedulefree.AdamWScheduleFree),
}
TORCH_VARIANTS = {  # the options each torch optimizer has; the first one is the reference
    "Adam": {
        "foreach": dict(foreach=True),
        "fused": dict(fused=True),
        "for-loop": dict(foreach=False, fused=False),
    },
    "SGD": {"foreach": dict(foreach=True), "fused": dict(fused=True)},
    "Adafactor": {"foreach": dict(foreach=True)},
    "Muon": {"(bfloat16 NS)": {}},
    "ScheduleFreeAdamW": {"foreach": dict(foreach=True)},
}
COMPILED = ("Adam",)  # whose utils.optim.torch step is also timed under torch.compile
COMPILED_LABEL = "utils.optim.torch + torch.compile"
WARMUP_STEPS = 3  # untimed compiled steps: the first creates the state, the second is the step


class Goal(NamedTuple):
    ratio: float  # the time to stay within, as a multiple of the time of ...
    against: str | None = None  # ... this implementation; None: the framework's own optimizer


GOALS = {
    "utils.optim.numpy": Goal(1.5),
    "utils.optim.torch": Goal(1.2),
    "utils.optim.tensorflow": Goal(1.2),
    COMPILED_LABEL: Goal(1.3, against="torch.optim fused"),
}


def reference_of(name: str, label: str) -> str:
    """The implementation whose time ``label``'s ratio is taken to: its goal's, if it names one,
    else the framework optimizer it is compared with."""
    if label in GOALS and GOALS[label].against is not None:
        return GOALS[label].against
    if label in ("keras.optimizers", "utils.optim.tensorflow"):
        return "keras.optimizers"
    return torch_class(name)[0] + " " + next(iter(TORCH_VARIANTS[name]))


def torch_class(name: str) -> tuple[str, type]:
    """(label, class) of the torch optimizer that ``name`` is compared with."""
    return TORCH_CLASSES.get(name, ("torch.optim", getattr(torch.optim, name, None)))


def tensor_sizes(size: int) -> list[int]:
    """40%, 30%, 20% and 10% of ``size``: the numbers in each of the four tensors."""
    return [size * share // 100 for share in (40, 30, 20, 10)]


def make_arrays(size: int, seed: int, name: str = "Adam") -> list[np.ndarray]:
    """Four float32 arrays holding 40%, 30%, 20% and 10% of ``size`` numbers (matrices of 2,000
    columns for Adafactor); four 1024 × 512 matrices for Muon."""
    rng = np.random.default_rng(seed)
    if name == "Muon":
        return [rng.standard_normal((1024, 512), dtype=np.float32) for _ in range(4)]
    sizes = tensor_sizes(size)
    if name == "Adafactor":
        return [rng.standard_normal((n // 2000, 2000), dtype=np.float32) for n in sizes]
    return [rng.standard_normal(n, dtype=np.float32) for n in sizes]


def adafactor_state_bytes() -> dict[str, int]:
    """Bytes of optimizer state for one 1024 × 512 float32 matrix."""
    weight = np.zeros((1024, 512), np.float32)
    ours = numpy_optim.Adafactor([weight.copy()])
    param = torch.zeros(1024, 512, requires_grad=True)
    param.grad = torch.ones(1024, 512)
    torch_adafactor, torch_adam = torch.optim.Adafactor([param]), torch.optim.Adam([param])
    sizes = {}
    for label, optimizer in (
        ("torch.optim.Adafactor", torch_adafactor),
        ("torch.optim.Adam", torch_adam),
    ):
        optimizer.step()
        sizes[label] = sum(
            t.numel() * t.element_size()
            for t in optimizer.state[param].values()
            if torch.is_tensor(t) and t.dim() > 0
        )
    return {"utils.optim.numpy.Adafactor": ours.state_bytes(), **sizes, "weight": weight.nbytes}


def naive_numpy_adam(params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """The textbook formula on whole arrays: each operation allocates a temporary array."""
    exp_avgs = [np.zeros_like(p) for p in params]
    exp_avg_sqs = [np.zeros_like(p) for p in params]
    step = 0

    def adam_step(grads):
        nonlocal step
        step += 1
        for param, grad, exp_avg, exp_avg_sq in zip(
            params, grads, exp_avgs, exp_avg_sqs, strict=True
        ):
            exp_avg[:] = beta1 * exp_avg + (1 - beta1) * grad
            exp_avg_sq[:] = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
            m_hat = exp_avg / (1 - beta1**step)
            v_hat = exp_avg_sq / (1 - beta2**step)
            param -= lr * m_hat / (np.sqrt(v_hat) + eps)

    return adam_step


def numpy_steps(name, values, grads):
    """(label, step function) pairs for the NumPy implementations."""
    ours = getattr(numpy_optim, name)([v.copy() for v in values], **SETTINGS[name])
    steps = [("utils.optim.numpy", lambda: ours.step(grads))]
    if name == "Adam":
        naive = naive_numpy_adam([v.copy() for v in values])
        steps.append(("textbook NumPy (temporaries)", lambda: naive(grads)))
    return steps


def compiled(step, seconds: dict[str, float]):
    """``step`` under ``torch.compile``, compiled by ``WARMUP_STEPS`` untimed steps (their time
    goes to ``seconds["compile"]``); a later recompilation raises instead of being timed."""

    @torch.compile(fullgraph=False)
    def compiled_step():
        step()

    start = time.perf_counter()
    for _ in range(WARMUP_STEPS):
        compiled_step()
    seconds["compile"] = time.perf_counter() - start
    return torch.compiler.set_stance("fail_on_recompile")(compiled_step)


def torch_steps(name, values, grads, compile_seconds: dict[str, float]):
    def make(optimizer_class, **options):
        params = [torch.tensor(v, requires_grad=True) for v in values]
        for param, grad in zip(params, grads, strict=True):
            param.grad = torch.from_numpy(grad)
        optimizer = optimizer_class(params, **SETTINGS[name], **options)
        if hasattr(optimizer, "train"):  # schedule-free optimizers step in train mode
            optimizer.train()
        return optimizer.step

    label, reference = torch_class(name)
    steps = [
        (f"{label} {variant}", make(reference, **options))
        for variant, options in TORCH_VARIANTS[name].items()
    ] + [("utils.optim.torch", make(getattr(torch_optim, name)))]
    if name in COMPILED:
        steps.append((COMPILED_LABEL, compiled(make(getattr(torch_optim, name)), compile_seconds)))
    return steps


def keras_steps(name, values, grads):
    settings = dict(SETTINGS[name])
    lr = settings.pop("lr")
    tf_grads = [tf.constant(g) for g in grads]

    def make(optimizer):
        variables = [keras.Variable(v) for v in values]
        optimizer.build(variables)
        step = tf.function(lambda: optimizer.apply_gradients(zip(tf_grads, variables, strict=True)))
        return step

    keras_own = getattr(keras.optimizers, name)(learning_rate=lr, **settings)
    return [
        ("keras.optimizers", make(keras_own)),
        ("utils.optim.tensorflow", make(getattr(tf_optim, name)(lr=lr, **settings))),
    ]


def median_ms_per_step(steps, rounds: int, steps_per_round: int) -> dict[str, float]:
    """Median time of a step; each round runs every implementation in turn, one untimed step
    first (it wakes that framework's threads), then ``steps_per_round`` timed steps."""
    times = {label: [] for label, _ in steps}
    for _ in range(rounds):
        for label, step in steps:
            step()
            for _ in range(steps_per_round):
                start = time.perf_counter()
                step()
                times[label].append(time.perf_counter() - start)
    return {label: 1e3 * float(np.median(t)) for label, t in times.items()}


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def step_times_record(times, args, compile_seconds, load_averages) -> dict:
    """The Adam rows and where they were measured: what ``--save`` writes."""
    rows = [
        dict(
            implementation=label,
            median_ms_per_step=round(ms, 3),
            ratio_to_fused=round(ms / times["torch.optim fused"], 3),
            ratio_to_foreach=round(ms / times["torch.optim foreach"], 3),
        )
        for label, ms in times.items()
    ]
    options = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in vars(args).items())
    versions = dict(python=platform.python_version(), numpy=np.__version__)
    versions |= dict(torch=torch.__version__, tensorflow=tf.__version__, keras=keras.__version__)
    return dict(
        command=f"python benchmarks/bench_optim.py {options}",
        date=str(datetime.date.today()),
        machine=dict(
            cpu=cpu_name(),
            architecture=platform.machine(),
            cores=os.cpu_count(),
            torch_threads=torch.get_num_threads(),
            load_average_before_and_after=load_averages,
        ),
        versions=versions,
        parameters=args.size,
        tensors=tensor_sizes(args.size),
        dtype="float32",
        settings=SETTINGS["Adam"],
        rounds=args.rounds,
        steps_per_round=args.steps_per_round,
        compile_seconds=round(compile_seconds["compile"], 1) if compile_seconds else None,
        warmup_steps=WARMUP_STEPS,
        rows=rows,
    )


def peak_bytes_of_one_step(step) -> int:
    step()  # the first step may create state (momentum buffers)
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps-per-round", type=int, default=5)
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--save", default=None, help="write Adam's rows here as JSON")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    param_bytes = 4 * args.size
    print(
        f"# Optimizer step on {args.size:,} float32 parameters ({param_bytes / 1e6:.0f} MB; "
        "Muon: 4 × 1024 × 512)"
    )
    tf_threads = tf.config.threading.get_intra_op_parallelism_threads() or "default (all cores)"
    print(
        f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores; threads: "
        f"torch {torch.get_num_threads()}, TensorFlow intra-op {tf_threads}, NumPy ufuncs 1; "
        f"numpy {np.__version__}, torch {torch.__version__}, tensorflow {tf.__version__}, "
        f"keras {keras.__version__}; load average {load_before:.2f}\n"
    )

    print("| optimizer | implementation | median ms / step | ratio | goal |")
    print("|---|---|---:|---|---|")
    memory_rows, compile_seconds, adam_times = [], {}, None
    for name in SETTINGS:
        values = make_arrays(args.size, seed=0, name=name)
        grads = make_arrays(args.size, seed=1, name=name)
        numpy_ones = numpy_steps(name, values, grads)
        steps = (
            numpy_ones
            + torch_steps(name, values, grads, compile_seconds)
            + keras_steps(name, values, grads)
        )
        times = median_ms_per_step(steps, args.rounds, args.steps_per_round)
        if name == "Adam":
            adam_times = times
        for label, ms in times.items():
            reference = reference_of(name, label)
            ratio = f"{ms / times[reference]:.2f} × {reference}"
            if label == reference:
                ratio = "reference"
            goal = f"≤ {GOALS[label].ratio}" if label in GOALS else ""
            print(f"| {name} | {label} | {ms:.1f} | {ratio} | {goal} |")
        for label, step in numpy_ones:
            peak = peak_bytes_of_one_step(step)
            memory_rows.append((name, label, peak, sum(v.nbytes for v in values)))

    print("\n| optimizer | implementation | tracemalloc peak of one step | of parameter bytes |")
    print("|---|---|---:|---:|")
    for name, label, peak, nbytes in memory_rows:
        print(f"| {name} | {label} | {peak:,} B | {peak / nbytes:.2%} |")

    sizes = adafactor_state_bytes()
    weight = sizes.pop("weight")
    print("\n| state of one 1024 × 512 float32 matrix | bytes | of the matrix |")
    print("|---|---:|---:|")
    for label, nbytes in sizes.items():
        print(f"| {label} | {nbytes:,} B | {nbytes / weight:.2%} |")

    if compile_seconds:
        print(
            f"\n{COMPILED_LABEL}: its {WARMUP_STEPS} untimed steps took "
            f"{compile_seconds['compile']:.1f} s (compiling, or loading from torch's cache)"
        )
    load_averages = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"load average before and after: {load_averages[0]:.2f}, {load_averages[1]:.2f}")
    if args.save:
        if adam_times is None:
            parser.error("--save writes Adam's rows: keep Adam in SETTINGS")
        record = step_times_record(adam_times, args, compile_seconds, load_averages)
        with open(args.save, "w", encoding="utf-8") as file:
            json.dump(record, file, indent=1, ensure_ascii=False)
            file.write("\n")
        print(f"Adam's rows written to {args.save}")


if __name__ == "__main__":
    main()
