"""Run one exercise's cases against a learner's answer and reach one of four verdicts.

- **correct**: every case matches the reference;
- **incorrect**: a case differs (the message names the case and what differs, and a known mistake
  adds a targeted hint), the function returned None, or it changed its inputs;
- **not attempted**: the answer is still the notebook's stub (``NotImplementedError`` or ``...``);
- **error**: the learner's code raised, or ran past the time limit.

Nothing here displays anything (see :mod:`utils.autocheck.feedback`) and nothing raises for a wrong
answer (see :func:`utils.autocheck.check`): :func:`run_check` always returns a
:class:`~utils.autocheck.result.Result`.
"""

from __future__ import annotations

import copy
import os
import signal
import sysconfig
import threading
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compare import arrays_equal, describe_value, difference, same_answer, to_numpy
from .result import Outcome, Result
from .spec import STUB_MESSAGE, Case, Exercise, get_exercise

TIME_LIMIT_VARIABLE = "AUTOCHECK_TIME_LIMIT"  # seconds per case; overrides every exercise's limit


# ---------------------------------------------------------------------------------------------
# Running learner code: time limit, warnings, the learner's own line in a traceback
# ---------------------------------------------------------------------------------------------


class TimeLimitExceeded(BaseException):
    """Raised inside learner code when a case runs too long.

    A BaseException, so that a learner's ``except Exception:`` inside a loop cannot swallow it.
    """


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in the block after ``seconds`` (Unix, main thread only).

    Elsewhere (Windows, a worker thread) there is no portable way to interrupt Python code, so the
    block simply runs without a limit.
    """
    usable = (
        seconds
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise TimeLimitExceeded

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)


def _library_dirs() -> tuple[str, ...]:
    """Folders whose code is not the learner's: the course's utils, the stdlib, site-packages."""
    paths = {str(Path(__file__).resolve().parents[1])}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            paths.add(str(Path(path).resolve()))
    return tuple(sorted(paths))


_LIBRARY_DIRS = _library_dirs()


def _is_learner_file(filename: str) -> bool:
    if filename.startswith("<frozen") or filename.startswith("<string"):
        return False
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True
    return not any(resolved.startswith(directory) for directory in _LIBRARY_DIRS)


def describe_exception(error: BaseException) -> str:
    """One line: the exception and the learner's own line that raised it (no traceback wall)."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    if len(text) > 160:
        text = text[:157] + "..."
    summary = f"{type(error).__name__}: {text}" if text else type(error).__name__
    frames = traceback.extract_tb(error.__traceback__)
    learner_frames = [frame for frame in frames if _is_learner_file(frame.filename)]
    if not learner_frames:
        return summary
    frame = learner_frames[-1]
    where = "your cell" if frame.name == "<module>" else f"`{frame.name}`"
    location = f"line {frame.lineno} of {where}"
    if frame.line:
        location += f": `{frame.line.strip()}`"
    return f"{summary} ({location})"


def _case_limit(exercise: Exercise) -> float:
    override = os.environ.get(TIME_LIMIT_VARIABLE, "").strip()
    try:
        return float(override) if override else exercise.time_limit
    except ValueError:
        return exercise.time_limit


@dataclass
class _Run:
    """What happened on one case."""

    case_number: int
    case: Case | None
    inputs: dict[str, Any]
    got: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    problem: str | None = None  # why the result is wrong, if it is
    warning: str | None = None
    converted_from: str | None = None


def _describe_inputs(inputs: dict[str, Any]) -> str:
    return ", ".join(f"`{name}` {describe_value(value)}" for name, value in inputs.items())


def _case_label(run: _Run, total: int) -> str:
    label = f"case {run.case_number} of {total}"
    if run.case is not None:
        label += f" ({run.case.description}: {_describe_inputs(run.inputs)})"
    return label


def _call(exercise: Exercise, answer: Any, run: _Run) -> None:
    """Call the learner's function on a copy of the inputs and record what happened."""
    learner_inputs = copy.deepcopy(run.inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with time_limit(_case_limit(exercise)):
                got = answer(*learner_inputs.values())
        except TimeLimitExceeded:
            run.timed_out = True
            return
        except (Exception, SystemExit) as error:  # noqa: BLE001 - learner errors become verdicts
            run.error = error
            return
    if caught:
        run.warning = f"{caught[0].category.__name__}: {caught[0].message}"
    run.got, run.converted_from = to_numpy(got)
    if got is None:
        return
    if not exercise.may_mutate:
        changed = [n for n, v in run.inputs.items() if not arrays_equal(v, learner_inputs[n])]
        if changed:
            names = " and ".join(f"`{n}`" for n in changed)
            run.problem = (
                f"your function changed its input {names} in place (e.g. with `-=` or "
                "`x[...] = ...`); work on a copy and leave the inputs as they were."
            )


# ---------------------------------------------------------------------------------------------
# The verdict
# ---------------------------------------------------------------------------------------------


def _result(exercise: Exercise, outcome: Outcome, message: str, details=()) -> Result:
    points = exercise.points if outcome is Outcome.CORRECT else 0
    return Result(
        exercise_id=exercise.id,
        name=exercise.name,
        title=exercise.title,
        outcome=outcome,
        message=message,
        details=[d for d in details if d],
        points=points,
        max_points=exercise.points,
    )


def _not_attempted(exercise: Exercise) -> Result:
    if exercise.is_value:
        todo = f"replace the `...` in `{exercise.name} = ...` with your answer"
    else:
        todo = f"replace `raise NotImplementedError(...)` in `{exercise.name}` with your code"
    return _result(
        exercise, Outcome.NOT_ATTEMPTED, f"{todo}, run that cell, then run this check again."
    )


def _unfinished(exercise: Exercise, error: NotImplementedError) -> Result:
    """Not attempted, unless the stub that raised belongs to another exercise."""
    match = STUB_MESSAGE.match(str(error))
    if match is None or match["id"] == exercise.id:
        return _not_attempted(exercise)
    other_id, other_name = match["id"], match["name"]
    return _result(
        exercise,
        Outcome.ERROR,
        f"your code calls `{other_name}`, which is still the unfinished stub of exercise "
        f"{other_id}. Complete exercise {other_id} first (or do without it).",
    )


def _matching_mistake(exercise: Exercise, runs: list[_Run], learner_answers: list[Any]):
    """The first known mistake whose answers equal the learner's on every case, if any."""
    tolerance = {"rtol": exercise.rtol, "atol": exercise.atol}
    for mistake in exercise.mistakes:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mistaken = [mistake.answer(*copy.deepcopy(run.inputs).values()) for run in runs]
        except Exception:  # noqa: BLE001 - a mistake that cannot be computed does not match
            continue
        if all(
            same_answer(g, m, **tolerance) for g, m in zip(learner_answers, mistaken, strict=True)
        ):
            return mistake
    return None


def run_check(exercise: Exercise | str, answer: Any, *, grading: bool = False) -> Result:
    """Check ``answer`` (a function, or a value for a value exercise) and return the verdict.

    With ``grading=True`` (the instructor's grader), submitting one of the course's own ``utils``
    functions instead of your own code is marked incorrect.
    """
    if not isinstance(exercise, Exercise):
        exercise = get_exercise(exercise)
    if answer is Ellipsis:
        return _not_attempted(exercise)
    if grading and _is_course_code(answer):
        name = getattr(answer, "__qualname__", type(answer).__name__)
        return _result(
            exercise,
            Outcome.INCORRECT,
            f"you submitted the course's own `{answer.__module__}.{name}`, not your own code.",
        )
    if exercise.is_value:
        return _check_value(exercise, answer)
    if not callable(answer):
        return _result(
            exercise,
            Outcome.INCORRECT,
            f"`check` needs your function `{exercise.name}` itself, but you passed "
            f"{describe_value(answer)}. Pass the name without calling it: "
            f'`check("{exercise.id}", {exercise.name})`.',
        )
    return _check_function(exercise, answer)


def _is_course_code(answer: Any) -> bool:
    module = getattr(answer, "__module__", None) or ""
    return callable(answer) and (module == "utils" or module.startswith("utils."))


def _check_value(exercise: Exercise, answer: Any) -> Result:
    got, converted_from = to_numpy(answer)
    if got is None:
        return _result(
            exercise,
            Outcome.INCORRECT,
            f"`{exercise.name}` is None: assign your answer to it (`{exercise.name} = ...`).",
        )
    problem = difference(
        got,
        to_numpy(exercise.reference())[0],
        rtol=exercise.rtol,
        atol=exercise.atol,
        path=f"`{exercise.name}`",
        reveal_error=False,
    )
    if problem is None:
        return _result(exercise, Outcome.CORRECT, "that is the right value.")
    run = _Run(case_number=1, case=None, inputs={}, got=got)
    mistake = _matching_mistake(exercise, [run], [got])
    details = [f"Hint: {mistake.message}" if mistake else None, _conversion_note(converted_from)]
    return _result(exercise, Outcome.INCORRECT, problem, details)


def _conversion_note(converted_from: str | None) -> str | None:
    if converted_from is None:
        return None
    return f"You returned {converted_from}; it was converted to a NumPy array to be checked."


def _check_function(exercise: Exercise, answer: Any) -> Result:
    total = len(exercise.cases)
    runs: list[_Run] = []
    for number, case in enumerate(exercise.cases, start=1):
        inputs = case.inputs()
        run = _Run(case_number=number, case=case, inputs=inputs)
        _call(exercise, answer, run)
        runs.append(run)
        if isinstance(run.error, NotImplementedError):
            return _unfinished(exercise, run.error)
        if run.error is not None or run.timed_out:
            break
        if run.got is None:
            continue
        if run.problem is None:
            expected, _ = to_numpy(exercise.reference(*copy.deepcopy(inputs).values()))
            run.problem = difference(run.got, expected, rtol=exercise.rtol, atol=exercise.atol)

    failed = [r for r in runs if r.error or r.timed_out or r.got is None or r.problem]
    if not failed:
        return _result(exercise, Outcome.CORRECT, f"all {total} cases pass.")
    first = failed[0]
    where = _case_label(first, total)
    if first.timed_out:
        limit = _case_limit(exercise)
        return _result(
            exercise,
            Outcome.ERROR,
            f"your code ran for more than {limit:g} s on {where} and was stopped.",
            ["Look for a loop that never ends, or work on whole arrays rather than element-wise."],
        )
    if first.error is not None:
        return _result(
            exercise,
            Outcome.ERROR,
            f"your code raised {describe_exception(first.error)} on {where}.",
        )
    if first.got is None:
        return _result(
            exercise,
            Outcome.INCORRECT,
            f"your function returned None on {where}. Did you forget `return`?",
        )

    passed = first.case_number - 1
    details = []
    if passed:
        details.append(f"The first {_plural_cases(passed)} passed.")
    complete = all(r.error is None and not r.timed_out and r.got is not None for r in runs)
    mistake = (
        _matching_mistake(exercise, runs, [r.got for r in runs])
        if complete and len(runs) == total
        else None
    )
    if mistake is not None:
        details.append(f"Hint: {mistake.message}")
    details.append(_conversion_note(first.converted_from))
    if first.warning:
        details.append(f"While running your code, Python warned: {first.warning}")
    problem = first.problem[0].upper() + first.problem[1:]
    return _result(exercise, Outcome.INCORRECT, f"{where} fails. {problem}", details)


def _plural_cases(count: int) -> str:
    return "case" if count == 1 else f"{count} cases"
