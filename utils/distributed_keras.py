"""Chapter 8's data parallelism in Keras: ``tf.distribute.MirroredStrategy`` on two CPU devices.

    python -m utils.distributed_keras --out mirrored.json [--steps 10] [--global-batch 64]

TensorFlow can split the one physical CPU into logical devices, but only before its runtime
starts (``tf.config.set_logical_device_configuration`` fails once any op has run), so this runs in
a fresh process; :func:`launch` starts one from a notebook whose TensorFlow is already running.

The script trains the same Keras network (64 → 128 → 10, ReLU; the network of
``utils.distributed``) twice with ``model.fit`` and plain SGD, from the same initial weights, on
the same ``--steps`` global batches of B rows of the scikit-learn digits (rows tB, …, tB + B − 1
of ``utils.data.digits``' training set, unshuffled):

- on one device, each step's gradient being that of the mean loss over the B rows;
- under ``MirroredStrategy(["/cpu:0", "/cpu:1"])``, which keeps a copy of every variable on each
  device, hands each of the N = 2 replicas b = B/N contiguous rows of every batch, and sums the
  replicas' gradients with an all-reduce before every replica applies the same update. Keras'
  TensorFlow trainer multiplies each replica's mean loss by 1/N (``scale_loss_for_distribution``),
  so the sum is Σ_r (1/N)(1/b) Σ_{i ∈ shard r} ∇ℓ_i = (1/B) Σ_{i ∈ batch} ∇ℓ_i, the one-device
  gradient.

The weights then agree up to the order of floating-point additions: ~1e-16 in float64 (the
default, ``keras.config.set_floatx("float64")``), ~3e-8 in float32 after 10 steps. Plain SGD
keeps the comparison about the gradients. The same synchronous scheme is PyTorch's DDP
(``utils.distributed``, Li et al. 2020). On CPUs the strategy reduces through one device
(``ReductionToOneDevice``); on GPUs it picks NCCL's all-reduce.

The JSON written to ``--out`` holds the options, the devices, the rows each replica receives of
the first batch (split by ``experimental_distribute_dataset``, the call ``fit`` makes), both
runs' mean training loss, the final weights of both (flat), their max abs difference and how far
training moved the weights from their start.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from utils.cli import positive

ROOT = Path(__file__).resolve().parents[1]
FLOATX = ("float64", "float32")


def configure_devices(replicas: int) -> list[str]:
    """Split the physical CPU into ``replicas`` logical devices; call before TensorFlow runs."""
    import tensorflow as tf  # here, not at the top: importing this module must not pay for TF

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)]
    )
    # one thread per op: the replicas' ops already run side by side on the 2 cores
    tf.config.threading.set_intra_op_parallelism_threads(1)
    return [f"/cpu:{index}" for index in range(replicas)]


def build(lr: float):
    import keras

    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def flat(weights) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=np.float64).reshape(-1) for w in weights])


def train(args: argparse.Namespace) -> dict:
    devices = configure_devices(args.replicas)
    import keras
    import tensorflow as tf

    from utils.data import digits

    keras.config.set_floatx(args.floatx)
    keras.utils.set_random_seed(args.seed)
    x_train, y_train, *_ = digits(dtype=np.float64)
    rows = np.arange(args.steps * args.global_batch) % len(y_train)
    x, y = x_train[rows].astype(args.floatx), y_train[rows]

    one_device = build(args.lr)
    initial = one_device.get_weights()
    start = time.perf_counter()
    single_history = one_device.fit(x, y, batch_size=args.global_batch, shuffle=False, verbose=0)
    single_seconds = time.perf_counter() - start

    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():  # variables created here are mirrored on every device
        mirrored = build(args.lr)
    mirrored.set_weights(initial)
    start = time.perf_counter()
    mirrored_history = mirrored.fit(x, y, batch_size=args.global_batch, shuffle=False, verbose=0)
    mirrored_seconds = time.perf_counter() - start

    # the split fit makes: distribute the row numbers of the first global batch the same way
    first = tf.data.Dataset.from_tensor_slices(rows).batch(args.global_batch).take(1)
    per_replica = next(iter(strategy.experimental_distribute_dataset(first)))
    replica_rows = [t.numpy().tolist() for t in strategy.experimental_local_results(per_replica)]

    single_weights, mirrored_weights = flat(one_device.get_weights()), flat(mirrored.get_weights())
    return {
        "floatx": args.floatx,
        "replicas": strategy.num_replicas_in_sync,
        "devices": [d.name for d in tf.config.list_logical_devices("CPU")],
        "steps": args.steps,
        "global_batch": args.global_batch,
        "lr": args.lr,
        "seed": args.seed,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "replica_rows": replica_rows,
        "single_loss": float(single_history.history["loss"][-1]),
        "mirrored_loss": float(mirrored_history.history["loss"][-1]),
        "single_weights": single_weights.tolist(),
        "mirrored_weights": mirrored_weights.tolist(),
        "max_abs_difference": float(np.max(np.abs(single_weights - mirrored_weights))),
        "weights_moved": float(np.max(np.abs(single_weights - flat(initial)))),
        "single_seconds": single_seconds,
        "mirrored_seconds": mirrored_seconds,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m utils.distributed_keras", description=__doc__.split("\n")[0]
    )
    p.add_argument("--steps", type=positive(int), default=10)
    p.add_argument("--global-batch", type=positive(int), default=64, help="B, split over replicas")
    p.add_argument("--replicas", type=positive(int), default=2, help="logical CPU devices")
    p.add_argument("--lr", type=positive(float), default=0.1)
    p.add_argument("--floatx", choices=FLOATX, default="float64")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the results here as JSON")
    args = p.parse_args(argv)
    if args.global_batch % args.replicas:
        p.error(
            f"--global-batch {args.global_batch} is not divisible by the {args.replicas} "
            f"replicas; equal shards are what make the replicas' sum the global-batch mean"
        )
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = train(args)
    print(
        f"MirroredStrategy on {result['replicas']} CPU devices vs one device, {args.floatx}: "
        f"max |Δw| = {result['max_abs_difference']:.2e} "
        f"(training moved the weights by up to {result['weights_moved']:.3f})"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result))


def launch(out: str | os.PathLike | None = None, timeout: float = 120, **options) -> dict:
    """Run the script in a fresh process and return its results.

    ``options`` are the script's, with underscores: ``launch(steps=5, floatx="float32")``. The
    dictionary is the JSON the script writes, with the weights as NumPy arrays and
    ``launch_seconds``, the wall time including TensorFlow's start-up. A failed run raises
    ``RuntimeError`` with the end of its stderr.
    """
    flags = []
    for name, value in options.items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "HF_HUB_OFFLINE": "1",
    }
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(out) if out is not None else Path(scratch) / "result.json"
        command = [sys.executable, "-m", "utils.distributed_keras", "--out", str(path), *flags]
        start = time.perf_counter()
        try:
            run = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{' '.join(command)} did not finish in {timeout} s") from None
        if run.returncode != 0:
            errors = [line for line in run.stderr.splitlines() if "error:" in line]
            raise RuntimeError(
                f"{' '.join(command)} failed with exit code {run.returncode}\n"
                + "\n".join(errors)
                + f"\n--- end of stderr ---\n{run.stderr[-2000:]}"
            )
        result = json.loads(path.read_text())
    for key in ("single_weights", "mirrored_weights"):
        result[key] = np.asarray(result[key])
    result["launch_seconds"] = time.perf_counter() - start
    return result


if __name__ == "__main__":
    main()
