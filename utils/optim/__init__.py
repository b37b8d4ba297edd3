"""Reference optimizers with one API in three frameworks.

- :mod:`utils.optim.numpy` — pure NumPy; the reading copy and the oracle-tested reference.
- :mod:`utils.optim.torch` — ``torch.optim.Optimizer`` subclasses (run on a GPU in Colab).
- :mod:`utils.optim.tensorflow` — Keras 3 optimizers for ``tf.GradientTape`` loops and
  ``model.compile``.

Import the module you need; this package imports no framework by itself.
"""
