"""Exercises 7: Fine-tuning a pretrained model.

Notebook: ``solutions/07_fine_tuning.ipynb`` (source) → ``exercises/07_fine_tuning.ipynb``.
Expected answers come from the course's code: LoRA (7.1) of :mod:`utils.lora`, the
distillation loss and its gradient :func:`utils.losses.distillation_loss` and
:func:`~utils.losses.distillation_loss_grad`, the cross-entropy gradient
:func:`utils.losses.cross_entropy_grad` and the NumPy optimizers of :mod:`utils.optim.numpy`.
The oracles are Hugging Face ``peft``'s LoRA layers, counted with
``get_nb_trainable_parameters`` (7.1, 7.8), run (7.2) and merged with ``merge_and_unload``
(7.3); ``torch.nn.functional.kl_div`` times T² (7.4); ``torch.autograd`` on the L2-SP loss
(7.5); a distillation run trained by ``torch.autograd`` and ``torch.optim.Adam`` (7.6);
and a training loop written with ``tf.GradientTape`` and Keras'
``SparseCategoricalCrossentropy(from_logits=True)`` (7.7).

Exercise 7.6 is an experiment: the learner picks the weight of the soft targets when a tiny
student (one hidden layer of 8) learns the digits from 100 labels and a teacher's soft targets on
the 1,257 training images, and the judge trains it. Exercise 7.7 is a diagnosis: a torch loop
that feeds probabilities (a softmax output) to ``torch.nn.CrossEntropyLoss``, to be fixed.
"""

from __future__ import annotations

import functools

import numpy as np

from utils.data import digits
from utils.losses import (
    cross_entropy_grad,
    distillation_loss,
    distillation_loss_grad,
    log_softmax,
    softmax,
)
from utils.optim.numpy import SGD, Adam

from ..spec import Case, Exercise, ExerciseSet, Mistake

# ---------------------------------------------------------------------------------------------
# 7.1: how many numbers LoRA trains
# ---------------------------------------------------------------------------------------------


def _lora_parameter_count(shapes, rank):
    """Σ r (d_in + d_out) over the adapted matrices, as utils.lora.LoRALinear allocates them."""
    return int(sum(rank * (d_in + d_out) for d_out, d_in in shapes))


def _peft_model(shapes, rank, alpha=None, dtype=None):
    """A module of Linear layers ``proj0, proj1, ...`` of the given (d_out, d_in), under peft."""
    import peft
    import torch

    model = torch.nn.Module()
    names = []
    for index, (d_out, d_in) in enumerate(shapes):
        names.append(f"proj{index}")
        layer = torch.nn.Linear(int(d_in), int(d_out), dtype=dtype or torch.float32)
        model.add_module(names[-1], layer)
    alpha = rank if alpha is None else alpha
    config = peft.LoraConfig(r=int(rank), lora_alpha=alpha, target_modules=names)
    return peft.get_peft_model(model, config)


def _peft_parameter_count(shapes, rank):
    """The trainable parameters peft counts after wrapping Linear layers of these shapes."""
    trainable, _ = _peft_model(shapes, rank).get_nb_trainable_parameters()
    return int(trainable)


def _shapes_case(shapes, rank):
    return lambda rng: {"shapes": [tuple(shape) for shape in shapes], "rank": rank}


LORA_PARAMETER_COUNT = Exercise(
    id="7.1",
    name="lora_parameter_count",
    title="How many numbers LoRA trains",
    reference=_lora_parameter_count,
    oracle=_peft_parameter_count,
    cases=(
        Case("one 384 × 384 projection, r = 8", _shapes_case([(384, 384)], 8)),
        Case(
            "a 64 × 32 and a 10 × 64 matrix, r = 4",
            _shapes_case([(64, 32), (10, 64)], 4),
        ),
        Case(
            "three matrices of different shapes, r = 3",
            _shapes_case([(20, 5), (7, 20), (1, 7)], 3),
        ),
        Case("a 1536 × 384 feed-forward matrix, r = 1", _shapes_case([(1536, 384)], 1)),
    ),
    mistakes=(
        Mistake(
            "you counted r·d_in·d_out: that is r full matrices. LoRA trains A (r × d_in) and "
            "B (d_out × r), r(d_in + d_out) numbers per matrix (7.1).",
            lambda shapes, rank: sum(rank * d_in * d_out for d_out, d_in in shapes),
        ),
        Mistake(
            "your count does not grow with the rank: A has r rows of d_in numbers and B has r "
            "columns of d_out numbers, so each matrix trains r(d_in + d_out).",
            lambda shapes, rank: sum(d_in + d_out for d_out, d_in in shapes),
        ),
        Mistake(
            "you counted A alone (r·d_in). B, d_out × r, trains too: r(d_in + d_out) per matrix.",
            lambda shapes, rank: sum(rank * d_in for d_out, d_in in shapes),
        ),
        Mistake(
            "you counted B alone (d_out·r). A, r × d_in, trains too: r(d_in + d_out) per matrix.",
            lambda shapes, rank: sum(rank * d_out for d_out, d_in in shapes),
        ),
        Mistake(
            "you added the frozen W₀ (d_out·d_in per matrix) to the count. LoRA freezes W₀: only "
            "A and B train, r(d_in + d_out) per matrix.",
            lambda shapes, rank: sum(
                rank * (d_in + d_out) + d_in * d_out for d_out, d_in in shapes
            ),
        ),
    ),
    hints=(
        "Each adapted matrix W₀ of shape (d_out, d_in) gets A of shape (r, d_in) and B of shape "
        "(d_out, r); W₀ stays frozen. Count the entries of A and B.",
        "Loop over `for d_out, d_in in shapes` and add `rank * (d_in + d_out)`; return an integer.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 7.2 and 7.3: the LoRA layer, and merging it
# ---------------------------------------------------------------------------------------------


def _lora_forward(x, W0, b, A, B, alpha):
    """(7.1) for a batch of rows: h = x W₀ᵀ + b + (α/r) x Aᵀ Bᵀ."""
    rank = A.shape[0]
    return x @ W0.T + b + (alpha / rank) * (x @ A.T @ B.T)


def _lora_merge(W0, A, B, alpha):
    """W = W₀ + (α/r) B A, the one matrix that computes (7.1)."""
    return W0 + (alpha / A.shape[0]) * (B @ A)


def _peft_lora_layer(W0, b, A, B, alpha):
    """peft's LoRA wrapper around one float64 Linear, with W₀, b, A and B copied in."""
    import torch

    d_out, d_in = W0.shape
    model = _peft_model([(d_out, d_in)], A.shape[0], alpha=float(alpha), dtype=torch.float64)
    layer = model.base_model.model.proj0
    with torch.no_grad():
        layer.base_layer.weight.copy_(torch.from_numpy(W0))
        layer.base_layer.bias.copy_(torch.from_numpy(b))
        layer.lora_A["default"].weight.copy_(torch.from_numpy(A))
        layer.lora_B["default"].weight.copy_(torch.from_numpy(B))
    return model


def _peft_lora_forward(x, W0, b, A, B, alpha):
    import torch

    model = _peft_lora_layer(W0, b, A, B, alpha)
    with torch.no_grad():
        return model.base_model.model.proj0(torch.from_numpy(x)).numpy()


def _peft_lora_merge(W0, A, B, alpha):
    import torch

    model = _peft_lora_layer(W0, np.zeros(W0.shape[0]), A, B, alpha)
    merged = model.merge_and_unload()  # W₀ + (α/r) B A, as a plain torch.nn.Linear
    assert isinstance(merged.proj0, torch.nn.Linear)
    return merged.proj0.weight.detach().numpy()


def _lora_case(n, d_in, d_out, rank, alpha, bias=True):
    def make(rng):
        inputs = {
            "x": rng.normal(size=(n, d_in)),
            "W0": rng.normal(size=(d_out, d_in)) / np.sqrt(d_in),
            "b": rng.normal(size=d_out) if bias else np.zeros(d_out),
            "A": rng.normal(size=(rank, d_in)) / np.sqrt(d_in),
            "B": rng.normal(size=(d_out, rank)),  # trained: no longer zero
            "alpha": np.float64(alpha),
        }
        return inputs

    return make


def _merge_case(d_in, d_out, rank, alpha):
    def make(rng):
        inputs = _lora_case(1, d_in, d_out, rank, alpha)(rng)
        return {name: inputs[name] for name in ("W0", "A", "B", "alpha")}

    return make


def _forward_scaled(scale):
    def answer(x, W0, b, A, B, alpha):
        return x @ W0.T + b + scale(alpha, A.shape[0]) * (x @ A.T @ B.T)

    return answer


LORA_FORWARD = Exercise(
    id="7.2",
    name="lora_forward",
    title="The LoRA layer",
    reference=_lora_forward,
    oracle=_peft_lora_forward,
    cases=(
        Case("5 inputs, d_in = 6, d_out = 4, r = 2, α = 4", _lora_case(5, 6, 4, 2, 4.0), 21),
        Case("3 inputs, d_in = 8, d_out = 8, r = 4, α = 16", _lora_case(3, 8, 8, 4, 16.0), 22),
        Case(
            "7 inputs, d_in = 10, d_out = 3, r = 5, α = 2 (scaling 0.4)",
            _lora_case(7, 10, 3, 5, 2.0),
            23,
        ),
        Case("one input, r = 1, α = 1", _lora_case(1, 4, 6, 1, 1.0), 24),
    ),
    mistakes=(
        Mistake(
            "you scaled the update by α instead of α/r (7.1): divide by the rank r, which is "
            "`A.shape[0]`.",
            _forward_scaled(lambda alpha, rank: alpha),
        ),
        Mistake(
            "there is no scaling in your update: (7.1) multiplies B A x by α/r.",
            _forward_scaled(lambda alpha, rank: 1.0),
        ),
        Mistake(
            "your scaling is upside down: (7.1) multiplies B A x by α/r, not r/α.",
            _forward_scaled(lambda alpha, rank: rank / alpha),
        ),
        Mistake(
            "you left out the bias b: the frozen layer computes W₀x + b, and LoRA adds its update "
            "to that.",
            lambda x, W0, b, A, B, alpha: x @ W0.T + alpha / A.shape[0] * (x @ A.T @ B.T),
        ),
        Mistake(
            "you returned the update (α/r) B A x alone: (7.1) adds it to the frozen layer's "
            "output W₀x + b.",
            lambda x, W0, b, A, B, alpha: alpha / A.shape[0] * (x @ A.T @ B.T),
        ),
        Mistake(
            "you subtracted the update: (7.1) adds (α/r) B A x to W₀x + b.",
            lambda x, W0, b, A, B, alpha: x @ W0.T + b - alpha / A.shape[0] * (x @ A.T @ B.T),
        ),
    ),
    hints=(
        "The rows of `x` are the inputs, so W₀x becomes `x @ W0.T`. The rank r is the number "
        "of rows of A, `A.shape[0]`.",
        "x Aᵀ has shape (n, r) and x Aᵀ Bᵀ has shape (n, d_out): "
        "`x @ W0.T + b + alpha / r * (x @ A.T @ B.T)`.",
    ),
)


def _merge_scaled(scale):
    return lambda W0, A, B, alpha: W0 + scale(alpha, A.shape[0]) * (B @ A)


LORA_MERGE = Exercise(
    id="7.3",
    name="lora_merge",
    title="Merging LoRA into one matrix",
    reference=_lora_merge,
    oracle=_peft_lora_merge,
    cases=(
        Case("d_in = 6, d_out = 4, r = 2, α = 4", _merge_case(6, 4, 2, 4.0), 31),
        Case("d_in = 5, d_out = 5, r = 3, α = 12", _merge_case(5, 5, 3, 12.0), 32),
        Case("d_in = 9, d_out = 2, r = 4, α = 1 (scaling 0.25)", _merge_case(9, 2, 4, 1.0), 33),
    ),
    mistakes=(
        Mistake(
            "you scaled B A by α instead of α/r: divide by the rank r = `A.shape[0]`.",
            _merge_scaled(lambda alpha, rank: alpha),
        ),
        Mistake(
            "there is no scaling in your merge: W = W₀ + (α/r) B A.",
            _merge_scaled(lambda alpha, rank: 1.0),
        ),
        Mistake(
            "your scaling is upside down: W = W₀ + (α/r) B A, not (r/α).",
            _merge_scaled(lambda alpha, rank: rank / alpha),
        ),
        Mistake(
            "you returned ΔW = (α/r) B A alone: the merged matrix is W₀ + ΔW.",
            lambda W0, A, B, alpha: alpha / A.shape[0] * (B @ A),
        ),
        Mistake(
            "you subtracted the update: W = W₀ + (α/r) B A.",
            _merge_scaled(lambda alpha, rank: -alpha / rank),
        ),
    ),
    hints=(
        "The merged matrix must compute the same as (7.1) for every x: W x = W₀x + (α/r) B A x.",
        "B (d_out × r) times A (r × d_in) has W₀'s shape: `W0 + alpha / A.shape[0] * (B @ A)`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 7.4: the distillation loss
# ---------------------------------------------------------------------------------------------


def _distillation_loss(student_logits, teacher_logits, temperature):
    """T² KL(softmax(t/T) ‖ softmax(s/T)), averaged over the batch."""
    return float(distillation_loss(student_logits, teacher_logits, float(temperature)))


def _torch_distillation_loss(student_logits, teacher_logits, temperature):
    import torch
    import torch.nn.functional as F

    T = float(temperature)
    s, t = torch.from_numpy(student_logits), torch.from_numpy(teacher_logits)
    kl = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="batchmean")
    return T**2 * kl.item()


def _kl_rows(log_p, log_q):
    """Σ_c p log(p/q) for each row, from log-probabilities."""
    return np.sum(np.exp(log_p) * (log_p - log_q), axis=1)


def _distillation_variant(s, t, T, *, scale=None, reverse=False, soft_teacher=True,
                          soft_student=True, cross_entropy=False, reduce=np.mean):  # fmt: skip
    log_p = log_softmax(t / T if soft_teacher else t, axis=1)
    log_q = log_softmax(s / T if soft_student else s, axis=1)
    if cross_entropy:
        per_row = -np.sum(np.exp(log_p) * log_q, axis=1)
    else:
        per_row = _kl_rows(log_q, log_p) if reverse else _kl_rows(log_p, log_q)
    return float((T**2 if scale is None else scale) * reduce(per_row))


def _logits_case(n, classes, temperature, scale=2.0):
    def make(rng):
        return {
            "student_logits": scale * rng.normal(size=(n, classes)),
            "teacher_logits": 2 * scale * rng.normal(size=(n, classes)),
            "temperature": np.float64(temperature),
        }

    return make


DISTILLATION_LOSS = Exercise(
    id="7.4",
    name="distillation_loss",
    title="The distillation loss",
    reference=_distillation_loss,
    oracle=_torch_distillation_loss,
    cases=(
        Case("8 samples, 10 classes, T = 4", _logits_case(8, 10, 4.0), 41),
        Case("5 samples, 3 classes, T = 2", _logits_case(5, 3, 2.0), 42),
        Case("3 samples, 4 classes, T = 1", _logits_case(3, 4, 1.0), 43),
        Case("6 samples, 5 classes, T = 0.5 (sharper than softmax)", _logits_case(6, 5, 0.5), 44),
        Case("one sample, 10 classes, large logits, T = 10", _logits_case(1, 10, 10.0, 20.0), 45),
        Case(
            "4 samples, 3 classes, logits in the thousands, T = 2",
            _logits_case(4, 3, 2.0, 1000.0),
            46,
        ),
    ),
    mistakes=(
        Mistake(
            "the T² factor is missing: multiply the KL divergence by T², which keeps the size of "
            "its gradient, (T/N)(q − p), about the same whatever T is.",
            lambda s, t, T: _distillation_variant(s, t, T, scale=1.0),
        ),
        Mistake(
            "you multiplied by T, not T²: the loss is T² KL(p ‖ q).",
            lambda s, t, T: _distillation_variant(s, t, T, scale=T),
        ),
        Mistake(
            "your KL divergence is the wrong way round: KL(q ‖ p) = Σ q log(q/p). Distillation "
            "uses KL(p ‖ q) = Σ p log(p/q), with p the teacher's softened probabilities.",
            lambda s, t, T: _distillation_variant(s, t, T, reverse=True),
        ),
        Mistake(
            "the teacher's logits are not softened: p = softmax(t/T), the teacher divided by "
            "the same temperature as the student.",
            lambda s, t, T: _distillation_variant(s, t, T, soft_teacher=False),
        ),
        Mistake(
            "the student's logits are not softened: q = softmax(s/T), divided by T like the "
            "teacher's.",
            lambda s, t, T: _distillation_variant(s, t, T, soft_student=False),
        ),
        Mistake(
            "you summed over the batch: the loss is the mean over the N samples (torch's "
            '`reduction="batchmean"`).',
            lambda s, t, T: _distillation_variant(s, t, T, reduce=np.sum),
        ),
        Mistake(
            "you averaged over every entry, samples × classes: that is torch's "
            '`kl_div(..., reduction="mean")`, which divides by N·C. Sum over the classes, then '
            'average over the samples (`reduction="batchmean"`).',
            lambda s, t, T: _distillation_variant(s, t, T, scale=T**2 / s.shape[1]),
        ),
        Mistake(
            "that is the cross-entropy −Σ p log q, not the KL divergence: the two differ by the "
            "teacher's entropy −Σ p log p, a constant for the student but part of the loss. "
            "Use Σ p (log p − log q).",
            lambda s, t, T: _distillation_variant(s, t, T, cross_entropy=True),
        ),
    ),
    hints=(
        "Soften both: p = softmax(teacher_logits / T) and q = softmax(student_logits / T), row "
        "by row. Use log-softmax (`logits - logsumexp`) so that large logits stay finite.",
        "Per sample, Σ_c p (log p − log q); then the mean over the rows, times T².",
    ),
)

# ---------------------------------------------------------------------------------------------
# 7.5: the gradient of L2-SP
# ---------------------------------------------------------------------------------------------


def _l2_sp_gradient(theta, theta0, task_grad, alpha):
    """∇ of (7.2): ∇L_task + α(θ − θ₀)."""
    return task_grad + alpha * (theta - theta0)


def _torch_l2_sp_gradient(theta, theta0, task_grad, alpha):
    """torch.autograd on ⟨g, θ⟩ + (α/2)‖θ − θ₀‖², a loss whose task gradient is g."""
    import torch

    p = torch.tensor(theta, requires_grad=True)
    start, g = torch.from_numpy(theta0), torch.from_numpy(task_grad)
    loss = (g * p).sum() + float(alpha) / 2 * ((p - start) ** 2).sum()
    loss.backward()
    return p.grad.numpy()


def _l2_sp_case(shape, alpha, moved=0.1):
    def make(rng):
        theta0 = rng.normal(size=shape)
        return {
            "theta": theta0 + moved * rng.normal(size=shape),
            "theta0": theta0,
            "task_grad": rng.normal(size=shape),
            "alpha": np.float64(alpha),
        }

    return make


L2_SP_GRADIENT = Exercise(
    id="7.5",
    name="l2_sp_gradient",
    title="The gradient of L2-SP",
    reference=_l2_sp_gradient,
    oracle=_torch_l2_sp_gradient,
    cases=(
        Case("a vector of 6 weights, α = 0.1", _l2_sp_case(6, 0.1), 51),
        Case("a (3, 4) weight matrix, α = 2", _l2_sp_case((3, 4), 2.0), 52),
        Case("a vector of 5, α = 0.5, far from θ₀", _l2_sp_case(5, 0.5, moved=3.0), 53),
        Case("θ = θ₀ (nothing moved yet), α = 1", _l2_sp_case(4, 1.0, moved=0.0), 54),
    ),
    mistakes=(
        Mistake(
            "that is weight decay, α θ, which pulls the weights towards 0. L2-SP (7.2) pulls "
            "them towards the pretrained θ₀: α(θ − θ₀).",
            lambda theta, theta0, task_grad, alpha: task_grad + alpha * theta,
        ),
        Mistake(
            "you have a factor 2 too many: the derivative of (α/2)‖θ − θ₀‖² is α(θ − θ₀).",
            lambda theta, theta0, task_grad, alpha: task_grad + 2 * alpha * (theta - theta0),
        ),
        Mistake(
            "you kept the ½ of (α/2): the derivative of (α/2)‖θ − θ₀‖² is α(θ − θ₀), the 2 of "
            "the square cancels it.",
            lambda theta, theta0, task_grad, alpha: task_grad + alpha / 2 * (theta - theta0),
        ),
        Mistake(
            "the sign of the penalty's gradient is wrong: α(θ − θ₀) points away from θ₀, so "
            "that a step −η∇L moves θ back towards it.",
            lambda theta, theta0, task_grad, alpha: task_grad + alpha * (theta0 - theta),
        ),
        Mistake(
            "the task gradient is missing: the gradient of (7.2) is ∇L_task + α(θ − θ₀).",
            lambda theta, theta0, task_grad, alpha: alpha * (theta - theta0),
        ),
    ),
    hints=(
        "The gradient of a sum is the sum of the gradients; the task's is `task_grad`. For the "
        "penalty, differentiate (α/2)(θ_j − θ₀_j)² with respect to each θ_j.",
        "`task_grad + alpha * (theta - theta0)`.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 7.6: choose the weight of the soft targets by experiment
# ---------------------------------------------------------------------------------------------

DISTILLATION_TEMPERATURE = 4.0
LABELLED = 100  # the student sees the labels of the first 100 training images only
TEACHER = {"sizes": (64, 256, 10), "steps": 100, "lr": 1e-2, "seed": 0}
STUDENT = {"sizes": (64, 8, 10), "steps": 300, "lr": 1e-2, "seed": 1}
_ACCEPT = 0.88  # validation accuracy; labels only gets 0.79, soft targets 0.91 to 0.94
_WEIGHT_GRID = np.round(np.arange(0.0, 1.0001, 0.1), 1)  # 0, 0.1, ..., 1


@functools.cache
def _digits():
    return digits(seed=0)


def mlp_init(sizes, seed):
    """[W₁, b₁, W₂, b₂]: W uniform in ±1/√d_in (as torch.nn.Linear), b = 0."""
    rng = np.random.default_rng(seed)
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / np.sqrt(d_in)
        params += [rng.uniform(-bound, bound, size=(d_in, d_out)), np.zeros(d_out)]
    return params


def mlp_forward(params, x):
    """One hidden ReLU layer: returns (hidden, logits)."""
    W1, b1, W2, b2 = params
    hidden = np.maximum(x @ W1 + b1, 0.0)
    return hidden, hidden @ W2 + b2


def mlp_train(sizes, x, logits_grad, steps, lr, seed):
    """Full-batch Adam on a loss given by ``logits_grad(logits)`` = ∂L/∂logits."""
    params = mlp_init(sizes, seed)
    optimizer = Adam(params, lr=lr)
    for _ in range(steps):
        hidden, logits = mlp_forward(params, x)
        d_logits = logits_grad(logits)
        d_hidden = (d_logits @ params[2].T) * (hidden > 0)  # back through the ReLU
        optimizer.step([x.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_logits, d_logits.sum(0)])
    return params


@functools.cache
def teacher_logits():
    """The teacher, 64 → 256 → 10, trained on all 1,257 labels; its logits on those images."""
    data = _digits()
    teacher = mlp_train(
        TEACHER["sizes"],
        data.x_train,
        lambda logits: cross_entropy_grad(logits, data.y_train),
        TEACHER["steps"],
        TEACHER["lr"],
        TEACHER["seed"],
    )
    return mlp_forward(teacher, data.x_train)[1]


def distilled_accuracy(soft_weight):
    """Validation accuracy of the student trained on
    (1 − w) CE(100 labels) + w · distillation_loss(1,257 soft targets, T = 4)."""
    data, teacher = _digits(), teacher_logits()
    labels = data.y_train[:LABELLED]

    def logits_grad(logits):
        hard = np.zeros_like(logits)
        hard[:LABELLED] = cross_entropy_grad(logits[:LABELLED], labels)
        soft = distillation_loss_grad(logits, teacher, DISTILLATION_TEMPERATURE)
        return (1 - soft_weight) * hard + soft_weight * soft

    student = mlp_train(STUDENT["sizes"], data.x_train, logits_grad, **_student_run())
    predictions = mlp_forward(student, data.x_val)[1].argmax(axis=1)
    return float(np.mean(predictions == data.y_val))


def _student_run():
    return {key: STUDENT[key] for key in ("steps", "lr", "seed")}


@functools.cache
def _grid_accuracies():
    return tuple(distilled_accuracy(float(w)) for w in _WEIGHT_GRID)


def _best_soft_weight():
    """The weight of the grid with the best validation accuracy (the first, on a tie)."""
    return float(_WEIGHT_GRID[int(np.argmax(_grid_accuracies()))])


def _judge_soft_weight(value):
    weight = float(value)
    if not 0 <= weight <= 1:
        return f"your weight is {weight:.6g}; choose w with 0 ≤ w ≤ 1."
    accuracy = distilled_accuracy(weight)
    if accuracy >= _ACCEPT:
        return None
    labels_only = _grid_accuracies()[0]
    return (
        f"with w = {weight:.4g} the student reaches a validation accuracy of {accuracy:.3f}, "
        f"below {_ACCEPT}; with the labels alone (w = 0) it gets {labels_only:.3f}. The soft "
        "targets on all 1,257 images carry too little of the loss: give them more weight."
    )


def _torch_mlp(sizes, seed):
    import torch

    params = [torch.tensor(p, requires_grad=True) for p in mlp_init(sizes, seed)]

    def forward(x):
        W1, b1, W2, b2 = params
        return torch.relu(x @ W1 + b1) @ W2 + b2

    return params, forward


def _torch_train(sizes, x, loss_of_logits, steps, lr, seed):
    import torch

    params, forward = _torch_mlp(sizes, seed)
    optimizer = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of_logits(forward(x)).backward()
        optimizer.step()
    return forward


def _torch_best_soft_weight():
    """The grid search of 7.6, every run trained by torch.autograd and torch.optim.Adam."""
    import torch
    import torch.nn.functional as F

    data = _digits()
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    teacher = _torch_train(TEACHER["sizes"], x, lambda z: F.cross_entropy(z, y), **_teacher_run())
    T = DISTILLATION_TEMPERATURE
    with torch.no_grad():
        soft_targets = F.softmax(teacher(x) / T, dim=1)
    accuracies = []
    for weight in _WEIGHT_GRID:

        def loss(z, w=float(weight)):
            hard = F.cross_entropy(z[:LABELLED], y[:LABELLED])
            log_q = F.log_softmax(z / T, dim=1)
            soft = T**2 * F.kl_div(log_q, soft_targets, reduction="batchmean")
            return (1 - w) * hard + w * soft

        student = _torch_train(STUDENT["sizes"], x, loss, **_student_run())
        with torch.no_grad():
            predictions = student(torch.from_numpy(data.x_val)).argmax(dim=1).numpy()
        accuracies.append(float(np.mean(predictions == data.y_val)))
    return float(_WEIGHT_GRID[int(np.argmax(accuracies))])


def _teacher_run():
    return {key: TEACHER[key] for key in ("steps", "lr", "seed")}


SOFT_WEIGHT_BY_EXPERIMENT = Exercise(
    id="7.6",
    name="soft_weight_choice",
    title="Choose the weight of the soft targets by experiment",
    reference=_best_soft_weight,
    oracle=_torch_best_soft_weight,
    points=2,
    judge=_judge_soft_weight,
    mistakes=(
        Mistake(
            "w = 0 trains on the 100 labels alone: the teacher's soft targets on the other "
            "1,157 images are never used. That is the baseline distillation is meant to beat.",
            lambda: 0.0,
        ),
        Mistake(
            "w = 0.005 is as good as nothing: at that weight the soft targets barely move the "
            "student away from the labels-only solution. Try larger weights.",
            lambda: 0.005,
        ),
        Mistake(
            "a weight is a share of the loss, between 0 and 1: (1 − w) on the labels and w on "
            "the soft targets. Percentages do not work here.",
            lambda: 50.0,
        ),
    ),
    hints=(
        "Call `distilled_accuracy(w)` for a few weights between 0 and 1, e.g. "
        "`[0, 0.01, 0.1, 0.5, 1]`, and compare with w = 0 (labels only).",
        "Any weight whose student reaches a validation accuracy of 0.88 is accepted. The "
        "labels-only student is far below it; the soft targets need only a part of the loss.",
    ),
)

# ---------------------------------------------------------------------------------------------
# 7.7: diagnose a softmax fed to torch.nn.CrossEntropyLoss
# ---------------------------------------------------------------------------------------------


def _softmax_backward(probs, d_probs):
    """∂L/∂z from ∂L/∂p for p = softmax(z), row by row: p ⊙ (g − ⟨g, p⟩)."""
    return probs * (d_probs - np.sum(d_probs * probs, axis=1, keepdims=True))


def _linear_loop(weight, bias, features, steps, lr, logits_grad, accumulate=False):
    """SGD on a linear classifier z = X Wᵀ + b; ``logits_grad(z)`` = ∂L/∂z."""
    weight, bias = np.array(weight, dtype=np.float64), np.array(bias, dtype=np.float64)
    optimizer = SGD([weight, bias], lr=lr)
    total = [np.zeros_like(weight), np.zeros_like(bias)]
    for _ in range(int(steps)):
        d_logits = logits_grad(features @ weight.T + bias)
        grads = [d_logits.T @ features, d_logits.sum(axis=0)]
        if accumulate:  # .grad is never zeroed: each step adds to the last
            total = [t + g for t, g in zip(total, grads, strict=True)]
            grads = total
        optimizer.step(grads)
    return weight, bias


def _train_fixed_classifier(weight, bias, features, labels, lr, steps):
    """Softmax regression by SGD on the cross-entropy of the logits, as CrossEntropyLoss wants."""
    return _linear_loop(weight, bias, features, steps, lr, lambda z: cross_entropy_grad(z, labels))


def buggy_train(weight, bias, features, labels, lr, steps):
    """The notebook's broken loop: CrossEntropyLoss applied to softmax(z), a second softmax."""

    def logits_grad(z):
        probs = softmax(z, axis=1)
        return _softmax_backward(probs, cross_entropy_grad(probs, labels))

    return _linear_loop(weight, bias, features, steps, lr, logits_grad)


def _train_softmax_nll(weight, bias, features, labels, lr, steps):
    """NLLLoss on probabilities: L = −mean p_y, no logarithm."""

    def logits_grad(z):
        probs = softmax(z, axis=1)
        d_probs = np.zeros_like(probs)
        d_probs[np.arange(len(labels)), labels] = -1 / len(labels)
        return _softmax_backward(probs, d_probs)

    return _linear_loop(weight, bias, features, steps, lr, logits_grad)


def _train_no_zero_grad(weight, bias, features, labels, lr, steps):
    return _linear_loop(
        weight,
        bias,
        features,
        steps,
        lr,
        lambda z: cross_entropy_grad(z, labels),
        accumulate=True,
    )


def _train_summed(weight, bias, features, labels, lr, steps):
    return _linear_loop(
        weight,
        bias,
        features,
        steps,
        lr,
        lambda z: cross_entropy_grad(z, labels, reduction="sum"),
    )


def _keras_train_fixed(weight, bias, features, labels, lr, steps):
    """The loop with tf.GradientTape and Keras' cross-entropy on logits, from_logits=True."""
    import keras
    import tensorflow as tf

    W, b = tf.Variable(weight), tf.Variable(bias)
    x, y = tf.constant(features), tf.constant(labels)
    # dtype: a Keras 3 loss computes in float32 unless told otherwise
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    for _ in range(int(steps)):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, tf.matmul(x, W, transpose_b=True) + b)
        grad_W, grad_b = tape.gradient(loss, [W, b])
        W.assign_sub(float(lr) * grad_W)
        b.assign_sub(float(lr) * grad_b)
    return W.numpy(), b.numpy()


def _classifier_case(n, d, classes, lr, steps):
    def make(rng):
        centres = 2 * rng.normal(size=(classes, d))
        labels = rng.integers(0, classes, size=n)
        return {
            "weight": 0.1 * rng.normal(size=(classes, d)),
            "bias": np.zeros(classes),
            "features": centres[labels] + rng.normal(size=(n, d)),
            "labels": labels.astype(np.int64),
            "lr": np.float64(lr),
            "steps": np.int64(steps),
        }

    return make


FIXED_CLASSIFIER = Exercise(
    id="7.7",
    name="train_fixed",
    title="Diagnose a softmax fed to CrossEntropyLoss",
    reference=_train_fixed_classifier,
    oracle=_keras_train_fixed,
    points=2,
    time_limit=15.0,  # a learner's torch loop: the first one in a kernel starts torch's threads
    cases=(
        Case(
            "n = 60, d = 4, 3 classes, η = 0.5, 30 steps", _classifier_case(60, 4, 3, 0.5, 30), 71
        ),
        Case(
            "n = 40, d = 6, 5 classes, η = 0.2, 20 steps", _classifier_case(40, 6, 5, 0.2, 20), 72
        ),
        Case("n = 25, d = 3, 2 classes, η = 1, 10 steps", _classifier_case(25, 3, 2, 1.0, 10), 73),
    ),
    mistakes=(
        Mistake(
            "that is what the broken loop computes: `CrossEntropyLoss` applies log-softmax "
            "itself, so giving it probabilities takes a softmax twice and the gradients "
            "become tiny. Give it the logits, the output of the Linear layer.",
            buggy_train,
        ),
        Mistake(
            "you gave `NLLLoss` probabilities: it expects *log*-probabilities and computes "
            "−mean p_y here, not the cross-entropy. Use `log_softmax` before `NLLLoss`, or the "
            "logits with `CrossEntropyLoss`.",
            _train_softmax_nll,
        ),
        Mistake(
            "your gradients accumulate from step to step: torch adds each `backward()` to "
            "`.grad`, so call `optimizer.zero_grad()` at the start of every step.",
            _train_no_zero_grad,
        ),
        Mistake(
            'your loss is summed over the batch (`reduction="sum"`): the loop is meant to use '
            "`CrossEntropyLoss()`'s mean, so your steps are n times too large.",
            _train_summed,
        ),
    ),
    hints=(
        "Read the documentation of `torch.nn.CrossEntropyLoss`: what does it expect as its "
        "input, probabilities or logits? And what does the model end with?",
        "Remove the `torch.nn.Softmax` from the model and give `CrossEntropyLoss` the "
        "Linear layer's output. (Softmax belongs at prediction time, if at all.)",
    ),
)

# ---------------------------------------------------------------------------------------------
# 7.8: the share of MiniLM that LoRA trains
# ---------------------------------------------------------------------------------------------

MINILM_PARAMETERS = 22_713_216  # all-MiniLM-L6-v2, as the chapter counts it
MINILM_LAYERS, MINILM_WIDTH, LORA_RANK = 6, 384, 8


def _lora_share():
    """r(d_in + d_out) for query and value in each of the 6 layers, over MiniLM's parameters."""
    shapes = [(MINILM_WIDTH, MINILM_WIDTH)] * (2 * MINILM_LAYERS)
    return _lora_parameter_count(shapes, LORA_RANK) / MINILM_PARAMETERS


def _peft_lora_share():
    """peft's trainable count on a stand-in: 6 layers of 384 × 384 query and value."""
    import peft
    import torch

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.query = torch.nn.Linear(MINILM_WIDTH, MINILM_WIDTH)
            self.key = torch.nn.Linear(MINILM_WIDTH, MINILM_WIDTH)
            self.value = torch.nn.Linear(MINILM_WIDTH, MINILM_WIDTH)

    stand_in = torch.nn.ModuleList([Layer() for _ in range(MINILM_LAYERS)])
    config = peft.LoraConfig(r=LORA_RANK, lora_alpha=LORA_RANK, target_modules=["query", "value"])
    trainable, _ = peft.get_peft_model(stand_in, config).get_nb_trainable_parameters()
    return trainable / MINILM_PARAMETERS


_ADAPTED = 2 * MINILM_LAYERS  # query and value in each layer

LORA_SHARE = Exercise(
    id="7.8",
    name="lora_share",
    title="The share of MiniLM that LoRA trains",
    reference=_lora_share,
    oracle=_peft_lora_share,
    mistakes=(
        Mistake(
            "that is a percentage: give the share as a fraction (0.5 for half), not × 100.",
            lambda: 100 * _lora_share(),
        ),
        Mistake(
            "you adapted one matrix per layer: LoRA goes on the query *and* the value "
            "projection of each of the 6 layers, 12 matrices.",
            lambda: _lora_share() / 2,
        ),
        Mistake(
            "you counted the full 384 × 384 matrices: LoRA trains r(d_in + d_out) = 8 · 768 "
            "numbers per matrix, not d_in·d_out.",
            lambda: _ADAPTED * MINILM_WIDTH**2 / MINILM_PARAMETERS,
        ),
        Mistake(
            "you divided by the parameters after adding the adapters: the question asks for a "
            "share of the pretrained encoder's 22,713,216.",
            lambda: _lora_share() * MINILM_PARAMETERS / (MINILM_PARAMETERS + _ADAPTED * 6144),
        ),
    ),
    hints=(
        "Exercise 7.1 gives the count for a list of shapes: here 12 matrices of shape "
        "(384, 384) at r = 8.",
        "Divide that count by 22,713,216, the parameters of the pretrained encoder (without "
        "the adapters). The answer is a fraction, well below 1 %.",
    ),
)

EXERCISE_SET = ExerciseSet(
    chapter="7",
    title="Fine-tuning a pretrained model",
    notebook="07_fine_tuning",
    exercises=(
        LORA_PARAMETER_COUNT,
        LORA_FORWARD,
        LORA_MERGE,
        DISTILLATION_LOSS,
        L2_SP_GRADIENT,
        SOFT_WEIGHT_BY_EXPERIMENT,
        FIXED_CLASSIFIER,
        LORA_SHARE,
    ),
)
