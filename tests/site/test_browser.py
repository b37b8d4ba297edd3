"""The built site in a real browser (headless Chromium driven by Playwright), offline.

Every page of the book is opened on a desktop and on a phone, served over HTTP under a
sub-path as on GitHub Pages, with every request to another host refused. On each page: no
script error, nothing loaded from the network, every image loaded with a meaningful alt text,
every formula typeset by the site's own MathJax without an error, no error or stderr output in a
cell, and on the phone nothing wider than the screen. A screenshot of each page goes to
_build/screenshots/. Then: the phone's sidebar and contents buttons, search, dark-mode contrast
of the exercise checker's verdicts, and the site opened from file://.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from site_pages import ROOT, toc_pages

SCREENSHOTS = ROOT / "_build" / "screenshots"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
PAGES = toc_pages()
SOLUTION_PAGES = [p for p in PAGES if p.startswith("solutions/")]

TYPESET = """async () => {
  if (!window.MathJax) return {formulas: 0, errors: [], raw: 0};
  await MathJax.startup.promise;
  const errors = [];
  for (const item of MathJax.startup.document.math) {
    item.root.walkTree((node) => {
      if (node.isKind('merror'))
        errors.push((node.attributes.get('data-mjx-error') || 'error') + ' in ' + item.math);
    });
  }
  const raw = [...document.querySelectorAll('.math')]
    .filter((e) => !e.querySelector('mjx-container')).map((e) => e.textContent.slice(0, 80));
  return {formulas: Array.from(MathJax.startup.document.math).length, errors, raw};
}"""

IMAGES = """() => [...document.images].filter((img) => img.offsetParent).map((img) => ({
  src: img.getAttribute('src'), alt: img.alt, loaded: img.complete && img.naturalWidth > 0,
  distortion: Math.abs((img.width / img.height) / (img.naturalWidth / img.naturalHeight) - 1)}))"""

#: Display formulas that start left of the article (cut off: a reader cannot scroll to them).
CUT_FORMULAS = """() => {
  const left = document.querySelector('.bd-article').getBoundingClientRect().left;
  return [...document.querySelectorAll('mjx-container[display="true"]')]
    .filter((m) => m.getBoundingClientRect().left < left - 1)
    .map((m) => m.textContent.slice(0, 40));
}"""

OUTPUT_PROBLEMS = """() => [...document.querySelectorAll(
    '.cell_output .stderr, .cell_output .traceback, .cell_output .output.error')]
  .map((e) => e.textContent.trim().slice(0, 200))"""

#: Elements that stick out of the page on the right, except those inside a box that scrolls.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const e of document.querySelectorAll('.bd-article *')) {
    const box = e.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    let scrolls = false;
    for (let a = e.parentElement; a && !scrolls; a = a.parentElement)
      scrolls = ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX);
    if (!scrolls) out.push(`${e.tagName.toLowerCase()}: ${(e.textContent || '').slice(0, 60)}`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
}"""

#: WCAG 2 contrast of every piece of text inside `selector` against its effective background.
CONTRAST = """(selector) => {
  const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number);
    return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const over = (top, bottom) => ({r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a), b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
  const background = (e) => {
    const layers = [];
    for (let a = e; a; a = a.parentElement) {
      const c = rgba(getComputedStyle(a).backgroundColor);
      if (c.a > 0) layers.push(c);
      if (c.a === 1) break;
    }
    let c = {r: 255, g: 255, b: 255, a: 1};
    if (!layers.length || layers[layers.length - 1].a < 1) c = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) c = over(layer, c);
    return c;
  };
  const worst = [];
  for (const box of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const e = node.parentElement;
      const fg = over(rgba(getComputedStyle(e).color), background(e));
      const [l1, l2] = [lum(fg), lum(background(e))].sort((x, y) => y - x);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      worst.push({ratio, text: node.textContent.trim().slice(0, 40)});
    }
  }
  worst.sort((x, y) => x.ratio - y.ratio);
  return {count: worst.length, worst: worst.slice(0, 3)};
}"""


def _open(browser, url: str, **context_args):
    """A page at `url` with every request to another host refused and recorded."""
    context = browser.new_context(**context_args)
    refused, errors = [], []

    def route(route):
        request_url = route.request.url
        if request_url.startswith(("http://127.0.0.1", "file://", "data:", "blob:")):
            return route.continue_()
        refused.append(request_url)
        return route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return context, page, refused, errors


def _meaningful(alt: str) -> bool:
    return bool(alt.strip()) and not re.search(r"\.(png|jpe?g|svg|gif)$|^\.\./|_images/", alt)


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("page_name", PAGES)
def test_page_in_browser(browser, site_url, page_name, viewport):
    context, page, refused, errors = _open(
        browser, f"{site_url}{page_name}.html", **VIEWPORTS[viewport]
    )
    try:
        math = page.evaluate(TYPESET)
        images = page.evaluate(IMAGES)
        outputs = page.evaluate(OUTPUT_PROBLEMS)
        overflow = page.evaluate(OVERFLOW)
        cut = page.evaluate(CUT_FORMULAS)
        shot = SCREENSHOTS / viewport / f"{page_name}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=viewport == "desktop")
    finally:
        context.close()
    assert not refused, f"{page_name} asked the network for {refused}"
    assert not errors, f"{page_name}: browser errors {errors}"
    assert not math["errors"], f"{page_name}: MathJax errors {math['errors']}"
    assert not math["raw"], f"{page_name}: formulas left as raw TeX {math['raw']}"
    bad_images = [i for i in images if not i["loaded"] or not _meaningful(i["alt"])]
    assert not bad_images, f"{page_name}: images not loaded or without alt text: {bad_images}"
    squashed = [i["src"] for i in images if i["loaded"] and i["distortion"] > 0.02]
    assert not squashed, f"{page_name} ({viewport}): figures drawn out of proportion: {squashed}"
    assert not cut, f"{page_name} ({viewport}): formulas cut off on the left: {cut}"
    assert not outputs, f"{page_name}: cells show errors or stderr: {outputs}"
    if viewport == "phone":
        assert overflow["scrollWidth"] <= overflow["width"] and not overflow["out"], (
            f"{page_name} is wider than a phone: {overflow}"
        )


def test_phone_sidebar_and_contents_open(browser, site_url):
    context, page, _, _ = _open(
        browser, f"{site_url}chapters/02_gradient_descent.html", **VIEWPORTS["phone"]
    )
    try:
        primary = page.locator(".bd-sidebar-primary")
        assert not primary.is_visible() or primary.bounding_box()["x"] < -10
        page.locator("button.primary-toggle").first.click()
        page.wait_for_timeout(500)
        opened = primary.is_visible() and primary.bounding_box()["x"] >= -1
        assert opened, "the ☰ sidebar did not open"
        assert (
            page.locator(".bd-sidebar-primary a.reference")
            .filter(has_text="Learning rate")
            .first.is_visible()
        )
        page.screenshot(path=str(SCREENSHOTS / "phone" / "sidebar-open.png"))
        page.keyboard.press("Escape")
        page.mouse.click(380, 400)  # the backdrop closes the drawer
        page.wait_for_timeout(500)

        secondary = page.locator(".bd-sidebar-secondary")
        page.locator("button.secondary-toggle").first.click()
        page.wait_for_timeout(500)
        box = secondary.bounding_box()
        assert secondary.is_visible() and box and box["x"] + box["width"] <= 391, (
            "the contents panel did not open"
        )
        assert secondary.locator("a").filter(has_text="From scratch").first.is_visible()
        page.screenshot(path=str(SCREENSHOTS / "phone" / "contents-open.png"))
    finally:
        context.close()


def test_search_finds_adam(browser, site_url):
    context, page, refused, errors = _open(browser, f"{site_url}search.html?q=Adam")
    try:
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=15_000)
        found = [results.nth(i).inner_text()[:60] for i in range(results.count())]
    finally:
        context.close()
    assert len(found) >= 2, found
    assert any("Learning rate" in r or "Regularization" in r for r in found), found
    assert not refused and not errors, (refused, errors)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("page_name", SOLUTION_PAGES)
def test_verdict_boxes_keep_contrast(browser, site_url, page_name, scheme):
    context, page, _, _ = _open(browser, f"{site_url}{page_name}.html", color_scheme=scheme)
    try:
        assert page.evaluate("document.documentElement.dataset.theme") == scheme
        verdicts = page.evaluate(CONTRAST, ".autocheck")
        prose = page.evaluate(CONTRAST, ".bd-article p")
    finally:
        context.close()
    assert verdicts["count"] > 0, f"{page_name}: no verdict boxes to check"
    assert verdicts["worst"][0]["ratio"] >= 4.5, f"{page_name} ({scheme}): {verdicts['worst']}"
    assert prose["worst"][0]["ratio"] >= 4.5, f"{page_name} ({scheme}): {prose['worst']}"


@pytest.mark.parametrize("page_name", ["intro", "chapters/02_gradient_descent"])
def test_site_works_from_file_url(browser, site, page_name):
    url = (Path(site) / f"{page_name}.html").as_uri()
    context, page, refused, errors = _open(browser, url)
    try:
        math = page.evaluate(TYPESET)
        images = page.evaluate(IMAGES)
    finally:
        context.close()
    assert not refused, refused
    # Chromium refuses web fonts from file:// (CORS); the icons are drawn by Font Awesome's
    # script instead. Any other error counts.
    errors = [e for e in errors if "fontawesome" not in e and "net::ERR_FAILED" not in e]
    assert not errors, errors
    assert not math["errors"] and not math["raw"], math
    assert all(i["loaded"] for i in images), images
    if page_name.startswith("chapters/"):
        assert math["formulas"] > 50, math["formulas"]
