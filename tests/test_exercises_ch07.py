"""Exercises 7 (LoRA, distillation, L2-SP, a broken fine-tuning loop) against hand-written code.

The generic tests (test_autocheck_exercises.py, test_autocheck_frameworks.py) feed each *declared*
mistake back to the checker and compare each reference with its oracle (peft's LoRA layers,
torch's kl_div, torch.autograd, a distillation run trained by torch.optim.Adam, a Keras loop with
from_logits=True). Here the wrong answers are written the way a learner would write them (loops,
torch, other NumPy calls, Python numbers), independently of the declarations, and each must get
the intended message. Alternative correct solutions must pass; the experiment of 7.6 and the
broken loop of 7.7 are checked against what the notebook shows.
"""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from exercise_tables import table_tests

from utils import lora
from utils.autocheck.exercises import ch07
from utils.autocheck.spec import get_exercise
from utils.data import digits
from utils.losses import cross_entropy, cross_entropy_grad, distillation_loss_grad
from utils.optim.numpy import Adam

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "07_fine_tuning.ipynb"

# ---------------------------------------------------------------------------------------------
# 7.1 lora_parameter_count
# ---------------------------------------------------------------------------------------------


def count_full_matrices(shapes, rank):
    total = 0
    for d_out, d_in in shapes:
        total += rank * d_out * d_in  # "r copies of the matrix"
    return total


def count_without_rank(shapes, rank):
    return sum(d_out + d_in for d_out, d_in in shapes)


def count_a_only(shapes, rank):
    return int(rank * np.array(shapes)[:, 1].sum())


def count_with_frozen_weights(shapes, rank):
    return sum(d_out * d_in + rank * (d_out + d_in) for d_out, d_in in shapes)


def count_as_float(shapes, rank):
    return float(sum(rank * (d_out + d_in) for d_out, d_in in shapes))


def count_first_matrix_only(shapes, rank):
    d_out, d_in = shapes[0]
    return rank * (d_out + d_in)


# ---------------------------------------------------------------------------------------------
# 7.2 lora_forward and 7.3 lora_merge
# ---------------------------------------------------------------------------------------------


def forward_scaled_by_alpha(x, W0, b, A, B, alpha):
    return x @ W0.T + b + alpha * x @ A.T @ B.T


def forward_unscaled(x, W0, b, A, B, alpha):
    return np.dot(x, W0.T) + b + np.dot(np.dot(x, A.T), B.T)


def forward_rank_over_alpha(x, W0, b, A, B, alpha):
    r = len(A)
    return x @ W0.T + b + (r / alpha) * (x @ A.T) @ B.T


def forward_without_bias(x, W0, b, A, B, alpha):
    r = A.shape[0]
    return x @ (W0 + alpha / r * B @ A).T


def forward_wrong_order(x, W0, b, A, B, alpha):
    r = A.shape[0]
    return x @ W0.T + b + alpha / r * (x @ B @ A)  # B A x read left to right


def forward_rank_from_b(x, W0, b, A, B, alpha):
    r = B.shape[0]  # the wrong axis: that is d_out
    return x @ W0.T + b + alpha / r * (x @ A.T @ B.T)


def forward_update_only(x, W0, b, A, B, alpha):
    return alpha / A.shape[0] * np.einsum("ni,ri,or->no", x, A, B)


def merge_scaled_by_alpha(W0, A, B, alpha):
    return W0 + alpha * B @ A


def merge_unscaled(W0, A, B, alpha):
    return W0 + np.matmul(B, A)


def merge_rank_over_alpha(W0, A, B, alpha):
    return W0 + A.shape[0] / alpha * (B @ A)


def merge_delta_only(W0, A, B, alpha):
    return (alpha / A.shape[0]) * B @ A


def merge_subtracted(W0, A, B, alpha):
    return W0 - alpha / A.shape[0] * (B @ A)


def merge_transposed(W0, A, B, alpha):
    return W0 + alpha / A.shape[0] * (A.T @ B.T)  # ΔWᵀ: wrong shape unless square


def merge_in_place(W0, A, B, alpha):
    W0 += alpha / A.shape[0] * (B @ A)
    return W0


# ---------------------------------------------------------------------------------------------
# 7.4 distillation_loss
# ---------------------------------------------------------------------------------------------


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def kd_without_t_squared(s, t, T):
    log_p, log_q = _log_softmax(t / T), _log_softmax(s / T)
    return np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=1))


def kd_times_t(s, t, T):
    return T * kd_without_t_squared(s, t, T)


def kd_reversed(s, t, T):
    log_p, log_q = _log_softmax(t / T), _log_softmax(s / T)
    return T**2 * np.mean(np.sum(np.exp(log_q) * (log_q - log_p), axis=1))


def kd_teacher_not_softened(s, t, T):
    log_p, log_q = _log_softmax(t), _log_softmax(s / T)
    return T**2 * np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=1))


def kd_student_not_softened(s, t, T):
    log_p, log_q = _log_softmax(t / T), _log_softmax(s)
    return T**2 * np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=1))


def kd_summed_over_batch(s, t, T):
    total = 0.0
    for s_row, t_row in zip(s, t, strict=True):
        log_p, log_q = _log_softmax(t_row[None] / T)[0], _log_softmax(s_row[None] / T)[0]
        total += np.sum(np.exp(log_p) * (log_p - log_q))
    return T**2 * total


def kd_torch_mean_reduction(s, t, T):
    s, t = torch.from_numpy(s), torch.from_numpy(t)
    kl = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="mean")
    return T**2 * kl.item()


def kd_cross_entropy(s, t, T):
    p = np.exp(_log_softmax(t / T))
    return T**2 * np.mean(-np.sum(p * _log_softmax(s / T), axis=1))


def kd_naive_softmax(s, t, T):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.exp(t / T) / np.exp(t / T).sum(axis=1, keepdims=True)
        q = np.exp(s / T) / np.exp(s / T).sum(axis=1, keepdims=True)
        return T**2 * np.mean(np.sum(p * np.log(p / q), axis=1))


# ---------------------------------------------------------------------------------------------
# 7.5 l2_sp_gradient
# ---------------------------------------------------------------------------------------------


def l2_sp_weight_decay(theta, theta0, task_grad, alpha):
    return task_grad + alpha * theta


def l2_sp_factor_two(theta, theta0, task_grad, alpha):
    return task_grad + 2 * alpha * (theta - theta0)  # "the derivative of x² is 2x"


def l2_sp_half(theta, theta0, task_grad, alpha):
    return task_grad + 0.5 * alpha * (theta - theta0)


def l2_sp_sign(theta, theta0, task_grad, alpha):
    return task_grad - alpha * (theta - theta0)


def l2_sp_penalty_only(theta, theta0, task_grad, alpha):
    return alpha * np.subtract(theta, theta0)


def l2_sp_in_place(theta, theta0, task_grad, alpha):
    task_grad += alpha * (theta - theta0)
    return task_grad


# ---------------------------------------------------------------------------------------------
# 7.7 train_fixed
# ---------------------------------------------------------------------------------------------


def _torch_linear(weight, bias, dtype=torch.float64):
    classes, dims = weight.shape
    model = torch.nn.Linear(dims, classes).to(dtype)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(weight))
        model.bias.copy_(torch.from_numpy(bias))
    return model


def _torch_loop(weight, bias, features, labels, lr, steps, loss_of_logits, zero_grad=True):
    model = _torch_linear(weight, bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=float(lr))
    x, y = torch.from_numpy(features), torch.from_numpy(labels)
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        loss_of_logits(model(x), y).backward()
        optimizer.step()
    return model.weight.detach().numpy(), model.bias.detach().numpy()


def train_functional_softmax(weight, bias, features, labels, lr, steps):
    return _torch_loop(
        weight,
        bias,
        features,
        labels,
        lr,
        steps,
        lambda z, y: F.cross_entropy(F.softmax(z, dim=1), y),
    )


def train_softmax_nll(weight, bias, features, labels, lr, steps):
    loss = torch.nn.NLLLoss()
    return _torch_loop(
        weight, bias, features, labels, lr, steps, lambda z, y: loss(torch.softmax(z, 1), y)
    )


def train_without_zero_grad(weight, bias, features, labels, lr, steps):
    loss = torch.nn.CrossEntropyLoss()
    return _torch_loop(weight, bias, features, labels, lr, steps, loss, zero_grad=False)


def train_summed_loss(weight, bias, features, labels, lr, steps):
    loss = torch.nn.CrossEntropyLoss(reduction="sum")
    return _torch_loop(weight, bias, features, labels, lr, steps, loss)


def train_in_float32(weight, bias, features, labels, lr, steps):
    model = torch.nn.Linear(weight.shape[1], weight.shape[0])  # float32, torch's default
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(weight))
        model.bias.copy_(torch.from_numpy(bias))
    optimizer = torch.optim.SGD(model.parameters(), lr=float(lr))
    x, y = torch.from_numpy(features).float(), torch.from_numpy(labels)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.weight.detach().numpy(), model.bias.detach().numpy()


def train_sharing_memory(weight, bias, features, labels, lr, steps):
    W = torch.nn.Parameter(torch.from_numpy(weight))  # shares memory with `weight`
    b = torch.nn.Parameter(torch.from_numpy(bias))
    optimizer = torch.optim.SGD([W, b], lr=float(lr))
    x, y = torch.from_numpy(features), torch.from_numpy(labels)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(x @ W.T + b, y).backward()
        optimizer.step()
    return W.detach().numpy().copy(), b.detach().numpy().copy()


WRONG = [
    ("7.1", count_full_matrices, "you counted r·d_in·d_out"),
    ("7.1", count_without_rank, "your count does not grow with the rank"),
    ("7.1", count_a_only, "you counted A alone"),
    ("7.1", count_with_frozen_weights, "you added the frozen W₀"),
    ("7.1", count_as_float, "float"),
    ("7.1", count_first_matrix_only, "case 2 of 4 (a 64 × 32 and a 10 × 64 matrix, r = 4"),
    ("7.2", forward_scaled_by_alpha, "you scaled the update by α instead of α/r"),
    ("7.2", forward_unscaled, "there is no scaling in your update"),
    ("7.2", forward_rank_over_alpha, "your scaling is upside down"),
    ("7.2", forward_without_bias, "you left out the bias b"),
    ("7.2", forward_update_only, "you returned the update (α/r) B A x alone"),
    ("7.2", forward_wrong_order, "your code raised ValueError: matmul"),
    ("7.2", forward_rank_from_b, "case 1 of 4 (5 inputs, d_in = 6, d_out = 4, r = 2, α = 4"),
    ("7.3", merge_scaled_by_alpha, "you scaled B A by α instead of α/r"),
    ("7.3", merge_unscaled, "there is no scaling in your merge"),
    ("7.3", merge_rank_over_alpha, "your scaling is upside down"),
    ("7.3", merge_delta_only, "you returned ΔW = (α/r) B A alone"),
    ("7.3", merge_subtracted, "you subtracted the update"),
    ("7.3", merge_transposed, "your code raised ValueError: operands could not be broadcast"),
    ("7.3", merge_in_place, "changed its input `W0` in place"),
    ("7.4", kd_without_t_squared, "the T² factor is missing"),
    ("7.4", kd_times_t, "you multiplied by T, not T²"),
    ("7.4", kd_reversed, "your KL divergence is the wrong way round"),
    ("7.4", kd_teacher_not_softened, "the teacher's logits are not softened"),
    ("7.4", kd_student_not_softened, "the student's logits are not softened"),
    ("7.4", kd_summed_over_batch, "you summed over the batch"),
    ("7.4", kd_torch_mean_reduction, 'reduction="mean")`, which divides by N·C'),
    ("7.4", kd_cross_entropy, "that is the cross-entropy −Σ p log q, not the KL divergence"),
    ("7.4", kd_naive_softmax, "NaN"),
    ("7.5", l2_sp_weight_decay, "that is weight decay, α θ"),
    ("7.5", l2_sp_factor_two, "you have a factor 2 too many"),
    ("7.5", l2_sp_half, "you kept the ½ of (α/2)"),
    ("7.5", l2_sp_sign, "the sign of the penalty's gradient is wrong"),
    ("7.5", l2_sp_penalty_only, "the task gradient is missing"),
    ("7.5", l2_sp_in_place, "changed its input `task_grad` in place"),
    ("7.6", 0.0, "w = 0 trains on the 100 labels alone"),
    ("7.6", 0, "below 0.88"),
    ("7.6", 0.001, "give them more weight"),
    ("7.6", 50.0, "Percentages do not work here"),
    ("7.6", 1.5, "choose w with 0 ≤ w ≤ 1"),
    ("7.6", -0.1, "choose w with 0 ≤ w ≤ 1"),
    ("7.6", float("nan"), "contains NaN where a finite value is expected"),
    ("7.6", np.array([0.5, 0.6]), "expected a single number"),
    ("7.6", "0.5", "str"),
    ("7.7", ch07.buggy_train, "that is what the broken loop computes"),
    ("7.7", train_functional_softmax, "that is what the broken loop computes"),
    ("7.7", train_softmax_nll, "you gave `NLLLoss` probabilities"),
    ("7.7", train_without_zero_grad, "your gradients accumulate from step to step"),
    ("7.7", train_summed_loss, 'your loss is summed over the batch (`reduction="sum"`)'),
    ("7.7", train_in_float32, "has dtype float32; expected float64"),
    ("7.7", train_sharing_memory, "changed its input `weight` and `bias` in place"),
    ("7.8", 100 * 73_728 / 22_713_216, "that is a percentage"),
    ("7.8", 6 * 8 * 768 / 22_713_216, "you adapted one matrix per layer"),
    ("7.8", 12 * 384 * 384 / 22_713_216, "you counted the full 384 × 384 matrices"),
    ("7.8", 73_728 / (22_713_216 + 73_728), "after adding the adapters"),
    ("7.8", 0.00325, "did you round a number"),
    ("7.8", [73_728 / 22_713_216], "expected a single number"),
]

# ---------------------------------------------------------------------------------------------
# Other correct solutions pass
# ---------------------------------------------------------------------------------------------


def count_other_unpacking(shapes, rank):
    return sum(rank * (a + b) for a, b in shapes)  # r(d_in + d_out) is symmetric


def count_with_utils_lora(shapes, rank):
    layers = torch.nn.ModuleDict(
        {f"m{i}": torch.nn.Linear(d_in, d_out) for i, (d_out, d_in) in enumerate(shapes)}
    )
    lora.add_lora(layers, list(layers), rank=rank)
    return lora.count_parameters(layers)[0]


def forward_through_merged(x, W0, b, A, B, alpha):
    return x @ (W0 + alpha / A.shape[0] * (B @ A)).T + b


def forward_with_lora_linear(x, W0, b, A, B, alpha):
    d_out, d_in = W0.shape
    layer = lora.LoRALinear(torch.nn.Linear(d_in, d_out).double(), rank=len(A), alpha=alpha)
    with torch.no_grad():
        layer.base.weight.copy_(torch.from_numpy(W0))
        layer.base.bias.copy_(torch.from_numpy(b))
        layer.lora_A.copy_(torch.from_numpy(A))
        layer.lora_B.copy_(torch.from_numpy(B))
        return layer(torch.from_numpy(x))


def forward_einsum(x, W0, b, A, B, alpha):
    return np.einsum("ni,oi->no", x, W0) + b + alpha / len(A) * np.einsum("ni,ri,or->no", x, A, B)


def merge_rank_from_b(W0, A, B, alpha):
    return W0 + alpha / B.shape[1] * np.einsum("or,ri->oi", B, A)


def merge_with_lora_linear(W0, A, B, alpha):
    d_out, d_in = W0.shape
    layer = lora.LoRALinear(torch.nn.Linear(d_in, d_out).double(), rank=len(A), alpha=alpha)
    with torch.no_grad():
        layer.base.weight.copy_(torch.from_numpy(W0))
        layer.lora_A.copy_(torch.from_numpy(A))
        layer.lora_B.copy_(torch.from_numpy(B))
    return layer.merged().weight.detach().numpy()


def kd_torch_batchmean(s, t, T):
    s, t = torch.from_numpy(s), torch.from_numpy(t)
    kl = F.kl_div(F.log_softmax(s / T, dim=1), F.log_softmax(t / T, dim=1), log_target=True,
                  reduction="batchmean")  # fmt: skip
    return T * T * kl


def kd_cross_entropy_minus_entropy(s, t, T):
    log_p, log_q = _log_softmax(t / T), _log_softmax(s / T)
    p = np.exp(log_p)
    cross, entropy = -np.sum(p * log_q, axis=1), -np.sum(p * log_p, axis=1)
    return float(T**2 * np.mean(cross - entropy))


def kd_loop_logsumexp(s, t, T):
    losses = []
    for s_row, t_row in zip(s / T, t / T, strict=True):
        log_p = t_row - np.logaddexp.reduce(t_row)
        log_q = s_row - np.logaddexp.reduce(s_row)
        losses.append(sum(math.exp(a) * (a - c) for a, c in zip(log_p, log_q, strict=True)))
    return T**2 * sum(losses) / len(losses)


def l2_sp_autograd(theta, theta0, task_grad, alpha):
    p = torch.tensor(theta, requires_grad=True)
    (alpha / 2 * torch.sum((p - torch.from_numpy(theta0)) ** 2)).backward()
    return task_grad + p.grad.numpy()


def l2_sp_expanded(theta, theta0, task_grad, alpha):
    return np.add(task_grad, alpha * theta - alpha * theta0)


def train_log_softmax_then_cross_entropy(weight, bias, features, labels, lr, steps):
    """log_softmax is shift-invariant under CrossEntropyLoss: this is the same loss."""
    loss = torch.nn.CrossEntropyLoss()
    return _torch_loop(
        weight, bias, features, labels, lr, steps, lambda z, y: loss(F.log_softmax(z, 1), y)
    )


def train_log_softmax_then_nll(weight, bias, features, labels, lr, steps):
    loss = torch.nn.NLLLoss()
    return _torch_loop(
        weight, bias, features, labels, lr, steps, lambda z, y: loss(F.log_softmax(z, 1), y)
    )


def train_numpy(weight, bias, features, labels, lr, steps):
    W, b = weight.copy(), bias.copy()
    onehot = np.eye(W.shape[0])[labels]
    for _ in range(steps):
        logits = features @ W.T + b
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        d_logits = (probs - onehot) / len(labels)
        W, b = W - lr * d_logits.T @ features, b - lr * d_logits.sum(axis=0)
    return W, b


RIGHT = [
    ("7.1", count_other_unpacking),
    ("7.1", count_with_utils_lora),
    ("7.2", forward_through_merged),
    ("7.2", forward_with_lora_linear),
    ("7.2", forward_einsum),
    ("7.3", merge_rank_from_b),
    ("7.3", merge_with_lora_linear),
    ("7.4", kd_torch_batchmean),
    ("7.4", kd_cross_entropy_minus_entropy),
    ("7.4", kd_loop_logsumexp),
    ("7.5", l2_sp_autograd),
    ("7.5", l2_sp_expanded),
    ("7.6", 0.5),
    ("7.6", 1),
    ("7.6", np.float64(0.1)),
    ("7.6", 0.03),
    ("7.7", train_log_softmax_then_cross_entropy),
    ("7.7", train_log_softmax_then_nll),
    ("7.7", train_numpy),
    ("7.8", 73_728 / 22_713_216),
    ("7.8", 6 * 2 * 8 * (384 + 384) / 22_713_216),
    ("7.8", np.divide(73_728, 22_713_216)),
]


# ---------------------------------------------------------------------------------------------
# The experiment of 7.6
# ---------------------------------------------------------------------------------------------


def _notebook_cell(folder, marker):
    notebook = nbformat.read(ROOT / folder / NOTEBOOK, 4)
    (source,) = [c.source for c in notebook.cells if c.cell_type == "code" and marker in c.source]
    return source


def _notebook_namespace(folder, marker, namespace):
    exec(compile(_notebook_cell(folder, marker), f"{folder}: {marker}", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_the_notebooks_distilled_accuracy_is_the_judges(folder, capsys):
    """What a learner tries with `distilled_accuracy` is what the check then runs."""
    names = {
        "np": np,
        "digits": digits,
        "Adam": Adam,
        "cross_entropy_grad": cross_entropy_grad,
        "distillation_loss_grad": distillation_loss_grad,
    }
    namespace = _notebook_namespace(folder, "def distilled_accuracy(", names)
    assert "labels only (w = 0): 0.793" in capsys.readouterr().out
    assert np.array_equal(namespace["teacher_logits"], ch07.teacher_logits())
    for weight in (0.0, 0.03, 1.0):
        assert namespace["distilled_accuracy"](weight) == ch07.distilled_accuracy(weight), weight


def test_the_weights_of_7_6_are_accepted_from_a_few_percent_on():
    exercise = get_exercise("7.6")
    for weight in (0.0, 0.001, 0.002):
        assert exercise.judge(weight) is not None, weight
    for weight in (0.03, 0.05, 0.2, 0.5, 0.7, 0.9, 1.0):
        assert exercise.judge(weight) is None, weight
    assert exercise.reference() == 0.9  # the best of 0, 0.1, ..., 1 on the validation images


def test_the_threshold_of_7_6_has_a_margin_over_the_seeds(monkeypatch):
    """Other student seeds: labels only stays well below 0.88, w = 0.5 well above it."""
    labels_only, distilled = [], []
    for seed in range(5):
        monkeypatch.setitem(ch07.STUDENT, "seed", seed)
        labels_only.append(ch07.distilled_accuracy(0.0))
        distilled.append(ch07.distilled_accuracy(0.5))
    assert max(labels_only) < ch07._ACCEPT - 0.05, labels_only
    assert min(distilled) > ch07._ACCEPT + 0.02, distilled


def test_the_judge_of_7_6_is_deterministic():
    exercise = get_exercise("7.6")
    verdicts = [exercise.judge(0.001) for _ in range(3)]
    assert verdicts[0] is not None and verdicts.count(verdicts[0]) == 3


# ---------------------------------------------------------------------------------------------
# The broken loop of 7.7
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_the_notebooks_broken_loop_is_the_declared_one(folder):
    """The `train` the notebook hands out is the mistake the check recognises."""
    train = _notebook_namespace(folder, "def train(", {"np": np, "torch": torch})["train"]
    for case in get_exercise("7.7").cases:
        inputs = case.inputs()
        got, declared = train(*inputs.values()), ch07.buggy_train(*inputs.values())
        for mine, theirs in zip(got, declared, strict=True):
            np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)


def test_the_broken_loop_learns_slowly_where_the_notebook_says():
    """The notebook's data: after 10 and 50 steps the fix has less than half the loss."""
    rng = np.random.default_rng(0)
    centres = 2 * rng.normal(size=(10, 8))
    labels = rng.integers(0, 10, size=200)
    features = centres[labels] + rng.normal(size=(200, 8))
    weight, bias = 0.1 * rng.normal(size=(10, 8)), np.zeros(10)
    for steps in (10, 50):
        fixed = ch07._train_fixed_classifier(weight, bias, features, labels, 0.5, steps)
        broken = ch07.buggy_train(weight, bias, features, labels, 0.5, steps)
        losses = [cross_entropy(features @ w.T + b, labels) for w, b in (fixed, broken)]
        assert losses[0] < losses[1] / 2, (steps, losses)


(
    test_wrong_answer_gets_the_intended_message,
    test_every_exercise_has_three_hand_written_wrong_answers,
    test_other_correct_solutions_pass,
) = table_tests(7, WRONG, RIGHT)
