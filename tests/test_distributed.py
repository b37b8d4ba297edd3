"""``utils.distributed`` and ``utils.distributed_keras``, run as chapter 8 runs them.

Each fixture launches the script in fresh processes (torchrun with 2 gloo ranks on CPU, or a
plain process), so the test sees what the chapter sees: DDP and FSDP on 2 ranks end at the
weights of one process on the global batch, FSDP keeps half of everything on each rank, and
Keras' MirroredStrategy on two logical CPUs ends at the weights of one device. The other tests
make sure those agreements could have failed (the ranks really see different rows, and training
on one rank's rows alone ends elsewhere), that a bad option says what was expected, and that a
run which outlives its timeout is ended with all its ranks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils import distributed, distributed_keras
from utils.distributed import launch, max_abs_difference, zero_bytes_per_rank

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-6  # the chapter's claim; float64 runs agree to ~1e-16


@pytest.fixture(scope="module")
def single():
    return launch("single")


@pytest.fixture(scope="module")
def ddp():
    return launch("ddp", nproc=2)


@pytest.fixture(scope="module")
def fsdp():
    return launch("fsdp", nproc=2)


@pytest.fixture(scope="module")
def mirrored():
    return distributed_keras.launch()


def test_ddp_on_two_ranks_ends_at_the_weights_of_one_process_on_the_global_batch(ddp, single):
    assert ddp["world_size"] == 2 and ddp["per_rank_batch"] == 32 == single["global_batch"] // 2
    assert ddp["backend"] == ("nccl" if ddp["device"] == "cuda" else "gloo")
    assert single["world_size"] == 1 and single["steps"] == ddp["steps"] == 20
    assert single["losses"][-1] < single["losses"][0] / 4  # it trained: 2.3 → 0.22
    assert max_abs_difference(ddp, single) < TOLERANCE
    np.testing.assert_allclose(ddp["losses"], single["losses"], rtol=0, atol=TOLERANCE)
    assert ddp["replica_max_abs_difference"] == 0.0  # the two replicas hold the same weights


def test_each_rank_trains_on_its_own_half_of_every_global_batch(ddp, single):
    for step, (rank0, rank1) in enumerate(zip(*ddp["rank_rows"], strict=True)):
        assert len(rank0) == len(rank1) == 32
        assert not set(rank0) & set(rank1), step
        assert rank0 + rank1 == single["rank_rows"][0][step]  # contiguous halves, in order
    rank0_losses, rank1_losses = (np.asarray(losses) for losses in ddp["rank_losses"])
    assert np.min(np.abs(rank0_losses - rank1_losses)) > 1e-4  # different rows, different losses
    # the mean of the two shards' mean losses is the global batch's mean loss
    np.testing.assert_allclose(
        (rank0_losses + rank1_losses) / 2, single["losses"], rtol=0, atol=TOLERANCE
    )


def test_without_the_average_over_ranks_a_rank_alone_would_end_elsewhere(ddp):
    # one process on a rank's batch size: what a rank would reach from its own gradients
    alone = launch("single", global_batch=32)
    assert max_abs_difference(alone, ddp) > 1e-3


def test_fsdp_on_two_ranks_ends_at_the_same_weights(fsdp, single):
    assert fsdp["world_size"] == 2 and fsdp["mode"] == "fsdp"
    assert max_abs_difference(fsdp, single) < TOLERANCE
    np.testing.assert_allclose(fsdp["losses"], single["losses"], rtol=0, atol=TOLERANCE)


def test_fsdp_keeps_half_of_parameters_gradients_and_adam_states_on_each_rank(fsdp, ddp):
    full = fsdp["bytes_unsharded"]
    parameters = 64 * 128 + 128 + 128 * 10 + 10
    assert full == {
        "parameters": 8 * parameters,  # float64
        "gradients": 8 * parameters,
        "optimizer_state": 2 * 8 * parameters,  # Adam's m and v
    }
    for key, per_rank in fsdp["bytes_per_rank"].items():
        # every sharded dimension (128 and 10 rows) is even, so the halves are exact: no padding
        assert per_rank == [full[key] // 2] * 2, key
        assert ddp["bytes_per_rank"][key] == [full[key]] * 2, key  # DDP replicates everything
    held = sum(per_rank[0] for per_rank in fsdp["bytes_per_rank"].values())
    assert held == fsdp["zero3_bytes_per_rank"] == sum(full.values()) / 2  # ZeRO stage 3
    float64_adam = {"param_bytes": 8, "grad_bytes": 8, "state_bytes": 16}
    replicated = sum(per_rank[0] for per_rank in ddp["bytes_per_rank"].values())
    assert replicated == zero_bytes_per_rank(parameters, 2, stage=0, **float64_adam)
    assert held == zero_bytes_per_rank(parameters, 2, stage=3, **float64_adam)


def test_fsdp_gives_the_first_rank_the_extra_row_of_an_odd_dimension():
    # hidden = 127: the first layer's 127 rows split 64 / 63 (torch.chunk), the last 10 split 5 / 5
    uneven = launch("fsdp", nproc=2, hidden=127, steps=2)
    rank0 = 8 * (64 * 64 + 64 + 5 * 127 + 5)
    rank1 = 8 * (63 * 64 + 63 + 5 * 127 + 5)
    assert uneven["bytes_per_rank"]["parameters"] == [rank0, rank1]
    assert uneven["bytes_per_rank"]["optimizer_state"] == [2 * rank0, 2 * rank1]
    for key, per_rank in uneven["bytes_per_rank"].items():
        assert sum(per_rank) == uneven["bytes_unsharded"][key], key  # no padding is stored


def test_zero_arithmetic_gives_the_papers_example():
    # Rajbhandari et al. 2020, figure 1: 7.5B parameters, 64 GPUs, mixed-precision Adam (K = 12)
    gigabytes = [zero_bytes_per_rank(7.5e9, 64, stage) / 1e9 for stage in (0, 1, 2, 3)]
    assert [round(g, 1) for g in gigabytes] == [120.0, 31.4, 16.6, 1.9]
    with pytest.raises(ValueError, match="ZeRO stage must be 0, 1, 2 or 3, got 4"):
        zero_bytes_per_rank(10, 2, stage=4)


def test_mirrored_strategy_on_two_cpu_devices_ends_at_the_one_device_weights(mirrored):
    assert mirrored["replicas"] == 2 and len(mirrored["devices"]) == 2
    assert mirrored["floatx"] == "float64"
    assert mirrored["weights_moved"] > 0.05  # so that agreeing to 1e-6 says something
    diff = np.max(np.abs(mirrored["single_weights"] - mirrored["mirrored_weights"]))
    assert diff == mirrored["max_abs_difference"] < TOLERANCE
    assert mirrored["single_loss"] == pytest.approx(mirrored["mirrored_loss"], abs=TOLERANCE)
    first, second = mirrored["replica_rows"]
    assert first == list(range(32)) and second == list(range(32, 64))


def test_a_bad_option_is_reported_with_what_was_expected():
    with pytest.raises(RuntimeError, match="--global-batch: expected a positive int, got '0'"):
        launch("single", global_batch=0)
    with pytest.raises(RuntimeError, match="63 is not divisible by the 2 ranks"):
        launch("ddp", nproc=2, global_batch=63)
    with pytest.raises(RuntimeError, match="invalid choice: 'float16'"):
        distributed_keras.launch(floatx="float16")
    with pytest.raises(ValueError, match="mode must be one of"):
        launch("zero")


def test_ddp_outside_torchrun_says_how_to_launch_it():
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    run = subprocess.run(
        [sys.executable, "-m", "utils.distributed", "--steps", "1"],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "DDP needs the ranks torchrun starts" in run.stderr
    assert "--nproc_per_node=2 -m utils.distributed" in run.stderr


def test_the_docstring_shows_the_multi_node_command():
    assert "--nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d" in distributed.__doc__


def test_a_run_that_times_out_leaves_no_rank_behind(tmp_path):
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "never.json"
    with pytest.raises(RuntimeError, match="did not finish in 15 s"):
        launch("ddp", nproc=2, out=out, timeout=15, steps=10**7)
    left = [
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if str(out) in " ".join(process.info["cmdline"] or [])
    ]
    assert left == [] and not out.exists()
