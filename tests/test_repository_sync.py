"""`_config.yml` is the one place for the repository's address; every copy follows it."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import yaml

from book import sync

ROOT = Path(__file__).resolve().parents[1]


def test_every_copy_agrees_with_config():
    assert sync.drift(ROOT) == [], "run `make sync`"


def _copy_of_the_repository(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in ("_config.yml", "pyproject.toml", "requirements-colab.txt", *sync.DOCS):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    for folder in (*sync.NOTEBOOK_DIRS, "utils"):
        shutil.copytree(ROOT / folder, root / folder, dirs_exist_ok=True)
    return root


def test_a_moved_repository_is_found_and_sync_rewrites_every_copy(tmp_path):
    root = _copy_of_the_repository(tmp_path)
    config_path = root / "_config.yml"
    config = config_path.read_text()
    old = sync.wanted(root)
    config = config.replace(
        old["REPOSITORY"], "https://github.com/someone/optimizing-and-fine-tuning"
    )
    config = config.replace(f"release: {old['RELEASE']}", "release: v9.8.7")
    config = config.replace(old["SITE"], "https://someone.github.io/optimizing-and-fine-tuning/")
    config_path.write_text(config)
    assert yaml.safe_load(config)["repository"]["release"] == "v9.8.7"

    problems = sync.drift(root)
    stale = {line.split(":")[0] for line in problems}
    assert {
        "utils/environment.py",
        "requirements-colab.txt",
        "pyproject.toml",
        "intro.md",
        "chapters/01_loss_functions.ipynb",
        "solutions/04_learning_rate.ipynb",
    } <= stale

    sync.sync(root)
    assert sync.drift(root) == []
    texts = {p: p.read_text() for p in root.rglob("*") if p.is_file() and p.name != "_config.yml"}
    assert not [p for p, t in texts.items() if old["REPOSITORY"] in t or old["SITE"] in t]
    first = next(
        c
        for c in nbformat.read(root / "chapters/02_gradient_descent.ipynb", 4).cells
        if c.cell_type == "code"
    )
    assert 'repository = "https://github.com/someone/optimizing-and-fine-tuning"' in first.source
    assert 'course = f"git+{repository}@v9.8.7"' in first.source
    assert 'version = "9.8.7"' in (root / "pyproject.toml").read_text()
    assert "@v9.8.7" in (root / "requirements-colab.txt").read_text()


def test_a_stale_address_left_in_a_doc_is_reported(tmp_path):
    root = _copy_of_the_repository(tmp_path)
    intro = root / "intro.md"
    intro.write_text(
        intro.read_text() + "\nSee https://github.com/other/optimizing-and-fine-tuning.\n"
    )
    assert any("intro.md: mentions https://github.com/other/" in p for p in sync.drift(root))
