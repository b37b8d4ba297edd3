"""Grade submitted notebooks: ``python -m utils.autocheck grade <notebooks or folders>``.

For each notebook the grader

1. works out its exercise set (``--set``, else the ids in its ``check("1.3", ...)`` calls, else a
   file name starting with the chapter number, like ``01_loss_functions.ipynb``);
2. runs it in a fresh kernel, cell by cell, with strict mode off, a time limit per cell (a cell
   that runs too long is interrupted and the next one runs) and a limit for the whole notebook;
3. appends one cell of its own that re-imports the checker from disk and re-runs **every**
   exercise's check on the learner's objects: the answer last passed to ``check`` for that
   exercise, else the global of the exercise's ``name``;
4. writes one CSV row per (notebook, exercise) — every exercise of the set appears — and a summary.

Outcomes in the CSV: ``correct``, ``incorrect``, ``not attempted``, ``error`` (the check's own
verdicts), ``missing`` (the notebook defines no answer for it), ``crashed`` (the kernel died before
grading), ``timeout`` (the notebook ran past its time limit before grading). ``learner_check`` is
what the learner's own check cell displayed, or ``none`` when it was deleted or never ran: a
mismatch with ``outcome`` is worth a look.

Threat model. Verdicts displayed by the learner's cells are never used for points: a learner could
paste or print any record. Only the record from the grader's own cell counts, and it must carry a
random nonce that the learner's cells cannot know because the grading cell is added after them.
Before re-checking, that cell drops every ``utils`` module from ``sys.modules`` and imports them
again from disk, so monkey-patching the checker or the references in the notebook has no effect,
and submitting one of the course's own ``utils`` functions is marked incorrect (a function of
the learner's that merely *calls* one is not detected: read the code when it matters). This protects
against mistakes and casual forgery, not against a determined attacker: a submission is arbitrary
code that runs with your permissions, can patch NumPy or IPython's display, read the solutions
(which are public on the course site anyway) or touch your files. Grade untrusted submissions in a
throw-away container or VM account that holds no secrets.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .core import TIME_LIMIT_VARIABLE, run_check
from .result import MIME_TYPE
from .spec import CHECK_CALL, ExerciseSet, UnknownExercise, get_set

MISSING = "missing"
CRASHED = "crashed"
TIMEOUT = "timeout"

# The cell appended to every submission. It must not trust anything the learner's cells defined.
GRADING_CELL = """\
# Added by the autocheck grader: re-check every exercise on this notebook's answers.
import sys as _autocheck_sys

_autocheck_submitted = getattr(_autocheck_sys.modules.get("utils.autocheck.api"), "SUBMITTED", {{}})
for _autocheck_module in [m for m in list(_autocheck_sys.modules) if m.split(".")[0] == "utils"]:
    del _autocheck_sys.modules[_autocheck_module]
from utils.autocheck.grade import regrade as _autocheck_regrade

_autocheck_regrade({chapter!r}, globals(), _autocheck_submitted, {nonce!r})
"""


@dataclass
class Row:
    """One line of the grades CSV."""

    student_file: str
    exercise: str
    title: str
    points: int
    max_points: int
    outcome: str
    learner_check: str
    detail: str


# ---------------------------------------------------------------------------------------------
# Inside the kernel
# ---------------------------------------------------------------------------------------------


def _find_answer(exercise, namespace: dict[str, Any], submitted: Any) -> tuple[bool, Any]:
    try:
        if exercise.id in submitted:
            return True, submitted[exercise.id]
    except Exception:  # noqa: BLE001 - `submitted` comes from the learner's kernel
        pass
    if exercise.name in namespace:
        return True, namespace[exercise.name]
    return False, None


def regrade(chapter: str, namespace: dict[str, Any], submitted: Any, nonce: str) -> None:
    """Re-check every exercise of ``chapter`` and display one record the grader can trust."""
    results = []
    for exercise in get_set(chapter).exercises:
        found, answer = _find_answer(exercise, namespace, submitted)
        if not found:
            record = {
                "exercise": exercise.id,
                "outcome": MISSING,
                "points": 0,
                "max_points": exercise.points,
                "message": f"the notebook defines no `{exercise.name}` and never checks "
                f"{exercise.id}",
            }
        else:
            try:
                record = run_check(exercise, answer, grading=True).record()
            except Exception as error:  # noqa: BLE001 - one broken exercise must not stop the rest
                record = {
                    "exercise": exercise.id,
                    "outcome": "error",
                    "points": 0,
                    "max_points": exercise.points,
                    "message": f"the checker failed: {type(error).__name__}: {error}",
                }
        results.append(record)
    text = "\n".join(
        f"{r['exercise']}: {r['outcome']} ({r['points']}/{r['max_points']})" for r in results
    )
    payload = {"source": "grader", "nonce": nonce, "chapter": chapter, "results": results}
    from IPython.display import display

    display({"text/plain": text}, raw=True, metadata={MIME_TYPE: payload})


# ---------------------------------------------------------------------------------------------
# Outside: running one notebook
# ---------------------------------------------------------------------------------------------


def detect_set(nb, path: Path, chapter: str | None = None) -> ExerciseSet:
    """The exercise set of a notebook; raises UnknownExercise when it cannot be told."""
    if chapter is not None:
        return get_set(chapter)
    chapters = Counter(
        match["id"].partition(".")[0]
        for cell in nb.get("cells", [])
        if cell.get("cell_type") == "code"
        for match in CHECK_CALL.finditer(cell.get("source", ""))
    )
    if chapters:
        return get_set(chapters.most_common(1)[0][0])
    match = re.match(r"(\d+)_", path.name)
    if match:
        return get_set(match.group(1))
    raise UnknownExercise(f"cannot tell which exercise set {path.name} answers; pass --set")


def _first_line(cell) -> str:
    line = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def _learner_verdicts(cells) -> dict[str, str]:
    """The last verdict each learner check cell displayed (for information only)."""
    verdicts: dict[str, str] = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get(MIME_TYPE)
            if isinstance(record, dict) and record.get("source") == "check":
                verdicts[str(record.get("exercise"))] = str(record.get("outcome"))
    return verdicts


def _grader_records(cell, nonce: str) -> list[dict] | None:
    for output in cell.get("outputs", []):
        record = output.get("metadata", {}).get(MIME_TYPE)
        if isinstance(record, dict) and record.get("source") == "grader":
            if record.get("nonce") == nonce:
                return list(record.get("results", []))
    return None


def _grading_cell_error(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return "it displayed no grading record"


_INTERRUPTED = "AutocheckCellTimeout"


def _execute(
    nb, path: Path, grading_index: int, budget: float, settings: dict
) -> tuple[str, list[str]]:
    """Run the notebook's cells; return ("ok" | CRASHED | TIMEOUT, notes).

    A cell that runs past its limit is interrupted once (nbclient's ``interrupt_on_timeout``) and
    the next cell runs. A kernel that ignores the interrupt keeps timing out cell after cell until
    the notebook's own limit is spent.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    env = {**os.environ, "AUTOCHECK_STRICT": "0"}
    if settings.get("case_time_limit"):
        env[TIME_LIMIT_VARIABLE] = str(settings["case_time_limit"])
    interrupted: list[int] = []

    def on_cell_executed(cell, cell_index, execute_reply):
        if (execute_reply or {}).get("content", {}).get("ename") == _INTERRUPTED:
            interrupted.append(cell_index)

    client = NotebookClient(
        nb,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": _INTERRUPTED, "evalue": "interrupted", "traceback": []},
        on_cell_executed=on_cell_executed,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    notes: list[str] = []
    with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
        deadline = time.monotonic() + settings["timeout"]
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            grading = index == grading_index
            remaining = budget if grading else deadline - time.monotonic()
            if remaining <= 0:
                notes.append(f"the notebook ran past its {settings['timeout']:g} s limit")
                return TIMEOUT, notes
            limit = remaining if grading else min(settings["cell_timeout"], remaining)
            client.timeout = max(1, math.ceil(limit))
            # How long to wait for a cell's outputs after its reply: short for an interrupted
            # learner cell whose kernel may be stuck, generous for the grader's records.
            client.iopub_timeout = 10 if grading else 2
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:  # only if the kernel cannot even be interrupted
                interrupted.append(index)
            except DeadKernelError:
                where = "the grader's cell" if grading else f"cell {index + 1}"
                if not grading:
                    where += f" (`{_first_line(cell)}`)"
                notes.append(f"the kernel died while running {where}")
                return CRASHED, notes
            if interrupted and interrupted[-1] == index:
                if grading:
                    notes.append("the grader's own cell ran past its time limit")
                    return TIMEOUT, notes
                notes.append(
                    f"cell {index + 1} (`{_first_line(cell)}`) ran for more than "
                    f"{client.timeout} s and was interrupted"
                )
    return "ok", notes


def _grading_budget(exercise_set: ExerciseSet, case_time_limit: float | None) -> float:
    """Seconds for the grader's cell: every case may use its whole time limit, plus a margin."""
    return 30.0 + sum(
        max(1, len(e.cases)) * (case_time_limit or e.time_limit) for e in exercise_set.exercises
    )


def _rows_for(path: str, exercise_set: ExerciseSet, outcome: str, detail: str) -> list[Row]:
    return [
        Row(path, e.id, e.title, 0, e.points, outcome, "none", detail)
        for e in exercise_set.exercises
    ]


@dataclass
class NotebookSummary:
    """One line of the summary: a notebook's score and what happened while running it."""

    student_file: str
    points: int
    max_points: int
    passed: int
    exercises: int
    status: str
    notes: str


def grade_notebook(
    path: Path | str,
    *,
    chapter: str | None = None,
    timeout: float = 600.0,
    cell_timeout: float = 120.0,
    case_time_limit: float | None = None,
) -> tuple[list[Row], NotebookSummary, Any]:
    """Run and grade one notebook; return its CSV rows, its summary and the executed notebook.

    ``timeout`` limits the learner's cells together, ``cell_timeout`` each of them, and
    ``case_time_limit`` (if given) replaces each exercise's time limit per test case.
    """
    import nbformat

    path = Path(path)
    name = str(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - unreadable files are graded, not fatal
        nb, status, notes = None, "unreadable", [f"cannot read the notebook: {error}"]
    try:
        exercise_set = detect_set(nb or {}, path, chapter)
    except UnknownExercise as error:
        row = Row(name, "?", "", 0, 0, MISSING, "none", str(error))
        return [row], NotebookSummary(name, 0, 0, 0, 0, "unknown set", str(error)), None
    if nb is None:
        rows = _rows_for(name, exercise_set, MISSING, notes[0])
        return rows, _summarise(name, exercise_set, rows, status, notes), None

    nonce = secrets.token_hex(16)
    nb.cells.append(
        nbformat.v4.new_code_cell(GRADING_CELL.format(chapter=exercise_set.chapter, nonce=nonce))
    )
    settings = {
        "timeout": timeout,
        "cell_timeout": cell_timeout,
        "case_time_limit": case_time_limit,
    }
    budget = _grading_budget(exercise_set, case_time_limit)
    try:
        status, notes = _execute(nb, path, len(nb.cells) - 1, budget, settings)
    except Exception as error:  # noqa: BLE001 - e.g. a kernel that cannot start
        status, notes = CRASHED, [f"the notebook could not be run: {type(error).__name__}: {error}"]

    verdicts = _learner_verdicts(nb.cells[:-1])
    records = _grader_records(nb.cells[-1], nonce) if status == "ok" else None
    by_id = {str(r.get("exercise")): r for r in records or [] if isinstance(r, dict)}
    if status == "ok" and records is None:
        notes.append(f"the grader's cell failed: {_grading_cell_error(nb.cells[-1])}")
    rows = []
    for exercise in exercise_set.exercises:
        record = by_id.get(exercise.id)
        if status != "ok":
            outcome, detail = status, "; ".join(notes)
        elif record is None:
            outcome, detail = MISSING, "; ".join(notes) or "the grader produced no verdict"
        else:
            outcome, detail = str(record.get("outcome")), str(record.get("message", ""))
        points = exercise.points if outcome == "correct" else 0
        learner = verdicts.get(exercise.id, "none")
        rows.append(
            Row(
                name, exercise.id, exercise.title, points, exercise.points, outcome, learner, detail
            )
        )
    return rows, _summarise(name, exercise_set, rows, status, notes), nb


def _summarise(name, exercise_set, rows, status, notes) -> NotebookSummary:
    return NotebookSummary(
        student_file=name,
        points=sum(r.points for r in rows),
        max_points=exercise_set.max_points,
        passed=sum(r.outcome == "correct" for r in rows),
        exercises=len(exercise_set.exercises),
        status=status,
        notes="; ".join(notes),
    )


# ---------------------------------------------------------------------------------------------
# Many notebooks: the CSV files and the summary table
# ---------------------------------------------------------------------------------------------


def collect_notebooks(paths: list[Path | str]) -> list[Path]:
    """The notebooks named, and every notebook under the folders named (checkpoints skipped)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            found.append(path)
    return found


def _grade_one(job: tuple[Path, dict[str, Any]]) -> tuple[list[Row], NotebookSummary, str | None]:
    import nbformat

    path, settings = job
    try:
        rows, summary, nb = grade_notebook(path, **settings)
    except Exception as error:  # noqa: BLE001 - a bug here must not stop the other notebooks
        detail = f"the grader failed on this notebook: {type(error).__name__}: {error}"
        row = Row(str(path), "?", "", 0, 0, CRASHED, "none", detail)
        return [row], NotebookSummary(str(path), 0, 0, 0, 0, "grader error", detail), None
    return rows, summary, nbformat.writes(nb) if nb is not None else None


def _write_csv(path: Path, items: list[Any]) -> None:
    kind = type(items[0]) if items else Row
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=[f.name for f in fields(kind)])
        writer.writeheader()
        writer.writerows(asdict(item) for item in items)


def summary_table(summaries: list[NotebookSummary]) -> str:
    width = max([len("student file")] + [len(s.student_file) for s in summaries])
    lines = [f"{'student file':<{width}}  {'points':>7}  {'passed':>6}  status     notes"]
    for s in summaries:
        points = f"{s.points}/{s.max_points}"
        passed = f"{s.passed}/{s.exercises}"
        lines.append(
            f"{s.student_file:<{width}}  {points:>7}  {passed:>6}  {s.status:<9}  {s.notes}"
        )
    return "\n".join(lines)


def grade(
    paths: list[Path | str],
    out_dir: Path | str = "grades",
    *,
    jobs: int = 1,
    keep_executed: bool = False,
    **settings: Any,
) -> tuple[list[Row], list[NotebookSummary]]:
    """Grade every notebook in ``paths``; write ``grades.csv`` and ``summary.csv`` to ``out_dir``.

    ``settings`` are passed to :func:`grade_notebook`. ``jobs`` notebooks run at once (each in
    its own process and kernel).
    """
    notebooks = collect_notebooks(paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs_list = [(path, settings) for path in notebooks]
    if jobs > 1 and len(notebooks) > 1:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            results = list(pool.map(_grade_one, jobs_list))
    else:
        results = [_grade_one(job) for job in jobs_list]

    rows = [row for result in results for row in result[0]]
    summaries = [result[1] for result in results]
    _write_csv(out_dir / "grades.csv", rows)
    _write_csv(out_dir / "summary.csv", summaries)
    if keep_executed:
        executed = out_dir / "executed"
        executed.mkdir(exist_ok=True)
        for path, (_, _, text) in zip(notebooks, results, strict=True):
            if text is not None:
                flat = "__".join(path.with_suffix("").parts[-2:]) + ".ipynb"
                (executed / flat).write_text(text + "\n", encoding="utf-8")
    return rows, summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utils.autocheck grade",
        description="Run submitted notebooks in fresh kernels and grade every exercise.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="default: ./grades")
    parser.add_argument("--set", dest="chapter", help="exercise set (chapter), e.g. 1")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per notebook")
    parser.add_argument("--cell-timeout", type=float, default=120.0, help="seconds per cell")
    parser.add_argument(
        "--case-time-limit", type=float, default=None, help="seconds per check case"
    )
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at once")
    parser.add_argument(
        "--keep-executed", action="store_true", help="save executed notebooks to OUT/executed"
    )
    args = parser.parse_args(argv)
    notebooks = collect_notebooks(args.paths)
    if not notebooks:
        print("no notebooks found", file=sys.stderr)
        return 2
    print(f"grading {len(notebooks)} notebook(s)...", file=sys.stderr)
    _, summaries = grade(
        notebooks,
        args.out,
        jobs=args.jobs,
        keep_executed=args.keep_executed,
        chapter=args.chapter,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        case_time_limit=args.case_time_limit,
    )
    print(summary_table(summaries))
    print(f"\nwrote {args.out / 'grades.csv'} and {args.out / 'summary.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
