"""A verdict: its four outcomes, the :class:`Result` of one check, and its plain-text form.

This module knows nothing of how a verdict is reached (:mod:`utils.autocheck.core`) or drawn in
Jupyter (:mod:`utils.autocheck.feedback`); both import it, and so do the learner's calls
(:mod:`utils.autocheck.api`) and the grader (:mod:`utils.autocheck.grade`). It imports nothing of
the package, so it can sit below all of them.

The plain text is what a terminal, nbval and the grader's logs show::

    Incorrect — Exercise 1.1 (`mse`): case 2 of 3 (...) fails. Your result ...
      Hint: you summed the squared errors ...

The grader reads the machine-readable form, :meth:`Result.record`, from the metadata of the
output that displayed it, under the key :data:`MIME_TYPE`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

MIME_TYPE = "application/vnd.autocheck+json"  # the key of the record in an output's metadata


class Outcome(enum.StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    NOT_ATTEMPTED = "not attempted"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """``Correct``, ``Incorrect``, ``Not attempted`` or ``Error``: how a verdict starts."""
        return self.value.capitalize()


@dataclass
class Result:
    """The verdict on one exercise, with everything needed to display or grade it."""

    exercise_id: str
    name: str
    title: str
    outcome: Outcome
    message: str
    details: list[str] = field(default_factory=list)
    points: float = 0.0
    max_points: int = 0

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.CORRECT

    @property
    def heading(self) -> str:
        """The verdict's first line without its label: which exercise, and the message."""
        return f"Exercise {self.exercise_id} (`{self.name}`): {self.message}"

    def record(self) -> dict[str, Any]:
        """The machine-readable form the grader reads (JSON-serialisable)."""
        return {
            "exercise": self.exercise_id,
            "outcome": self.outcome.value,
            "points": self.points,
            "max_points": self.max_points,
            "message": self.message,
        }

    def __str__(self) -> str:
        """The plain-text verdict: the label and heading, then one indented line per detail."""
        first = f"{self.outcome.label} — {self.heading}"
        return "\n".join([first, *(f"  {line}" for line in self.details)])
