"""`requirements.txt` resolves from PyPI for Linux x86_64 and for macOS arm64, with Python 3.11.

What this verifies: pip, asked to install ``requirements.txt`` for each platform (``--dry-run``,
wheels only, ``--platform`` tags of that machine, Python 3.11, CPython) against PyPI alone
(``--isolated`` and ``PIP_CONFIG_FILE=/dev/null``: none of this machine's wheel folders,
indexes or constraints), finds a wheel for every package, and its JSON report shows

- every pin of ``requirements.txt`` that applies to the platform installed at its pinned version
  (``torch==2.13.0`` on both);
- ``tensorflow-cpu`` on Linux and ``tensorflow`` on macOS, never the other one;
- on Linux, PyPI's ``torch`` is the CUDA build: it pulls ``nvidia-*`` packages (and triton),
  gigabytes that a CPU-only machine does not need, which is why the Makefile offers
  ``TORCH_INDEX``; on macOS, no ``nvidia-*`` package and no triton.

pip evaluates environment markers (``; sys_platform == "linux"``) against the interpreter that
runs it, not against ``--platform`` (pypa/pip#11664), so pip runs here with its marker environment
replaced by the target machine's; the report's ``environment`` shows that it was.

What it cannot verify: the CPU-only index (``TORCH_INDEX``) at download.pytorch.org is out of
reach here, so nothing says its ``torch==2.13.0+cpu`` wheels exist for Python 3.11; nothing is
downloaded, built or imported, so a wheel that resolves but fails to import on that machine
goes unnoticed; and macOS versions older than 14 are not tried. When PyPI cannot be reached,
the tests are skipped, not failed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "3.11"

#: The wheel tags each machine accepts (pip expands a macOS tag to the older ones itself, not a
#: manylinux one), and the marker environment its pip would use.
PLATFORMS = {
    "linux-x86_64": {
        "tags": [f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)]
        + ["manylinux2014_x86_64"],
        "markers": {
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": "x86_64",
            "os_name": "posix",
        },
    },
    "macos-arm64": {
        "tags": ["macosx_14_0_arm64"],
        "markers": {
            "sys_platform": "darwin",
            "platform_system": "Darwin",
            "platform_machine": "arm64",
            "os_name": "posix",
            "platform_release": "23.0.0",
        },
    },
}
PYTHON_MARKERS = {
    "python_version": PYTHON,
    "python_full_version": f"{PYTHON}.0",
    "implementation_name": "cpython",
    "implementation_version": f"{PYTHON}.0",
    "platform_python_implementation": "CPython",
}

#: Runs pip with the marker environment given as JSON in argv[1]; pip's arguments follow.
PIP_FOR_ANOTHER_MACHINE = """\
import json, sys
from pip._internal.models import installation_report
from pip._vendor.packaging import markers
target = markers.default_environment() | json.loads(sys.argv[1])
markers.default_environment = installation_report.default_environment = lambda: dict(target)
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""

#: What pip prints when it cannot reach the index at all.
OFFLINE = re.compile(
    r"NewConnectionError|NameResolutionError|Temporary failure in name resolution|"
    r"Network is unreachable|ConnectTimeoutError|Max retries exceeded|ProxyError|"
    r"Could not fetch URL https://pypi\.org"
)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(platform: str, folder: Path) -> dict:
    """Ask pip what it would install from PyPI on ``platform``; return its report and stderr."""
    spec = PLATFORMS[platform]
    report = folder / f"{platform}.json"
    tags = [arg for tag in spec["tags"] for arg in ("--platform", tag)]
    command = [
        sys.executable,
        "-c",
        PIP_FOR_ANOTHER_MACHINE,
        json.dumps(spec["markers"] | PYTHON_MARKERS),
        "--isolated",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--only-binary=:all:",
        *tags,
        "--python-version",
        PYTHON,
        "--implementation",
        "cp",
        "--target",
        str(folder / platform),
        "--report",
        str(report),
        "--retries",
        "1",
        "--timeout",
        "30",
        "-r",
        str(ROOT / "requirements.txt"),
    ]
    start = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    run = subprocess.run(
        command,
        env=env | {"PIP_CONFIG_FILE": os.devnull},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {
        "returncode": run.returncode,
        "stderr": run.stderr,
        "seconds": time.monotonic() - start,
        "report": json.loads(report.read_text()) if run.returncode == 0 else None,
    }


@pytest.fixture(scope="module")
def resolutions(tmp_path_factory) -> dict[str, dict]:
    """Both platforms, resolved side by side (each waits mostly on PyPI)."""
    folder = tmp_path_factory.mktemp("platforms")
    with ThreadPoolExecutor(len(PLATFORMS)) as pool:
        futures = {p: pool.submit(resolve, p, folder) for p in PLATFORMS}
        return {p: future.result() for p, future in futures.items()}


@pytest.fixture(params=list(PLATFORMS))
def resolution(request, resolutions) -> tuple[str, dict]:
    platform, result = request.param, resolutions[request.param]
    print(f"{platform}: resolved in {result['seconds']:.1f} s")
    if result["returncode"] and OFFLINE.search(result["stderr"]):
        pytest.skip(f"PyPI cannot be reached: {OFFLINE.search(result['stderr'])[0]}")
    assert result["returncode"] == 0, (
        f"pip cannot resolve requirements.txt on {platform}:\n" + (result["stderr"][-3000:])
    )
    return platform, result["report"]


def test_every_pin_resolves_from_pypi(resolution):
    platform, report = resolution
    environment = report["environment"]
    for key, value in (PLATFORMS[platform]["markers"] | PYTHON_MARKERS).items():
        assert environment[key] == value, f"pip evaluated {key} as {environment[key]!r}"
    chosen = {normalized(i["metadata"]["name"]): i for i in report["install"]}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(environment):
            assert normalized(requirement.name) not in chosen, f"{requirement} on {platform}"
            continue
        (pinned,) = requirement.specifier
        item = chosen.get(normalized(requirement.name))
        assert item, f"{requirement.name} is not installed on {platform}"
        assert item["metadata"]["version"] == pinned.version, requirement.name
    assert all(i["download_info"]["url"].endswith(".whl") for i in report["install"])
    assert chosen["torch"]["metadata"]["version"] == "2.13.0"


def test_tensorflow_and_cuda_per_platform(resolution):
    platform, report = resolution
    chosen = {normalized(i["metadata"]["name"]): i for i in report["install"]}
    nvidia = sorted(name for name in chosen if name.startswith("nvidia-"))
    torch_wheel = chosen["torch"]["download_info"]["url"].rsplit("/", 1)[-1]
    if platform == "linux-x86_64":
        assert "tensorflow-cpu" in chosen and "tensorflow" not in chosen
        assert "manylinux" in torch_wheel and "x86_64" in torch_wheel, torch_wheel
        # PyPI's Linux torch is the CUDA build: this is what TORCH_INDEX=cpu avoids.
        assert nvidia and "triton" in chosen, "PyPI's torch for Linux no longer pulls CUDA"
        print(f"torch from PyPI pulls {len(nvidia)} nvidia-* packages: {', '.join(nvidia)}")
    else:
        assert "tensorflow" in chosen and "tensorflow-cpu" not in chosen
        assert "macosx" in torch_wheel and "arm64" in torch_wheel, torch_wheel
        assert not nvidia and "triton" not in chosen, nvidia
