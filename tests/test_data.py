"""utils.data: deterministic for a seed, the promised shapes and dtypes, and the data sets are
what they claim (checked with scikit-learn and least squares)."""

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
    ],
)
def test_bad_arguments_raise_value_errors_that_name_them(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()
