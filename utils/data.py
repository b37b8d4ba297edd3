r"""Small data sets for the course: offline, seeded, and quick to train on a CPU.

- :func:`linear_regression` — the recurring :math:`y = 2x + 1 + \varepsilon` example;
- :func:`polynomial_regression` — a noisy sine with a train/validation split, to overfit on
  purpose (with :func:`polynomial_features`);
- :func:`two_moons` — a two-class problem that no straight line separates;
- :func:`digits` — scikit-learn's 8×8 handwritten digits (bundled with scikit-learn, so nothing
  is downloaded), standardised and split into train/validation/test;
- :func:`reviews` — 600 short English product and service reviews labelled negative/positive
  (:data:`LABELS`), split into train/validation/test with both labels in equal proportion;
- :func:`paraphrase_pairs` — 160 sentence pairs that are or are not paraphrases of each other,
  to measure how well sentence embeddings keep their meaning.

The two text data sets were written for this course; they ship with the package in
``utils/datasets`` (see the README there) and are read with :mod:`importlib.resources`.

Every random function takes a ``seed`` and returns the same arrays for the same seed, on every
machine. Features and regression targets are float64 unless you pass ``dtype=np.float32`` (what
torch and Keras layers expect by default); class labels are int64.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import NamedTuple

import numpy as np

LABELS = ("negative", "positive")
"""The class names of :func:`reviews`: label ``i`` is ``LABELS[i]``, so 1 means positive."""


class RegressionSplit(NamedTuple):
    """Training and validation arrays, in the order you unpack them."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


class ClassificationSplit(NamedTuple):
    """Training, validation and test arrays, in the order you unpack them."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class TextSplit(NamedTuple):
    """Training, validation and test texts (tuples of str) with their int64 labels."""

    texts_train: tuple[str, ...]
    y_train: np.ndarray
    texts_val: tuple[str, ...]
    y_val: np.ndarray
    texts_test: tuple[str, ...]
    y_test: np.ndarray


def _check_count(value, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_noise(noise) -> None:
    if not np.isscalar(noise) or not np.isfinite(noise) or noise < 0:
        raise ValueError(
            f"noise must be a non-negative number (a standard deviation), got {noise!r}"
        )


def _check_seed(seed) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an int >= 0 (the data must be reproducible), got {seed!r}")


def _check_float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype must be a floating-point type such as np.float32, got {dtype}")
    return dtype


def _check_fractions(val_fraction, test_fraction) -> None:
    for value, name in ((val_fraction, "val_fraction"), (test_fraction, "test_fraction")):
        if not np.isscalar(value) or isinstance(value, (bool, str)) or not 0 <= value < 1:
            raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            "val_fraction + test_fraction must be below 1 to leave training data, "
            f"got {val_fraction} + {test_fraction}"
        )


# ---------------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------------


def linear_regression(
    n: int = 100,
    w=2.0,
    b: float = 1.0,
    noise: float = 0.1,
    seed: int = 0,
    x_range: tuple[float, float] = (-1.0, 1.0),
    dtype=np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Samples of the line :math:`y = w x + b + \varepsilon`, :math:`\varepsilon \sim
    \mathcal N(0, \text{noise}^2)`, with :math:`x` uniform on ``x_range``.

    Returns ``(x, y)`` with ``x`` of shape ``(n, d)`` and ``y`` of shape ``(n, 1)``: the shapes
    ``torch.nn.Linear(d, 1)`` and ``keras.layers.Dense(1)`` take and give. ``w`` is a number
    (``d = 1``) or a vector of ``d`` weights, for which :math:`y = x^\top w + b + \varepsilon`.
    The least-squares fit recovers ``w`` and ``b`` up to an error of order
    ``noise / sqrt(n)``.
    """
    _check_count(n, "n")
    _check_noise(noise)
    _check_seed(seed)
    dtype = _check_float_dtype(dtype)
    weights = np.atleast_1d(np.asarray(w, dtype=np.float64))
    if weights.ndim != 1:
        raise ValueError(
            f"w must be a number or a 1-D vector of weights, got shape {weights.shape}"
        )
    low, high = x_range
    if not low < high:
        raise ValueError(f"x_range must be (low, high) with low < high, got {x_range!r}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=(n, weights.size))
    y = x @ weights[:, None] + b + noise * rng.standard_normal((n, 1))  # y = x w + b + ε
    return x.astype(dtype), y.astype(dtype)


def sine_curve(x) -> np.ndarray:
    r"""The smooth function behind :func:`polynomial_regression`: :math:`\sin(2\pi x)`."""
    return np.sin(2.0 * np.pi * np.asarray(x, dtype=np.float64))


def polynomial_regression(
    n_train: int = 15,
    n_val: int = 100,
    noise: float = 0.2,
    seed: int = 0,
    dtype=np.float64,
) -> RegressionSplit:
    r"""Noisy samples of :math:`y = \sin(2\pi x) + \varepsilon` on :math:`x \in [0, 1]`, the
    classic demonstration of over-fitting (Bishop, *PRML*, §1.1).

    Returns a :class:`RegressionSplit` ``(x_train, y_train, x_val, y_val)``, every array of shape
    ``(n, 1)``. A degree-9 polynomial fitted to 15 training points passes close to each of them
    and misses the validation points by far more: its validation error, not its training
    error, tells you so. Build the features with :func:`polynomial_features`.
    """
    _check_count(n_train, "n_train")
    _check_count(n_val, "n_val")
    _check_noise(noise)
    _check_seed(seed)
    dtype = _check_float_dtype(dtype)
    rng = np.random.default_rng(seed)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        return x, sine_curve(x) + noise * rng.standard_normal((n, 1))  # sin(2πx) + ε

    x_train, y_train = sample(n_train)
    x_val, y_val = sample(n_val)
    return RegressionSplit(*(a.astype(dtype) for a in (x_train, y_train, x_val, y_val)))


def polynomial_features(x, degree: int, include_bias: bool = True) -> np.ndarray:
    r"""The columns :math:`1, x, x^2, \dots, x^{\text{degree}}` of a 1-D input.

    ``x`` has shape ``(n,)`` or ``(n, 1)``; the result has shape ``(n, degree + 1)`` (or
    ``(n, degree)`` without the bias column), like scikit-learn's ``PolynomialFeatures``, in the
    dtype of ``x``. For
    high degrees the columns become nearly collinear on :math:`[0, 1]`; the resulting
    ill-conditioning is what makes gradient descent on them slow.
    """
    if not isinstance(degree, (int, np.integer)) or isinstance(degree, bool) or degree < 0:
        raise ValueError(f"degree must be an int >= 0, got {degree!r}")
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(f"x must have shape (n,) or (n, 1), got shape {x.shape}")
    first_power = 0 if include_bias else 1
    return x[:, None] ** np.arange(first_power, degree + 1)


# ---------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------


def two_moons(
    n: int = 200, noise: float = 0.1, seed: int = 0, dtype=np.float64
) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaving half circles, the same layout as scikit-learn's ``make_moons``.

    Class 0 lies on :math:`(\cos t, \sin t)`, class 1 on :math:`(1 - \cos t, \tfrac12 - \sin t)`,
    :math:`t \in [0, \pi]`, plus Gaussian noise of standard deviation ``noise``. Returns
    ``(x, y)`` with ``x`` of shape ``(n, 2)`` and integer labels ``y`` of shape ``(n,)``,
    shuffled.
    """
    _check_count(n, "n")
    _check_noise(noise)
    _check_seed(seed)
    dtype = _check_float_dtype(dtype)
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = np.linspace(0.0, np.pi, n_outer)
    t_inner = np.linspace(0.0, np.pi, n_inner)
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1)
    inner = np.stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)], axis=1)
    x = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n_outer, dtype=np.int64), np.ones(n_inner, dtype=np.int64)])
    order = rng.permutation(n)
    return x[order].astype(dtype), y[order]


def digits(
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    standardize: bool = True,
    dtype=np.float64,
) -> ClassificationSplit:
    """scikit-learn's handwritten digits: 1,797 images of 8×8 pixels, 10 classes.

    Returns a :class:`ClassificationSplit` ``(x_train, y_train, x_val, y_val, x_test, y_test)``
    with images flattened to 64 features and integer labels 0–9. The split is a seeded random
    permutation. With ``standardize=True`` every pixel is shifted and scaled by the mean and
    standard deviation of the *training* images only (pixels that are constant in training get
    scale 1), so no information from validation or test leaks into training.
    """
    _check_seed(seed)
    dtype = _check_float_dtype(dtype)
    _check_fractions(val_fraction, test_fraction)
    from sklearn.datasets import load_digits  # imported here: scikit-learn is slow to import

    images, labels = load_digits(return_X_y=True)
    images = images.astype(np.float64)
    labels = labels.astype(np.int64)

    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    n_val = int(round(val_fraction * len(labels)))
    test_rows, val_rows, train_rows = np.split(order, [n_test, n_test + n_val])

    x_train, x_val, x_test = images[train_rows], images[val_rows], images[test_rows]
    if standardize:
        mean = x_train.mean(axis=0)
        std = x_train.std(axis=0)
        std[std == 0] = 1.0  # a pixel that is always blank stays 0 instead of becoming nan
        x_train, x_val, x_test = ((x - mean) / std for x in (x_train, x_val, x_test))
    return ClassificationSplit(
        x_train.astype(dtype),
        labels[train_rows],
        x_val.astype(dtype),
        labels[val_rows],
        x_test.astype(dtype),
        labels[test_rows],
    )


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


@cache
def _read_tsv(name: str, header: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The rows of ``utils/datasets/<name>`` after its header line, each a tuple of fields.

    Read through :mod:`importlib.resources`, so the file is found in a source checkout and in an
    installed package alike. Raises ``ValueError`` if the header or a row's width is wrong.
    """
    text = (resources.files("utils") / "datasets" / name).read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or tuple(lines[0].split("\t")) != header:
        expected = "\t".join(header)
        raise ValueError(f"{name} must start with the header {expected!r}, got {lines[:1]!r}")
    rows = tuple(tuple(line.split("\t")) for line in lines[1:] if line)
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"{name}, line {number}: expected {len(header)} fields, got {row!r}")
    return rows


def reviews(val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> TextSplit:
    """600 short English reviews of products and services, 300 negative and 300 positive.

    The reviews (one or two sentences of 6–30 words) cover electronics, kitchenware, books,
    hotels, restaurants and apps. Many turn on negation ("not bad at all"), contrast ("looks
    great, but it broke in a week"), faint praise or polite complaint, so a bag of words, or a
    linear probe on frozen sentence embeddings, gets most but not all of them right.

    Returns a :class:`TextSplit` ``(texts_train, y_train, texts_val, y_val, texts_test,
    y_test)``: texts as tuples of str, labels as int64 arrays with 1 for positive (the names are
    in :data:`LABELS`). The split is stratified: each of the two labels is permuted with the
    ``seed`` and cut in the same proportions, so every part is balanced (with the defaults,
    360/120/120 reviews, half of each label). Within each part the order is shuffled too.
    """
    _check_seed(seed)
    _check_fractions(val_fraction, test_fraction)
    rows = _read_tsv("reviews.tsv", ("label", "text"))
    for label, _ in rows:
        if label not in LABELS:
            raise ValueError(f"reviews.tsv: label must be one of {LABELS}, got {label!r}")
    texts = np.array([text for _, text in rows], dtype=object)
    labels = np.array([LABELS.index(label) for label, _ in rows], dtype=np.int64)

    rng = np.random.default_rng(seed)
    parts = ([], [], [])  # test, validation, training rows
    for label in range(len(LABELS)):
        rows_of_label = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(test_fraction * len(rows_of_label)))
        n_val = int(round(val_fraction * len(rows_of_label)))
        if n_test + n_val >= len(rows_of_label):
            raise ValueError(
                "val_fraction + test_fraction leave no training reviews, "
                f"got {val_fraction} + {test_fraction}"
            )
        pieces = np.split(rows_of_label, [n_test, n_test + n_val])
        for part, piece in zip(parts, pieces, strict=True):
            part.append(piece)
    test_rows, val_rows, train_rows = (rng.permutation(np.concatenate(part)) for part in parts)
    return TextSplit(
        tuple(texts[train_rows]),
        labels[train_rows],
        tuple(texts[val_rows]),
        labels[val_rows],
        tuple(texts[test_rows]),
        labels[test_rows],
    )


def paraphrase_pairs() -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray]:
    """160 pairs of everyday English sentences, 80 paraphrases and 80 look-alikes.

    Returns ``(first, second, same)``: two tuples of 160 sentences and an int64 array with
    ``same[i] = 1`` if ``second[i]`` says what ``first[i]`` says in other words and 0 if it is
    about the same thing, with many of the same words, but means something else ("The museum is
    closed on Mondays." / "The museum is open only on Mondays."). Each first sentence appears
    twice, once with each kind of partner. A good sentence embedding gives the paraphrases the
    higher cosine similarity; the pairs measure how much of that a fine-tuned model forgets.
    """
    rows = _read_tsv("paraphrases.tsv", ("same", "first", "second"))
    for same, _, _ in rows:
        if same not in ("0", "1"):
            raise ValueError(f"paraphrases.tsv: same must be 0 or 1, got {same!r}")
    first = tuple(row[1] for row in rows)
    second = tuple(row[2] for row in rows)
    return first, second, np.array([int(row[0]) for row in rows], dtype=np.int64)
