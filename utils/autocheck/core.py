"""Check a learner's answer in two steps: *collect* what their code produces, then *judge* it.

- :func:`collect` runs the learner's code — their function on each case's inputs, under a time
  limit, or just their value — and returns a record of **plain data** only
  (:mod:`utils.autocheck.plain`): the outputs, the inputs as the function left them, the error it
  raised, whether it ran out of time. It computes no reference and compares nothing.
- :func:`judge` rebuilds each case's inputs itself, computes the references and the known
  mistakes, compares, and reaches one of four verdicts:

  - **correct**: every case matches the reference;
  - **incorrect**: a case differs (the message names the case and what differs, and a known
    mistake adds a targeted hint), the function returned None, or it changed its inputs;
  - **not attempted**: the answer is still the notebook's stub (``NotImplementedError`` or
    ``...``);
  - **error**: the learner's code raised, or ran past the time limit.

``run_check`` is the two in a row, in the learner's kernel. The grader runs :func:`collect` in the
learner's kernel and :func:`judge` in its own process (:mod:`utils.autocheck.grade`), so nothing
the learner's code does can change how it is judged. :func:`judge` therefore trusts nothing in a
record: a malformed one gives an *error* verdict with no points, never an exception.

Nothing here displays anything (see :mod:`utils.autocheck.feedback`) and nothing raises for a
wrong answer (see :func:`utils.autocheck.check`).
"""

from __future__ import annotations

import _thread
import copy
import os
import signal
import sysconfig
import threading
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compare import (
    arrays_equal,
    describe_input,
    describe_value,
    difference,
    same_answer,
    to_numpy,
)
from .plain import Opaque, TooLarge, to_plain
from .result import Outcome, Result
from .spec import STUB_MESSAGE, Case, Exercise, get_exercise

TIME_LIMIT_VARIABLE = "AUTOCHECK_TIME_LIMIT"  # seconds per case; overrides every exercise's limit

# ---------------------------------------------------------------------------------------------
# The time limit
# ---------------------------------------------------------------------------------------------


class TimeLimitExceeded(BaseException):
    """Raised inside learner code, again and again, once a case has run past its time limit.

    A BaseException, so that ``except Exception:`` does not catch it. ``except:`` and ``except
    BaseException:`` do, so creating one trips SIGINT (a builtin function is not a descriptor,
    so ``__init__`` is called with the constructor's arguments, of which there are none):
    the time limit's handler raises the next one at the learner's next check point — the back
    edge of every loop and the start of every call — until the code has unwound to
    :func:`call_with_time_limit`. Each handler that catches it therefore gets one statement.
    """

    __init__ = _thread.interrupt_main


class _Deadline:
    """The signal handler of one timed call: SIGALRM starts the expiry, SIGINT continues it."""

    def __init__(self) -> None:
        self.armed = False
        self.expired = False

    def on_signal(self, signum: int, frame: Any) -> None:
        # No calls in here: a call would be a check point inside the handler itself.
        if not self.armed:
            return
        if signum == signal.SIGALRM:
            self.expired = True
        if not self.expired:
            raise KeyboardInterrupt  # the learner pressed Interrupt before the deadline
        raise TimeLimitExceeded


def _no_op() -> None:
    """A call, so that a signal still pending is handled (and ignored) before handlers change."""


def limit_available() -> bool:
    """True where a time limit can be enforced: Unix, in the main thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def call_with_time_limit(function, args: tuple, seconds: float | None):
    """Return ``function(*args)``; raise :class:`TimeLimitExceeded` after ``seconds``.

    Loops that catch every exception are stopped too (see :class:`TimeLimitExceeded`). What
    cannot be stopped from inside the process: code that replaces the SIGALRM or SIGINT
    handler, one C call that never returns, and recursion at Python's depth limit (the handler
    itself needs a frame). The grader's limit is a process boundary and stops those as well.
    Where :func:`limit_available` is False (Windows, a worker thread) there is no limit.
    """
    if not seconds or not limit_available():
        return function(*args)
    deadline = _Deadline()
    previous = {
        number: signal.signal(number, deadline.on_signal)
        for number in (signal.SIGALRM, signal.SIGINT)
    }
    deadline.armed = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function(*args)
    finally:
        deadline.armed = False  # first: every check point from here on is ours
        signal.setitimer(signal.ITIMER_REAL, 0)
        _no_op()
        for number, handler in previous.items():
            signal.signal(number, handler)


def _case_limit(exercise: Exercise) -> float:
    override = os.environ.get(TIME_LIMIT_VARIABLE, "").strip()
    try:
        return float(override) if override else exercise.time_limit
    except ValueError:
        return exercise.time_limit


# ---------------------------------------------------------------------------------------------
# The learner's own line in a traceback
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Step 1, in the learner's kernel: collect
# ---------------------------------------------------------------------------------------------


def _is_course_code(answer: Any) -> bool:
    module = getattr(answer, "__module__", None) or ""
    return callable(answer) and (module == "utils" or module.startswith("utils."))


def collect(exercise: Exercise | str, answer: Any, *, grading: bool = False) -> dict[str, Any]:
    """Run the learner's ``answer`` on the exercise's cases; return what happened as plain data.

    With ``grading=True`` (the grader), one of the course's own ``utils`` functions submitted
    instead of the learner's code is recorded as such and not run.
    """
    if not isinstance(exercise, Exercise):
        exercise = get_exercise(exercise)
    record: dict[str, Any] = {"exercise": exercise.id, "time_limit": _case_limit(exercise)}
    if answer is Ellipsis:
        return {**record, "kind": "stub"}
    if grading and _is_course_code(answer):
        name = getattr(answer, "__qualname__", type(answer).__name__)
        return {**record, "kind": "course code", "name": f"{answer.__module__}.{name}"}
    if exercise.is_value:
        value, converted_from = to_numpy(answer)
        return {
            **record,
            "kind": "value",
            "value": to_plain(value),
            "converted_from": converted_from,
        }
    if not callable(answer):
        return {**record, "kind": "not callable", "description": describe_value(answer)}
    runs = []
    for case in exercise.cases:
        run = _run_case(exercise, answer, case)
        runs.append(run)
        error_type = (run["error"] or {}).get("type")
        if error_type == "NotImplementedError" or (
            run["timed_out"] and not exercise.partial_credit
        ):
            break
    return {**record, "kind": "function", "runs": runs}


def _run_case(exercise: Exercise, answer: Any, case: Case) -> dict[str, Any]:
    """Call the learner's function on a fresh copy of one case's inputs."""
    inputs = case.inputs()
    run: dict[str, Any] = {
        "output": None,
        "inputs_after": None,
        "error": None,
        "timed_out": False,
        "warning": None,
        "converted_from": None,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = call_with_time_limit(answer, tuple(inputs.values()), _case_limit(exercise))
        except TimeLimitExceeded:
            return {**run, "timed_out": True}
        except (Exception, SystemExit) as error:  # noqa: BLE001 - learner errors become verdicts
            message = str(error)[:500]
            return {
                **run,
                "error": {
                    "type": type(error).__name__,
                    "message": message,
                    "text": describe_exception(error),
                },
            }
    if caught:
        run["warning"] = f"{caught[0].category.__name__}: {caught[0].message}"[:300]
    converted, run["converted_from"] = to_numpy(got)
    run["output"] = to_plain(converted)
    if not exercise.may_mutate:
        run["inputs_after"] = {name: to_plain(value) for name, value in inputs.items()}
    return run


# ---------------------------------------------------------------------------------------------
# Step 2, anywhere: judge
# ---------------------------------------------------------------------------------------------


class _Unreadable(Exception):
    """A record that is not what :func:`collect` writes."""


def _result(exercise: Exercise, outcome: Outcome, message: str, details=(), points=None):
    if points is None:
        points = float(exercise.points) if outcome is Outcome.CORRECT else 0.0
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


def judge(exercise: Exercise | str, record: Any) -> Result:
    """The verdict on a record made by :func:`collect` (trusted in no way)."""
    if not isinstance(exercise, Exercise):
        exercise = get_exercise(exercise)
    try:
        return _judge(exercise, record)
    except _Unreadable as problem:
        return _result(
            exercise,
            Outcome.ERROR,
            f"the outputs of your code could not be read ({problem}); nothing was graded.",
        )


def _field(mapping: Any, key: str, kinds: type | tuple[type, ...]) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise _Unreadable(f"no {key!r}")
    value = mapping[key]
    if not isinstance(value, kinds) or isinstance(value, Opaque):
        raise _Unreadable(f"{key!r} is {type(value).__name__}")
    return value


def _judge(exercise: Exercise, record: Any) -> Result:
    if _field(record, "exercise", str) != exercise.id:
        raise _Unreadable(f"it is for exercise {record['exercise'][:10]!r}")
    kind = _field(record, "kind", str)
    if kind == "stub":
        return _not_attempted(exercise)
    if kind == "course code":
        name = _field(record, "name", str)[:100]
        return _result(
            exercise,
            Outcome.INCORRECT,
            f"you submitted the course's own `{name}`, not your own code.",
        )
    if kind == "not callable" and not exercise.is_value:
        return _result(
            exercise,
            Outcome.INCORRECT,
            f"`check` needs your function `{exercise.name}` itself, but you passed "
            f"{_field(record, 'description', str)[:100]}. Pass the name without calling it: "
            f'`check("{exercise.id}", {exercise.name})`.',
        )
    if kind == "value" and exercise.is_value:
        return _judge_value(exercise, record)
    if kind == "function" and not exercise.is_value:
        return _judge_function(exercise, record)
    raise _Unreadable(f"kind {kind[:20]!r} for a {'value' if exercise.is_value else 'function'}")


def _not_attempted(exercise: Exercise) -> Result:
    if exercise.is_value:
        todo = f"replace the `...` in `{exercise.name} = ...` with your answer"
    else:
        todo = f"replace `raise NotImplementedError(...)` in `{exercise.name}` with your code"
    return _result(
        exercise, Outcome.NOT_ATTEMPTED, f"{todo}, run that cell, then run this check again."
    )


def _unfinished(exercise: Exercise, message: str) -> Result:
    """Not attempted, unless the stub that raised belongs to another exercise."""
    match = STUB_MESSAGE.match(message)
    if match is None or match["id"] == exercise.id:
        return _not_attempted(exercise)
    other_id, other_name = match["id"], match["name"]
    return _result(
        exercise,
        Outcome.ERROR,
        f"your code calls `{other_name}`, which is still the unfinished stub of exercise "
        f"{other_id}. Complete exercise {other_id} first (or do without it).",
    )


def _too_large(value: Any, path: str) -> str | None:
    if isinstance(value, TooLarge):
        return f"{path} is {value.description}, far larger than the answer can be."
    return None


def _matching_mistake(exercise: Exercise, inputs: list[dict[str, Any]], answers: list[Any]):
    """The first known mistake whose answers equal the learner's on every case, if any."""
    tolerance = {"rtol": exercise.rtol, "atol": exercise.atol}
    for mistake in exercise.mistakes:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mistaken = [mistake.answer(*copy.deepcopy(args).values()) for args in inputs]
        except Exception:  # noqa: BLE001 - a mistake that cannot be computed does not match
            continue
        if all(same_answer(g, m, **tolerance) for g, m in zip(answers, mistaken, strict=True)):
            return mistake
    return None


def _conversion_note(converted_from: Any) -> str | None:
    if not isinstance(converted_from, str):
        return None
    return f"You returned {converted_from[:40]}; it was converted to a NumPy array to be checked."


def _judge_value(exercise: Exercise, record: Mapping) -> Result:
    got = record.get("value")
    path = f"`{exercise.name}`"
    if got is None:
        return _result(
            exercise,
            Outcome.INCORRECT,
            f"{path} is None: assign your answer to it (`{exercise.name} = ...`).",
        )
    expected = to_numpy(exercise.reference())[0]
    problem = _too_large(got, path)
    if problem is None and exercise.judge is not None:
        problem = difference(got, expected, path=path, values=False)
        if problem is None:
            problem = exercise.judge(got)
    elif problem is None:
        problem = difference(
            got, expected, rtol=exercise.rtol, atol=exercise.atol, path=path, reveal_error=False
        )
    if problem is None:
        return _result(exercise, Outcome.CORRECT, "that is the right value.")
    mistake = _matching_mistake(exercise, [{}], [got])
    details = [
        f"Hint: {mistake.message}" if mistake else None,
        _conversion_note(record.get("converted_from")),
    ]
    return _result(exercise, Outcome.INCORRECT, problem, details)


@dataclass
class _Case:
    """One case as the judge sees it: its inputs (rebuilt here) and the learner's run."""

    number: int
    case: Case
    inputs: dict[str, Any]
    run: Mapping | None  # None: never run (an earlier case ran out of time)
    total: int
    problem: str | None = None

    @property
    def ran(self) -> bool:
        """True when the function returned something (right or wrong) on this case."""
        run = self.run
        return not (run is None or run["error"] or run["timed_out"] or run.get("output") is None)

    @property
    def label(self) -> str:
        described = ", ".join(f"`{n}` {describe_input(v)}" for n, v in self.inputs.items())
        return f"case {self.number} of {self.total} ({self.case.description}: {described})"


def _read_run(run: Any) -> Mapping:
    _field(run, "timed_out", bool)
    error = run.get("error") if isinstance(run, Mapping) else None
    if error is not None:
        _field(error, "type", str), _field(error, "message", str), _field(error, "text", str)
    for key in ("warning", "converted_from"):
        if run.get(key) is not None:
            _field(run, key, str)
    after = run.get("inputs_after")
    if after is not None and not isinstance(after, Mapping):
        raise _Unreadable("'inputs_after' is not a dict")
    return run


def _judge_function(exercise: Exercise, record: Mapping) -> Result:
    runs = _field(record, "runs", list)
    total = len(exercise.cases)
    if len(runs) > total:
        raise _Unreadable(f"{len(runs)} runs for {total} cases")
    cases = [
        _Case(number, case, case.inputs(), _read_run(runs[number - 1]), total)
        if number <= len(runs)
        else _Case(number, case, case.inputs(), None, total)
        for number, case in enumerate(exercise.cases, start=1)
    ]
    for item in cases:
        run = item.run
        if run is not None and run["error"] and run["error"]["type"] == "NotImplementedError":
            return _unfinished(exercise, run["error"]["message"])
        if not item.ran:
            continue
        item.problem = _mutation(exercise, item) or _too_large(run["output"], "your result")
        if item.problem is None:
            expected, _ = to_numpy(exercise.reference(*copy.deepcopy(item.inputs).values()))
            item.problem = difference(
                run["output"], expected, rtol=exercise.rtol, atol=exercise.atol
            )

    failing = [item for item in cases if not item.ran or item.problem is not None]
    passed = total - len(failing)
    if not failing:
        return _result(exercise, Outcome.CORRECT, f"all {total} cases pass.")
    points = round(exercise.points * passed / total, 2) if exercise.partial_credit else 0.0
    first = failing[0]
    run = first.run or {"timed_out": True}
    if run["timed_out"]:
        limit = float(record.get("time_limit") or exercise.time_limit)
        return _result(
            exercise,
            Outcome.ERROR,
            f"your code ran for more than {limit:g} s on {first.label} and was stopped.",
            ["Look for a loop that never ends, or work on whole arrays rather than element-wise."],
            points,
        )
    if run["error"]:
        return _result(
            exercise,
            Outcome.ERROR,
            f"your code raised {run['error']['text'][:400]} on {first.label}.",
            points=points,
        )
    if run.get("output") is None:
        return _result(
            exercise,
            Outcome.INCORRECT,
            f"your function returned None on {first.label}. Did you forget `return`?",
            points=points,
        )
    details = []
    earlier = first.number - 1
    if earlier:
        details.append(f"The first {'case' if earlier == 1 else f'{earlier} cases'} passed.")
    if exercise.partial_credit and passed:
        details.append(f"{passed} of {total} cases pass: {points:g} of {exercise.points} points.")
    if all(item.ran for item in cases):
        mistake = _matching_mistake(
            exercise, [item.inputs for item in cases], [item.run["output"] for item in cases]
        )
        if mistake is not None:
            details.append(f"Hint: {mistake.message}")
    details.append(_conversion_note(run.get("converted_from")))
    if run.get("warning"):
        details.append(f"While running your code, Python warned: {run['warning']}")
    problem = first.problem[0].upper() + first.problem[1:]
    return _result(exercise, Outcome.INCORRECT, f"{first.label} fails. {problem}", details, points)


def _mutation(exercise: Exercise, item: _Case) -> str | None:
    after = item.run.get("inputs_after")
    if exercise.may_mutate or not isinstance(after, Mapping):
        return None
    changed = [
        name
        for name, value in item.inputs.items()
        if name in after and not arrays_equal(to_plain(value), after[name])
    ]
    if not changed:
        return None
    names = " and ".join(f"`{n}`" for n in changed)
    return (
        f"your function changed its input {names} in place (e.g. with `-=` or "
        "`x[...] = ...`); work on a copy and leave the inputs as they were."
    )


def run_check(exercise: Exercise | str, answer: Any, *, grading: bool = False) -> Result:
    """Check ``answer`` (a function, or a value for a value exercise) and return the verdict."""
    if not isinstance(exercise, Exercise):
        exercise = get_exercise(exercise)
    return judge(exercise, collect(exercise, answer, grading=grading))


__all__ = [
    "TIME_LIMIT_VARIABLE",
    "TimeLimitExceeded",
    "call_with_time_limit",
    "collect",
    "describe_exception",
    "judge",
    "limit_available",
    "run_check",
]
