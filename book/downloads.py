"""The site's downloads for reading and working offline, linked from the home page.

- ``downloads/optimizing-and-fine-tuning-notebooks.zip``: every notebook (chapters, exercises,
  solutions) with the ``utils`` package and the files that install it, so that the notebooks run
  on a machine that never saw the repository;
- ``downloads/optimizing-and-fine-tuning.pdf``: the whole book, printed by headless Chromium from
  the single-page HTML build once MathJax has typeset every formula.

    python -m book.downloads --site _build/html --single-page _build/singlehtml
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZIP_NAME = "optimizing-and-fine-tuning-notebooks.zip"
PDF_NAME = "optimizing-and-fine-tuning.pdf"
#: What goes into the zip besides the notebooks: enough to `pip install -e .` and run them.
PACKAGE_FILES = (
    "README.md",
    "LICENSE",
    "LICENSE-CONTENT.md",
    "pyproject.toml",
    "requirements.txt",
    "references.bib",
)


#: Formulas left as TeX, or typeset as an error, once MathJax is done.
UNTYPESET = """() => [
  ...[...document.querySelectorAll('.math')].filter((e) => !e.querySelector('mjx-container')),
  ...document.querySelectorAll('[data-mml-node="merror"]'),
].map((e) => e.textContent.slice(0, 80))"""


def tracked_files(root: Path) -> list[str]:
    """The repository's files as git sees them (no caches, no build outputs)."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(name for name in listing.stdout.splitlines() if (root / name).is_file())


def write_zip(root: Path, target: Path) -> int:
    """Zip the notebooks and the package; return how many notebooks went in."""
    names = [
        name
        for name in tracked_files(root)
        if name.startswith(("chapters/", "exercises/", "solutions/", "utils/"))
        or name in PACKAGE_FILES
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(root / name, f"optimizing-and-fine-tuning/{name}")
    return sum(name.endswith(".ipynb") for name in names)


def write_pdf(single_page: Path, target: Path) -> bool:
    """Print the single-page build to PDF; False (and a note) when there is no browser."""
    from playwright.sync_api import sync_playwright

    from book.browser import INSTALL_HINT, launch_options

    options = launch_options()
    if options is None:
        print(f"book.downloads: no PDF written, {INSTALL_HINT}.", file=sys.stderr)
        return False
    index = (single_page / "index.html").resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(**options)
        page = browser.new_page()
        # The book is self-contained: anything that is not a local file stays unloaded.
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file://") else route.abort()
            ),
        )
        page.goto(index.as_uri(), wait_until="load")
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
        untypeset = page.evaluate(UNTYPESET)
        if untypeset:
            raise SystemExit(f"book.downloads: formulas MathJax did not typeset: {untypeset[:3]}")
        page.emulate_media(media="print")
        page.pdf(
            path=str(target),
            format="A4",
            print_background=True,
            margin={"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
        )
        browser.close()
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, required=True, help="the HTML build")
    parser.add_argument("--single-page", type=Path, required=True, help="the singlehtml build")
    args = parser.parse_args(argv)
    downloads = args.site / "downloads"
    count = write_zip(ROOT, downloads / ZIP_NAME)
    print(f"wrote {downloads / ZIP_NAME} ({count} notebooks)")
    if write_pdf(args.single_page, downloads / PDF_NAME):
        size = (downloads / PDF_NAME).stat().st_size / 1e6
        print(f"wrote {downloads / PDF_NAME} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
