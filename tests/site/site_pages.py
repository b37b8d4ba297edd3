"""What the site checks share: where things are, and the pages the book has."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("SITE_HTML", ROOT / "_build" / "html")).resolve()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
#: The site is served under a sub-path, as on GitHub Pages (https://ORG.github.io/REPO/).
SUB_PATH = "some/sub-path/"


def toc_pages() -> list[str]:
    """Every page of the book, as its path without extension (e.g. ``chapters/01_x``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part["chapters"]:
            pages.append(chapter["file"])
            pages.extend(section["file"] for section in chapter.get("sections", []))
    return pages


def tracked_files() -> set[str]:
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    return set(listing.stdout.splitlines())
