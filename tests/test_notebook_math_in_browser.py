"""Every notebook's Markdown, rendered the way Jupyter renders it, typesets without an error.

Jupyter, JupyterLab and Colab know nothing of the book's MyST or its Sphinx configuration: they
render a Markdown cell as CommonMark, with the math kept away from the Markdown parser, and then
typeset the math with MathJax's TeX input. This test does the same in headless Chromium with the
MathJax the site serves (``django-static-mathjax``), and fails on any formula MathJax rejects:
an undefined macro (one that only a book configuration defined), a misplaced ``\\tag``, a brace
left open. Undefined macros are made errors here (MathJax's ``noundefined`` package, which would
print them in red instead, is left out), as they are on the site.

The static checks of the same Markdown (no MyST roles, directives or labels; links that work on
Colab) are in ``test_notebook_portability.py``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from book.course_site import MATHJAX_COMPONENT, mathjax_source

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for d in ("chapters", "exercises", "solutions") for p in (ROOT / d).glob("*.ipynb")
)

#: As Jupyter's MathJax 3: TeX input, inline math between single dollars, SVG output.
MATHJAX_CONFIG = {
    "tex": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "packages": {"[-]": ["noundefined"]},
    },
    "startup": {"typeset": True},
}

#: For every formula MathJax typeset: its TeX, the cell it is in, and MathJax's error, if any.
FIND_ERRORS = """async () => {
  await MathJax.startup.promise;
  const found = [];
  for (const item of MathJax.startup.document.math) {
    let error = null;
    item.root.walkTree((node) => {
      if (node.isKind('merror')) error = node.attributes.get('data-mjx-error') || 'error';
    });
    const cell = item.start.node.parentElement.closest('[data-cell]');
    found.push({tex: item.math, cell: cell ? cell.dataset.cell : '?', error});
  }
  return found;
}"""


def jupyter_markdown() -> MarkdownIt:
    """CommonMark with tables, and math passed through untouched for MathJax (as Jupyter)."""
    md = MarkdownIt("commonmark").enable("table").use(dollarmath_plugin, allow_labels=False)

    def inline(self, tokens, idx, options, env):
        return "$" + html.escape(tokens[idx].content) + "$"

    def block(self, tokens, idx, options, env):
        return "<div>$$" + html.escape(tokens[idx].content) + "$$</div>\n"

    md.add_render_rule("math_inline", inline)
    md.add_render_rule("math_block", block)
    return md


def notebook_page(path: Path) -> str:
    md = jupyter_markdown()
    cells = [
        f'<div data-cell="{i}">{md.render(cell.source)}</div>'
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells)
        if cell.cell_type == "markdown"
    ]
    script = (mathjax_source() / MATHJAX_COMPONENT).as_uri()
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<script>window.MathJax = {json.dumps(MATHJAX_CONFIG)};</script>"
        f"<script src='{script}'></script></head><body>{''.join(cells)}</body></html>"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_notebook_math_typesets_as_in_jupyter(path, module_browser, tmp_path):
    page_file = tmp_path / f"{path.stem}.html"
    page_file.write_text(notebook_page(path), encoding="utf-8")
    page = module_browser.new_page()
    try:
        page.goto(page_file.as_uri())
        formulas = page.evaluate(FIND_ERRORS)
    finally:
        page.close()
    errors = [
        f"cell {f['cell']}: {f['error']} in ${f['tex'].strip()[:120]}$"
        for f in formulas
        if f["error"]
    ]
    assert not errors, f"{path.name}: MathJax cannot typeset:\n" + "\n".join(errors)
    source = "".join(
        c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"
    )
    if "$" in source:
        assert formulas, f"{path.name}: has math but MathJax typeset nothing"
