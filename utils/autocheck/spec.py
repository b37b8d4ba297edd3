"""What an exercise is: test cases, a reference, known mistakes and hints; and where sets live.

An :class:`ExerciseSet` groups the exercises of one chapter. Each set is a module
``utils/autocheck/exercises/chNN.py`` that defines ``EXERCISE_SET``; it is imported the first time
one of its exercises is checked, so a notebook only pays for its own chapter.

An exercise's id, name, title and points are written here, once. Notebooks refer to an exercise
by its id in a check call, ``check("1.3", logsumexp)`` (:data:`CHECK_CALL` finds them), and the
exercise notebook's stub raises :func:`stub_message` (:data:`STUB_MESSAGE` recognises it).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: A check call in a notebook's code: ``check("1.3", logsumexp)``. Group ``id`` is the exercise
#: id; group ``answer`` is the name passed, when the call is exactly ``check("id", name)``.
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](?P<id>\d+\.\d+)["'](?:\s*,\s*(?P<answer>\w+)\s*\))?""")

#: The message of the stub an exercise notebook hands out, ``Exercise 1.3: implement logsumexp``.
STUB_MESSAGE = re.compile(r"Exercise (?P<id>\d+\.\d+): implement (?P<name>\w+)")


def stub_message(exercise_id: str, name: str) -> str:
    """What the stub of exercise ``exercise_id`` raises: ``NotImplementedError(<this>)``."""
    return f"Exercise {exercise_id}: implement {name}"


@dataclass(frozen=True)
class Case:
    """One test input: a description for the learner and a seeded recipe for the arguments.

    ``make_inputs(rng)`` returns a dict ``{argument name: value}`` in the order the learner's
    function takes them; ``rng`` is ``np.random.default_rng(seed)``, so every run sees the same
    inputs and the learner's global random state is never touched.
    """

    description: str
    make_inputs: Callable[[np.random.Generator], Mapping[str, Any]]
    seed: int = 0

    def inputs(self) -> dict[str, Any]:
        """Build a fresh copy of this case's arguments."""
        return dict(self.make_inputs(np.random.default_rng(self.seed)))


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer and what to tell a learner whose answer matches it.

    ``answer`` takes the same arguments as the exercise's function (none for a value exercise)
    and returns the *mistaken* result. A learner's answer matches when it agrees with ``answer``
    on every case. ``message`` names the mistake and how to fix it, never the expected values.
    """

    message: str
    answer: Callable[..., Any]


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    - ``id``: ``"<chapter>.<number>"``, e.g. ``"1.3"``; learners type it in ``check("1.3", ...)``.
    - ``name``: the name the learner defines (``logsumexp``); the grader looks it up by this name
      and the exercise notebook's stub says ``implement logsumexp``.
    - ``title`` and ``points``: shown by ``summary()`` and the grader, and written by the build
      into the statement's heading in both notebooks (``## Exercise 1.3: <title> (2 points)``).
    - ``reference``: computes the expected answer from a case's arguments; use the course's
      ``utils`` functions (the same ones the chapters use), never pasted numbers.
    - ``cases``: the inputs; an empty tuple makes a *value* exercise: the learner assigns a value
      (the stub is ``name = ...``) and ``reference()`` takes no arguments.
    - ``oracle``: optional second opinion from torch/TensorFlow with the reference's signature; the
      test suite checks ``reference`` against it on every case (it is never run in a notebook).
    - ``rtol``/``atol``: tolerance for floating-point results; ``time_limit``: seconds per case.
    - ``may_mutate``: set to True only for exercises whose function updates its inputs in place.
    - ``partial_credit``: False (the default) gives the points only when every case passes; True
      gives ``points × passed cases / cases`` (rounded to 0.01), and runs every case even after
      one fails.
    - ``judge``: for an *experiment*, a value exercise whose answer is a choice (a rate, a λ, an
      epoch) that many values satisfy. ``judge(value)`` receives the learner's value, already
      checked to have the reference's type and shape and to be finite, and returns None if it is
      acceptable or a message saying what is wrong with it (usually by running it). The reference
      is then one acceptable answer (the best one), not the only one. Write it deterministic
      and quick (under a second); it is wrapped so that it never raises (:func:`guarded_judge`).
    """

    id: str
    name: str
    title: str
    reference: Callable[..., Any]
    cases: tuple[Case, ...] = ()
    mistakes: tuple[Mistake, ...] = ()
    hints: tuple[str, ...] = ()
    points: int = 1
    oracle: Callable[..., Any] | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    time_limit: float = 5.0
    may_mutate: bool = False
    partial_credit: bool = False
    judge: Callable[[Any], str | None] | None = None

    @property
    def is_value(self) -> bool:
        """True when the learner provides a value rather than a function."""
        return not self.cases

    @property
    def chapter(self) -> str:
        return self.id.split(".", 1)[0]

    def __post_init__(self) -> None:
        chapter, _, number = self.id.partition(".")
        if not (chapter.isdigit() and number.isdigit()):
            raise ValueError(f"exercise id must look like '1.3', got {self.id!r}")
        if not self.name.isidentifier():
            raise ValueError(
                f"exercise {self.id}: name must be a Python identifier, got {self.name!r}"
            )
        if self.points < 0:
            raise ValueError(f"exercise {self.id}: points must be >= 0, got {self.points}")
        if self.judge is not None and self.cases:
            raise ValueError(f"exercise {self.id}: a judge is for value exercises (no cases)")
        if self.judge is not None and not getattr(self.judge, "guarded", False):
            object.__setattr__(self, "judge", guarded_judge(self.judge))


def guarded_judge(judge: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """``judge`` that turns an exception or a non-message into a message: a verdict never raises.

    It also refuses a value that is not one finite real number before ``judge`` sees it.
    """

    def guarded(value: Any) -> str | None:
        try:
            number = float(np.asarray(value, dtype=np.float64).reshape(()))
        except (TypeError, ValueError, OverflowError):
            return f"your answer should be a single number, but it is {type(value).__name__}."
        if not np.isfinite(number):
            return f"your answer is {number}; choose a finite number."
        try:
            verdict = judge(value)
        except Exception as error:  # noqa: BLE001 - the verdict must be a message, always
            return (
                f"your value ({number:.6g}) could not be tried out: the experiment raised "
                f"{type(error).__name__}. Choose a value in the range the statement gives."
            )
        return verdict if verdict is None or isinstance(verdict, str) else str(verdict)

    guarded.guarded = True
    guarded.__wrapped__ = judge
    return guarded


def multiple_choice(count: int, correct: int | Callable[[], int]) -> Callable[[Any], str | None]:
    """A judge for a multiple-choice question answered with an option's number, 1 to ``count``.

    ``correct`` is the right option's number, or the exercise's reference that computes it. The
    judge accepts that option; another option is refused (the exercise's declared mistake for it
    says why); anything that is not one of the options' numbers gets a message saying how to
    answer. Learners answer with numbers, not letters, so that every answer is checked like a
    value.
    """

    def judge(value: Any) -> str | None:
        choice = float(np.asarray(value))
        if choice != round(choice) or not 1 <= choice <= count:
            return (
                f"answer with the number of one option, an int from 1 to {count}; "
                f"you gave {choice:g}."
            )
        if round(choice) != (correct() if callable(correct) else correct):
            return f"option {round(choice)} is not the right one."
        return None

    return judge


@dataclass(frozen=True)
class ExerciseSet:
    """The exercises of one chapter, in the order the notebook presents them."""

    chapter: str
    title: str
    notebook: str  # file name stem shared by solutions/ and exercises/, e.g. "01_loss_functions"
    exercises: tuple[Exercise, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        ids = [exercise.id for exercise in self.exercises]
        if len(set(ids)) != len(ids):
            raise ValueError(f"exercise set {self.chapter}: duplicate ids in {ids}")
        strangers = [i for i in ids if not i.startswith(f"{self.chapter}.")]
        if strangers:
            raise ValueError(
                f"exercise set {self.chapter}: ids {strangers} belong to another chapter"
            )

    @property
    def max_points(self) -> int:
        return sum(exercise.points for exercise in self.exercises)

    def __getitem__(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise KeyError(exercise_id)


# ---------------------------------------------------------------------------------------------
# Registry: chapter number → ExerciseSet, filled lazily from utils.autocheck.exercises.chNN
# ---------------------------------------------------------------------------------------------

_SETS: dict[str, ExerciseSet] = {}
_PACKAGE = "utils.autocheck.exercises"


class UnknownExercise(LookupError):
    """Raised for an exercise id or chapter that no exercise set defines."""


def register(exercise_set: ExerciseSet) -> ExerciseSet:
    """Make ``exercise_set`` known (the chapter modules are found without this; tests use it)."""
    _SETS[exercise_set.chapter] = exercise_set
    return exercise_set


def unregister(chapter: str) -> None:
    _SETS.pop(str(chapter), None)


def get_set(chapter: str | int) -> ExerciseSet:
    """Return the exercise set of ``chapter`` (``"1"`` or ``1``), importing it if needed."""
    chapter = str(int(chapter)) if str(chapter).isdigit() else str(chapter)
    if chapter not in _SETS:
        module_name = f"{_PACKAGE}.ch{int(chapter):02d}" if chapter.isdigit() else None
        try:
            module = importlib.import_module(module_name) if module_name else None
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            module = None
        if module is None:
            known = ", ".join(sorted(available_chapters(), key=int)) or "none"
            raise UnknownExercise(
                f"there is no exercise set for chapter {chapter} (known: {known})"
            )
        register(module.EXERCISE_SET)
    return _SETS[chapter]


def get_exercise(exercise_id: str) -> Exercise:
    """Return the exercise ``"1.3"``; the message of the error lists the ids that do exist."""
    exercise_id = str(exercise_id).strip()
    chapter = exercise_id.partition(".")[0]
    try:
        exercise_set = get_set(chapter) if chapter.isdigit() else None
    except UnknownExercise:
        exercise_set = None
    if exercise_set is not None:
        try:
            return exercise_set[exercise_id]
        except KeyError:
            pass
        ids = ", ".join(e.id for e in exercise_set.exercises)
        raise UnknownExercise(f"there is no exercise {exercise_id!r}; chapter {chapter} has {ids}")
    raise UnknownExercise(
        f"there is no exercise {exercise_id!r}; ids look like '1.3' (chapter 1, exercise 3)"
    )


def available_chapters() -> list[str]:
    """Chapters with an exercise set: the registered ones and every ``chNN`` module."""
    package = importlib.import_module(_PACKAGE)
    chapters = set(_SETS)
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("ch") and module.name[2:].isdigit():
            chapters.add(str(int(module.name[2:])))
    return sorted(chapters, key=int)


def all_sets() -> list[ExerciseSet]:
    return [get_set(chapter) for chapter in available_chapters()]
