"""Grade submitted notebooks: ``python -m utils.autocheck grade <notebooks or folders>``.

For each notebook the grader

1. works out its exercise set (``--set``, else the ids in its ``check("1.3", ...)`` calls, else a
   file name starting with the chapter number, like ``01_loss_functions.ipynb``);
2. runs the learner's cells in a fresh kernel, cell by cell, with strict mode off, a time limit
   per cell (a cell that runs too long is interrupted and the next one runs) and a limit for all
   of them together;
3. appends one *collect* cell per exercise, found by its id. That cell only runs the learner's
   answer (the answer last passed to ``check`` for that id, else the global of the exercise's
   ``name``) on the exercise's cases with :func:`utils.autocheck.core.collect` and writes the
   outputs as plain data (:mod:`utils.autocheck.plain`) to a file in a temporary folder;
4. reads each file in its **own** process and judges it there with
   :func:`utils.autocheck.core.judge`, using its own installation of ``utils``: references,
   known mistakes and comparisons never run in the learner's kernel;
5. writes one CSV row per (notebook, exercise) — every exercise of the set appears — a summary,
   and two exports (see *Exports*).

Each collect cell has a time limit of (cases × time limit per case + a margin). A cell that runs
past it, or kills its kernel, costs only its own exercise: the grader stops that kernel, starts a
new one, runs the learner's cells again and goes on with the next exercise (at most
:data:`MAX_RESTARTS` times per notebook).

Outcomes in the CSV: ``correct``, ``incorrect``, ``not attempted``, ``error`` (the judge's
verdicts; ``error`` also for an exercise whose collect cell ran past its limit), ``missing`` (the
notebook defines no answer for it), ``crashed`` (the kernel died before or while collecting it),
``timeout`` (the learner's cells ran past their limit before it was collected). Points are
floats: an exercise declared with partial credit earns a share of its points per case passed.
``learner_check`` is what the learner's own check cell displayed, or ``none`` when it was deleted
or never ran: a mismatch with ``outcome`` is worth a look.

Many notebooks run at once (``--jobs``, default: the number of cores), with a progress bar.
Results are cached under ``OUT/.cache``, keyed by the notebook's bytes, its exercise set, the
settings and the grader's own source (every ``utils/**/*.py``), so a second run regrades only the
notebooks that changed (``--no-cache`` regrades everything).

Student identity and exports. The student is read from the file name: a Canvas bulk download
names files ``name_userid_submissionid_original.ipynb`` (or ``name_LATE_userid_...``), which gives
the name and the Canvas user id; any other file is named by its stem, or by its folder when the
stem is the course's own notebook name (``01_loss_functions.ipynb`` inside ``alice/``).
``canvas.csv`` has the columns of a Canvas gradebook import (``Student``, ``ID``, ``SIS User ID``,
``SIS Login ID``, ``Section`` and one column for the exercise set, headed ``Exercises N``); ``ID``
is the Canvas user id when the file name carries one, empty otherwise (fill it in, or match on
``Student``). ``gradescope.csv`` has ``Name``, ``SID``, ``Email`` and ``Score``: the columns
Gradescope's "upload grades" matches on (``Email`` or ``SID``) are left for you to fill in where
the file name does not say them.

Threat model. Nothing the learner's kernel produces is trusted except as "the learner's outputs":
verdicts displayed by learner cells are shown for information only, and the outputs file is read
with size and type checks and never unpickled. What is defended:

- *forged verdicts*: a displayed or printed record, or a fake grader cell, earns nothing;
- *patched checker or references*: a learner function that, when called, replaces functions in
  the kernel's ``utils.autocheck.core``/``compare`` or an exercise's reference only changes the
  kernel's copy, which judges nothing; each collect cell also drops every ``utils`` module and
  re-imports it from the grader's own repository, first on ``sys.path``;
- *a planted ``utils``* package next to the submission is not imported by the collect cells,
  and the grader's process imports only its own (do not start it from inside a folder of
  submissions: ``python -m`` puts the current folder first on ``sys.path``);
- *swallowed time limits, hangs and kernel deaths*: the in-kernel limit stops ``except:`` loops;
  the cell limit and a new kernel stop what it cannot (SIGALRM ignored, ``os._exit``, one C call);
- submitting one of the course's own ``utils`` functions is marked incorrect.

What is not defended: a submission is arbitrary code that runs with your permissions; it can
read the solutions, touch your files or the network. A learner function that merely *calls* the
course's own code is not detected (read the code when it matters). Grade untrusted submissions in
a throw-away container or VM account that holds no secrets.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from . import plain
from .core import TIME_LIMIT_VARIABLE, collect, judge
from .result import MIME_TYPE
from .spec import CHECK_CALL, Exercise, ExerciseSet, UnknownExercise, get_set

MISSING = "missing"
CRASHED = "crashed"
TIMEOUT = "timeout"
ERROR = "error"
MAX_RESTARTS = 3
#: Seconds a collect cell gets on top of (cases × time limit per case).
COLLECT_MARGIN = 5.0
#: The repository whose ``utils`` the collect cells import: the grader's own.
GRADER_ROOT = Path(__file__).resolve().parents[2]

# One cell per exercise, appended to every submission. It trusts nothing the learner defined.
COLLECT_CELL = """\
# Added by the autocheck grader: collect exercise {exercise_id}'s outputs (judged outside).
import sys as _autocheck_sys

if "_autocheck_submitted" not in globals():
    _autocheck_submitted = getattr(
        _autocheck_sys.modules.get("utils.autocheck.api"), "SUBMITTED", {{}}
    )
for _autocheck_module in [m for m in list(_autocheck_sys.modules) if m.split(".")[0] == "utils"]:
    del _autocheck_sys.modules[_autocheck_module]
_autocheck_sys.path.insert(0, {root!r})
from utils.autocheck.grade import collect_into as _autocheck_collect_into

_autocheck_collect_into({exercise_id!r}, globals(), _autocheck_submitted, {out_path!r})
"""


@dataclass
class Row:
    """One line of the grades CSV."""

    student_file: str
    exercise: str
    title: str
    points: float
    max_points: int
    outcome: str
    learner_check: str
    detail: str


# ---------------------------------------------------------------------------------------------
# Inside the kernel: collect one exercise's outputs
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


def collect_into(
    exercise_id: str, namespace: dict[str, Any], submitted: Any, out_path: str
) -> None:
    """Run the learner's answer to one exercise and write its outputs to ``out_path``."""
    chapter = exercise_id.partition(".")[0]
    exercise = {e.id: e for e in get_set(chapter).exercises}[exercise_id]
    found, answer = _find_answer(exercise, namespace, submitted)
    if not found:
        record = {"exercise": exercise.id, "kind": "none"}
    else:
        try:
            record = collect(exercise, answer, grading=True)
        except Exception as error:  # noqa: BLE001 - reported as the checker's failure
            record = {
                "exercise": exercise.id,
                "kind": "collect failed",
                "description": f"{type(error).__name__}: {str(error)[:300]}",
            }
    plain.dump(out_path, record)
    print(f"collected {exercise.id}")


# ---------------------------------------------------------------------------------------------
# In the grader's process: judge one exercise's outputs
# ---------------------------------------------------------------------------------------------


def judge_file(exercise: Exercise, path: Path) -> tuple[str, float, str]:
    """(outcome, points, detail) for the outputs the kernel wrote to ``path``."""
    try:
        record = plain.load(path)
    except plain.UnreadableOutputs as problem:
        return ERROR, 0.0, f"the grader could not read the outputs ({problem})"
    kind = record.get("kind")
    if kind == "none":
        return (
            MISSING,
            0.0,
            f"the notebook defines no `{exercise.name}` and never checks {exercise.id}",
        )
    if kind == "collect failed":
        return ERROR, 0.0, f"the checker failed: {str(record.get('description'))[:300]}"
    result = judge(exercise, record)
    return result.outcome.value, float(result.points), result.message


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


def _cell_error(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return "it wrote no outputs"


_INTERRUPTED = "AutocheckCellTimeout"


class _KernelRun:
    """One kernel: runs the learner's cells, then collect cells, until it dies or is stopped."""

    def __init__(self, nb, path: Path, settings: dict) -> None:
        from nbclient import NotebookClient

        self.settings = settings
        self.interrupted: list[int] = []
        self.client = NotebookClient(
            nb,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": _INTERRUPTED, "evalue": "interrupted", "traceback": []},
            on_cell_executed=self._on_cell_executed,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        env = {**os.environ, "AUTOCHECK_STRICT": "0"}
        if settings.get("case_time_limit"):
            env[TIME_LIMIT_VARIABLE] = str(settings["case_time_limit"])
        self._context = self.client.setup_kernel(env=env, stderr=subprocess.DEVNULL)

    def _on_cell_executed(self, cell, cell_index, execute_reply):
        if (execute_reply or {}).get("content", {}).get("ename") == _INTERRUPTED:
            self.interrupted.append(cell_index)

    def __enter__(self):
        self._context.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            self._context.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - a kernel that is already gone
            pass
        return False

    def run(self, cell, index: int, seconds: float, iopub: float) -> str:
        """Execute one cell: "ok", "interrupted" or "dead"."""
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        self.client.timeout = max(1, math.ceil(seconds))
        self.client.iopub_timeout = iopub
        try:
            self.client.execute_cell(cell, index)
        except CellTimeoutError:
            return "interrupted"
        except DeadKernelError:
            return "dead"
        if self.interrupted and self.interrupted[-1] == index:
            return "interrupted"
        return "ok"

    def run_learner_cells(self, nb, learner: int, notes: list[str] | None) -> str:
        """Run cells ``0..learner-1``; return "ok", CRASHED or TIMEOUT (with ``notes``)."""
        notes = [] if notes is None else notes
        timeout, cell_timeout = self.settings["timeout"], self.settings["cell_timeout"]
        deadline = time.monotonic() + timeout
        for index, cell in enumerate(nb.cells[:learner]):
            if cell.cell_type != "code":
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                notes.append(f"the notebook ran past its {timeout:g} s limit")
                return TIMEOUT
            limit = max(1, math.ceil(min(cell_timeout, remaining)))
            state = self.run(cell, index, limit, iopub=2)
            if state == "dead":
                notes.append(
                    f"the kernel died while running cell {index + 1} (`{_first_line(cell)}`)"
                )
                return CRASHED
            if state == "interrupted":
                notes.append(
                    f"cell {index + 1} (`{_first_line(cell)}`) ran for more than {limit} s "
                    "and was interrupted"
                )
        return "ok"


def _collect_limit(exercise: Exercise, case_time_limit: float | None) -> float:
    """Seconds for one collect cell: every case may use its whole time limit, plus a margin."""
    return COLLECT_MARGIN + max(1, len(exercise.cases)) * (case_time_limit or exercise.time_limit)


def _execute(nb, path: Path, exercise_set: ExerciseSet, out: Path, settings: dict):
    """Run the learner's cells and one collect cell per exercise, restarting dead kernels.

    Returns (status, notes, {exercise id: (outcome, points, detail)} for the exercises whose
    collect cell did not produce outputs).
    """
    learner = len(nb.cells) - len(exercise_set.exercises)
    notes: list[str] = []
    failed: dict[str, tuple[str, float, str]] = {}
    pending = list(enumerate(exercise_set.exercises, start=learner))
    status = "ok"
    restarts = 0
    while pending:
        with _KernelRun(nb, path, settings) as kernel:
            status = kernel.run_learner_cells(nb, learner, notes if restarts == 0 else None)
            if status != "ok":
                detail = "; ".join(notes) if restarts == 0 else f"after a restart: {status}"
                for _, exercise in pending:
                    failed[exercise.id] = (status, 0.0, detail)
                return status, notes, failed
            while pending:
                index, exercise = pending.pop(0)
                limit = _collect_limit(exercise, settings.get("case_time_limit"))
                state = kernel.run(nb.cells[index], index, limit, iopub=10)
                if state == "ok":
                    if not (out / f"{exercise.id}.autocheck").exists():
                        detail = f"the grader's cell failed: {_cell_error(nb.cells[index])}"
                        failed[exercise.id] = (ERROR, 0.0, detail)
                    continue
                if state == "dead":
                    failed[exercise.id] = (
                        CRASHED,
                        0.0,
                        f"the kernel died while running exercise {exercise.id}",
                    )
                else:
                    failed[exercise.id] = (
                        ERROR,
                        0.0,
                        f"ran past {limit:g} s; the grader stopped the kernel",
                    )
                notes.append(f"exercise {exercise.id}: {failed[exercise.id][2]}")
                break  # this kernel is dead or stuck: start a new one for the rest
        if pending:
            restarts += 1
            if restarts > MAX_RESTARTS:
                detail = f"not graded: the kernel was restarted {MAX_RESTARTS} times already"
                for _, exercise in pending:
                    failed[exercise.id] = (ERROR, 0.0, detail)
                notes.append(detail)
                break
    return status, notes, failed


def _rows_for(path: str, exercise_set: ExerciseSet, outcome: str, detail: str) -> list[Row]:
    return [
        Row(path, e.id, e.title, 0.0, e.points, outcome, "none", detail)
        for e in exercise_set.exercises
    ]


@dataclass
class NotebookSummary:
    """One line of the summary: a notebook's score and what happened while running it."""

    student_file: str
    points: float
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
        row = Row(name, "?", "", 0.0, 0, MISSING, "none", str(error))
        return [row], NotebookSummary(name, 0.0, 0, 0, 0, "unknown set", str(error)), None
    if nb is None:
        rows = _rows_for(name, exercise_set, MISSING, notes[0])
        return rows, _summarise(name, exercise_set, rows, status, notes), None

    settings = {
        "timeout": timeout,
        "cell_timeout": cell_timeout,
        "case_time_limit": case_time_limit,
    }
    with tempfile.TemporaryDirectory(prefix="autocheck-") as folder:
        out = Path(folder)
        for exercise in exercise_set.exercises:
            source = COLLECT_CELL.format(
                exercise_id=exercise.id,
                root=str(GRADER_ROOT),
                out_path=str(out / f"{exercise.id}.autocheck"),
            )
            nb.cells.append(nbformat.v4.new_code_cell(source))
        try:
            status, notes, failed = _execute(nb, path, exercise_set, out, settings)
        except Exception as error:  # noqa: BLE001 - e.g. a kernel that cannot start
            status = CRASHED
            notes = [f"the notebook could not be run: {type(error).__name__}: {error}"]
            failed = {e.id: (CRASHED, 0.0, notes[0]) for e in exercise_set.exercises}
        verdicts = _learner_verdicts(nb.cells[: len(nb.cells) - len(exercise_set.exercises)])
        rows = []
        for exercise in exercise_set.exercises:
            if exercise.id in failed:
                outcome, points, detail = failed[exercise.id]
            else:
                outcome, points, detail = judge_file(exercise, out / f"{exercise.id}.autocheck")
            learner = verdicts.get(exercise.id, "none")
            rows.append(
                Row(
                    name,
                    exercise.id,
                    exercise.title,
                    points,
                    exercise.points,
                    outcome,
                    learner,
                    detail,
                )
            )
    return rows, _summarise(name, exercise_set, rows, status, notes), nb


def _summarise(name, exercise_set, rows, status, notes) -> NotebookSummary:
    return NotebookSummary(
        student_file=name,
        points=round(sum(r.points for r in rows), 2),
        max_points=exercise_set.max_points,
        passed=sum(r.outcome == "correct" for r in rows),
        exercises=len(exercise_set.exercises),
        status=status,
        notes="; ".join(notes),
    )


# ---------------------------------------------------------------------------------------------
# Many notebooks: identity, cache, the CSV files and the summary table
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


_CANVAS_NAME = re.compile(r"^(?P<name>[^_]+)_(?:late_)?(?P<user_id>\d+)_(?P<submission>\d+)_", re.I)


def student_of(path: Path | str) -> tuple[str, str]:
    """(student, Canvas user id or "") from a submission's file name (see the module docstring)."""
    path = Path(path)
    match = _CANVAS_NAME.match(path.name)
    if match:
        return match["name"], match["user_id"]
    if re.match(r"\d+_", path.name) and path.parent.name:
        return path.parent.name, ""
    return path.stem, ""


def _source_hash() -> str:
    """A hash of the grader's own code: every ``utils/**/*.py`` (the sets import utils modules)."""
    digest = hashlib.sha256()
    for file in sorted((GRADER_ROOT / "utils").rglob("*.py")):
        digest.update(str(file.relative_to(GRADER_ROOT)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _cache_key(path: Path, settings: dict[str, Any], source: str) -> str | None:
    try:
        content = path.read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(content)
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(source.encode())
    return digest.hexdigest()


def _grade_one(job: tuple[Path, dict[str, Any]]) -> tuple[list[Row], NotebookSummary, str | None]:
    import nbformat

    path, settings = job
    try:
        rows, summary, nb = grade_notebook(path, **settings)
    except Exception as error:  # noqa: BLE001 - a bug here must not stop the other notebooks
        detail = f"the grader failed on this notebook: {type(error).__name__}: {error}"
        row = Row(str(path), "?", "", 0.0, 0, CRASHED, "none", detail)
        return [row], NotebookSummary(str(path), 0.0, 0, 0, 0, "grader error", detail), None
    return rows, summary, nbformat.writes(nb) if nb is not None else None


def _write_csv(path: Path, items: list[Any]) -> None:
    kind = type(items[0]) if items else Row
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=[f.name for f in fields(kind)])
        writer.writeheader()
        writer.writerows(asdict(item) for item in items)


CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GRADESCOPE_COLUMNS = ["Name", "SID", "Email", "Score"]


def write_exports(out_dir: Path, summaries: list[NotebookSummary], rows: list[Row]) -> None:
    """``canvas.csv`` and ``gradescope.csv``: one line per notebook (see the module docstring)."""
    chapter_of = {r.student_file: r.exercise.partition(".")[0] for r in rows if r.exercise != "?"}
    chapters = sorted(set(chapter_of.values()), key=lambda c: (len(c), c))
    canvas_header = CANVAS_COLUMNS + [f"Exercises {c}" for c in chapters]
    with (out_dir / "canvas.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(canvas_header)
        for s in summaries:
            student, user_id = student_of(s.student_file)
            scores = [
                f"{s.points:g}" if chapter_of.get(s.student_file) == c else "" for c in chapters
            ]
            writer.writerow([student, user_id, "", "", "", *scores])
    with (out_dir / "gradescope.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(GRADESCOPE_COLUMNS)
        for s in summaries:
            student, user_id = student_of(s.student_file)
            writer.writerow([student, user_id, "", f"{s.points:g}"])


def summary_table(summaries: list[NotebookSummary]) -> str:
    width = max([len("student file")] + [len(s.student_file) for s in summaries])
    lines = [f"{'student file':<{width}}  {'points':>9}  {'passed':>6}  status     notes"]
    for s in summaries:
        points = f"{s.points:g}/{s.max_points}"
        passed = f"{s.passed}/{s.exercises}"
        lines.append(
            f"{s.student_file:<{width}}  {points:>9}  {passed:>6}  {s.status:<9}  {s.notes}"
        )
    return "\n".join(lines)


def _from_cache(file: Path) -> tuple[list[Row], NotebookSummary, None] | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        rows = [Row(**row) for row in data["rows"]]
        return rows, NotebookSummary(**data["summary"]), None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def grade(
    paths: list[Path | str],
    out_dir: Path | str = "grades",
    *,
    jobs: int | None = None,
    keep_executed: bool = False,
    use_cache: bool = True,
    progress: bool = True,
    **settings: Any,
) -> tuple[list[Row], list[NotebookSummary]]:
    """Grade every notebook in ``paths``; write the CSVs to ``out_dir``.

    ``settings`` are passed to :func:`grade_notebook`. ``jobs`` notebooks (default: the number
    of cores) run at once, each in its own process and kernel; results keep the input order.
    """
    notebooks = collect_notebooks(paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = out_dir / ".cache"
    cache.mkdir(exist_ok=True)
    source = _source_hash()
    keys = [_cache_key(path, settings, source) if use_cache else None for path in notebooks]
    results: list[Any] = [None] * len(notebooks)
    for number, key in enumerate(keys):
        if key is not None and (cache / f"{key}.json").exists():
            results[number] = _from_cache(cache / f"{key}.json")
    todo = [number for number, result in enumerate(results) if result is None]
    reused = len(notebooks) - len(todo)
    if reused:
        print(f"reused {reused} unchanged", file=sys.stderr)

    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="notebook", file=sys.stderr, disable=not progress)
    jobs = jobs or os.cpu_count() or 1

    def done(number: int, result) -> None:
        results[number] = result
        rows, summary, _ = result
        if keys[number] is not None and summary.status != "grader error":
            payload = {"rows": [asdict(r) for r in rows], "summary": asdict(summary)}
            (cache / f"{keys[number]}.json").write_text(json.dumps(payload), encoding="utf-8")
        bar.update(1)

    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_grade_one, (notebooks[n], settings)): n for n in todo}
            for future in as_completed(futures):
                done(futures[future], future.result())
    else:
        for number in todo:
            done(number, _grade_one((notebooks[number], settings)))
    bar.close()

    rows = [row for result in results for row in result[0]]
    summaries = [result[1] for result in results]
    _write_csv(out_dir / "grades.csv", rows)
    _write_csv(out_dir / "summary.csv", summaries)
    write_exports(out_dir, summaries, rows)
    if keep_executed:
        executed = out_dir / "executed"
        executed.mkdir(exist_ok=True)
        for path, (_, _, text) in zip(notebooks, results, strict=True):
            if text is not None:
                flat = "__".join(path.with_suffix("").parts[-2:]) + ".ipynb"
                (executed / flat).write_text(text + "\n", encoding="utf-8")
    return rows, summaries


EPILOG = """\
Writes OUT/grades.csv (one row per notebook and exercise), OUT/summary.csv (one per notebook),
OUT/canvas.csv (Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then
one column per exercise set) and OUT/gradescope.csv (Name, SID, Email, Score). The student comes
from the file name: Canvas bulk downloads (name_userid_submissionid_file.ipynb) give the name and
the Canvas user id; otherwise the file's stem, or its folder for a file named like the course's
notebooks (01_...). Unchanged notebooks are not regraded (cache in OUT/.cache; --no-cache).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utils.autocheck grade",
        description="Run submitted notebooks in fresh kernels and grade every exercise.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="default: ./grades")
    parser.add_argument("--set", dest="chapter", help="exercise set (chapter), e.g. 1")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds for the learner's cells together"
    )
    parser.add_argument("--cell-timeout", type=float, default=120.0, help="seconds per cell")
    parser.add_argument(
        "--case-time-limit", type=float, default=None, help="seconds per check case"
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="notebooks graded at once (default: cores)"
    )
    parser.add_argument("--no-cache", action="store_true", help="regrade unchanged notebooks")
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
        use_cache=not args.no_cache,
        chapter=args.chapter,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        case_time_limit=args.case_time_limit,
    )
    print(summary_table(summaries))
    print(f"\nwrote grades.csv, summary.csv, canvas.csv and gradescope.csv to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
