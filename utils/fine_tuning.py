"""Chapter 7's comparison of fine-tuning strategies, too long for the notebook's time budget.

    python -m utils.fine_tuning [--seeds 3] [--epochs 2] [--strategies ...] [--out FILE]

Every strategy classifies the course's reviews (``utils.data.reviews``: 360 training, 120
validation, 120 test reviews, negative/positive) starting from all-MiniLM-L6-v2
(``utils.pretrained``), except the small model trained from scratch. Each runs once per seed; the
script prints a Markdown table (test accuracy mean ± std over seeds, trainable parameters,
seconds per run) and writes every number to ``--out`` as JSON. Chapter 7 reads the run shipped
in ``utils/results/fine_tuning_strategies.json`` (:func:`shipped_results`; the tests re-run the
script and check that it still measures those numbers). After
each run it also measures what the encoder kept of its pretrained skill: the ROC AUC of the
cosine similarity on ``utils.data.paraphrase_pairs`` (1.0: every paraphrase scores above every
look-alike), the catastrophic-forgetting measure of the chapter.

The strategies:

- ``scratch``: a bag-of-embeddings model (MiniLM's tokenizer, a 64-wide embedding averaged over
  the tokens, a linear head), randomly initialised, trained for 30 epochs;
- ``linear probe``: the encoder frozen, a linear head fitted by logistic regression on its
  sentence vectors (computed once);
- ``full fine-tuning``: every weight trains, AdamW at 5e-5 (the head at 1e-3);
- ``discriminative rates``: as full, but each layer's rate 2.6 times smaller than the one above
  it, from 2e-4 at the top (Howard & Ruder 2018, ULMFiT);
- ``gradual unfreezing``: the head alone for one epoch, then three more layers per epoch from the
  top (ULMFiT): one epoch more than the other strategies;
- ``LoRA r=8``: rank-8 adapters on the query and value projections (``utils.lora``), the head
  trains too, AdamW at 1e-3;
- ``full + L2-SP``: full fine-tuning with α/2 ‖θ − θ₀‖² added to the loss, which pulls the
  encoder towards its pretrained weights θ₀ (Li, Grandvalet & Davoine 2018), α = 0.1.

A GPU is used when there is one. On 2 CPU cores the whole script takes about four minutes.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from types import SimpleNamespace

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from utils import lora, pretrained  # noqa: E402
from utils.data import paraphrase_pairs, reviews  # noqa: E402

MAX_LENGTH = 48  # tokens; the longest review has 22 words
BATCH_SIZE = 16
ENCODER_LR, HEAD_LR = 5e-5, 1e-3
LAYER_DECAY = 2.6  # ULMFiT's factor between the rates of neighbouring layers
TOP_LAYER_LR = 2e-4  # discriminative rates: the top layer's; 1.1e-5 by the fourth from the top
L2_SP = 0.1
STRATEGIES = (
    "scratch",
    "linear probe",
    "full fine-tuning",
    "discriminative rates",
    "gradual unfreezing",
    "LoRA r=8",
    "full + L2-SP",
)


class Classifier(torch.nn.Module):
    """A sentence encoder, mean pooling to a unit vector (as ``pretrained.embed``), and a linear
    head giving logits."""

    def __init__(self, encoder: torch.nn.Module, width: int, classes: int = 2):
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(width, classes)

    def forward(self, batch) -> torch.Tensor:
        hidden = self.encoder(**batch).last_hidden_state
        vector = pretrained.mean_pool(hidden, batch["attention_mask"])
        return self.head(torch.nn.functional.normalize(vector, dim=1))  # unit length, as embed


class BagOfEmbeddings(torch.nn.Module):
    """The from-scratch baseline: token embeddings averaged over the sentence."""

    def __init__(self, vocab_size: int, width: int = 64):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, width, padding_idx=0)

    def forward(self, input_ids, attention_mask, **_):
        return SimpleNamespace(last_hidden_state=self.embedding(input_ids))  # as BertModel's


def tokenize(tokenizer, texts, device):
    return tokenizer(
        list(texts), padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
    ).to(device)


def accuracy(model, tokenizer, texts, labels, device) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            logits = model(tokenize(tokenizer, texts[start : start + 64], device))
            correct += int((logits.argmax(1).cpu().numpy() == labels[start : start + 64]).sum())
    return correct / len(texts)


def paraphrase_auc(encoder, tokenizer) -> float:
    """ROC AUC of cosine similarity for telling paraphrases from look-alikes."""
    first, second, same = paraphrase_pairs()
    encoder.eval()
    a = pretrained.embed(first, tokenizer, encoder, max_length=MAX_LENGTH)
    b = pretrained.embed(second, tokenizer, encoder, max_length=MAX_LENGTH)
    return float(roc_auc_score(same, (a * b).sum(dim=1).numpy()))


def layer_groups(encoder) -> list[list[torch.nn.Parameter]]:
    """The encoder's parameters from the top: the 6 transformer layers, then the embeddings."""
    layers = [list(layer.parameters()) for layer in reversed(encoder.encoder.layer)]
    return layers + [list(encoder.embeddings.parameters())]


def make_model(strategy: str, base, tokenizer, device):
    """The model and the optimizer's parameter groups for ``strategy``."""
    if strategy == "scratch":
        model = Classifier(BagOfEmbeddings(tokenizer.vocab_size), 64)
        return model.to(device), [{"params": model.parameters(), "lr": 1e-2}]
    model = Classifier(copy.deepcopy(base), base.config.hidden_size).to(device)
    head = {"params": model.head.parameters(), "lr": HEAD_LR}
    if strategy == "linear probe":  # fitted by logistic regression, see train_probe
        model.encoder.requires_grad_(False)
        return model, [head]
    if strategy == "LoRA r=8":
        lora.add_lora(model.encoder, ("query", "value"), rank=8)
        adapters = [p for p in model.encoder.parameters() if p.requires_grad]
        return model, [{"params": adapters, "lr": 1e-3}, head]
    if strategy == "discriminative rates":
        groups = [
            {"params": params, "lr": TOP_LAYER_LR / LAYER_DECAY**depth}
            for depth, params in enumerate(layer_groups(model.encoder))
        ]
        return model, [*groups, head]
    return model, [{"params": model.encoder.parameters(), "lr": ENCODER_LR}, head]


def train_probe(model, tokenizer, texts, labels) -> None:
    """Fit the head alone, by logistic regression (scikit-learn, C = 1), on the frozen encoder's
    sentence vectors, computed once. A convex problem: the same head for every seed."""
    from sklearn.linear_model import LogisticRegression

    features = pretrained.embed(texts, tokenizer, model.encoder).numpy()
    fit = LogisticRegression(C=1.0, max_iter=2000).fit(features, labels)
    with torch.no_grad():  # logits (0, w·x + b): the same decisions as the fit's
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.weight[1] = torch.as_tensor(fit.coef_[0])
        model.head.bias[1] = float(fit.intercept_[0])


def train(strategy, seed, epochs, base, tokenizer, split, device) -> dict:
    torch.manual_seed(seed)
    model, groups = make_model(strategy, base, tokenizer, device)
    optimizer = torch.optim.AdamW(groups, weight_decay=0.0)
    pretrained_weights = [p.detach().clone() for p in model.encoder.parameters()]
    texts, labels = split.texts_train, split.y_train
    order_generator = torch.Generator().manual_seed(seed)
    n_epochs = {"scratch": 30, "gradual unfreezing": epochs + 1}.get(strategy, epochs)
    blocks = layer_groups(model.encoder) if strategy == "gradual unfreezing" else []
    start = time.perf_counter()
    if strategy == "linear probe":  # the encoder is frozen: its sentence vectors, once
        train_probe(model, tokenizer, texts, labels)
        n_epochs = 0
    for epoch in range(n_epochs):
        if strategy == "gradual unfreezing":  # the head alone, then 3 more groups per epoch
            for depth, params in enumerate(blocks):
                for param in params:
                    param.requires_grad_(depth < 3 * epoch)
        model.train()
        order = torch.randperm(len(texts), generator=order_generator)
        for first in range(0, len(texts), BATCH_SIZE):
            rows = order[first : first + BATCH_SIZE].numpy()
            logits = model(tokenize(tokenizer, [texts[i] for i in rows], device))
            target = torch.as_tensor(labels[rows], device=device)
            loss = torch.nn.functional.cross_entropy(logits, target)
            if strategy == "full + L2-SP":  # α/2 ‖θ − θ₀‖²
                loss = loss + L2_SP / 2 * sum(
                    (p - p0).pow(2).sum()
                    for p, p0 in zip(model.encoder.parameters(), pretrained_weights, strict=True)
                )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if strategy == "LoRA r=8":
        lora.merge_lora(model.encoder)  # plain Linear layers again: the same function
    return dict(
        test=accuracy(model, tokenizer, split.texts_test, split.y_test, device),
        val=accuracy(model, tokenizer, split.texts_val, split.y_val, device),
        seconds=seconds,
        trainable=trainable,
        paraphrase_auc=None if strategy == "scratch" else paraphrase_auc(model.encoder, tokenizer),
    )


def shipped_results() -> dict:
    """The results of ``python -m utils.fine_tuning`` (3 seeds, 2 epochs) that ship with the
    package: ``utils/results/fine_tuning_strategies.json``."""
    from importlib import resources

    path = resources.files("utils") / "results" / "fine_tuning_strategies.json"
    return json.loads(path.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    parser.add_argument("--out", default=None, help="write the results here as JSON")
    args = parser.parse_args()
    unknown = set(args.strategies) - set(STRATEGIES)
    if unknown:
        parser.error(f"unknown strategies {sorted(unknown)}; choose from {list(STRATEGIES)}")

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.use_deterministic_algorithms(True, warn_only=True)
    tokenizer, base = pretrained.load_minilm(device)
    split = reviews(seed=0)
    results = {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "epochs": args.epochs,
        "pretrained_paraphrase_auc": paraphrase_auc(base, tokenizer),
        "total_parameters": sum(p.numel() for p in base.parameters()),
        "strategies": {},
    }
    for strategy in args.strategies:
        runs = [
            train(strategy, seed, args.epochs, base, tokenizer, split, device)
            for seed in range(args.seeds)
        ]
        results["strategies"][strategy] = runs
        tests = [r["test"] for r in runs]
        print(
            f"{strategy}: test {np.mean(tests):.3f} ± {np.std(tests):.3f}, "
            f"{runs[0]['trainable']:,} trainable, {np.mean([r['seconds'] for r in runs]):.1f} s",
            flush=True,
        )
    print(
        "\n| strategy | test accuracy | trainable parameters | seconds per run | paraphrase AUC |"
    )
    print("|---|---|---:|---:|---:|")
    for strategy, runs in results["strategies"].items():
        tests = [r["test"] for r in runs]
        aucs = [r["paraphrase_auc"] for r in runs if r["paraphrase_auc"] is not None]
        auc = f"{np.mean(aucs):.3f}" if aucs else "—"
        print(
            f"| {strategy} | {np.mean(tests):.3f} ± {np.std(tests):.3f} | "
            f"{runs[0]['trainable']:,} | {np.mean([r['seconds'] for r in runs]):.1f} | {auc} |"
        )
    print(f"\npretrained encoder's paraphrase AUC: {results['pretrained_paraphrase_auc']:.3f}")
    if args.out:
        with open(args.out, "w") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
