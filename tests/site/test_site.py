"""Checks of the built HTML, read as files: buttons, launch links, links, downloads, no CDN.

What needs a browser (math typeset, phone layout, search, dark mode) is in test_browser.py.
"""

from __future__ import annotations

import re
import zipfile
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from site_pages import CONFIG, ROOT, toc_pages, tracked_files

from book.browser import launch_options
from book.downloads import PDF_NAME, ZIP_NAME

REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"]["branch"]
NOTEBOOK_PAGES = [p for p in toc_pages() if (ROOT / f"{p}.ipynb").exists()]
# Notebooks the build runs: not those _config.yml's execute.exclude_patterns shows as handed out.
EXECUTED_PAGES = [
    p
    for p in NOTEBOOK_PAGES
    if not any(fnmatch(f"{p}.ipynb", pattern) for pattern in CONFIG["execute"]["exclude_patterns"])
]


class Page(HTMLParser):
    """The ids a page defines and the addresses it refers to."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []  # href of <a>, <link>; src of <img>, <script>
        self.remote: list[str] = []  # scripts and stylesheets loaded from another host

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        address = attrs.get("href") if tag in ("a", "link") else attrs.get("src")
        if address:
            self.links.append(address)
            loaded = tag in ("script", "img") or (tag == "link" and attrs.get("rel") != "canonical")
            if loaded and urlsplit(address).scheme in ("http", "https"):
                self.remote.append(address)


def _parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _html(site: Path, page: str) -> str:
    path = site / f"{page}.html"
    assert path.exists(), f"{path} was not built"
    return path.read_text(encoding="utf-8")


def test_home_page_and_glossary(site):
    assert "Who this course is for" in _html(site, "intro")
    glossary = _html(site, "glossary")
    for chinese, english in [
        ("梯度下降", "gradient descent"),
        ("小批量", "mini-batch"),
        ("微调", "fine-tuning"),
        ("学习率衰减", "learning-rate decay"),
    ]:
        assert chinese in glossary and english in glossary, (chinese, english)


def test_repository_and_issue_buttons(site):
    html = _html(site, "intro")
    assert f'href="{REPO_URL}"' in html
    assert f'href="{REPO_URL}/issues/new?title=Issue%20on%20page%20%2Fintro.html' in html
    assert f"{REPO_URL}/edit/{BRANCH}/intro.md" in html


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_page_launches_the_file_the_repository_has(site, page):
    html = _html(site, page)
    slug = REPO_URL.removeprefix("https://github.com/")
    colab = re.findall(
        rf"https://colab\.research\.google\.com/github/{re.escape(slug)}"
        rf"/blob/{re.escape(BRANCH)}/([^\"?#]+)",
        html,
    )
    assert colab, f"{page}: no Colab button for {slug} at {BRANCH}"
    assert set(colab) == {f"{page}.ipynb"}, f"{page}: Colab opens {colab}"
    assert f"{page}.ipynb" in tracked_files(), f"{page}.ipynb is not in the repository"
    assert re.search(rf"https://mybinder\.org/v2/gh/{re.escape(slug)}/{BRANCH}\?", html), page


def test_no_execution_error_reports(site):
    """Every notebook page was executed, and none left a traceback in reports/.

    The repository keeps its notebooks without outputs (`make lint` runs nbstripout --verify),
    so a cell output on a page shows that the build ran that notebook. A notebook that failed
    leaves its traceback under its own path, reports/<page>.err.log, hence the recursive glob.
    """
    assert EXECUTED_PAGES, "_toc.yml lists no executed notebook pages: nothing to check"
    output = re.compile(r'class="([^"]* )?cell_output[ "]')
    not_executed = [p for p in EXECUTED_PAGES if not output.search(_html(site, p))]
    assert not not_executed, f"pages without any cell output (not executed): {not_executed}"
    logs = sorted(p.relative_to(site).as_posix() for p in site.glob("reports/**/*.log"))
    assert not logs, f"notebooks failed to execute: {logs}"


def test_every_page_of_the_table_of_contents_was_built(site):
    missing = [p for p in toc_pages() if not (site / f"{p}.html").exists()]
    assert not missing, f"pages not built: {missing}"


def test_no_page_loads_anything_from_another_host(site):
    remote = {}
    for path in sorted(site.rglob("*.html")):
        if found := _parse(path).remote:
            remote[str(path.relative_to(site))] = sorted(set(found))
    assert not remote, f"pages that need the network: {remote}"


def test_every_internal_link_and_anchor_resolves(site):
    """Every relative href/src of every page names a file the site has, and an id it defines."""
    pages = {
        path: _parse(path)
        for path in site.rglob("*.html")
        if path.relative_to(site).parts[0] != "_static"
    }  # theme templates, not pages
    broken = []
    for path, page in pages.items():
        for address in page.links:
            parts = urlsplit(address)
            if parts.scheme or address.startswith(("//", "mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            where = f"{path.relative_to(site)} → {address}"
            if not target.exists():
                broken.append(f"{where}: no such file")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{where}: no anchor #{parts.fragment}")
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(sorted(broken)[:40])


def test_home_page_links_the_downloads(site):
    html = _html(site, "intro")
    assert f'href="downloads/{ZIP_NAME}"' in html
    assert f'href="downloads/{PDF_NAME}"' in html


def test_notebook_zip_holds_every_notebook_and_the_package(site):
    with zipfile.ZipFile(site / "downloads" / ZIP_NAME) as archive:
        names = {name.split("/", 1)[1] for name in archive.namelist()}
    notebooks = {f for f in tracked_files() if f.endswith(".ipynb")}
    assert notebooks and notebooks <= names, sorted(notebooks - names)
    assert {"pyproject.toml", "requirements.txt", "utils/__init__.py"} <= names


def test_pdf_holds_the_whole_book_with_math_typeset(site):
    pdf = site / "downloads" / PDF_NAME
    if not pdf.exists() and launch_options() is None:
        pytest.skip("no browser to print the PDF with (see book/browser.py)")
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert len(reader.pages) > 50, f"only {len(reader.pages)} pages"
    for title in ("Loss functions", "Gradient descent", "Regularization", "Bibliography"):
        assert title in text, f"the PDF has no {title!r}"
    # Code cells may hold TeX (figure labels); these only ever appear in the Markdown's math.
    raw = [m for m in (r"\tag{", r"\begin{aligned}", r"\begin{cases}") if m in text]
    assert not raw, f"the PDF shows raw TeX: {raw}"
