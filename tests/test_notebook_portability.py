"""Every notebook reads the same on the site, in JupyterLab and on Colab.

Jupyter and Colab render a Markdown cell as CommonMark (with tables), keep ``$...$`` and
``$$...$$`` away from the Markdown parser for MathJax, and know nothing of MyST or of the book's
Sphinx configuration. Each Markdown cell is parsed here the same way, and what the reader would
see raw or broken is an error: MyST roles, directives and labels, macros that only the old
MathJax configuration defined, and relative links (Colab opens a notebook on its own, so
``../bibliography.md`` leads nowhere). Links into the published book must name a page the
repository has, citations a key of ``references.bib``, and equation references an equation
``\\tag`` of the chapter.

Code cells keep to 88 characters a line, so that they read without sideways scrolling, and
every cell that draws a figure carries the alt text the site gives its image
(``mystnb.image.alt`` in the cell metadata, read by myst-nb).

Cells are counted from 0, as nbformat counts them. Whether the math itself typesets is checked
in a browser by ``test_notebook_math_in_browser.py``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from utils.environment import SITE

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("chapters", "exercises", "solutions")
NOTEBOOKS = sorted(p for d in NOTEBOOK_DIRS for p in (ROOT / d).glob("*.ipynb"))
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]

MAX_LINE = 88

MATH_TOKENS = {"math_inline", "math_inline_double", "math_block", "math_block_label"}
ROLE_BEFORE_CODE = re.compile(r"\{[A-Za-z][\w:.+-]*\}$")  # {name} right before `...`
MYST_NAMES = re.compile(r"\{(eq|doc|cite(:\w+)?|ref|numref|term)\}(?!`)")  # without `...`
COLON_FENCE = re.compile(r"^\s*:::")
TARGET = re.compile(r"^\s*\([\w.:-]+\)=\s*$")  # (label)=
DEFINITION = re.compile(r"^:\s+\S")  # a definition list's ": definition" line
SUBSTITUTION = re.compile(r"\{\{[^{}]*\}\}")  # {{ name }}
FOOTNOTE = re.compile(r"\[\^[^\]]+\]")  # [^1]
OLD_MACROS = re.compile(r"\\(R|E)(?![A-Za-z])")  # \R, \E of the old mathjax3_config
PORTABLE_LINK = re.compile(r"^(https?://|mailto:|#)")
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']*)["']""")
TAG = re.compile(r"\\tag\*?\{([^}]*)\}")
FILE_NAME = re.compile(r"^\S+\.(png|jpe?g|svg|gif|pdf)$", re.IGNORECASE)


def jupyter_markdown() -> MarkdownIt:
    """CommonMark with tables and dollar math, as Jupyter reads a Markdown cell.

    ``$$ (label)`` is parsed as a labelled block here (``allow_labels``) only so that it can be
    reported: Jupyter would print the label.
    """
    return (
        MarkdownIt("commonmark")
        .enable("table")
        .use(dollarmath_plugin, allow_labels=True, double_inline=True)
    )


MARKDOWN = jupyter_markdown()


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def _chapter_number(path: Path) -> int:
    return int(path.name.split("_", 1)[0])


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _prose(inline) -> str:
    """The text a reader sees in an inline token; a code span becomes "`", math a space."""
    blank = {"code_inline": "`", "softbreak": "\n", "hardbreak": "\n"}
    return "".join(
        child.content if child.type == "text" else blank.get(child.type, " ")
        for child in inline.children or []
    )


def _links(tokens) -> list[str]:
    links = []
    for token in _walk(tokens):
        if token.type == "link_open":
            links.append(token.attrs.get("href", ""))
        elif token.type == "image":
            links.append(token.attrs.get("src", ""))
        elif token.type in ("html_inline", "html_block"):
            links += HTML_LINK.findall(token.content)
    return links


def raw_myst(source: str) -> list[str]:
    """What of MyST's syntax Jupyter would show as typed in this Markdown."""
    found = []
    for token in _walk(MARKDOWN.parse(source)):
        if token.type == "fence" and token.info.strip().startswith("{"):
            found.append(f"directive ```{token.info.strip()}")
        elif token.type in MATH_TOKENS:
            if token.type == "math_block_label":
                found.append(f"equation label $$ ({token.info})")
            macros = OLD_MACROS.findall(token.content)
            found += [f"macro \\{m} (write \\mathbb{{{m}}})" for m in macros]
        elif token.type == "inline":
            children = token.children or []
            for before, after in zip(children, children[1:], strict=False):
                if before.type == "text" and after.type == "code_inline":
                    role = ROLE_BEFORE_CODE.search(before.content)
                    if role:
                        found.append(f"role {role.group()}`{after.content}`")
            prose = _prose(token)
            found += [f"role {m.group()}" for m in MYST_NAMES.finditer(prose)]
            found += [f"substitution {m.group()}" for m in SUBSTITUTION.finditer(prose)]
            # [^1] with its definition would be parsed as a link, so look at the source
            without_code = re.sub(r"`+[^`]*`+", "", token.content)
            found += [f"footnote {m.group()}" for m in FOOTNOTE.finditer(without_code)]
            for line in token.content.splitlines():
                if COLON_FENCE.match(line):
                    found.append(f"colon fence {line.strip()}")
                elif TARGET.match(line):
                    found.append(f"target {line.strip()}")
                elif DEFINITION.match(line):
                    found.append(f"definition list {line.strip()[:40]}")
    return list(dict.fromkeys(found))


def unportable_links(source: str) -> list[str]:
    """Links that Colab cannot follow: anything but http(s), mailto: and in-page anchors."""
    return [
        f"relative link {link!r}"
        for link in _links(MARKDOWN.parse(source))
        if not PORTABLE_LINK.match(link)
    ]


def _bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(), re.M))


def broken_site_links(source: str, bib_keys: set[str]) -> list[str]:
    """Links into the published book to a page the repository does not have, or a citation
    of a key that references.bib does not have."""
    broken = []
    for link in _links(MARKDOWN.parse(source)):
        if not link.startswith(SITE):
            continue
        page, _, anchor = link[len(SITE) :].partition("#")
        if page in ("", "index.html"):
            continue
        if not page.endswith(".html"):
            broken.append(f"{link}: not a page of the book (pages end in .html)")
            continue
        name = page.removesuffix(".html")
        if not any((ROOT / f"{name}{ext}").is_file() for ext in (".ipynb", ".md")):
            broken.append(f"{link}: there is no {name}.ipynb or {name}.md")
        elif name == "bibliography" and anchor and anchor not in bib_keys:
            broken.append(f"{link}: {anchor!r} is not a key in references.bib")
    return broken


def equation_tags(nb) -> list[str]:
    """The \\tag{...} of every display equation, in the order of the notebook."""
    return [
        tag
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for token in _walk(MARKDOWN.parse(cell.source))
        if token.type in MATH_TOKENS
        for tag in TAG.findall(token.content)
    ]


def equation_references(source: str, chapter: int) -> list[str]:
    """Every "(N.k)" in the prose of a Markdown cell, N the chapter's number; not in math or code.

    Restricted to the chapter's own number so that "(2017)" or "(0.5)" in chapter 2 are not
    taken for references.
    """
    pattern = re.compile(rf"\(({chapter}\.\d+)\)")
    return [
        match
        for token in _walk(MARKDOWN.parse(source))
        if token.type == "inline"
        for match in pattern.findall(_prose(token))
    ]


def _comments(source: str) -> list[str]:
    try:
        return [
            tok.string
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError):
        return []


def _draws_a_figure(source: str, plotting_names: set[str]) -> bool:
    """Whether a cell calls pyplot (other than to close) or a utils.plotting function."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "plt." in source
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in plotting_names:
            return True
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "plt"
            and func.attr not in ("close", "rc", "rcdefaults")
        ):
            return True
    return False


def _plotting_names(nb) -> set[str]:
    """The functions a notebook imports from utils.plotting."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "utils.plotting":
                names |= {alias.asname or alias.name for alias in node.names}
    return names


def alt_text_problem(alt) -> str | None:
    """Why ``alt`` is not a sentence describing a figure, or None when it is one."""
    if not isinstance(alt, str) or not alt.strip():
        return "has no mystnb.image.alt"
    if FILE_NAME.match(alt.strip()):
        return f"has a file name for alt text: {alt!r}"
    if len(alt.split()) < 6 or not alt[0].isupper() or not alt.rstrip().endswith("."):
        return f"alt text is not a sentence (capital, six words or more, full stop): {alt!r}"
    return None


def _cell_problems(nb, check) -> list[str]:
    return [
        f"cell {index}: {problem}"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for problem in check(cell.source)
    ]


def _fail_on(path: Path, problems: list[str], what: str) -> None:
    assert not problems, f"{path.relative_to(ROOT)}: {what}:\n  " + "\n  ".join(problems)


# ----- the notebooks ------------------------------------------------------------------------


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3, f"expected notebooks in {NOTEBOOK_DIRS}, found {IDS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_code_lines_fit_in_88_characters(path):
    nb = _read(path)
    long_lines = [
        f"cell {index}, line {number} ({len(line)} characters): {line.strip()[:60]}..."
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for number, line in enumerate(cell.source.splitlines(), start=1)
        if len(line) > MAX_LINE
    ]
    _fail_on(path, long_lines, f"code lines longer than {MAX_LINE} characters")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_markdown_has_no_raw_myst(path):
    _fail_on(
        path,
        _cell_problems(_read(path), raw_myst),
        "MyST that Jupyter and Colab would show as typed",
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_markdown_links_are_absolute(path):
    _fail_on(
        path,
        _cell_problems(_read(path), unportable_links),
        f"links that break on Colab; link into the book with {SITE}<page>.html",
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_links_into_the_book_name_its_pages_and_citations(path):
    keys = _bib_keys()
    _fail_on(
        path,
        _cell_problems(_read(path), lambda source: broken_site_links(source, keys)),
        "links into the book that lead nowhere",
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_equation_tags_are_unique(path):
    tags = equation_tags(_read(path))
    repeated = sorted({tag for tag in tags if tags.count(tag) > 1})
    _fail_on(
        path,
        [f"\\tag{{{tag}}} appears {tags.count(tag)} times" for tag in repeated],
        "equation numbers used twice",
    )


@pytest.mark.parametrize(
    "path",
    [p for p in NOTEBOOKS if p.parent.name == "chapters"],
    ids=[i for i in IDS if i.startswith("chapters")],
)
def test_chapter_equations_are_numbered_in_order(path):
    number = _chapter_number(path)
    tags = equation_tags(_read(path))
    expected = [f"{number}.{k}" for k in range(1, len(tags) + 1)]
    assert tags == expected, (
        f"{path.relative_to(ROOT)}: equations should be tagged {expected} in the order they "
        f"appear, got {tags}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_equation_references_match_a_tag_of_the_chapter(path):
    number = _chapter_number(path)
    chapter = next((ROOT / "chapters").glob(f"{number:02d}_*.ipynb"))
    tags = set(equation_tags(_read(chapter)))
    nb = _read(path)
    dangling = _cell_problems(
        nb,
        lambda source: [
            f"({ref}) is not an equation of {chapter.name}"
            for ref in equation_references(source, number)
            if ref not in tags
        ],
    )
    # Code comments cite equations as "eq. (N.k)", never by an old MyST label.
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for comment in _comments(cell.source):
            for ref in re.findall(r"\beqs?\.\s*\(([^)]*)\)", comment):
                if ref not in tags:
                    dangling.append(f"cell {index}: comment cites eq. ({ref}): {comment}")
            for label in re.findall(r"\beq-[a-z][\w-]*", comment):
                dangling.append(f"cell {index}: comment cites the MyST label {label}")
    _fail_on(path, dangling, "references to equations the chapter does not have")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_figures_have_alt_text(path):
    nb = _read(path)
    plotting = _plotting_names(nb)
    problems, seen = [], {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not _draws_a_figure(cell.source, plotting):
            continue
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt")
        problem = alt_text_problem(alt)
        if problem is None and alt in seen:
            problem = f"has the same alt text as cell {seen[alt]}"
        if problem:
            problems.append(f"cell {index} draws a figure but {problem}")
        seen.setdefault(alt, index)
    _fail_on(path, problems, "figures without a description for screen readers")


# ----- the checks themselves: each one catches what it is for ------------------------------


@pytest.mark.parametrize(
    "markdown, expected",
    [
        ("See {eq}`gd-update`.", "role {eq}`gd-update`"),
        ("As {cite:p}`cauchy1847methode` showed.", "role {cite:p}`cauchy1847methode`"),
        ("Read {doc}`../bibliography`.", "role {doc}`../bibliography`"),
        ("```{note}\nA note.\n```", "directive ```{note}"),
        (":::{tip}\nA tip.\n:::", "colon fence :::{tip}"),
        ("(gd-update)=\n## The update", "target (gd-update)="),
        ("$$\nx = 1\n$$ (gd-update)", "equation label $$ (gd-update)"),
        ("For $x \\in \\R^d$,", "macro \\R (write \\mathbb{R})"),
        ("$$\n\\E[X] = 0\n$$", "macro \\E (write \\mathbb{E})"),
        ("The rate is {{ base_lr }}.", "substitution {{ base_lr }}"),
        ("Cauchy's method[^1].\n\n[^1]: 1847.", "footnote [^1]"),
        ("Learning rate\n: the step size", "definition list : the step size"),
    ],
)
def test_raw_myst_is_found(markdown, expected):
    assert expected in raw_myst(markdown)


def test_myst_inside_code_and_ordinary_text_is_not_raw_myst():
    fine = (
        "Write `{eq}` in MyST; $\\Rightarrow \\mathbb{R}$; a set $\\{a\\}$ and (2017).\n\n"
        "```python\n{'a': 1}\n```"
    )
    assert raw_myst(fine) == []


def test_relative_links_are_found():
    markdown = (
        "[bib](../bibliography.md), [next](02_gradient_descent.ipynb), "
        '![plot](figure.png), <a href="intro.html">home</a>, [ok](https://x.org), '
        "[mail](mailto:a@b.c), [up](#the-math)"
    )
    assert unportable_links(markdown) == [
        "relative link '../bibliography.md'",
        "relative link '02_gradient_descent.ipynb'",
        "relative link 'figure.png'",
        "relative link 'intro.html'",
    ]


def test_broken_links_into_the_book_are_found():
    keys = _bib_keys()
    good = (
        f"[a]({SITE}bibliography.html#{sorted(keys)[0]}), "
        f"[b]({SITE}chapters/01_loss_functions.html), [c]({SITE})"
    )
    assert broken_site_links(good, keys) == []
    bad = (
        f"[a]({SITE}bibliography.html#nobody2099), [b]({SITE}chapters/09_missing.html), "
        f"[c]({SITE}chapters/01_loss_functions.ipynb)"
    )
    assert len(broken_site_links(bad, keys)) == 3


def test_equation_references_skip_math_code_and_other_numbers():
    markdown = "By (2.3) and equation (2.10), not $(2.4)$, `(2.5)`, (1.2) or (2017)."
    assert equation_references(markdown, 2) == ["2.3", "2.10"]


def test_alt_text_must_be_a_sentence():
    assert alt_text_problem(None) == "has no mystnb.image.alt"
    assert alt_text_problem("loss.png").startswith("has a file name")
    assert alt_text_problem("Loss curves").startswith("alt text is not a sentence")
    assert alt_text_problem("Loss against step for three learning rates: one diverges.") is None


def test_figure_cells_are_recognised():
    assert _draws_a_figure("fig, ax = plt.subplots()\nax.plot(x)\nplt.show()", set())
    assert _draws_a_figure("plot_loss_curves(curves)", {"plot_loss_curves"})
    assert not _draws_a_figure("from utils.plotting import plot_loss_curves", {"plot_loss_curves"})
    assert not _draws_a_figure("plt.close('all')", set())
