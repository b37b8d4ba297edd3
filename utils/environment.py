"""Device detection shared by the setup cell of every notebook.

Nothing here imports TensorFlow: notebooks that do not need it should not pay its import time.
"""

from __future__ import annotations

import importlib.util
import os

#: The first code cell of every notebook (chapters, exercises, solutions), verbatim.
#: On Colab it installs this package without its dependencies, so Colab's own torch,
#: TensorFlow and NumPy stay as they are; elsewhere it installs nothing.
SETUP_CELL = """\
# Setup: on Colab, install the course's `utils` without touching Colab's torch, TensorFlow or NumPy.
import sys

if "google.colab" in sys.modules:
    %pip install -q --no-deps "optim-course @ git+https://github.com/optim-course/optimizing-and-fine-tuning@main"

from utils.environment import describe_device

describe_device()"""


def torch_device() -> str:
    """Return ``"cuda"`` when PyTorch sees a GPU, else ``"cpu"`` (also when torch is missing)."""
    if importlib.util.find_spec("torch") is None:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up chatter out of notebook outputs.

    Must run before TensorFlow is first imported; the setup cell does it through
    :func:`describe_device`. ``TF_ENABLE_ONEDNN_OPTS=0`` also makes CPU results reproducible
    (oneDNN may reorder floating-point sums). Values a user already set are kept.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def describe_device() -> None:
    """Print one line saying where the course's PyTorch code will run.

    Called by the setup cell of every notebook, it also calls :func:`quiet_tensorflow`.
    """
    quiet_tensorflow()
    device = torch_device()
    if device == "cuda":
        import torch

        message = f"PyTorch will use the GPU: {torch.cuda.get_device_name(0)}"
    else:
        message = "PyTorch will use the CPU (no GPU found); every notebook is sized to run fast on it."
    print(message)
