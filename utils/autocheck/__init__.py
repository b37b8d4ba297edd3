r'''Self-checking exercises: ``check``, ``hint`` and ``summary``, and the tools behind them.

For learners
============

In an exercise notebook::

    from utils.autocheck import check, hint, summary

    def mse(pred, target):
        ...                        # your code
    check("1.1", mse)              # pass the function itself (or, for a value exercise, the value)
    hint("1.1")                    # first hint; hint("1.1", 2) for the next one
    summary()                      # at the end: "4/6 passed, 7/9 points"

A check runs your function on a few seeded test cases, on copies of the inputs, and shows one of
four verdicts: **Correct**; **Incorrect** (which case, then what is wrong: type, shape, dtype,
NaN/inf, then where the values differ, with a targeted hint when your answer matches a known
mistake; also a function that returns None or changes its inputs); **Not attempted** (still the
stub); **Error** (your code raised — the message shows your own line — or ran past the time
limit). The expected answer is never printed. A check never raises, so "Run all" keeps going,
unless ``AUTOCHECK_STRICT=1`` (``make test`` sets it; see :mod:`utils.autocheck.api`).

In Jupyter and Colab a verdict is coloured HTML; elsewhere it is plain text. torch and TensorFlow
tensors are accepted as answers (converted to NumPy; the message says so if their dtype or shape is
wrong). Importing this package imports neither torch nor TensorFlow.

The type policy, the same everywhere: where an array is expected, a list or tuple is incorrect
("returned a list; wrap it in `np.asarray(...)`") and a tensor is accepted; where a number is
expected, a Python float or int, a NumPy float and a 0-d array or tensor are all accepted. A near
miss gets its relative error and a precision hint. An *experiment* (a value you choose by running
something) is judged by running your choice: every value that meets the goal passes.

For instructors
===============

``python -m utils.autocheck grade submissions/ --out grades`` runs each notebook in a fresh kernel,
where it only *collects* each exercise's outputs, and judges them in its own process, so nothing a
notebook does can change its grade except its answers. It writes ``grades.csv`` (student file,
exercise, points, outcome, ...) and ``summary.csv``; see :mod:`utils.autocheck.grade`, including
its threat model.

The modules
===========

From the bottom up; each imports only modules above it in this list
(``tests/test_autocheck_package.py`` fails on an import cycle):

- :mod:`~utils.autocheck.result` — the verdict: ``Outcome``, ``Result`` and its plain text.
- :mod:`~utils.autocheck.compare` — says in words how a result differs from the expected one.
- :mod:`~utils.autocheck.spec` — ``Exercise``, ``Case``, ``Mistake``, ``ExerciseSet``; the
  registry; how a notebook calls ``check``.
- :mod:`~utils.autocheck.plain` — plain data: what may leave the learner's kernel, and its
  files (read without unpickling anything).
- :mod:`~utils.autocheck.core` — a check in two steps: ``collect`` runs the learner's code on the
  cases under the time limit and returns plain data; ``judge`` rebuilds the inputs, computes the
  references and reaches the verdict, trusting nothing in what it is given (``run_check`` is the
  two in a row).
- :mod:`~utils.autocheck.feedback` — HTML rendering and display.
- :mod:`~utils.autocheck.api` — ``check``, ``hint``, ``summary`` and strict mode.
- :mod:`~utils.autocheck.build` — solutions notebook → exercise notebook.
- :mod:`~utils.autocheck.grade` — the grader; ``utils/autocheck/exercises/chNN.py`` — the sets.

How to add an exercise set
==========================

Chapter 1's set is the model: the blocks below quote it (``...`` leaves lines out;
``tests/test_autocheck_package.py`` checks that every quoted line is in the file named).

1. **The reference.** What learners implement must already exist in ``utils`` (here
   ``utils.losses``), tested against torch/TensorFlow. Expected answers are computed from it,
   never pasted as numbers.

2. **The set**, one module per chapter, found by its name. Everything about an exercise is written
   here once: its id, the name the learner defines, its title and points (the build copies them
   into the notebooks' headings), cases, known mistakes, hints (from
   ``utils/autocheck/exercises/ch01.py``)::

    MSE = Exercise(
        id="1.1",
        name="mse",
        title="Mean squared error",
        reference=losses.mse,
        oracle=_torch_mse,
        cases=(
            Case("8 predictions and their targets", _regression(8), seed=11),
            Case("a batch of 4 rows × 3 outputs", _regression((4, 3)), seed=12),
            Case("a single prediction", _regression(1), seed=13),
        ),
        mistakes=(
            Mistake(
                "you summed the squared errors. The *mean* squared error divides that sum by the "
                "number of elements n (`np.mean` does both).",
                lambda pred, target: np.sum((pred - target) ** 2),
            ),
            Mistake(
                "that is the root mean squared error (RMSE); the MSE has no square root.",
                lambda pred, target: np.sqrt(np.mean((pred - target) ** 2)),
            ),
    ...
        ),
        hints=(
            "Compute all the errors at once with `pred - target`: NumPy works elementwise.",
    ...
        ),
    )
    ...
    EXERCISE_SET = ExerciseSet(
        chapter="1",
        title="Loss functions",
        notebook="01_loss_functions",
        exercises=(
            MSE,
            ...
            INITIAL_LOSS,
            FIXED_FINAL_LOSS,
            ...
        ),
    )

   - **Ids and names.** ``id`` is ``"<chapter>.<number>"``, as learners type it in
     ``check("1.1", mse)``; ``name`` is what the learner defines (the stub names it, the grader
     looks it up). ``points`` defaults to 1.
   - **Cases.** ``make_inputs(rng)`` returns ``{argument name: value}`` in the order of the
     learner's parameters, built only from ``rng`` (``np.random.default_rng(seed)``) — never from
     the global seed. Keep them small. Pick them so that every mistake shows: a batch that is not
     square (an axis mistake becomes a shape error), a single element, large values (overflow), a
     step count above 1 (bias correction). Optional: ``rtol``/``atol`` (default 1e-6/1e-9),
     ``time_limit`` (seconds per case, default 5), ``may_mutate=True`` for in-place updates.
   - **Known mistakes**, at least three. ``answer`` computes the *mistaken* result from the same
     arguments, written the way a learner would get it wrong (flipped sign, missing 1/n, missing
     bias correction, weight decay not scaled by the learning rate, softmax applied twice, ...).
     A learner's answer matches a mistake when it agrees with ``answer`` on *every* case; the
     verdict then adds ``Hint: <message>``. Write ``message`` to the learner, lower-case first
     word, saying what they did and how to fix it, without the expected values. If two mistakes
     agree on every case, or a mistake equals the reference, the tests fail: add a case that tells
     them apart.
   - **Value exercises** (the learner assigns ``name = ...``): ``cases=()``, ``reference`` and each
     ``answer`` take no arguments. A *concept question* is one: a number worked out on paper, or
     a multiple choice answered with the option's number, ``judge=multiple_choice(4, reference)``,
     with one ``Mistake`` per wrong option saying why it is wrong.
   - **Hints** go from a nudge to nearly the answer; never the whole solution.
   - **Oracles** (optional, run only by the tests): the same from torch/TensorFlow, imported
     *inside* the function (importing the set must stay cheap).

3. **The solutions notebook**, ``solutions/01_loss_functions.ipynb``, the single source of both
   notebooks: a title cell ``# Solutions 1: Loss functions`` (the build writes the set's title
   after the number, and ``# Exercises 1`` in the exercise notebook) and a short introduction;
   the standard setup cell (``utils.environment.SETUP_CELL``); then
   ``from utils.autocheck import check, hint, summary``. For each exercise: a markdown statement
   under a heading ``## Exercise 1.1`` (the build writes the rest of the line from the spec), what
   to implement, the math in ``$$ ... $$``, the signature and shapes; a code cell with the
   function whose body is wrapped in ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (inside the
   ``def``, so that the stub keeps the signature; a value exercise wraps a single top-level
   ``name = value``); a check cell with ``# hint(...)`` commented below it (from
   ``solutions/01_loss_functions.ipynb``)::

    ## Exercise 1.1: Mean squared error (1 point)
    ...
    def mse(pred, target):
        """Mean squared error over every element of `pred` and `target`."""
        ### BEGIN SOLUTION
        return np.mean((pred - target) ** 2)
        ### END SOLUTION
    check("1.1", mse)
    # hint("1.1")  # uncomment for a hint; hint("1.1", 2) shows the next one

   Cells tagged ``solution-only`` (explanations, demonstrations that call the solution) are left
   out of the exercise notebook. Other cells may not call learner functions (they would fail on
   the stubs). The last cell is ``summary()``. Store it without outputs (``nbstripout``).
   ``make lint`` runs ruff on both notebooks, so every import must still be used once the
   solutions are removed (ch01 shows ``hint("1.1")`` in a cell and uses ``np`` in a
   demonstration cell).

4. **Build**: ``python -m utils.autocheck.build`` (or ``make exercises``) writes the headings of
   the solutions notebook from the spec and ``exercises/01_loss_functions.ipynb`` from it. Commit
   both notebooks and add both to ``_toc.yml``. Never edit the exercise notebook, or a heading,
   by hand: a test rebuilds them and fails on any difference.

5. **Tests.** The generic tests pick the new set up by themselves: the reference passes; each
   declared mistake is rejected with its own message; at least three mistakes and one hint per
   exercise; seeded inputs; reference = oracle on every case (``test_autocheck_frameworks.py``);
   both notebooks check every exercise once and end with ``summary()``; the exercise notebook runs
   with every check *not attempted* and no other error; the build is in sync. Add
   ``tests/test_exercises_chNN.py``: a ``WRONG`` table of ``(exercise id, wrong function or value,
   expected message fragment)`` with at least three hand-written wrong answers per exercise,
   written independently of the declared mistakes (loops, other names, another route to the same
   error: never a copy of a ``Mistake``'s ``answer``), so that they prove the messages, not the
   declarations; and a ``RIGHT`` table of other correct solutions that must pass;
   ``table_tests(N, WRONG, RIGHT)`` from ``tests/exercise_tables.py`` turns the tables into tests
   (from ``tests/test_exercises_ch01.py``)::

    def mse_loop_sum(pred, target):
        total = 0.0
        for p, t in zip(pred.ravel(), target.ravel(), strict=True):
            total += (p - t) ** 2
        return total
    ...
    WRONG = [
        ("1.1", mse_loop_sum, "you summed the squared errors"),
        ("1.1", mse_abs, "mean absolute error (MAE)"),
    ...
    ]
    ...
    RIGHT = [
        ("1.1", mse_loop),
    ...
    ]
    ...
    (
        test_wrong_answer_gets_the_intended_message,
        test_every_exercise_has_three_hand_written_wrong_answers,
        test_other_correct_solutions_pass,
    ) = table_tests(1, WRONG, RIGHT)

6. **Run** ``AUTOCHECK_STRICT=1 python -m pytest --nbval-lax --nbval-current-env
   solutions/NN_*.ipynb`` and ``python -m pytest tests/test_autocheck* tests/test_exercises*``.
'''

from .api import CheckFailed, check, hint, reset, strict_mode, summary
from .core import run_check
from .result import Outcome, Result
from .spec import Case, Exercise, ExerciseSet, Mistake, get_exercise, get_set

__all__ = [
    "Case",
    "CheckFailed",
    "Exercise",
    "ExerciseSet",
    "Mistake",
    "Outcome",
    "Result",
    "check",
    "get_exercise",
    "get_set",
    "hint",
    "reset",
    "run_check",
    "strict_mode",
    "summary",
]
