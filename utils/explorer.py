r"""An interactive momentum explorer that needs no kernel: precomputed paths behind two sliders.

Goh (2017) lets you drag the step size η and the momentum β of heavy-ball momentum and watch
the path on an ill-conditioned quadratic. This module builds the same kind of figure as one
self-contained piece of HTML: every path of a grid of (η, β) is computed here, in Python, with
:class:`utils.optim.numpy.SGD` (torch's convention: b ← βb + g, θ ← θ − ηb), and a few lines of
inline JavaScript only swap which precomputed path is drawn when a slider moves. No library, no
network and no running kernel are needed, so it works on the static site, in the PDF (the
figure shows the path of the best setting without JavaScript) and in a notebook::

    from utils.explorer import momentum_explorer
    momentum_explorer(condition=100)        # an IPython HTML object: the cell's output

The landscape is :func:`utils.functions.ill_conditioned_quadratic`,
f(x) = ½(x₁² + κ x₂²): curvature μ = 1 along x₁, L = κ along x₂. Heavy ball is stable for
0 < η < 2(1 + β)/L, and converges fastest at η* = 4/(√L + √μ)², β* = ((√κ − 1)/(√κ + 1))²
(Polyak, 1964): both lie on the default grid. :func:`explorer_paths` returns the arrays, so that
a notebook can assert what the figure shows.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from typing import NamedTuple

import numpy as np

from utils.functions import ill_conditioned_quadratic
from utils.optim.numpy import SGD

__all__ = ["ExplorerPaths", "explorer_paths", "momentum_explorer", "optimal_heavy_ball"]

_START = (-4.0, 1.0)
_LOSS_FLOOR = 1e-12  # losses below this are drawn at the floor of the log scale
_counter = itertools.count()


class ExplorerPaths(NamedTuple):
    """The precomputed runs: ``paths[i, j]`` is the run with ``lrs[i]`` and ``betas[j]``."""

    condition: float
    lrs: np.ndarray  # (n_lr,)
    betas: np.ndarray  # (n_beta,)
    paths: np.ndarray  # (n_lr, n_beta, steps + 1, 2): θ_0, ..., θ_T
    losses: np.ndarray  # (n_lr, n_beta, steps + 1): f(θ_t)


def optimal_heavy_ball(condition: float) -> tuple[float, float]:
    """(η*, β*) of heavy ball on a quadratic with eigenvalues 1 and κ (Polyak, 1964)."""
    root = math.sqrt(condition)
    return 4 / (root + 1) ** 2, ((root - 1) / (root + 1)) ** 2


def _check(condition, steps, start) -> None:
    if not isinstance(condition, int | float) or not math.isfinite(condition) or condition < 1:
        raise ValueError(f"condition must be a finite number >= 1, got {condition!r}")
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 1000:
        raise ValueError(f"steps must be an integer from 1 to 1000, got {steps!r}")
    if np.shape(start) != (2,) or not np.all(np.isfinite(start)):
        raise ValueError(f"start must be a finite point (x1, x2), got {start!r}")


def _grid(values, name: str, low: float, high: float | None) -> np.ndarray:
    grid = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if grid.size < 2 or not np.all(np.isfinite(grid)) or len(np.unique(grid)) != grid.size:
        raise ValueError(f"{name} must hold at least two distinct finite values, got {values!r}")
    if grid[0] < low or (high is not None and grid[-1] >= high) or (name == "lrs" and grid[0] == 0):
        bound = "0 < lr" if name == "lrs" else f"{low:g} <= beta < {high:g}"
        raise ValueError(f"every value of {name} must satisfy {bound}, got {values!r}")
    return grid


def explorer_paths(condition=100.0, lrs=None, betas=None, steps=100, start=_START):
    """Run heavy ball from ``start`` for ``steps`` steps at every (η, β) of the grid.

    The default grid has 11 rates from η*/10 to 1.6 η* (past the stability limit of every
    β < 0.6 ηL − 1, so some runs diverge), and 9 momenta from 0 to 0.98; both contain the
    optimum (η*, β*) of :func:`optimal_heavy_ball`.
    Runs past the stability limit grow without bound (``inf`` once they overflow).
    """
    _check(condition, steps, start)
    lr_best, beta_best = optimal_heavy_ball(condition)
    if lrs is None:
        lrs = np.unique(np.append(np.geomspace(lr_best / 10, lr_best * 1.6, 10), lr_best))
    if betas is None:
        betas = np.unique(np.append([0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98], beta_best))
    lrs, betas = _grid(lrs, "lrs", 0.0, None), _grid(betas, "betas", 0.0, 1.0)
    landscape = ill_conditioned_quadratic(float(condition))
    paths = np.empty((len(lrs), len(betas), steps + 1, 2))
    with np.errstate(over="ignore", invalid="ignore"):
        for (i, lr), (j, beta) in itertools.product(enumerate(lrs), enumerate(betas)):
            theta = np.array(start, dtype=np.float64)
            optimizer = SGD([theta], lr=float(lr), momentum=float(beta))
            paths[i, j, 0] = theta
            for t in range(1, steps + 1):
                optimizer.step([landscape.grad(theta)])
                paths[i, j, t] = theta
        losses = landscape.f(paths)
    paths[~np.isfinite(paths)] = np.inf
    losses[~np.isfinite(losses)] = np.inf
    return ExplorerPaths(float(condition), lrs, betas, paths, losses)


# ---------------------------------------------------------------------------------------------
# The figure: two SVGs, two sliders, one status line
# ---------------------------------------------------------------------------------------------

_WIDTH, _HEIGHT = 400, 200  # the contour panel, in SVG units


def _to_svg(points: np.ndarray, x1: float, x2: float) -> list[list[float]]:
    """Data coordinates in [−x1, x1] × [−x2, x2] to SVG ones, clipped to just outside the
    panel (a diverging path leaves the panel instead of drawing a line to infinity)."""
    x = np.clip((points[:, 0] + x1) / (2 * x1) * _WIDTH, -20, _WIDTH + 20)
    y = np.clip((x2 - points[:, 1]) / (2 * x2) * _HEIGHT, -20, _HEIGHT + 20)
    return np.round(np.stack([x, y], axis=1), 1).tolist()


def _points_text(points) -> str:
    return " ".join(f"{x:g},{y:g}" for x, y in points)


def _contours(condition: float, x1: float, x2: float) -> str:
    ellipses = []
    for level in np.array([0.02, 0.1, 0.3, 0.6, 1.0]) * x1**2 / 2:  # ½(x₁² + κx₂²) = level
        rx = math.sqrt(2 * level) / (2 * x1) * _WIDTH
        ry = math.sqrt(2 * level / condition) / (2 * x2) * _HEIGHT
        centre = f'cx="{_WIDTH / 2:g}" cy="{_HEIGHT / 2:g}"'
        ellipses.append(f'<ellipse {centre} rx="{rx:.1f}" ry="{ry:.1f}"/>')
    return "".join(ellipses)


def _status(losses: np.ndarray, target: float) -> str:
    reached = np.flatnonzero(losses <= target)
    if reached.size:
        return f"f < {target:g} after {int(reached[0])} steps"
    if not np.isfinite(losses[-1]) or losses[-1] > losses[0]:
        return "diverges: η is beyond the stability limit 2(1 + β)/L"
    return f"f = {losses[-1]:.2g} after {len(losses) - 1} steps (not yet below {target:g})"


def momentum_explorer(condition=100.0, lrs=None, betas=None, steps=100, start=_START, target=1e-6):
    """The explorer as an ``IPython.display.HTML`` object (its HTML string is ``.data``)."""
    from IPython.display import HTML

    runs = explorer_paths(condition, lrs, betas, steps, start)
    n_steps = runs.paths.shape[2] - 1
    lr_best, beta_best = optimal_heavy_ball(float(condition))
    i = int(np.argmin(np.abs(runs.lrs - lr_best)))
    j = int(np.argmin(np.abs(runs.betas - beta_best)))
    # The window fits the path drawn first, the one nearest the optimum (η*, β*).
    x1 = 1.1 * max(np.abs(runs.paths[i, j, :, 0]).max(), 1e-3)
    x2 = 1.1 * max(np.abs(runs.paths[i, j, :, 1]).max(), 1e-3)
    log_losses = np.log10(np.clip(runs.losses, _LOSS_FLOOR, 1e6))
    top, bottom = float(np.ceil(log_losses[i, j].max())), math.log10(_LOSS_FLOOR)
    loss_y = np.round((top - np.minimum(log_losses, top)) / (top - bottom) * 100, 1)
    loss_x = np.round(np.arange(n_steps + 1) / n_steps * _WIDTH, 1)

    def per_run(value):  # one entry per (η, β) of the grid, as nested lists for JSON
        return [[value(a, b) for b in range(len(runs.betas))] for a in range(len(runs.lrs))]

    data = {
        "paths": per_run(lambda a, b: _points_text(_to_svg(runs.paths[a, b], x1, x2))),
        "losses": per_run(lambda a, b: _points_text(zip(loss_x, loss_y[a, b], strict=True))),
        "status": per_run(lambda a, b: _status(runs.losses[a, b], target)),
        "lrs": [f"{lr:.3g}" for lr in runs.lrs],
        "betas": [f"{beta:.3g}" for beta in runs.betas],
    }
    uid = f"momentum-explorer-{next(_counter)}"
    start_x, start_y = _to_svg(np.asarray([start], dtype=np.float64), x1, x2)[0]
    page = f"""
<figure id="{uid}" class="momentum-explorer" style="max-width:640px;margin:1em auto;font:inherit">
<svg viewBox="-2 -2 {_WIDTH + 4} {_HEIGHT + 4}" width="100%" role="img"
 aria-label="Heavy-ball path on the quadratic with condition number {condition:g}">
<rect x="0" y="0" width="{_WIDTH}" height="{_HEIGHT}" fill="none" stroke="currentColor"
 stroke-opacity="0.4"/>
<g fill="none" stroke="#888" stroke-width="0.8">{_contours(float(condition), x1, x2)}</g>
<polyline class="path" fill="none" stroke="#d62728" stroke-width="1.5"
 points="{data["paths"][i][j]}"/>
<circle cx="{start_x:g}" cy="{start_y:g}" r="3.5" fill="#1f77b4"/>
<path d="M{_WIDTH / 2 - 4:g},{_HEIGHT / 2 - 4:g}l8,8m0,-8l-8,8" stroke="currentColor"
 stroke-width="1.5"/>
<text x="{_WIDTH / 2 + 7:g}" y="{_HEIGHT / 2 - 6:g}" font-size="11" fill="currentColor">minimum
</text>
</svg>
<svg viewBox="-2 -14 {_WIDTH + 4} 118" width="100%" role="img"
 aria-label="log10 of the loss against the step">
<text x="2" y="-3" font-size="12" fill="currentColor">log₁₀ f(θₜ) from {top:g} (top) to
 {bottom:g} (bottom), steps 0 to {n_steps}</text>
<rect x="0" y="0" width="{_WIDTH}" height="100" fill="none" stroke="currentColor"
 stroke-opacity="0.4"/>
<polyline class="loss" fill="none" stroke="#d62728" stroke-width="1.5"
 points="{data["losses"][i][j]}"/>
</svg>
<div style="display:grid;grid-template-columns:auto 1fr auto;gap:0.3em 0.6em;
 align-items:center">
<label for="{uid}-lr">step size η</label>
<input id="{uid}-lr" class="lr" type="range" min="0" max="{len(runs.lrs) - 1}" value="{i}">
<output class="lr-value">{data["lrs"][i]}</output>
<label for="{uid}-beta">momentum β</label>
<input id="{uid}-beta" class="beta" type="range" min="0" max="{len(runs.betas) - 1}"
 value="{j}">
<output class="beta-value">{data["betas"][j]}</output>
</div>
<figcaption class="status" aria-live="polite">{html.escape(data["status"][i][j])}</figcaption>
<script>
(function () {{
  var root = document.getElementById("{uid}");
  var data = {json.dumps(data, separators=(",", ":"))};
  var lr = root.querySelector("input.lr"), beta = root.querySelector("input.beta");
  function show() {{
    var i = +lr.value, j = +beta.value;
    root.querySelector("polyline.path").setAttribute("points", data.paths[i][j]);
    root.querySelector("polyline.loss").setAttribute("points", data.losses[i][j]);
    root.querySelector("output.lr-value").textContent = data.lrs[i];
    root.querySelector("output.beta-value").textContent = data.betas[j];
    root.querySelector(".status").textContent = data.status[i][j];
  }}
  lr.addEventListener("input", show);
  beta.addEventListener("input", show);
}})();
</script>
</figure>
"""
    return HTML(page)
