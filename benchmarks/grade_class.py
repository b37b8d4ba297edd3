"""Grade a class of 200 notebooks with 1 and 2 jobs; print wall times and notebooks per minute.

The class is made of copies of the solution and exercise notebooks of chapters 1–4 (setup cell
skipped, as in the tests) with mixed answers: correct solutions, untouched exercise notebooks
(stubs), solutions with one wrong function, one with a hanging function (SIGALRM ignored, so the
grader must stop the kernel) and one whose function kills its kernel. Both runs must give the
same grades. Not part of ``make test``: ``.venv/bin/python benchmarks/grade_class.py``.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils.autocheck import grade  # noqa: E402
from utils.autocheck.spec import get_set  # noqa: E402

COUNT = 200
CHAPTERS = ["1", "2", "3", "4"]
HANG = (
    "    import signal\n"
    "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
    "    while True:\n"
    "        pass\n"
)
CRASH = "    import os\n    os._exit(1)\n"
WRONG = '    return "wrong"\n'


def _read(folder: str, chapter: str):
    (path,) = ROOT.glob(f"{folder}/{int(chapter):02d}_*.ipynb")
    nb = nbformat.read(path, as_version=4)
    setup = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    nb.cells[setup].source = "# setup cell skipped in this benchmark"
    return nb


def _replace(nb, chapter: str, body: str):
    exercise = next(e for e in get_set(chapter).exercises if not e.is_value)
    source = f"def {exercise.name}(*args, **kwargs):\n{body}"
    source += (
        f"\nimport utils.autocheck.api as _api\n_api.SUBMITTED[{exercise.id!r}] = {exercise.name}"
    )
    nb.cells.append(new_code_cell(source))
    return nb


def build_class(folder: Path) -> None:
    for number in range(COUNT):
        chapter = CHAPTERS[number % len(CHAPTERS)]
        if number == 0:
            nb, kind = _replace(_read("solutions", chapter), chapter, HANG), "hang"
        elif number == 1:
            nb, kind = _replace(_read("solutions", chapter), chapter, CRASH), "crash"
        elif number % 3 == 0:
            nb, kind = _read("exercises", chapter), "stubs"
        elif number % 3 == 1:
            nb, kind = _replace(_read("solutions", chapter), chapter, WRONG), "wrong"
        else:
            nb, kind = _read("solutions", chapter), "correct"
        student = folder / f"student{number:03d}"
        student.mkdir()
        nbformat.write(nb, student / f"{int(chapter):02d}_{kind}.ipynb")


def run(folder: Path, jobs: int) -> tuple[float, list]:
    out = folder.parent / f"grades-{jobs}"
    start = time.monotonic()
    grade.grade([folder], out, jobs=jobs, use_cache=False, case_time_limit=1.0, timeout=300)
    elapsed = time.monotonic() - start
    with (out / "grades.csv").open(newline="") as file:
        rows = [
            (r["student_file"], r["exercise"], r["points"], r["outcome"], r["detail"])
            for r in csv.DictReader(file)
        ]
    return elapsed, rows


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        build_class(folder)
        results = {}
        for jobs in (1, 2):
            elapsed, grades = run(folder, jobs)
            results[jobs] = grades
            print(
                f"--jobs {jobs}: {COUNT} notebooks in {elapsed:.1f} s "
                f"({COUNT / elapsed * 60:.1f} notebooks/minute)",
                flush=True,
            )
        same = results[1] == results[2]
        print("grades identical between the two runs:", same)
        for one, two in zip(results[1], results[2], strict=True):
            if one != two:
                print(f"  differs: {one} | {two}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
