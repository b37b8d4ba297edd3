"""Reference optimizers with one API in three frameworks.

- :mod:`utils.optim.spec` — each optimizer described once: hyper-parameters and their ranges,
  state, math, and the framework optimizers it is tested against. No array library.
- :mod:`utils.optim.numpy` — pure NumPy: a reading form of each optimizer that looks like its
  formula, and a fast in-place form, tested equal.
- :mod:`utils.optim.torch` — ``torch.optim.Optimizer`` subclasses (run on a GPU in Colab).
- :mod:`utils.optim.tensorflow` — Keras 3 optimizers for ``tf.GradientTape`` loops and
  ``model.compile``.

Import the module you need; this package imports no framework by itself.
"""
