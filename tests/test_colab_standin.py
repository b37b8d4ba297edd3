"""The setup cell on a stand-in for Colab: it installs the course, and says in one line why not.

``colab_standin`` builds the runtime (how it copies Colab is in its docstring). Here the real
setup cell, the first code cell of chapter 1, runs in it with git sent to a local clone of this
working tree; then the whole chapter runs there, as a learner on Colab would run it. Three times
more the setup cell runs alone against a repository that cannot be had (nothing answers, it asks
for a password, the release is not tagged), and must give up within 30 s in one plain line.

About a minute on an idle 2-core machine (chapter 1 itself takes most of it); `make test` runs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import nbformat
import pytest
import yaml
from colab_standin import (
    clean_environment,
    closed_port,
    git,
    make_runtime,
    password_protected_server,
    redirect_git,
    release_clone,
    run_in_kernel,
    text_of,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "01_loss_functions.ipynb"
_repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
REPOSITORY, RELEASE = _repository["url"], _repository["release"]

#: Colab's NumPy, deliberately not our pin: the course must run on what Colab has.
COLAB_NUMPY = "2.3.5"
#: The distributions the heavy modules come in (the project's venv has tensorflow-cpu).
DISTRIBUTIONS = {"tensorflow": ["tensorflow", "tensorflow-cpu"]}
HEAVY = re.compile(r"^(numpy|torch|tensorflow(-cpu)?|keras|nvidia-.*|triton)$", re.IGNORECASE)


def _missing() -> str | None:
    if shutil.which("git") is None:
        return "no `git` on PATH: the setup cell installs the course with git"
    inside = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True, text=True
    )
    if inside.stdout.strip() != "true":
        return f"{ROOT} is not a git working tree, so there is no repository to serve"
    return None


@pytest.fixture(scope="module", autouse=True)
def _prerequisites():
    missing = _missing()
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI must run the Colab stand-in, but {missing}")
    if missing:
        pytest.skip(missing)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("colab")


@pytest.fixture(scope="module")
def content(root) -> Path:
    """The kernel's working directory, like Colab's /content: no ``utils/`` in it."""
    folder = root / "content"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def runtime(root):
    return make_runtime(root, Path(sysconfig.get_paths()["purelib"]), COLAB_NUMPY)


@pytest.fixture(scope="module")
def before(runtime, content) -> dict:
    """The runtime as Colab hands it over, before any setup cell ran."""
    return {**runtime.snapshot(content), "dist_infos": runtime.dist_infos()}


@pytest.fixture(scope="module")
def served(root) -> tuple[str, str]:
    """The clone that stands in for the repository: its ``file:`` URL and the release's commit."""
    clone = release_clone(ROOT, root / "origin", RELEASE)
    return clone.as_uri(), git("rev-parse", f"{RELEASE}^{{commit}}", cwd=clone).strip()


@pytest.fixture(scope="module")
def setup_cell() -> str:
    """The first code cell of chapter 1, which must be the setup cell of ``utils.environment``."""
    from utils.environment import SETUP_CELL

    chapter = nbformat.read(CHAPTER, as_version=4)
    first = next(c.source for c in chapter.cells if c.cell_type == "code")
    assert first == SETUP_CELL, "chapter 1 does not start with SETUP_CELL: run `make sync`"
    return first


def test_the_runtime_has_colabs_packages_and_not_the_course(before, runtime):
    """Without this the test below would prove nothing: ``utils`` must not be importable yet."""
    assert before["colab"], "google.colab is not imported at start-up in the stand-in"
    assert before["modules"]["utils"] is None, f"utils importable: {before['modules']['utils']}"
    pinned = re.search(r"^numpy==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned and pinned[1] != COLAB_NUMPY, "pick a NumPy for the stand-in other than our pin"
    versions = {name: (version, where) for name, version, where in before["distributions"]}
    assert versions["numpy"] == (COLAB_NUMPY, str(runtime.site_packages))
    assert Path(before["modules"]["numpy"]).is_relative_to(runtime.site_packages)
    for module in ("torch", "tensorflow", "keras"):
        assert Path(before["modules"][module]).is_relative_to(runtime.preinstalled), module
    assert "optim-course" not in versions
    assert before["dist_infos"] == {f"numpy-{COLAB_NUMPY}.dist-info"}


#: Run in the kernel before the setup cell: can it import utils (it must not), is it "on Colab"?
BEFORE = """\
import importlib.util, sys
print(importlib.util.find_spec("utils"), "google.colab" in sys.modules)"""

#: Run in the kernel after the chapter: what it imported, and the course that pip installed.
AFTER = """\
import importlib.metadata as metadata, json, sys
course = metadata.distribution("optim-course")
print(json.dumps({
    "modules": {m: [sys.modules[m].__version__, sys.modules[m].__file__]
                for m in ("numpy", "torch", "tensorflow", "keras") if m in sys.modules},
    "utils": sys.modules["utils"].__file__,
    "version": course.version,
    "direct_url": json.loads(course.read_text("direct_url.json")),
}))"""


def test_setup_cell_installs_the_release_and_chapter_1_runs(
    runtime, before, served, setup_cell, content
):
    url, commit = served
    env = redirect_git(clean_environment(runtime), REPOSITORY, url)
    chapter = nbformat.read(CHAPTER, as_version=4)
    code = [c.source for c in chapter.cells if c.cell_type == "code"]
    cells, seconds = run_in_kernel(runtime, [BEFORE, *code, AFTER], env, content, timeout=300)
    print(f"setup cell {seconds[1]:.1f} s, chapter 1 {sum(seconds[1:-1]):.1f} s")

    assert text_of(cells[0]) == ("None True\n", []), "utils importable before the setup cell"
    printed, other = text_of(cells[1])
    assert len(printed.splitlines()) == 1 and printed.startswith("PyTorch will use the CPU"), (
        f"the setup cell should print one line, it printed:\n{printed}"
    )
    assert other == [], f"the setup cell wrote more than one line: {cells[1].outputs}"
    for cell in cells[2:-1]:
        assert all(o.output_type != "error" for o in cell.outputs), cell.source

    after = json.loads(text_of(cells[-1])[0])
    assert Path(after["utils"]).is_relative_to(runtime.site_packages), after["utils"]
    assert not Path(after["utils"]).resolve().is_relative_to(ROOT), after["utils"]
    assert after["version"] == RELEASE.removeprefix("v")
    assert after["direct_url"]["url"] == REPOSITORY
    assert after["direct_url"]["vcs_info"]["requested_revision"] == RELEASE
    assert after["direct_url"]["vcs_info"]["commit_id"] == commit

    # Nothing heavy was installed: the chapter ran on the runtime's NumPy, torch and TensorFlow.
    versions = {name: version for name, version, _ in before["distributions"]}
    for module, (version, file) in after["modules"].items():
        assert file == before["modules"][module], f"{module} now imports from {file}"
        names = DISTRIBUTIONS.get(module, [module])
        assert version in {versions.get(name) for name in names}, f"{module} is now {version}"
    assert {"numpy", "torch", "tensorflow"} <= set(after["modules"]), "chapter 1 changed"
    snapshot = runtime.snapshot(content)
    assert snapshot["modules"] == before["modules"] | {"utils": after["utils"]}
    new = [d for d in snapshot["distributions"] if d not in before["distributions"]]
    gone = [d for d in before["distributions"] if d not in snapshot["distributions"]]
    assert new == [["optim-course", RELEASE.removeprefix("v"), str(runtime.site_packages)]], new
    assert gone == [], f"the setup cell replaced or removed {gone}"
    added = runtime.dist_infos() - before["dist_infos"]
    assert added == {f"optim_course-{RELEASE.removeprefix('v')}.dist-info"}, added
    assert not [d for d in new if HEAVY.match(d[0])]


@pytest.fixture(scope="module")
def untagged(root, served) -> str:
    """The repository without the release's tag (a release bumped but its tag never pushed)."""
    clone = root / "untagged"
    git("clone", "--quiet", "--no-local", served[0], str(clone), cwd=root)
    git("tag", "--delete", RELEASE, cwd=clone)
    return clone.as_uri()


#: Per failure: where git is sent instead of the repository, and what the reason must say.
FAILURES = {
    "unreachable": "unable to access",  # nothing listens there
    "asks for a password": "terminal prompts disabled",  # 401, as GitHub for a private repo
    "release not tagged": RELEASE,
}


@pytest.fixture(params=list(FAILURES))
def unavailable_repository(request):
    if request.param == "unreachable":
        yield request.param, f"http://127.0.0.1:{closed_port()}/repo.git"
    elif request.param == "asks for a password":
        with password_protected_server() as url:
            yield request.param, url
    else:
        yield request.param, request.getfixturevalue("untagged")


def test_setup_cell_fails_fast_in_one_line(runtime, setup_cell, content, unavailable_repository):
    case, url = unavailable_repository
    env = redirect_git(clean_environment(runtime), REPOSITORY, url)
    cells, seconds = run_in_kernel(runtime, [setup_cell], env, content, timeout=90)
    printed, other = text_of(cells[0])
    print(f"{case}: {seconds[0]:.1f} s: {printed.strip()!r}")

    assert seconds[0] < 30, f"{case}: the setup cell took {seconds[0]:.0f} s to give up"
    assert len(printed.splitlines()) == 1 and printed.startswith("Setup failed:"), printed
    assert other == [] and "Traceback" not in printed, cells[0].outputs
    assert "\x1b" not in printed, f"terminal colour codes in the message: {printed!r}"
    assert REPOSITORY in printed and RELEASE in printed
    reason = re.search(r"\((.+)\)\. Check", printed)
    assert reason, f"no reason in {printed!r}"
    assert FAILURES[case] in reason[1], f"{case}: unexpected reason {reason[1]!r}"
