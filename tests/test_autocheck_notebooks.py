"""Every exercise notebook runs as handed out: each check says 'not attempted', nothing else fails.

The notebooks run in a real kernel with strict mode off (strict mode makes anything but 'correct'
raise, which is how nbval proves the solutions notebooks; here every check is expected to be a
stub). The assertions are on the outputs, not just "no exception": every check cell must display
exactly one 'not attempted' verdict for its own exercise.

Three cells are appended after the notebook to test, in the kernel itself, what only a kernel can
show: the line number of an error in a notebook cell, the time limit (SIGALRM in the kernel's main
thread) on a loop that catches every exception, and that the next cell still runs.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from utils.autocheck.grade import detect_set
from utils.autocheck.result import MIME_TYPE
from utils.autocheck.spec import CHECK_CALL

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "exercises").glob("*.ipynb"))


def _records(cell) -> list[dict]:
    return [
        output["metadata"][MIME_TYPE]
        for output in cell.get("outputs", [])
        if MIME_TYPE in output.get("metadata", {})
    ]


def _probe_cells(name: str, exercise_id: str) -> list:
    raising = (
        f"def {name}(*args):\n"
        "    unused = 1\n"
        "    return undefined_name_in_probe\n"
        f'check("{exercise_id}", {name})'
    )
    looping = (  # a loop that swallows every exception, twice over
        "import os\n"
        'os.environ["AUTOCHECK_TIME_LIMIT"] = "0.3"\n'
        f"def {name}(*args):\n"
        "    while True:\n"
        "        try:\n"
        "            while True:\n"
        "                try:\n"
        "                    pass\n"
        "                except BaseException:\n"
        "                    pass\n"
        "        except:\n"
        "            pass\n"
        f'check("{exercise_id}", {name})'
    )
    after = 'print("the kernel runs on")'
    return [nbformat.v4.new_code_cell(source) for source in (raising, looping, after)]


async def _execute(path: Path, slots: asyncio.Semaphore):
    """Run one exercise notebook, probes appended; return (notebook, handed-out cell count)."""
    nb = nbformat.read(path, as_version=4)
    exercise_set = detect_set(nb, path)
    probed = next(e for e in exercise_set.exercises if not e.is_value)
    handed_out = len(nb.cells)
    nb.cells += _probe_cells(probed.name, probed.id)
    env = {**os.environ, "AUTOCHECK_STRICT": "0"}
    env.pop("AUTOCHECK_TIME_LIMIT", None)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    async with slots:
        await client.async_execute(env=env)
    return nb, handed_out


@pytest.fixture(scope="module")
def executed():
    """Every exercise notebook, run concurrently (a few kernels at a time)."""

    async def run_all():
        slots = asyncio.Semaphore(3)
        jobs = [_execute(path, slots) for path in NOTEBOOKS]
        return await asyncio.gather(*jobs, return_exceptions=True)

    return dict(zip(NOTEBOOKS, asyncio.run(run_all()), strict=True))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_exercise_notebook_runs_with_every_check_not_attempted(path, executed):
    if isinstance(executed[path], BaseException):
        raise executed[path]
    nb, handed_out = executed[path]
    exercise_set = detect_set(nb, path)
    probed = next(e for e in exercise_set.exercises if not e.is_value)

    cells = nb.cells[:handed_out]
    errors = [
        f"cell {i + 1}: {out.ename}: {out.evalue}"
        for i, cell in enumerate(cells)
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    assert not errors, errors

    checked = []
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        match = CHECK_CALL.search(cell.source)
        if not match:
            continue
        records = _records(cell)
        assert len(records) == 1, f"cell {index + 1} shows {len(records)} verdicts"
        (record,) = records
        assert record["exercise"] == match["id"]
        assert record["outcome"] == "not attempted", f"cell {index + 1}: {record}"
        stderr = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"cell {index + 1} wrote to stderr: {stderr}"
        checked.append(record["exercise"])
    assert checked == [e.id for e in exercise_set.exercises]

    (summary,) = _records(cells[-1])
    assert (summary["passed"], summary["exercises"]) == (0, len(exercise_set.exercises))

    (raised,) = _records(nb.cells[handed_out])
    assert raised["outcome"] == "error"
    assert "NameError: name 'undefined_name_in_probe' is not defined" in raised["message"]
    assert f"(line 3 of `{probed.name}`: `return undefined_name_in_probe`)" in raised["message"]
    (looped,) = _records(nb.cells[handed_out + 1])
    assert looped["outcome"] == "error"
    assert "ran for more than 0.3 s on case 1" in looped["message"]
    (printed,) = nb.cells[handed_out + 2].outputs  # "Run all" goes on after the time-out
    assert printed.get("text") == "the kernel runs on\n"
