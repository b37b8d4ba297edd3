"""Checks of the built site, run by `make test` right after the book is built.

The directory comes from $SITE_HTML (default: _build/html). These tests fail, rather than skip,
when the site is missing: they only run after a build.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("SITE_HTML", ROOT / "_build" / "html"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"]["branch"]
NOTEBOOK_PAGES = sorted(
    str(p.relative_to(ROOT).with_suffix(""))
    for d in ("chapters", "exercises", "solutions")
    for p in (ROOT / d).glob("*.ipynb")
)


def _html(page: str) -> str:
    path = SITE / f"{page}.html"
    assert path.exists(), f"{path} was not built"
    return path.read_text(encoding="utf-8")


def test_home_page_and_glossary():
    assert "Who this course is for" in _html("intro")
    glossary = _html("glossary")
    for chinese, english in [("梯度下降", "gradient descent"), ("小批量", "mini-batch"),
                             ("微调", "fine-tuning"), ("学习率衰减", "learning-rate decay")]:
        assert chinese in glossary and english in glossary, (chinese, english)


def test_repository_and_issue_buttons():
    html = _html("intro")
    assert f'href="{REPO_URL}"' in html
    assert f'href="{REPO_URL}/issues/new?title=Issue%20on%20page%20%2Fintro.html' in html
    assert f"{REPO_URL}/edit/{BRANCH}/intro.md" in html


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_page_has_colab_and_binder_launch_buttons(page):
    html = _html(page)
    slug = REPO_URL.removeprefix("https://github.com/")
    colab = f"https://colab.research.google.com/github/{slug}/blob/{BRANCH}/{page}.ipynb"
    assert colab in html, f"{page}: no Colab button pointing at {colab}"
    assert re.search(rf"https://mybinder\.org/v2/gh/{re.escape(slug)}/{BRANCH}\?", html), page


def test_no_execution_error_reports():
    reports = SITE / "reports"
    logs = sorted(reports.glob("*.log")) if reports.exists() else []
    assert not logs, f"notebooks failed to execute: {[p.name for p in logs]}"
