"""Device detection shared by the setup cell of every notebook.

Nothing here imports TensorFlow: notebooks that do not need it should not pay its import time.
"""

from __future__ import annotations

import importlib.util
import os

#: Where the course lives. Derived from ``_config.yml`` by ``make sync``; a test checks they agree.
REPOSITORY = "https://github.com/optim-course/optimizing-and-fine-tuning"
RELEASE = "v0.2.0"  # the tag whose `utils` the notebooks install on Colab
SITE = "https://optim-course.github.io/optimizing-and-fine-tuning/"

#: The first code cell of every notebook (chapters, exercises, solutions), verbatim.
#: On Colab it installs this package at ``RELEASE`` without its dependencies, so Colab's own
#: torch, TensorFlow and NumPy stay as they are. It never waits at a git password prompt, gives
#: up after 60 s, and says in one line what went wrong; elsewhere it installs nothing.
SETUP_CELL = f"""\
# Setup: on Colab, install the course's `utils` at this book's release (Colab's torch,
# TensorFlow and NumPy stay as they are). Then say where PyTorch will run.
import sys

error = None
if "google.colab" in sys.modules:
    import os
    import subprocess

    repository = "{REPOSITORY}"
    course = f"git+{{repository}}@{RELEASE}"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", course]
    # Fail rather than wait at a password prompt; no colour codes in pip's messages.
    env = {{**os.environ, "GIT_TERMINAL_PROMPT": "0", "NO_COLOR": "1", "FORCE_COLOR": ""}}
    try:
        run = subprocess.run(pip, env=env, capture_output=True, text=True, timeout=60)
        lines = [x.strip() for x in run.stderr.splitlines() if x.strip()]
        reasons = [x for x in lines if x.startswith(("fatal:", "error: pathspec"))]
        error = run.returncode and (reasons + lines[-1:] + ["pip failed"])[0]
    except subprocess.TimeoutExpired:
        error = "no answer within 60 s"
if error:
    print(f"Setup failed: could not install {{course}} ({{error}}). Check that the "
          "runtime is online and the repository is public, then run this cell again.")
else:
    from utils.environment import setup_notebook

    setup_notebook()"""


def torch_device() -> str:
    """Return ``"cuda"`` when PyTorch sees a GPU, else ``"cpu"`` (also when torch is missing)."""
    if importlib.util.find_spec("torch") is None:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def configure_tensorflow() -> None:
    """Settings TensorFlow reads once, when it is first imported.

    Must run before that import; the setup cell does it through :func:`describe_device`.

    - ``TF_CPP_MIN_LOG_LEVEL=2`` keeps TensorFlow's C++ start-up chatter out of notebook outputs.
    - ``TF_ENABLE_ONEDNN_OPTS=0`` makes CPU results reproducible (oneDNN may reorder sums).
    - ``TF_FORCE_GPU_ALLOW_GROWTH=true``: on a GPU, TensorFlow takes memory as it needs it
      instead of all of it at start-up, so PyTorch cells in the same notebook still run.

    Values a user already set are kept.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")


def configure_matplotlib() -> None:
    """Draw inline figures at twice the pixel density, so they stay sharp on phones and laptops."""
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # not in a Jupyter kernel
        return
    set_matplotlib_formats("retina")


def describe_device() -> str:
    """One line saying where the course's PyTorch code will run."""
    if torch_device() == "cuda":
        import torch

        return f"PyTorch will use the GPU: {torch.cuda.get_device_name(0)}"
    return "PyTorch will use the CPU (no GPU found); every notebook is sized to run fast on it."


def setup_notebook() -> None:
    """What the setup cell of every notebook does once ``utils`` is importable.

    Configure TensorFlow (before it is imported) and matplotlib, and print where PyTorch runs.
    """
    configure_tensorflow()
    configure_matplotlib()
    print(describe_device())
