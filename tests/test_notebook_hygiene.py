"""Every notebook is stored clean, starts with the shared setup cell, and is part of the book."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from utils.environment import SETUP_CELL

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("chapters", "exercises", "solutions")
NOTEBOOKS = sorted(p for d in NOTEBOOK_DIRS for p in (ROOT / d).glob("*.ipynb"))


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def _toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {toc["root"]}
    for part in toc.get("parts", []):
        for chapter in part["chapters"]:
            files.add(chapter["file"])
            files.update(section["file"] for section in chapter.get("sections", []))
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in chapters/, exercises/ or solutions/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; run nbstripout"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_uses_python3_kernel(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_code_cell_is_the_shared_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert first_code.source.strip() == SETUP_CELL.strip(), (
        f"{path.name}: the first code cell must be utils.environment.SETUP_CELL verbatim"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_in_the_table_of_contents(path):
    page = str(path.relative_to(ROOT).with_suffix(""))
    assert page in _toc_files(), f"{page} is missing from _toc.yml"


def test_every_toc_entry_exists():
    missing = [
        f
        for f in _toc_files()
        if not any((ROOT / f).with_suffix(ext).exists() for ext in (".md", ".ipynb"))
    ]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_sphinx_config_keeps_jupyter_book_defaults():
    """Setting these under sphinx.config replaces Jupyter Book's own values (README, pitfalls)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx_config = config.get("sphinx", {}).get("config", {})
    assert "html_theme_options" not in sphinx_config, "drops the launch and repository buttons"
    assert "myst.domains" in sphinx_config.get("suppress_warnings", ["myst.domains"])
