"""Promises the README makes about set-up, kept true by tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make book" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE), ".ci/run must call `make test`"


def test_torch_is_pinned_to_the_cpu_build_on_disk():
    """A bare `torch` or a newer pin pulls a multi-GB CUDA build on CI."""
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", requirements, re.MULTILINE)
    assert re.search(r"^jupyter-book==1\.", requirements, re.MULTILINE), "Jupyter Book 1.x only"


def test_importing_utils_and_its_numpy_modules_imports_no_framework():
    code = (
        "import sys, utils, utils.environment, utils.optim; "
        "bad = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_colab_install_cannot_replace_colabs_frameworks():
    """The setup cell installs the package with --no-deps, and its own dependencies stay loose."""
    import tomllib

    from utils.environment import SETUP_CELL

    assert "--no-deps" in SETUP_CELL and 'if "google.colab" in sys.modules:' in SETUP_CELL
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in dependencies if d.startswith(("torch", "tensorflow", "keras"))]
    assert not [d for d in dependencies if "==" in d], "pins would fight Colab's versions"
