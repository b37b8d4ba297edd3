r"""Sphinx extension for the course site: a self-contained, offline build.

Its jobs, so that one notebook source reads right on the site, in Jupyter and on Colab, and
the site works offline on any screen:

1. **MathJax from the site itself.** MathJax 3 is installed by pip (the ``django-static-mathjax``
   package, which ships its ``es5`` files and nothing else) and copied into ``_static/mathjax``;
   pages load it by a relative path, so formulas render offline, from ``file://`` and under any
   sub-path. The SVG output needs no web fonts (which browsers refuse to load from ``file://``).
2. **Links into the published book become internal links.** Notebooks cite and cross-reference
   with plain Markdown links to the published site (``html_baseurl``), because those work in
   Jupyter and on Colab. Here each such link is rewritten to a relative link to the page this
   build wrote, so the site never sends a reader to the network for its own pages. A link to a
   page that does not exist is a warning (an error under ``-W``).
3. **A tagged equation is typeset as written.** Notebooks number equations with ``\tag{N.k}``
   (MathJax in Jupyter understands it; MyST's labels it does not). Sphinx would wrap a formula
   that contains ``\\`` in a ``split`` environment, where ``\tag`` is an error; such formulas
   are passed to MathJax unwrapped.
4. **No script from a CDN**: thebe (live code cells) is not used, so its configuration, which
   names a CDN, is dropped; and the colour mode starts as "auto" (follow the system).
"""

from __future__ import annotations

import posixpath
import shutil
from importlib.resources import files
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

#: What the site needs of MathJax's ``es5`` folder: the one combined TeX-to-SVG component and
#: the folders it may load on demand (menu, accessibility, extra TeX packages).
MATHJAX_COMPONENT = "tex-svg-full.js"
MATHJAX_FOLDERS = ("a11y", "adaptors", "input", "output", "sre", "ui")


def mathjax_source() -> Path:
    """MathJax's `es5` folder, as the `django-static-mathjax` package installs it."""
    return Path(str(files("mathjax") / "static" / "mathjax" / "es5"))


def use_local_mathjax(app: Sphinx, config) -> None:
    config.mathjax_path = f"mathjax/{MATHJAX_COMPONENT}"


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / MATHJAX_COMPONENT, target / MATHJAX_COMPONENT)
    for folder in MATHJAX_FOLDERS:
        shutil.copytree(source / folder, target / folder, dirs_exist_ok=True)


def _site_path(app: Sphinx, uri: str) -> str | None:
    """The path inside the site that ``uri`` points at, or None for any other address."""
    base = app.config.html_baseurl
    if not base or not uri.startswith(base):
        return None
    return uri[len(base) :].lstrip("/") or "index.html"


def localise_site_links(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    builder = app.builder
    if builder.format != "html":
        return
    for ref in doctree.findall(nodes.reference):
        path = _site_path(app, ref.get("refuri", ""))
        if path is None:
            continue
        page, _, anchor = path.partition("#")
        target_doc = page.removesuffix(".html") if page.endswith(".html") else None
        if target_doc is not None and target_doc not in app.env.all_docs:
            logger.warning("link to a page the book does not have: %s", ref["refuri"], location=ref)
            continue
        if target_doc is None:  # a file the site ships (a download), relative to the site root
            uri = relative_uri(builder.get_target_uri(docname), page)
        elif builder.name == "singlehtml":  # every page is part of one document
            uri = "#" + (anchor or f"document-{target_doc}")
            anchor = ""
        else:
            uri = builder.get_relative_uri(docname, target_doc)
        ref["refuri"] = uri + (f"#{anchor}" if anchor else "")
        ref["internal"] = True  # the HTML writer then marks it "internal", not "external"


def typeset_tagged_math_unwrapped(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in doctree.findall(nodes.math_block):
        text = node.astext()
        if "\\tag" in text and not node.get("nowrap"):
            node["nowrap"] = True
            node.children = [nodes.Text(f"\\[{text}\\]")]


def adjust_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Drop thebe's scripts; start in "auto" colour mode (pydata-sphinx-theme reads
    ``default_mode`` from the page context, and logs an error when it is empty)."""
    context["default_mode"] = context.get("default_mode") or "auto"

    def is_thebe(script) -> bool:
        return "thebe" in (script.filename or "") or "THEBE_JS_URL" in script.attributes.get(
            "body", ""
        )

    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not is_thebe(s)]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", use_local_mathjax)
    app.connect("doctree-resolved", typeset_tagged_math_unwrapped)
    app.connect("html-page-context", adjust_page)
    app.connect("doctree-resolved", localise_site_links)
    app.connect("build-finished", copy_mathjax)
    static = posixpath.join(posixpath.dirname(__file__), "static")
    app.connect("builder-inited", lambda app: app.config.html_static_path.append(static))
    app.add_css_file("course.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
