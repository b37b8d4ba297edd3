"""One module per chapter, ``chNN.py``, defining ``EXERCISE_SET`` (see :mod:`utils.autocheck`)."""
