"""``make sync``: write the repository's address from ``_config.yml`` into every copy of it.

``_config.yml`` is the one place that says where the course lives (``repository.url``), which
release the notebooks install on Colab (``repository.release``) and where the site is published
(``html.baseurl``). Copies of these are needed where ``_config.yml`` cannot be read:

- ``utils/environment.py``: ``REPOSITORY``, ``RELEASE`` and ``SITE``, and from them
  ``SETUP_CELL``, the first code cell of every notebook;
- the notebooks: that setup cell, and Markdown links into the published site;
- ``requirements-colab.txt``, ``pyproject.toml``'s version, and the docs (``intro.md``,
  ``README.md``);
- ``exercises/``, regenerated from ``solutions/`` (``make sync`` runs ``utils.autocheck.build``
  after this module).

``python -m book.sync`` rewrites them all; ``python -m book.sync --check`` lists what differs
and exits 1 (the tests run it). Run from the repository root, or pass ``--root``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = "utils/environment.py"
DOCS = ("intro.md", "README.md")
NOTEBOOK_DIRS = ("chapters", "solutions")  # exercises/: from solutions/
CONSTANT = r'^{name} = "([^"]*)"'

REQUIREMENTS_COLAB = """\
# Colab already has numpy, matplotlib, torch, tensorflow, ipywidgets and scikit-learn.
# Installing only the course package (whose dependencies Colab already satisfies) keeps them
# untouched. Written by `make sync` from _config.yml. The setup cell of every notebook runs:
#   pip install --no-deps "optim-course @ git+{repository}@{release}"
optim-course @ git+{repository}@{release}
"""


def wanted(root: Path) -> dict[str, str]:
    """The three values as ``_config.yml`` states them."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    return {
        "REPOSITORY": config["repository"]["url"].rstrip("/"),
        "RELEASE": config["repository"]["release"],
        "SITE": config["html"]["baseurl"].rstrip("/") + "/",
    }


def current(root: Path) -> dict[str, str]:
    """The three values as ``utils/environment.py`` has them (read as text, not imported)."""
    text = (root / ENVIRONMENT).read_text()
    values = {}
    for name in ("REPOSITORY", "RELEASE", "SITE"):
        match = re.search(CONSTANT.format(name=name), text, re.MULTILINE)
        if not match:
            raise SystemExit(f'{ENVIRONMENT}: no line `{name} = "..."` to update')
        values[name] = match.group(1)
    return values


def _replace(text: str, old: dict[str, str], new: dict[str, str]) -> str:
    for name in ("SITE", "REPOSITORY"):
        text = text.replace(old[name], new[name])
    return text


def _stale_addresses(text: str, new: dict[str, str]) -> list[str]:
    """Addresses of this repository or its site that are not the current ones."""
    name = new["REPOSITORY"].rsplit("/", 1)[-1]
    pattern = rf"https://(?:github\.com/[\w.-]+/|[\w.-]+\.github\.io/){re.escape(name)}\b/?"
    return sorted(
        {
            m
            for m in re.findall(pattern, text)
            if m.rstrip("/") not in (new["REPOSITORY"], new["SITE"].rstrip("/"))
        }
    )


def planned_files(root: Path) -> dict[str, str]:
    """Every derived file's path and the text it should have."""
    old, new = current(root), wanted(root)
    files: dict[str, str] = {}

    environment = (root / ENVIRONMENT).read_text()
    for name, value in new.items():
        environment = re.sub(
            CONSTANT.format(name=name), f'{name} = "{value}"', environment, flags=re.MULTILINE
        )
    files[ENVIRONMENT] = environment
    namespace: dict = {}
    exec(compile(environment, ENVIRONMENT, "exec"), namespace)
    cell = namespace["SETUP_CELL"]

    for folder in NOTEBOOK_DIRS:
        for path in sorted((root / folder).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            first = next(c for c in nb.cells if c.cell_type == "code")
            first.source = cell
            # On the site the setup cell is folded away: its output (the device) is what counts.
            first.metadata["tags"] = sorted({*first.metadata.get("tags", []), "hide-input"})
            for c in nb.cells:
                if c.cell_type == "markdown":
                    c.source = _replace(c.source, old, new)
            files[str(path.relative_to(root))] = nbformat.writes(nb) + "\n"

    for doc in DOCS:
        files[doc] = _replace((root / doc).read_text(), old, new)
    files["requirements-colab.txt"] = REQUIREMENTS_COLAB.format(
        repository=new["REPOSITORY"], release=new["RELEASE"]
    )
    pyproject = (root / "pyproject.toml").read_text()
    files["pyproject.toml"] = re.sub(
        r'^version = "[^"]*"',
        f'version = "{new["RELEASE"].removeprefix("v")}"',
        pyproject,
        count=1,
        flags=re.MULTILINE,
    )
    return files


def drift(root: Path) -> list[str]:
    """What differs from ``_config.yml``: one line per file, empty when everything agrees."""
    new = wanted(root)
    problems = []
    for name, text in planned_files(root).items():
        path = root / name
        if path.read_text() != text:
            problems.append(f"{name}: differs from _config.yml")
        for address in _stale_addresses(text, new):
            problems.append(f"{name}: mentions {address}, which _config.yml does not")
    return problems  # exercises/ follows solutions/: `utils.autocheck.build --check` checks it


def sync(root: Path) -> list[str]:
    """Rewrite every derived file; return the ones that changed."""
    changed = []
    for name, text in planned_files(root).items():
        path = root / name
        if path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what differs")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    if args.check:
        problems = drift(args.root)
        for line in problems:
            print(line)
        if problems:
            print("Run `make sync` to write _config.yml's repository into every copy.")
        return 1 if problems else 0
    for name in sync(args.root):
        print(f"updated {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
