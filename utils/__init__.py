"""Shared code of the course *Optimizing and Fine-Tuning Models*.

One idea per module, so that a learner can open any of them and read it like a page of the book:

- :mod:`utils.losses` — loss functions and their analytic gradients (NumPy).
- :mod:`utils.regularization` — L1/L2 penalties, decoupled weight decay, gradient clipping.
- :mod:`utils.schedules` — learning-rate schedules as plain functions of the step.
- :mod:`utils.optim` — reference optimizers, one module per framework
  (:mod:`utils.optim.numpy`, :mod:`utils.optim.torch`, :mod:`utils.optim.tensorflow`).
- :mod:`utils.functions` — optimization landscapes (quadratics, Rosenbrock, ...) with gradients.
- :mod:`utils.data` — small, offline, seeded data sets.
- :mod:`utils.plotting` — contour trajectories, loss curves, schedules.
- :mod:`utils.autocheck` — the self-checking exercises.
- :mod:`utils.environment` — the setup cell shared by every notebook, and device detection.

Importing :mod:`utils` itself is cheap: it imports neither torch nor TensorFlow.
"""

__version__ = "0.1.0"
