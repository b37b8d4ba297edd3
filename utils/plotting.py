"""The course's recurring figures, in plain matplotlib.

- :func:`plot_trajectories` — optimizer paths over the contours of a landscape from
  :mod:`utils.functions`;
- :func:`plot_loss_curves` — loss (or any metric) against the step, one line per run;
- :func:`plot_schedules` — learning-rate schedules from :mod:`utils.schedules`;
- :func:`plot_loss_1d` — loss functions against the prediction error (MSE vs MAE vs Huber).

Every function draws on the ``ax`` you pass (or on a new figure), labels both axes, titles the
plot with what it shows, adds a legend, and returns the ``Axes`` so that you can adjust it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from utils.schedules import values


def _new_axes_if_none(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    return ax


def _check_mapping(items, name: str) -> None:
    if not isinstance(items, Mapping) or not items:
        raise ValueError(f"{name} must be a non-empty dict {{label: ...}}, got {items!r}")


# ---------------------------------------------------------------------------------------------
# Optimizer paths on a landscape
# ---------------------------------------------------------------------------------------------


def _contour_levels(values_on_grid: np.ndarray, levels: int, log_levels: bool) -> np.ndarray:
    """``levels`` contour heights; log-spaced above the grid minimum when ``log_levels``.

    Log spacing puts many contours near the minimum, where the interesting motion happens, and
    few on the steep walls (Rosenbrock spans 0 to ~2,500 on its usual window).
    """
    lowest, highest = float(values_on_grid.min()), float(values_on_grid.max())
    span = highest - lowest
    if span == 0:
        return np.array([lowest])
    if log_levels:
        return lowest + np.geomspace(span * 1e-4, span, levels)  # f_min + log-spaced heights
    return np.linspace(lowest, highest, levels)


def plot_trajectories(
    landscape,
    trajectories: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    levels: int | Sequence[float] = 30,
    log_levels: bool = True,
    title: str | None = None,
    grid_points: int = 200,
) -> Axes:
    """Draw each optimizer's path over the contour lines of ``landscape``.

    ``landscape`` is one of :mod:`utils.functions`' two-dimensional landscapes (anything with a
    vectorised ``f`` and ``bounds``, and optionally ``minima``); ``trajectories`` maps a label to
    the ``(T, 2)`` array of iterates :math:`x_0, \\dots, x_{T-1}`. Each path starts at a circle
    and ends at a cross; the known minima are red stars. ``levels`` is a number of contour lines
    (log-spaced above the lowest value when ``log_levels``) or explicit heights.
    """
    _check_mapping(trajectories, "trajectories")
    paths = {}
    for label, path in trajectories.items():
        path = np.asarray(path, dtype=np.float64)
        if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
            raise ValueError(
                f"trajectories[{label!r}] must be an array of shape (T, 2) with T >= 1, "
                f"got shape {path.shape}"
            )
        paths[label] = path
    ax = _new_axes_if_none(ax)

    bounds = getattr(landscape, "bounds", None)
    if bounds is None:  # frame the paths themselves, with a margin
        stacked = np.concatenate(list(paths.values()))
        low, high = stacked.min(axis=0), stacked.max(axis=0)
        margin = 0.1 * np.maximum(high - low, 1.0)
        bounds = tuple(zip(low - margin, high + margin, strict=True))
    (x1_min, x1_max), (x2_min, x2_max) = bounds
    x1, x2 = np.meshgrid(
        np.linspace(x1_min, x1_max, grid_points), np.linspace(x2_min, x2_max, grid_points)
    )
    heights = landscape.f(np.stack([x1, x2], axis=-1))
    if isinstance(levels, (int, np.integer)):
        levels = _contour_levels(heights, int(levels), log_levels)
    ax.contour(x1, x2, heights, levels=levels, cmap="viridis", linewidths=0.7, alpha=0.8)

    for label, path in paths.items():
        (line,) = ax.plot(path[:, 0], path[:, 1], marker=".", markersize=3, lw=1.5, label=label)
        # The legend's start and end keys take the path's colour when there is one path, and a
        # neutral grey standing for every path's colour when there are several.
        color = line.get_color()
        key_color = color if len(paths) == 1 else "gray"
        ax.plot(*path[0], marker="o", color=color, markersize=7, label="_start", zorder=4)
        ax.plot(*path[-1], marker="X", color=color, markersize=8, label="_end", zorder=4)

    handles, _ = ax.get_legend_handles_labels()
    minima = np.asarray(getattr(landscape, "minima", np.empty((0, 2))))
    if len(minima):
        (stars,) = ax.plot(
            minima[:, 0], minima[:, 1], "*", color="red", markersize=14, ls="none", label="minimum"
        )
        handles.append(stars)
    handles += [
        Line2D([], [], marker="o", color=key_color, ls="none", label="start"),
        Line2D([], [], marker="X", color=key_color, ls="none", label="end"),
    ]
    ax.legend(handles=handles, loc="best", fontsize="small")
    ax.set_xlim(x1_min, x1_max)
    ax.set_ylim(x2_min, x2_max)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title if title is not None else getattr(landscape, "name", "Optimizer paths"))
    return ax


# ---------------------------------------------------------------------------------------------
# Curves against the step
# ---------------------------------------------------------------------------------------------


def plot_loss_curves(
    curves: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    log_y: bool = False,
    xlabel: str = "step",
    ylabel: str = "loss",
    title: str | None = None,
) -> Axes:
    """One line per run: ``curves`` maps a label to the values at steps 0, 1, 2, ... or to a
    pair ``(steps, values)`` (e.g. a validation loss measured every few steps).

    ``log_y=True`` shows linear convergence (:math:`L_t - L^\\star \\propto \\rho^t`) as a
    straight line.
    """
    _check_mapping(curves, "curves")
    ax = _new_axes_if_none(ax)
    for label, curve in curves.items():
        if isinstance(curve, tuple) and len(curve) == 2:
            steps, curve_values = (np.asarray(part, dtype=np.float64) for part in curve)
        else:
            curve_values = np.asarray(curve, dtype=np.float64)
            steps = np.arange(len(curve_values))
        if curve_values.ndim != 1 or steps.shape != curve_values.shape:
            raise ValueError(
                f"curves[{label!r}] must be a 1-D array of values or a (steps, values) pair of "
                f"equal length, got shapes {steps.shape} and {curve_values.shape}"
            )
        ax.plot(steps, curve_values, label=label)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else f"{ylabel} per {xlabel}".capitalize())
    ax.legend(fontsize="small")
    return ax


def plot_schedules(
    schedules: Mapping[str, Callable[[int], float]],
    num_steps: int,
    ax: Axes | None = None,
    log_y: bool = False,
    title: str = "Learning-rate schedules",
) -> Axes:
    """Plot each schedule's learning rate for steps ``0 .. num_steps - 1``.

    ``schedules`` maps a label to a schedule from :mod:`utils.schedules` (or any function of the
    step).
    """
    _check_mapping(schedules, "schedules")
    ax = _new_axes_if_none(ax)
    steps = np.arange(num_steps)
    for label, schedule in schedules.items():
        ax.plot(steps, values(schedule, num_steps), label=label)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_loss_1d(
    losses: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    errors: np.ndarray | None = None,
    ax: Axes | None = None,
    xlabel: str = r"error $\hat y - y$",
    ylabel: str = "loss",
    title: str = "Loss as a function of the error",
) -> Axes:
    """Plot per-example losses against the error :math:`e = \\hat y - y`.

    ``losses`` maps a label to a function of an array of errors, for example
    ``lambda e: huber(e, np.zeros_like(e), reduction="none")`` with :mod:`utils.losses`; the same
    call with a ``*_grad`` function plots the gradients. ``errors`` defaults to 401 points on
    :math:`[-3, 3]`.
    """
    _check_mapping(losses, "losses")
    errors = np.linspace(-3.0, 3.0, 401) if errors is None else np.asarray(errors, np.float64)
    ax = _new_axes_if_none(ax)
    for label, loss in losses.items():
        ax.plot(errors, loss(errors), label=label)
    ax.axhline(0.0, color="gray", lw=0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax
