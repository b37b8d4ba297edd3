"""utils.plotting draws what it is given: checked on the data the returned Axes holds.

Each test reads back what matplotlib was asked to draw (the points of every line and marker,
the heights and paths of the contours, the legend's entries and their colours, the axis limits
and scales) and compares it with the input, so a figure that draws the wrong thing fails, not
only one that forgets a label. Agg backend: no display needed.
"""

from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from utils import functions, losses, plotting, schedules

matplotlib.use("Agg")  # draw off-screen


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def series(ax):
    """The lines a legend entry is made for (matplotlib hides labels that start with "_")."""
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def lines_labelled(ax, label):
    return [line for line in ax.get_lines() if line.get_label() == label]


def colour(artist):
    return to_rgba(artist.get_color())


def legend_entries(ax):
    """``(text, colour)`` of each legend entry, in order."""
    legend = ax.get_legend()
    assert legend is not None, "no legend"
    entries = zip(legend.get_texts(), legend.legend_handles, strict=True)
    return [(text.get_text(), colour(handle)) for text, handle in entries]


def assert_legend_names_each_series_in_its_colour(ax, labels):
    lines = series(ax)
    assert [line.get_label() for line in lines] == list(labels)
    colours = [colour(line) for line in lines]
    assert len(set(colours)) == len(colours), f"two series share a colour: {colours}"
    assert legend_entries(ax)[: len(lines)] == list(zip(labels, colours, strict=True))


def contour_set(ax):
    (contours,) = ax.collections  # one contour set, nothing else
    return contours


def window_values(landscape, grid_points=200):
    """The landscape on the grid the figure evaluates it on."""
    (x1_min, x1_max), (x2_min, x2_max) = landscape.bounds
    x1, x2 = np.meshgrid(
        np.linspace(x1_min, x1_max, grid_points), np.linspace(x2_min, x2_max, grid_points)
    )
    return landscape.f(np.stack([x1, x2], axis=-1))


def gradient_descent_path(landscape, start, lr, steps):
    path = [np.asarray(start, dtype=float)]
    for _ in range(steps):
        path.append(path[-1] - lr * landscape.grad(path[-1]))
    return np.array(path)


# ---------------------------------------------------------------------------------------------
# plot_trajectories
# ---------------------------------------------------------------------------------------------


def test_plot_trajectories_draws_each_path_from_a_circle_to_a_cross_and_stars_the_minima():
    landscape = functions.rosenbrock()
    paths = {
        "GD, lr=1e-3": gradient_descent_path(landscape, [-1.5, 2.0], 1e-3, 50),
        "GD, lr=2e-3": gradient_descent_path(landscape, [-1.0, -0.5], 2e-3, 30),
    }
    ax = plotting.plot_trajectories(landscape, paths)

    assert_legend_names_each_series_in_its_colour(ax, [*paths, "minimum"])
    lines = {line.get_label(): line for line in series(ax)}
    starts, ends = lines_labelled(ax, "_start"), lines_labelled(ax, "_end")
    assert len(starts) == len(ends) == len(paths)
    for (label, path), start, end in zip(paths.items(), starts, ends, strict=True):
        np.testing.assert_array_equal(lines[label].get_xydata(), path)
        np.testing.assert_array_equal(start.get_xydata(), path[:1])
        np.testing.assert_array_equal(end.get_xydata(), path[-1:])
        assert (start.get_marker(), end.get_marker()) == ("o", "X")
        assert colour(start) == colour(end) == colour(lines[label]), label

    minimum = lines["minimum"]
    np.testing.assert_array_equal(minimum.get_xydata(), landscape.minima)
    assert minimum.get_marker() == "*" and minimum.get_linestyle() == "None"
    assert colour(minimum) == to_rgba("red")

    texts = [text for text, _ in legend_entries(ax)]
    assert texts == [*paths, "minimum", "start", "end"]
    assert (ax.get_xlim(), ax.get_ylim()) == landscape.bounds
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$", "$x_2$")
    assert ax.get_title() == landscape.name


def test_plot_trajectories_keeps_the_landscape_s_window_when_a_path_leaves_it():
    landscape = functions.rosenbrock()
    diverging = gradient_descent_path(landscape, [-1.5, 2.0], 3e-3, 4)
    assert np.abs(diverging).max() > 10  # far outside ((-2, 2), (-1, 3))
    ax = plotting.plot_trajectories(landscape, {"GD, lr=3e-3": diverging})
    np.testing.assert_array_equal(series(ax)[0].get_xydata(), diverging)
    assert (ax.get_xlim(), ax.get_ylim()) == landscape.bounds


def test_plot_trajectories_marks_every_minimum():
    landscape = functions.himmelblau()
    ax = plotting.plot_trajectories(landscape, {"GD": np.array([[0.0, 0.0], [1.0, 1.0]])})
    (minimum,) = lines_labelled(ax, "minimum")
    assert len(landscape.minima) == 4
    np.testing.assert_array_equal(minimum.get_xydata(), landscape.minima)


def test_plot_trajectories_contours_are_level_sets_spanning_the_landscape_on_the_window():
    landscape = functions.ill_conditioned_quadratic(10.0)
    path = {"GD": gradient_descent_path(landscape, [4.0, 2.0], 0.15, 20)}
    on_window = window_values(landscape)
    lowest, highest = on_window.min(), on_window.max()

    for log_levels in (True, False):
        ax = plotting.plot_trajectories(landscape, path, levels=12, log_levels=log_levels)
        contours = contour_set(ax)
        levels = contours.levels
        assert len(levels) == 12 and np.all(np.diff(levels) > 0)
        assert levels[-1] == pytest.approx(highest)
        if log_levels:  # the lowest contour just above the minimum: 10⁻⁴ of the span
            assert levels[0] == pytest.approx(lowest + 1e-4 * (highest - lowest))
            steps = np.diff(levels)
            assert steps[-1] > 100 * steps[0]  # dense near the minimum, sparse on the walls
        else:
            assert levels[0] == pytest.approx(lowest)
            np.testing.assert_allclose(np.diff(levels), np.diff(levels)[0])

        # Each contour line lies where the landscape takes its height, inside the window.
        drawn = 0
        for level, line in zip(levels, contours.get_paths(), strict=True):
            points = line.vertices
            drawn += len(points) > 0
            np.testing.assert_allclose(landscape.f(points), level, rtol=1e-2, atol=1e-3)
            (x1_min, x1_max), (x2_min, x2_max) = landscape.bounds
            assert np.all((x1_min <= points[:, 0]) & (points[:, 0] <= x1_max))
            assert np.all((x2_min <= points[:, 1]) & (points[:, 1] <= x2_max))
        assert drawn >= len(levels) - 1  # the top level may touch only the window's corners

    explicit_ax = plotting.plot_trajectories(landscape, path, levels=[1.0, 5.0, 20.0])
    np.testing.assert_array_equal(contour_set(explicit_ax).levels, [1.0, 5.0, 20.0])


def test_plot_trajectories_on_a_saddle_draws_its_negative_heights_on_the_given_axes():
    landscape = functions.saddle()
    _, given_ax = plt.subplots()
    path = gradient_descent_path(landscape, [1.5, 1e-3], 0.1, 25)
    ax = plotting.plot_trajectories(landscape, {"GD": path}, ax=given_ax, title="Escaping")
    assert ax is given_ax
    np.testing.assert_array_equal(series(ax)[0].get_xydata(), path)
    assert [text for text, _ in legend_entries(ax)] == ["GD", "start", "end"]  # no minimum
    assert lines_labelled(ax, "minimum") == []
    assert ax.get_title() == "Escaping"
    levels, on_window = contour_set(ax).levels, window_values(landscape)
    assert levels[0] < 0 < levels[-1]  # f = x₁² − x₂² is about −4 to 4 on [−2, 2]²
    assert levels[-1] == pytest.approx(on_window.max())
    assert levels[0] == pytest.approx(on_window.min() + 1e-4 * np.ptp(on_window))


def test_plot_trajectories_without_bounds_frames_the_paths_with_a_margin():
    bowl = SimpleNamespace(f=lambda x: np.sum(x**2, axis=-1))  # no bounds, minima or name
    path = np.array([[0.0, 1.0], [2.0, 1.5], [4.0, 1.2]])
    ax = plotting.plot_trajectories(bowl, {"path": path})
    # margin: a tenth of the extent, or of 1 when the extent is smaller than 1
    assert ax.get_xlim() == pytest.approx((-0.4, 4.4))
    assert ax.get_ylim() == pytest.approx((0.9, 1.6))
    assert ax.get_title() == "Optimizer paths"
    assert [text for text, _ in legend_entries(ax)] == ["path", "start", "end"]
    levels = contour_set(ax).levels
    assert levels[-1] == pytest.approx(bowl.f(np.array([4.4, 1.6])))  # the farthest corner


def test_plot_trajectories_of_a_single_point_and_on_a_flat_landscape():
    flat = SimpleNamespace(f=lambda x: np.full(x.shape[:-1], 2.0), bounds=((0, 1), (0, 1)))
    ax = plotting.plot_trajectories(flat, {"still": np.array([[0.5, 0.5]])})
    np.testing.assert_array_equal(contour_set(ax).levels, [2.0])  # one height: one level
    for label in ("still", "_start", "_end"):
        (line,) = lines_labelled(ax, label)
        np.testing.assert_array_equal(line.get_xydata(), [[0.5, 0.5]])


def test_plot_trajectories_rejects_paths_of_the_wrong_shape():
    for bad in (np.zeros((5, 3)), np.zeros(4), np.zeros((0, 2))):
        with pytest.raises(ValueError, match=r"trajectories\['GD'\] must be an array of shape"):
            plotting.plot_trajectories(functions.beale(), {"GD": bad})


# ---------------------------------------------------------------------------------------------
# plot_loss_curves
# ---------------------------------------------------------------------------------------------


def test_plot_loss_curves_draws_each_run_at_its_steps():
    curves = {
        "SGD": 0.9 ** np.arange(50),
        "Adam": 0.8 ** np.arange(50),
        "validation": (np.arange(0, 50, 10), np.array([1.0, 0.5, 0.3, 0.2, 0.15])),
    }
    ax = plotting.plot_loss_curves(curves, log_y=True, title="Training")
    assert_legend_names_each_series_in_its_colour(ax, curves)
    sgd, adam, validation = series(ax)
    np.testing.assert_array_equal(sgd.get_xydata(), np.column_stack([np.arange(50), curves["SGD"]]))
    np.testing.assert_array_equal(adam.get_ydata(), curves["Adam"])
    np.testing.assert_array_equal(validation.get_xydata(), np.column_stack(curves["validation"]))
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "loss", "Training")


def test_plot_loss_curves_defaults_name_the_metric():
    ax = plotting.plot_loss_curves({"run": [3.0, 2.0]}, xlabel="epoch", ylabel="accuracy")
    np.testing.assert_array_equal(series(ax)[0].get_xydata(), [[0, 3.0], [1, 2.0]])
    assert ax.get_yscale() == "linear"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "accuracy")
    assert ax.get_title() == "Accuracy per epoch"


def test_plot_loss_curves_rejects_runs_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"curves\['bad'\].*shapes \(3,\) and \(4,\)"):
        plotting.plot_loss_curves({"bad": (np.arange(3), np.ones(4))})
    for two_dimensional in (np.ones((3, 2)), (np.ones((3, 2)), np.ones((3, 2)))):
        with pytest.raises(ValueError, match=r"curves\['bad'\] must be a 1-D array"):
            plotting.plot_loss_curves({"bad": two_dimensional})


# ---------------------------------------------------------------------------------------------
# plot_schedules
# ---------------------------------------------------------------------------------------------


def test_plot_schedules_draws_each_learning_rate_at_every_step():
    named = {
        "cosine": schedules.cosine_annealing(0.1, 100),
        "warm-up + cosine": schedules.warmup_cosine(0.1, 10, 100),
        "1/t": lambda step: 0.1 / (1 + step),
    }
    ax = plotting.plot_schedules(named, 120)  # beyond the cosines' 100 steps
    assert_legend_names_each_series_in_its_colour(ax, named)
    for line, schedule in zip(series(ax), named.values(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(120))
        np.testing.assert_array_equal(line.get_ydata(), [schedule(step) for step in range(120)])
    np.testing.assert_allclose(series(ax)[2].get_ydata(), 0.1 / (1 + np.arange(120)))
    assert series(ax)[1].get_ydata()[0] < series(ax)[1].get_ydata()[10]  # the warm-up rises
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "learning rate")
    assert ax.get_title() == "Learning-rate schedules" and ax.get_yscale() == "linear"

    log_ax = plotting.plot_schedules({"1/t": named["1/t"]}, 5, log_y=True, title="Decay")
    assert log_ax.get_yscale() == "log" and log_ax.get_title() == "Decay"
    assert len(series(log_ax)[0].get_xdata()) == 5


# ---------------------------------------------------------------------------------------------
# plot_loss_1d
# ---------------------------------------------------------------------------------------------


def per_example(loss, **kwargs):
    return lambda e: loss(e, np.zeros_like(e), reduction="none", **kwargs)


def test_plot_loss_1d_draws_each_loss_against_the_error():
    named = {
        "MSE": per_example(losses.mse),
        "MAE": per_example(losses.mae),
        "Huber, δ=1": per_example(losses.huber, delta=1.0),
    }
    errors = np.linspace(-2, 2, 9)
    ax = plotting.plot_loss_1d(named, errors=errors)
    assert_legend_names_each_series_in_its_colour(ax, named)
    mse, mae, huber = series(ax)
    for line in (mse, mae, huber):
        np.testing.assert_array_equal(line.get_xdata(), errors)
    np.testing.assert_allclose(mse.get_ydata(), errors**2)
    np.testing.assert_allclose(mae.get_ydata(), np.abs(errors))
    quadratic_inside = np.where(np.abs(errors) <= 1, 0.5 * errors**2, np.abs(errors) - 0.5)
    np.testing.assert_allclose(huber.get_ydata(), quadratic_inside)
    assert (ax.get_xlabel(), ax.get_ylabel()) == (r"error $\hat y - y$", "loss")
    assert ax.get_title() == "Loss as a function of the error"

    # the zero line: y = 0 across the whole width of the axes
    (zero,) = [line for line in ax.get_lines() if line not in (mse, mae, huber)]
    np.testing.assert_array_equal(zero.get_ydata(), [0.0, 0.0])
    np.testing.assert_array_equal(zero.get_xdata(), [0.0, 1.0])
    assert zero.get_transform() == ax.get_yaxis_transform()


def test_plot_loss_1d_plots_gradients_on_401_errors_from_minus_3_to_3_by_default():
    ax = plotting.plot_loss_1d(
        {"Huber gradient": per_example(losses.huber_grad, delta=1.0)}, ylabel="gradient"
    )
    (line,) = series(ax)
    np.testing.assert_array_equal(line.get_xdata(), np.linspace(-3.0, 3.0, 401))
    np.testing.assert_allclose(line.get_ydata(), np.clip(line.get_xdata(), -1.0, 1.0))
    assert ax.get_ylabel() == "gradient"


# ---------------------------------------------------------------------------------------------
# What every function promises
# ---------------------------------------------------------------------------------------------

CALLS = {
    "trajectories": lambda items, **kw: plotting.plot_trajectories(functions.beale(), items, **kw),
    "curves": lambda items, **kw: plotting.plot_loss_curves(items, **kw),
    "schedules": lambda items, **kw: plotting.plot_schedules(items, 10, **kw),
    "losses": lambda items, **kw: plotting.plot_loss_1d(items, **kw),
}
ONE_SERIES = {
    "trajectories": {"GD": np.array([[0.0, 0.0], [1.0, 1.0]])},
    "curves": {"run": [3.0, 2.0, 1.0]},
    "schedules": {"constant": lambda step: 0.1},
    "losses": {"MSE": lambda e: e**2},
}


@pytest.mark.parametrize("name", CALLS)
def test_draws_on_the_given_axes_or_on_a_new_figure_of_its_own(name):
    draw, items = CALLS[name], ONE_SERIES[name]
    _, given_ax = plt.subplots()
    (label,) = items
    assert draw(items, ax=given_ax) is given_ax
    assert len(lines_labelled(given_ax, label)) == 1

    first, second = draw(items), draw(items)
    assert len({id(ax.figure) for ax in (given_ax, first, second)}) == 3
    for ax in (first, second):  # each on its own, not drawn over the previous figure
        assert len(lines_labelled(ax, label)) == 1


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("empty", [{}, [], None])
def test_rejects_anything_but_a_non_empty_dict_of_series(name, empty):
    with pytest.raises(ValueError, match=rf"{name} must be a non-empty dict"):
        CALLS[name](empty)
