"""A stand-in for a Google Colab runtime, to run the notebooks' setup cell as Colab runs it.

What Colab has, and how the stand-in copies it:

- **NumPy, torch and TensorFlow preinstalled, the course not.** A fresh virtual environment
  whose own site-packages hold a NumPy of another version than ours (Colab's rarely matches our
  pin) and a ``.pth`` file naming ``preinstalled/``: a folder of links to every package of the
  project's ``.venv`` except NumPy and the course itself (its dist-info and the hooks of its
  editable install). A plain path in a ``.pth`` file does not run the ``.pth`` files inside it,
  and nothing named ``utils`` is linked, so ``import utils`` fails until the setup cell installs it.
  Installing other builds of torch or TensorFlow would cost gigabytes; linking costs nothing.
- **``google.colab`` imported in every kernel**, which is how the setup cell knows where it is.
  A stub ``google/colab/__init__.py`` in a folder of its own, with no ``google/__init__.py``:
  ``google`` stays a namespace package, so protobuf's ``google.protobuf`` (TensorFlow needs it)
  still imports. The same ``.pth`` file imports it at interpreter start.
- **The repository on GitHub.** A clone of the project's working tree (its uncommitted changes
  committed in the clone), tagged with the book's release. Git is sent there instead of GitHub by
  ``url.<clone>.insteadOf`` given in ``GIT_CONFIG_*`` environment variables of the kernel only:
  the user's git configuration is neither read nor changed.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

KERNEL_NAME = "colab-standin"


def left_out(name: str) -> bool:
    """What the stand-in must not see of the project's ``.venv``: the course (only the setup cell
    may install it), NumPy (the stand-in has a version of its own) and every ``.pth`` file."""
    course = name.startswith(("optim_course-", "__editable__"))
    return (
        course
        or name == "numpy"
        or name.startswith(("numpy-", "numpy.libs"))
        or (name.endswith(".pth"))
    )


#: Reads what is installed and what can be imported, without importing the heavy packages.
SNAPSHOT = """\
import importlib.metadata as metadata, importlib.util, json, re, sys
modules = {}
for name in ("numpy", "torch", "tensorflow", "keras", "utils"):
    spec = importlib.util.find_spec(name)
    modules[name] = spec.origin if spec else None
distributions = sorted(
    [re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(), d.version, str(d.locate_file(""))]
    for d in metadata.distributions()
)
print(json.dumps({"colab": "google.colab" in sys.modules, "modules": modules,
                  "distributions": distributions}))
"""


@dataclass(frozen=True)
class Runtime:
    """A stand-in Colab runtime: its interpreter, its site-packages and the kernel that runs it."""

    root: Path
    python: Path
    site_packages: Path
    preinstalled: Path
    kernels: Path

    def snapshot(self, cwd: Path) -> dict:
        """What the runtime's python sees: where the heavy modules and ``utils`` would import
        from, and every distribution (its normalized name, version and folder)."""
        run = subprocess.run(
            [str(self.python), "-c", SNAPSHOT],
            cwd=cwd,
            env=clean_environment(self),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(run.stdout)

    def dist_infos(self) -> set[str]:
        """The ``*.dist-info`` folders in the runtime's own site-packages."""
        return {p.name for p in self.site_packages.glob("*.dist-info")}


def git(*args: str, cwd: Path, quiet_config: bool = False) -> str:
    """Run git without environment variables a caller may have set (a hook's GIT_DIR)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    if quiet_config:  # for the clone only: nobody's hooks, signing or templates
        env |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    identity = ["-c", "user.name=Colab stand-in", "-c", "user.email=standin@example.invalid"]
    run = subprocess.run(
        ["git", *identity, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {run.stderr.strip()}")
    return run.stdout


def make_runtime(root: Path, source: Path, numpy_version: str) -> Runtime:
    """Create the stand-in runtime in ``root``, its preinstalled packages linked from the
    site-packages folder ``source`` (see the module's docstring)."""
    preinstalled = root / "preinstalled"
    preinstalled.mkdir(parents=True)
    for entry in source.iterdir():
        if not left_out(entry.name):
            (preinstalled / entry.name).symlink_to(entry)

    stub = root / "colab-stub" / "google" / "colab"
    stub.mkdir(parents=True)  # and no google/__init__.py: protobuf's google must stay reachable
    (stub / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab (tests only)."""\n')

    # No pip of its own: `python -m pip` is the project's pip, seen through preinstalled/.
    venv = root / "runtime"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site_packages / "colab_runtime.pth").write_text(
        f"{preinstalled}\n{stub.parent.parent}\nimport google.colab\n"
    )
    runtime = Runtime(root, python, site_packages, preinstalled, root / "kernels")

    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", f"numpy=={numpy_version}"],
        env=clean_environment(runtime),
        capture_output=True,
        text=True,
    )
    if install.returncode:
        raise RuntimeError(f"could not install numpy=={numpy_version}: {install.stderr.strip()}")

    spec = runtime.kernels / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Colab stand-in", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return runtime


def clean_environment(runtime: Runtime) -> dict[str, str]:
    """This process's environment, less what would let the runtime see the project or git's
    configuration of whoever runs the tests; the runtime's ``bin`` comes first on PATH."""
    dropped = (
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "VIRTUAL_ENV",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
    )
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("GIT_")}
    env["PATH"] = f"{runtime.python.parent}{os.pathsep}{env.get('PATH', '')}"
    env |= {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return env


def redirect_git(env: dict[str, str], repository: str, served_at: str) -> dict[str, str]:
    """``env`` plus git configuration that fetches ``repository`` from ``served_at`` instead."""
    return env | {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{served_at}.insteadOf",
        "GIT_CONFIG_VALUE_0": repository,
    }


def release_clone(work_tree: Path, target: Path, release: str) -> Path:
    """A clone of ``work_tree`` as it is now (uncommitted and untracked, not ignored, files
    committed), with ``release`` tagged on it: what the setup cell will install."""
    git("clone", "--quiet", "--no-local", str(work_tree), str(target), cwd=work_tree.parent)
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=work_tree)
    for name in filter(None, listed.split("\0")):
        source, copy = work_tree / name, target / name
        if source.is_symlink() or source.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.unlink(missing_ok=True)
            shutil.copy2(source, copy, follow_symlinks=False)
        elif not source.exists():  # deleted in the working tree, not yet in a commit
            copy.unlink(missing_ok=True)
    git("add", "--all", cwd=target, quiet_config=True)
    if git("status", "--porcelain", cwd=target, quiet_config=True).strip():
        git(
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "The working tree under test",
            cwd=target,
            quiet_config=True,
        )
    git("tag", "--force", release, cwd=target, quiet_config=True)
    return target


def closed_port() -> int:
    """A local TCP port on which nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _AskForPassword(http.server.BaseHTTPRequestHandler):
    """Answers every request as GitHub answers one for a private or missing repository."""

    def _unauthorized(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="x"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = _unauthorized

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


@contextmanager
def password_protected_server() -> Iterator[str]:
    """Serve 401 with ``WWW-Authenticate: Basic`` on a local port; yield a repository URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AskForPassword)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/repo.git"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_in_kernel(
    runtime: Runtime, cells: list[str], env: dict[str, str], cwd: Path, timeout: int
) -> tuple[list, list[float]]:
    """Run ``cells`` in a fresh kernel of the runtime; return the executed cells and how many
    seconds each took. A cell that raises fails the call (nbclient's CellExecutionError)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    km = AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(runtime.kernels)]),
    )
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        startup_timeout=120,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(cwd)}},
    )
    seconds = []
    with client.setup_kernel(env=env, cleanup_kc=True):
        for index, cell in enumerate(nb.cells):
            start = time.monotonic()
            client.execute_cell(cell, index)
            seconds.append(time.monotonic() - start)
    return nb.cells, seconds


def text_of(cell) -> tuple[str, list[str]]:
    """A cell's printed text, and the kinds of its other outputs (errors, displays, stderr)."""
    text, other = "", []
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stdout":
            text += output.text
        else:
            other.append(output.get("name") or output.output_type)
    return text, other
