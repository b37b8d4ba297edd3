"""The momentum explorer: its precomputed paths against torch.optim, its HTML, and in a browser."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from utils.explorer import explorer_paths, momentum_explorer, optimal_heavy_ball


@pytest.fixture(scope="module")
def runs():
    return explorer_paths(condition=100.0, steps=60)


def torch_heavy_ball(condition, lr, beta, steps, start):
    """The same run stepped by torch.optim.SGD, the gradient from torch.autograd."""
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=lr, momentum=beta)
    path = [theta.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * (theta[0] ** 2 + condition * theta[1] ** 2)).backward()
        optimizer.step()
        path.append(theta.detach().clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize("i, j", [(0, 0), (5, 3), (10, 8), (7, 6)])
def test_paths_are_torch_optim_sgd_runs(runs, i, j):
    expected = torch_heavy_ball(100.0, runs.lrs[i], runs.betas[j], 60, (-4.0, 1.0))
    finite = np.isfinite(expected).all(axis=1)
    np.testing.assert_allclose(runs.paths[i, j][finite], expected[finite], rtol=1e-10, atol=1e-12)


def steps_to(losses, target=1e-6):
    """The first step at which each run's loss is at most ``target`` (inf: never)."""
    below = losses <= target
    return np.where(below.any(axis=-1), below.argmax(axis=-1), np.inf)


def test_momentum_reaches_the_target_and_plain_gd_does_not(runs):
    lr_best, beta_best = optimal_heavy_ball(100.0)
    assert np.isclose(runs.lrs, lr_best).any() and np.isclose(runs.betas, beta_best).any()
    first = steps_to(explorer_paths(condition=100.0, steps=100).losses)
    assert np.isinf(first[:, runs.betas == 0]).all()  # β = 0: GD needs hundreds of steps
    i, j = np.isclose(runs.lrs, lr_best).argmax(), np.isclose(runs.betas, beta_best).argmax()
    # Over 100 steps the asymptotic optimum is near, not at, the fastest point of the grid.
    assert first[i, j] <= 1.5 * first.min()
    diverged = runs.losses[..., -1] > runs.losses[..., 0]
    assert diverged.any() and not diverged[i, j], "the grid should show divergent runs"


def test_html_is_self_contained_and_ids_are_unique_per_call():
    first, second = momentum_explorer(steps=40).data, momentum_explorer(steps=40).data
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", first)
    assert len(first) < 300_000
    ids = re.findall(r'id="([^"]+)"', first)
    assert ids and not set(ids) & set(re.findall(r'id="([^"]+)"', second))
    assert "<polyline" in first and 'class="path"' in first  # a figure even without JavaScript


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(condition=0.5), "condition"),
        (dict(condition=float("nan")), "condition"),
        (dict(steps=0), "steps"),
        (dict(steps=2.5), "steps"),
        (dict(lrs=[0.0, 0.1]), "lrs"),
        (dict(lrs=[0.1]), "lrs"),
        (dict(betas=[0.5, 1.0]), "betas"),
        (dict(betas=[-0.1, 0.5]), "betas"),
        (dict(start=(1.0,)), "start"),
    ],
)
def test_invalid_arguments_raise_value_errors_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        explorer_paths(**kwargs)


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_sliders_swap_the_path_in_a_browser(module_browser, tmp_path, width, height):
    page_file = tmp_path / "explorer.html"
    page_file.write_text(
        '<!doctype html><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<body>{momentum_explorer(steps=60).data}</body>"
    )
    page = module_browser.new_page(viewport={"width": width, "height": height})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_file.as_uri())
    before = page.get_attribute("polyline.path", "points")
    assert "after" in page.inner_text(".status")  # the optimum reaches the target
    page.fill("input.beta", "0")
    page.dispatch_event("input.beta", "input")
    assert page.get_attribute("polyline.path", "points") != before
    assert page.inner_text("output.beta-value") == "0"
    page.fill("input.lr", "10")  # the largest rate with β = 0: beyond 2/L
    page.dispatch_event("input.lr", "input")
    assert page.inner_text(".status").startswith("diverges")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    assert not errors
    page.close()
