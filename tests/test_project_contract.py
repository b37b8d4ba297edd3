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


def test_torch_and_jupyter_book_are_pinned():
    """Exact pins only: which *build* of torch pip takes depends on the index (TORCH_INDEX).

    What platform each pin resolves to is checked against PyPI in test_install_platforms.py.
    """
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", requirements, re.MULTILINE)
    assert re.search(r"^jupyter-book==1\.", requirements, re.MULTILINE), "Jupyter Book 1.x only"


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_torch_index_installs_torch_from_that_index_before_the_requirements():
    plan = _make("-n", "-B", "install", "TORCH_INDEX=https://example.invalid/whl/cpu").stdout
    lines = plan.splitlines()
    torch = [
        i for i, line in enumerate(lines) if "--index-url https://example.invalid/whl/cpu" in line
    ]
    requirements = [i for i, line in enumerate(lines) if "-r requirements.txt" in line]
    assert torch and requirements and torch[0] < requirements[0], plan
    assert "torch==" in " ".join(lines[torch[0] : torch[0] + 2]), plan
    assert "--index-url" not in _make("-n", "-B", "install").stdout


def test_python_311_or_newer_is_stated_everywhere_it_is_stated():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["requires-python"] == ">=3.11"
    for doc in ("README.md", "intro.md"):
        text = (ROOT / doc).read_text()
        assert "Python 3.11 or newer" in text, doc
        assert not re.search(r"Python 3\.(?:[0-9]|10)\b(?!\.)", text.replace("3.11", "")), doc


def test_make_refuses_an_old_python_with_a_clear_message(tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\nexec python3 -c 'import sys; sys.exit(1)' \"$@\"\n")
    fake.chmod(0o755)
    result = _make("-B", "install", f"PYTHON={fake}", f"VENV={tmp_path / 'venv'}")
    assert result.returncode != 0
    assert "needs Python 3.11 or newer" in result.stdout + result.stderr


def test_make_serve_without_a_site_says_what_to_run(tmp_path):
    result = _make("serve", f"SITE={tmp_path / 'nothing'}")
    assert result.returncode != 0
    assert "run 'make book' first" in result.stdout + result.stderr


def test_make_lab_opens_jupyterlab_from_the_venv():
    plan = _make("-n", "lab").stdout
    assert re.search(r"/\.venv/bin/jupyter lab\b", plan), plan
    assert re.search(r"^jupyterlab==", (ROOT / "requirements.txt").read_text(), re.MULTILINE)


def test_tensorflow_is_chosen_by_platform():
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(r'^tensorflow-cpu==[\d.]+; sys_platform == "linux"', requirements, re.M)
    assert re.search(r'^tensorflow==[\d.]+; sys_platform == "darwin"', requirements, re.M)


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
