r"""Self-checking exercises: ``check``, ``hint`` and ``summary``, and the tools behind them.

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

For instructors
===============

``python -m utils.autocheck grade submissions/ --out grades`` runs each notebook in a fresh kernel,
re-checks every exercise itself and writes ``grades.csv`` (student file, exercise, points,
outcome, ...) and ``summary.csv``; see :mod:`utils.autocheck.grade`, including its threat model.

The modules
===========

- :mod:`~utils.autocheck.spec` — ``Exercise``, ``Case``, ``Mistake``, ``ExerciseSet``; the registry.
- :mod:`~utils.autocheck.core` — runs the cases and reaches a verdict (``run_check``).
- :mod:`~utils.autocheck.compare` — says in words how a result differs from the expected one.
- :mod:`~utils.autocheck.feedback` — HTML/plain-text rendering and display.
- :mod:`~utils.autocheck.api` — ``check``, ``hint``, ``summary`` and strict mode.
- :mod:`~utils.autocheck.build` — solutions notebook → exercise notebook.
- :mod:`~utils.autocheck.grade` — the grader; ``utils/autocheck/exercises/chNN.py`` — the sets.

How to add an exercise set
==========================

Follow ``utils/autocheck/exercises/ch01.py``, ``solutions/01_loss_functions.ipynb`` and
``tests/test_exercises_ch01.py``. For chapter 2 (gradient descent):

1. **The reference.** What learners implement must already exist in ``utils`` (e.g.
   ``utils.optim.numpy``), tested against torch/TensorFlow. Expected answers are computed from it,
   never pasted as numbers.

2. **The set**, ``utils/autocheck/exercises/ch02.py`` (found automatically by its name)::

       from utils.autocheck.spec import Case, Exercise, ExerciseSet, Mistake

       SGD_STEP = Exercise(
           id="2.1",                      # "<chapter>.<number>", as learners type it
           name="sgd_step",               # what the learner defines (the stub names it)
           title="One SGD step",
           reference=my_reference,        # same arguments as the learner's function
           cases=(
               Case("a vector of 5 parameters", lambda rng: {"param": rng.normal(size=5),
                    "grad": rng.normal(size=5), "lr": 0.1}, seed=21),
               ...                        # one case per behaviour worth testing (see below)
           ),
           mistakes=(                     # at least three
               Mistake("you added the gradient: a descent step subtracts lr × grad.",
                       lambda param, grad, lr: param + lr * grad),
               ...
           ),
           hints=("first nudge", "a bigger nudge", "almost there"),
           points=1,
           oracle=_torch_sgd_step,        # optional: the same from torch/TF, run only by the tests
       )
       EXERCISE_SET = ExerciseSet(chapter="2", title="Gradient descent",
                                  notebook="02_gradient_descent", exercises=(SGD_STEP, ...))

   - **Cases.** ``make_inputs(rng)`` returns ``{argument name: value}`` in the order of the
     learner's parameters, built only from ``rng`` (``np.random.default_rng(seed)``) — never from
     the global seed. Keep them small. Pick them so that every mistake shows: a batch that is not
     square (an axis mistake becomes a shape error), a single element, large values (overflow), a
     step count above 1 (bias correction). Optional: ``rtol``/``atol`` (default 1e-6/1e-9),
     ``time_limit`` (seconds per case, default 5), ``may_mutate=True`` for in-place updates.
   - **Known mistakes.** ``answer`` computes the *mistaken* result from the same arguments, written
     the way a learner would get it wrong (flipped sign, missing 1/n, missing bias correction,
     weight decay not scaled by the learning rate, softmax applied twice, ...). A learner's answer
     matches a mistake when it agrees with ``answer`` on *every* case; the verdict then adds
     ``Hint: <message>``. Write ``message`` to the learner, lower-case first word, saying what they
     did and how to fix it, without the expected values. If two mistakes agree on every case, or a
     mistake equals the reference, the tests fail: add a case that tells them apart.
   - **Value exercises** (the learner assigns ``name = ...``): ``cases=()``, ``reference`` and each
     ``answer`` take no arguments.
   - **Hints** go from a nudge to nearly the answer; never the whole solution.
   - **Oracles** import torch/TensorFlow *inside* the function (importing the set must stay cheap).

3. **The solutions notebook**, ``solutions/02_gradient_descent.ipynb``, the single source:
   markdown title ``# Solutions 2: Gradient descent`` (the build turns it into ``# Exercises 2:``)
   and a short introduction; the standard setup cell (``utils.environment.SETUP_CELL``); then
   ``from utils.autocheck import check, hint, summary``. For each exercise: a markdown statement
   (``## Exercise 2.1: One SGD step (1 point)``, what to implement, the math in ``$$ ... $$``, the
   signature and shapes); a code cell with the function whose body is wrapped in
   ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (inside the ``def``, so that the stub keeps the
   signature; a value exercise wraps a single top-level ``name = value``); a check cell
   ``check("2.1", sgd_step)`` with ``# hint("2.1")`` commented below it. Cells tagged
   ``solution-only`` (explanations) are left out of the exercise notebook. Only check cells may
   call learner functions (other calls would fail on the stubs). The last cell is ``summary()``.
   Store it without outputs (``nbstripout``). ``make lint`` runs ruff on both notebooks, so every
   import must still be used once the solutions are removed (ch01 shows ``hint("1.1")`` in a cell
   and uses ``np`` in a demonstration cell).

4. **Build** ``exercises/02_gradient_descent.ipynb``: ``python -m utils.autocheck.build`` (or
   ``make exercises``). Commit both notebooks and add both to ``_toc.yml``. Never edit the
   exercise notebook by hand: a test rebuilds it and fails on any difference.

5. **Tests.** The generic tests pick the new set up by themselves: the reference passes; each
   declared mistake is rejected with its own message; at least three mistakes and one hint per
   exercise; seeded inputs; reference = oracle on every case (``test_autocheck_frameworks.py``);
   both notebooks check every exercise once and end with ``summary()``; the exercise notebook runs
   with every check *not attempted* and no other error; the build is in sync. Add
   ``tests/test_exercises_ch02.py`` like ``test_exercises_ch01.py``: a ``WRONG`` table of
   ``(exercise id, wrong function or value, expected message fragment)`` with at least three
   hand-written wrong answers per exercise (written independently of the declared mistakes — loops,
   other names — so they prove the messages, not the declarations), and a ``RIGHT`` table of other
   correct solutions that must pass; ``table_tests(2, WRONG, RIGHT)`` from
   ``tests/exercise_tables.py`` turns the tables into tests.

6. **Run** ``AUTOCHECK_STRICT=1 python -m pytest --nbval-lax --nbval-current-env
   solutions/02_gradient_descent.ipynb`` and
   ``python -m pytest tests/test_autocheck* tests/test_exercises*``.
"""

from .api import CheckFailed, check, hint, reset, strict_mode, summary
from .core import Outcome, Result, run_check
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
