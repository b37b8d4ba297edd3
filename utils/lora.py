r"""LoRA, low-rank adaptation (Hu et al. 2021), from scratch in PyTorch.

Fine-tuning a pretrained weight matrix :math:`W_0 \in \mathbb{R}^{d_{out} \times d_{in}}` changes
it by some :math:`\Delta W`. LoRA freezes :math:`W_0` and learns that change as a product of two
thin matrices, :math:`\Delta W = \frac{\alpha}{r} B A` with :math:`B \in \mathbb{R}^{d_{out}
\times r}`, :math:`A \in \mathbb{R}^{r \times d_{in}}` and a small rank :math:`r`:

.. math::

    h = W_0 x + \frac{\alpha}{r} B A x

Each adapted matrix then trains :math:`r (d_{in} + d_{out})` numbers instead of
:math:`d_{in} d_{out}`: for a 384 × 384 attention projection and :math:`r = 8`, 6,144 instead of
147,456. :math:`B` starts at zero, so the adapted model starts as exactly the pretrained one, and
after training :math:`B A` can be added into :math:`W_0` (:func:`merge_lora`), so inference costs
nothing extra.

- :class:`LoRALinear` — a frozen ``torch.nn.Linear`` plus the trainable low-rank update.
- :func:`add_lora` — freeze a model and wrap the named Linear layers (``"query"``, ``"value"``).
- :func:`merge_lora` — fold every update back into a plain ``torch.nn.Linear``.
- :func:`count_parameters` — ``(trainable, total)``, to see how little LoRA trains.

The initialisation and scaling follow Hugging Face ``peft``'s defaults, and the tests check that
this module and ``peft`` compute the same function.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

__all__ = ["LoRALinear", "add_lora", "merge_lora", "count_parameters"]


def _check_rank(rank) -> None:
    # bool is an int in Python, but rank=True is surely a mistake.
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be an integer >= 1, got {rank!r}")


def _check_alpha(alpha) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
    if not math.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")


def _check_dropout(dropout) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
        raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")


class LoRALinear(torch.nn.Module):
    r"""A frozen ``torch.nn.Linear`` plus a trainable low-rank update:
    :math:`h = W_0 x + \frac{\alpha}{r} B A x`.

    Only ``lora_A`` (``rank × in_features``) and ``lora_B`` (``out_features × rank``) train:
    :math:`r (d_{in} + d_{out})` numbers instead of the :math:`d_{in} d_{out}` of ``base.weight``.
    ``A`` is initialised like ``peft`` (and ``torch.nn.Linear``) do, ``kaiming_uniform_`` with
    ``a = √5``, and ``B`` to zeros, so that :math:`B A = 0` and the layer starts as ``base``.

    Args:
        base: the pretrained layer. It is kept as ``self.base`` and frozen (``requires_grad``
            is set to ``False`` on its weight and bias).
        rank: :math:`r`, the rank of the update, an integer ``>= 1``.
        alpha: :math:`\alpha`, a positive number; the update is scaled by ``alpha / rank``.
            Defaults to ``rank`` (scaling 1). Keeping ``alpha`` fixed while trying several
            ranks keeps the size of the update roughly comparable, as in the paper.
        dropout: probability of dropping an input of the LoRA branch only (``base`` sees the
            whole input), in ``[0, 1)``. Defaults to 0.
    """

    def __init__(
        self,
        base: torch.nn.Linear,
        rank: int = 8,
        alpha: float | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        if not isinstance(base, torch.nn.Linear):
            raise ValueError(
                f"base must be a torch.nn.Linear, got {type(base).__module__}.{type(base).__name__}"
            )
        _check_rank(rank)
        if alpha is None:
            alpha = rank
        _check_alpha(alpha)
        _check_dropout(dropout)

        self.base = base
        self.base.requires_grad_(False)
        self.rank = rank
        self.alpha = float(alpha)
        self.scaling = self.alpha / rank  # α / r
        self.dropout = torch.nn.Dropout(dropout) if dropout > 0 else torch.nn.Identity()

        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = torch.nn.Parameter(torch.empty(rank, base.in_features, **factory))
        self.lora_B = torch.nn.Parameter(torch.empty(base.out_features, rank, **factory))
        self.reset_lora_parameters()

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    def reset_lora_parameters(self) -> None:
        """A ~ kaiming_uniform(a=√5), B = 0: the update B A starts at zero."""
        torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        torch.nn.init.zeros_(self.lora_B)

    def delta_weight(self) -> torch.Tensor:
        """The update the adapter adds to the weight, ΔW = (α/r) B A, shape (d_out, d_in)."""
        return (self.lora_B @ self.lora_A) * self.scaling  # ΔW = (α/r) B A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # h = W₀x + (α/r) B A x, computed as x Aᵀ Bᵀ: two thin products, never the d_out × d_in ΔW
        lora_update = self.dropout(x) @ self.lora_A.T @ self.lora_B.T * self.scaling
        return self.base(x) + lora_update

    @torch.no_grad()
    def merged(self) -> torch.nn.Linear:
        """A plain ``torch.nn.Linear`` with W = W₀ + (α/r) B A and ``base``'s bias.

        Same device and dtype as ``base``; ``self`` is left unchanged. Without dropout (or in
        eval mode) it computes the same function as ``self``, with no extra cost per call.
        """
        weight = self.base.weight
        merged = torch.nn.Linear(
            self.in_features,
            self.out_features,
            bias=self.base.bias is not None,
            device=weight.device,
            dtype=weight.dtype,
        )
        merged.weight.copy_(weight + self.delta_weight())  # W = W₀ + (α/r) B A
        if self.base.bias is not None:
            merged.bias.copy_(self.base.bias)
        return merged

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha:g}, scaling={self.scaling:g}"


def _set_submodule(model: torch.nn.Module, name: str, module: torch.nn.Module) -> None:
    """Replace ``model``'s submodule at dotted path ``name`` by ``module``."""
    parent_name, _, child_name = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child_name, module)


def add_lora(
    model: torch.nn.Module,
    target_modules: Iterable[str] = ("query", "value"),
    rank: int = 8,
    alpha: float | None = None,
    dropout: float = 0.0,
) -> list[str]:
    r"""Freeze ``model`` and wrap its target Linear layers in :class:`LoRALinear`, in place.

    Every parameter of ``model`` gets ``requires_grad = False``; then each ``torch.nn.Linear``
    whose name ends in one of ``target_modules`` (``"query"`` matches
    ``encoder.layer.0.attention.self.query``) is replaced by a :class:`LoRALinear` around it.
    Only the new ``lora_A``/``lora_B`` train: :math:`r (d_{in} + d_{out})` numbers per adapted
    matrix instead of :math:`d_{in} d_{out}`. The paper adapts the query and value projections.

    Returns:
        The dotted names of the replaced modules, in the order ``named_modules`` visits them.

    Raises:
        ValueError: for a bad ``rank``/``alpha``/``dropout``, or if no Linear layer's name
            ends in one of ``target_modules``.
    """
    if isinstance(target_modules, str):
        target_modules = (target_modules,)  # "query" alone, not the letters q, u, e, r, y
    targets = set(target_modules)
    _check_rank(rank)
    if alpha is not None:
        _check_alpha(alpha)
    _check_dropout(dropout)

    linear_names = [
        name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)
    ]
    # A Linear already inside a LoRALinear is its frozen `.base`: never wrap it a second time.
    wrapped_bases = {
        name + ".base" for name, module in model.named_modules() if isinstance(module, LoRALinear)
    }
    replaced = [
        name
        for name in linear_names
        if name.rpartition(".")[2] in targets and name not in wrapped_bases
    ]
    if not replaced:
        examples = ", ".join(repr(name) for name in linear_names[:5]) or "none"
        raise ValueError(
            f"target_modules {sorted(targets)} matched no torch.nn.Linear in the model; "
            f"expected the last part of a Linear's name, e.g. one of {examples}"
            + (f" ({len(linear_names)} Linear layers in all)" if len(linear_names) > 5 else "")
        )
    model.requires_grad_(False)  # only after the checks: a failed call leaves the model alone
    for name in replaced:
        layer = LoRALinear(model.get_submodule(name), rank=rank, alpha=alpha, dropout=dropout)
        _set_submodule(model, name, layer)
    return replaced


def merge_lora(model: torch.nn.Module) -> int:
    """Replace every :class:`LoRALinear` in ``model`` by its :meth:`~LoRALinear.merged` Linear.

    In place; returns how many were replaced. The merged weights W₀ + (α/r) B A are frozen like
    the rest of the model, which now has the pretrained architecture again.
    """
    if isinstance(model, LoRALinear):
        raise ValueError(
            "model is itself a LoRALinear, expected a model containing some; "
            "call model.merged() instead"
        )
    names = [name for name, module in model.named_modules() if isinstance(module, LoRALinear)]
    for name in names:
        merged = model.get_submodule(name).merged()
        merged.requires_grad_(False)
        _set_submodule(model, name, merged)
    return len(names)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` numbers of parameters, each shared parameter counted once."""
    parameters = list(model.parameters())  # .parameters() already skips shared duplicates
    trainable = sum(p.numel() for p in parameters if p.requires_grad)
    total = sum(p.numel() for p in parameters)
    return trainable, total
