"""utils.data: deterministic for a seed, the promised shapes and dtypes, and the data sets are
what they claim (checked with scikit-learn and least squares)."""

import itertools

import numpy as np
import pytest

from utils import data


def assert_same_arrays(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


MAKERS = {
    "linear_regression": lambda seed: data.linear_regression(seed=seed),
    "polynomial_regression": lambda seed: data.polynomial_regression(seed=seed),
    "two_moons": lambda seed: data.two_moons(seed=seed),
    "digits": lambda seed: data.digits(seed=seed),
}


@pytest.mark.parametrize("name", MAKERS)
def test_same_seed_same_data_other_seed_other_data(name):
    make = MAKERS[name]
    assert_same_arrays(make(0), make(0))
    first, other = make(0), make(1)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_linear_regression_shapes_and_recovered_parameters():
    x, y = data.linear_regression(n=2000, w=2.0, b=1.0, noise=0.1, seed=0)
    assert x.shape == (2000, 1) and y.shape == (2000, 1)
    assert x.dtype == y.dtype == np.float64
    assert x.min() >= -1.0 and x.max() <= 1.0
    design = np.hstack([x, np.ones_like(x)])
    (w_hat, b_hat), *_ = np.linalg.lstsq(design, y[:, 0], rcond=None)
    assert w_hat == pytest.approx(2.0, abs=0.02) and b_hat == pytest.approx(1.0, abs=0.01)
    residuals = y[:, 0] - design @ [w_hat, b_hat]
    assert residuals.std() == pytest.approx(0.1, rel=0.05)


def test_linear_regression_without_noise_lies_exactly_on_the_line_and_takes_a_weight_vector():
    x, y = data.linear_regression(n=50, w=2.0, b=1.0, noise=0.0, x_range=(0.0, 5.0))
    np.testing.assert_allclose(y, 2.0 * x + 1.0, rtol=1e-15)
    assert x.min() >= 0.0 and x.max() <= 5.0
    x, y = data.linear_regression(n=30, w=[1.0, -2.0, 0.5], b=0.0, noise=0.0, dtype=np.float32)
    assert x.shape == (30, 3) and y.shape == (30, 1) and x.dtype == y.dtype == np.float32
    np.testing.assert_allclose(y[:, 0], x @ np.array([1.0, -2.0, 0.5], np.float32), rtol=1e-6)


def test_polynomial_regression_is_a_noisy_sine_on_the_unit_interval():
    split = data.polynomial_regression(n_train=15, n_val=2000, noise=0.2, seed=3)
    x_train, y_train, x_val, y_val = split
    assert x_train.shape == y_train.shape == (15, 1)
    assert x_val.shape == y_val.shape == (2000, 1)
    assert 0.0 <= x_val.min() and x_val.max() <= 1.0
    noise = y_val - data.sine_curve(x_val)
    assert noise.std() == pytest.approx(0.2, rel=0.05) and abs(noise.mean()) < 0.02
    assert split.x_val is x_val  # a NamedTuple: fields by name or by unpacking


def test_polynomial_features_match_scikit_learn_and_show_overfitting():
    from sklearn.preprocessing import PolynomialFeatures

    x_train, y_train, x_val, y_val = data.polynomial_regression(n_train=12, n_val=200, seed=0)
    ours = data.polynomial_features(x_train, 9)
    np.testing.assert_allclose(ours, PolynomialFeatures(9).fit_transform(x_train), rtol=1e-14)
    assert data.polynomial_features(x_train[:, 0], 3, include_bias=False).shape == (12, 3)

    def errors(degree):
        weights, *_ = np.linalg.lstsq(data.polynomial_features(x_train, degree), y_train)
        train = np.mean((data.polynomial_features(x_train, degree) @ weights - y_train) ** 2)
        val = np.mean((data.polynomial_features(x_val, degree) @ weights - y_val) ** 2)
        return train, val

    (train_3, val_3), (train_11, val_11) = errors(3), errors(11)
    assert train_11 < 1e-6 < train_3  # degree 11 interpolates the 12 points...
    assert val_11 > 10 * val_3  # ...and generalises far worse


def test_two_moons_have_the_layout_of_scikit_learn_make_moons():
    from sklearn.datasets import make_moons

    x, y = data.two_moons(n=101, noise=0.0, seed=0)
    assert x.shape == (101, 2) and y.shape == (101,) and y.dtype == np.int64
    reference_x, reference_y = make_moons(n_samples=101, noise=0.0, shuffle=False)
    for label in (0, 1):
        ours, theirs = x[y == label], reference_x[reference_y == label]
        assert len(ours) == len(theirs)
        distances = np.linalg.norm(ours[:, None, :] - theirs[None, :, :], axis=-1)
        assert distances.min(axis=1).max() < 1e-12  # every point of ours is one of theirs
        assert distances.min(axis=0).max() < 1e-12  # and the other way round
    assert not np.all(np.diff(y) >= 0)  # shuffled


def test_digits_split_is_a_partition_standardised_with_training_statistics():
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    split = data.digits(val_fraction=0.2, test_fraction=0.1, seed=0)
    x_train, y_train, x_val, y_val, x_test, y_test = split
    assert len(x_train) + len(x_val) + len(x_test) == 1797
    assert (len(x_val), len(x_test)) == (359, 180)
    assert x_train.shape[1] == 64 and x_train.dtype == np.float64 and y_train.dtype == np.int64
    assert set(np.unique(y_train)) == set(range(10))

    raw = data.digits(val_fraction=0.2, test_fraction=0.1, seed=0, standardize=False)
    images, labels = load_digits(return_X_y=True)
    # every raw row comes from the data set, each exactly once across the three parts
    all_rows = np.vstack([raw.x_train, raw.x_val, raw.x_test])
    order = np.lexsort(all_rows.T)
    reference_order = np.lexsort(images.T)
    np.testing.assert_array_equal(all_rows[order], images[reference_order])
    np.testing.assert_array_equal(
        np.concatenate([raw.y_train, raw.y_val, raw.y_test])[order], labels[reference_order]
    )

    scaler = StandardScaler().fit(raw.x_train)
    np.testing.assert_allclose(x_train, scaler.transform(raw.x_train), atol=1e-12)
    np.testing.assert_allclose(x_val, scaler.transform(raw.x_val), atol=1e-12)
    np.testing.assert_allclose(x_test, scaler.transform(raw.x_test), atol=1e-12)
    assert np.all(np.isfinite(x_train))  # constant pixels did not become nan


def test_float32_on_request():
    split = data.digits(dtype=np.float32)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    assert data.polynomial_regression(dtype=np.float32).x_train.dtype == np.float32
    assert data.two_moons(dtype=np.float32)[0].dtype == np.float32


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: data.linear_regression(n=0), "n"),
        (lambda: data.linear_regression(noise=-1.0), "noise"),
        (lambda: data.linear_regression(seed=-3), "seed"),
        (lambda: data.linear_regression(seed=None), "seed"),
        (lambda: data.linear_regression(x_range=(1.0, 0.0)), "x_range"),
        (lambda: data.linear_regression(w=np.ones((2, 2))), "w"),
        (lambda: data.linear_regression(dtype=np.int32), "dtype"),
        (lambda: data.polynomial_regression(n_train=0), "n_train"),
        (lambda: data.polynomial_features(np.ones((3, 2)), 2), "x"),
        (lambda: data.polynomial_features(np.ones(3), -1), "degree"),
        (lambda: data.two_moons(n=2.5), "n"),
        (lambda: data.digits(val_fraction=0.6, test_fraction=0.5), "val_fraction"),
        (lambda: data.digits(test_fraction=1.0), "test_fraction"),
        (lambda: data.reviews(seed=-1), "seed"),
        (lambda: data.reviews(seed=1.5), "seed"),
        (lambda: data.reviews(val_fraction=-0.1), "val_fraction"),
        (lambda: data.reviews(val_fraction="0.2"), "val_fraction"),
        (lambda: data.reviews(test_fraction=1.0), "test_fraction"),
        (lambda: data.reviews(val_fraction=0.5, test_fraction=0.5), "val_fraction"),
        (lambda: data.reviews(val_fraction=0.5, test_fraction=0.499), "val_fraction"),
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


# ---------------------------------------------------------------------------------------------
# Text data sets (utils/datasets/*.tsv)
# ---------------------------------------------------------------------------------------------


def read_dataset_file(name):
    """The raw lines of a file in utils/datasets, found the way the loaders find it."""
    from importlib import resources

    return (resources.files("utils") / "datasets" / name).read_text(encoding="utf-8").splitlines()


def all_reviews():
    """(text, label) for every row of reviews.tsv, label 1 for positive."""
    rows = [line.split("\t") for line in read_dataset_file("reviews.tsv")[1:]]
    return [(text, data.LABELS.index(label)) for label, text in rows]


def test_text_files_ship_inside_the_package_and_say_where_they_come_from():
    import tomllib
    from importlib import resources
    from pathlib import Path

    folder = resources.files("utils") / "datasets"
    for name in ("reviews.tsv", "paraphrases.tsv", "README.md"):
        assert (folder / name).is_file(), name
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"]["package-data"]["utils"]
    assert "datasets/*.tsv" in package_data and "datasets/*.md" in package_data
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "MIT" in readme and "written for this course" in readme
    assert "reviews.tsv" in readme and "paraphrases.tsv" in readme


def test_reviews_file_is_well_formed_balanced_shuffled_and_without_duplicates():
    lines = read_dataset_file("reviews.tsv")
    assert lines[0] == "label\ttext"
    assert len(lines) == 601
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 2 for row in rows)
    labels = [label for label, _ in rows]
    assert labels.count("positive") == labels.count("negative") == 300
    texts = [text for _, text in rows]
    assert len(set(texts)) == 600
    assert len({text.lower() for text in texts}) == 600  # not even up to case
    for text in texts:
        assert text.isascii() and text == text.strip() and "  " not in text, text
        assert 6 <= len(text.split()) <= 30, text
    # shuffled, not grouped by label: about half of neighbouring rows have different labels
    changes = sum(a != b for a, b in itertools.pairwise(labels))
    assert 200 < changes < 400


def test_reviews_default_split_sizes_types_and_balance():
    split = data.reviews()
    texts_train, y_train, texts_val, y_val, texts_test, y_test = split
    assert (len(texts_train), len(texts_val), len(texts_test)) == (360, 120, 120)
    for texts, labels in ((texts_train, y_train), (texts_val, y_val), (texts_test, y_test)):
        assert isinstance(texts, tuple) and all(type(text) is str for text in texts)
        assert labels.dtype == np.int64 and labels.shape == (len(texts),)
        assert set(np.unique(labels)) == {0, 1} and labels.sum() * 2 == len(labels)
        assert not np.all(np.diff(labels) >= 0)  # shuffled within the part
    assert split.texts_val is texts_val  # a NamedTuple: fields by name or by unpacking
    assert data.LABELS == ("negative", "positive")


@pytest.mark.parametrize(
    "val_fraction, test_fraction", [(0.2, 0.2), (0.1, 0.3), (0.0, 0.25), (0.15, 0.0)]
)
def test_reviews_split_is_a_stratified_partition_of_the_file(val_fraction, test_fraction):
    split = data.reviews(val_fraction=val_fraction, test_fraction=test_fraction, seed=5)
    parts = [
        (split.texts_train, split.y_train),
        (split.texts_val, split.y_val),
        (split.texts_test, split.y_test),
    ]
    returned = [
        (text, int(label))
        for texts, labels in parts
        for text, label in zip(texts, labels, strict=True)
    ]
    assert sorted(returned) == sorted(all_reviews())  # every review once, with its own label
    train, val, test = (set(texts) for texts, _ in parts)
    assert not (train & val or train & test or val & test)  # no review in two parts
    for (_, labels), fraction in ((parts[1], val_fraction), (parts[2], test_fraction)):
        n_per_label = int(round(fraction * 300))
        assert np.sum(labels == 1) == np.sum(labels == 0) == n_per_label


def test_reviews_same_seed_same_split_other_seed_other_split():
    first, again, other = data.reviews(seed=0), data.reviews(seed=0), data.reviews(seed=1)
    for a, b in zip(first, again, strict=True):
        if isinstance(a, tuple):
            assert a == b
        else:
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
    assert set(first.texts_test) != set(other.texts_test)
    assert set(first.texts_train) != set(other.texts_train)
    assert data.reviews(seed=np.int64(1)).texts_test == other.texts_test


def test_paraphrase_pairs_are_balanced_well_formed_and_pair_each_sentence_both_ways():
    lines = read_dataset_file("paraphrases.tsv")
    assert lines[0] == "same\tfirst\tsecond"
    assert len(lines) == 161 and all(len(line.split("\t")) == 3 for line in lines[1:])

    first, second, same = data.paraphrase_pairs()
    assert isinstance(first, tuple) and isinstance(second, tuple)
    assert len(first) == len(second) == len(same) == 160
    assert same.dtype == np.int64 and set(np.unique(same)) == {0, 1} and same.sum() == 80
    assert [line.split("\t") for line in lines[1:]] == [
        [str(s), a, b] for s, a, b in zip(same, first, second, strict=True)
    ]
    for a, b in zip(first, second, strict=True):
        assert a != b and a.isascii() and b.isascii() and a.strip() == a and b.strip() == b
        assert 4 <= len(a.split()) <= 30 and 4 <= len(b.split()) <= 30
    assert len(set(zip(first, second, strict=True))) == 160  # no pair twice
    # each first sentence comes once with its paraphrase and once with a look-alike
    labels_of = {}
    for a, s in zip(first, same, strict=True):
        labels_of.setdefault(a, []).append(int(s))
    assert len(labels_of) == 80 and all(sorted(v) == [0, 1] for v in labels_of.values())
    assert not np.all(np.diff(same) >= 0)  # shuffled


def test_text_reader_rejects_a_wrong_header():
    with pytest.raises(ValueError, match="header"):
        data._read_tsv("reviews.tsv", ("label", "review"))
