"""utils.plotting draws what it says: checked on the returned Axes (Agg backend, no display)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils import functions, losses, plotting, schedules  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled_lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def gradient_descent_path(landscape, start, lr, steps):
    path = [np.asarray(start, dtype=float)]
    for _ in range(steps):
        path.append(path[-1] - lr * landscape.grad(path[-1]))
    return np.array(path)


def test_plot_trajectories_draws_contours_paths_markers_and_a_legend():
    landscape = functions.rosenbrock()
    paths = {
        "GD, lr=1e-3": gradient_descent_path(landscape, [-1.5, 2.0], 1e-3, 50),
        "GD, lr=2e-3": gradient_descent_path(landscape, [-1.0, -0.5], 2e-3, 30),
    }
    ax = plotting.plot_trajectories(landscape, paths)

    assert len(ax.collections) >= 1  # the contour set
    lines = {line.get_label(): line for line in labelled_lines(ax)}
    assert set(lines) == {"GD, lr=1e-3", "GD, lr=2e-3", "minimum"}
    for label, path in paths.items():
        np.testing.assert_array_equal(lines[label].get_xydata(), path)
    np.testing.assert_array_equal(lines["minimum"].get_xydata(), [[1.0, 1.0]])
    # per path: the line, a start marker and an end marker
    start_markers = [line for line in ax.get_lines() if line.get_label() == "_start"]
    end_markers = [line for line in ax.get_lines() if line.get_label() == "_end"]
    assert len(start_markers) == len(end_markers) == 2
    np.testing.assert_array_equal(end_markers[1].get_xydata(), paths["GD, lr=2e-3"][-1:])
    assert start_markers[0].get_color() == lines["GD, lr=1e-3"].get_color()

    assert legend_texts(ax) == ["GD, lr=1e-3", "GD, lr=2e-3", "minimum", "start", "end"]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_title() == landscape.name
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 3.0)


def test_plot_trajectories_on_a_saddle_with_negative_values_and_a_given_axes():
    landscape = functions.saddle()
    _, given_ax = plt.subplots()
    path = gradient_descent_path(landscape, [1.5, 1e-3], 0.1, 25)
    ax = plotting.plot_trajectories(landscape, {"GD": path}, ax=given_ax, title="Escaping")
    assert ax is given_ax
    assert legend_texts(ax) == ["GD", "start", "end"]  # no minimum to mark
    assert ax.get_title() == "Escaping"
    contour_levels = ax.collections[0].levels
    assert contour_levels.min() < 0 < contour_levels.max()  # negative heights are drawn too


def test_plot_trajectories_log_and_linear_levels():
    landscape = functions.ill_conditioned_quadratic(10.0)
    path = {"GD": gradient_descent_path(landscape, [4.0, 2.0], 0.15, 20)}
    log_ax = plotting.plot_trajectories(landscape, path, levels=12, log_levels=True)
    linear_ax = plotting.plot_trajectories(landscape, path, levels=12, log_levels=False)
    log_levels, linear_levels = log_ax.collections[0].levels, linear_ax.collections[0].levels
    assert np.allclose(np.diff(linear_levels), np.diff(linear_levels)[0])
    steps = np.diff(log_levels)
    assert steps[-1] > 100 * steps[0]  # dense near the minimum, sparse on the walls
    explicit_ax = plotting.plot_trajectories(landscape, path, levels=[1.0, 5.0, 20.0])
    np.testing.assert_array_equal(explicit_ax.collections[0].levels, [1.0, 5.0, 20.0])


def test_plot_trajectories_rejects_paths_of_the_wrong_shape():
    with pytest.raises(ValueError, match="trajectories"):
        plotting.plot_trajectories(functions.beale(), {"GD": np.zeros((5, 3))})
    with pytest.raises(ValueError, match="trajectories"):
        plotting.plot_trajectories(functions.beale(), {})


def test_plot_loss_curves_one_line_per_run_with_optional_steps_and_log_scale():
    curves = {
        "SGD": 0.9 ** np.arange(50),
        "Adam": 0.8 ** np.arange(50),
        "validation": (np.arange(0, 50, 10), np.array([1.0, 0.5, 0.3, 0.2, 0.15])),
    }
    ax = plotting.plot_loss_curves(curves, log_y=True, title="Training")
    lines = labelled_lines(ax)
    assert [line.get_label() for line in lines] == ["SGD", "Adam", "validation"]
    np.testing.assert_array_equal(lines[0].get_ydata(), curves["SGD"])
    np.testing.assert_array_equal(lines[2].get_xdata(), [0, 10, 20, 30, 40])
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "loss", "Training")
    assert legend_texts(ax) == ["SGD", "Adam", "validation"]

    default = plotting.plot_loss_curves({"run": [3.0, 2.0]}, xlabel="epoch", ylabel="accuracy")
    assert default.get_yscale() == "linear" and default.get_title() == "Accuracy per epoch"
    with pytest.raises(ValueError, match="curves"):
        plotting.plot_loss_curves({"bad": (np.arange(3), np.ones(4))})


def test_plot_schedules_draws_each_schedule_values():
    named = {
        "cosine": schedules.cosine_annealing(0.1, 100),
        "warm-up + cosine": schedules.warmup_cosine(0.1, 10, 100),
        "1/t": lambda step: 0.1 / (1 + step),
    }
    ax = plotting.plot_schedules(named, 120)
    lines = labelled_lines(ax)
    assert [line.get_label() for line in lines] == list(named)
    for line, schedule in zip(lines, named.values(), strict=True):
        np.testing.assert_array_equal(line.get_ydata(), schedules.values(schedule, 120))
        np.testing.assert_array_equal(line.get_xdata(), np.arange(120))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "learning rate")
    assert ax.get_title() and legend_texts(ax) == list(named)


def test_plot_loss_1d_compares_losses_as_functions_of_the_error():
    def per_example(loss, **kwargs):
        return lambda e: loss(e, np.zeros_like(e), reduction="none", **kwargs)

    named = {
        "MSE": per_example(losses.mse),
        "MAE": per_example(losses.mae),
        "Huber, δ=1": per_example(losses.huber, delta=1.0),
    }
    errors = np.linspace(-2, 2, 9)
    ax = plotting.plot_loss_1d(named, errors=errors)
    lines = labelled_lines(ax)
    assert [line.get_label() for line in lines] == list(named)
    np.testing.assert_array_equal(lines[0].get_ydata(), errors**2)
    np.testing.assert_array_equal(lines[1].get_ydata(), np.abs(errors))
    assert ax.get_xlabel() and ax.get_ylabel() == "loss" and ax.get_title()
    assert len(plotting.plot_loss_1d({"MSE": named["MSE"]}).get_lines()[0].get_xdata()) == 401
