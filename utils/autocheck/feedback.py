"""Show verdicts, hints and summaries: coloured HTML in Jupyter/Colab, plain text elsewhere.

Every verdict is displayed as one bundle with two representations, ``text/html`` (what Jupyter
and Colab render, drawn here) and ``text/plain`` (terminals, nbval, plain-text front ends: the
verdict's own text, ``str(result)``, from :mod:`utils.autocheck.result`), and a record for the
instructor's grader in the output's *metadata* under :data:`~utils.autocheck.result.MIME_TYPE`.
In the metadata rather than as a third representation, so that no front end or book builder meets
a MIME type it does not know (myst-nb would warn, and the book is built with warnings as errors).

Messages may quote code between backticks; the HTML turns those into ``<code>``.
"""

from __future__ import annotations

import html
import re
import sys
from typing import Any

from .result import MIME_TYPE, Outcome, Result

# The box brings its own background and text colour, so it reads the same on a light or a dark
# page (the site's dark mode, JupyterLab's dark theme): every colour below has a contrast of at
# least 4.5 (WCAG AA) against the box's background, which the browser tests check.
COLOURS = {
    Outcome.CORRECT: "#2e7d32",
    Outcome.INCORRECT: "#c62828",
    Outcome.NOT_ATTEMPTED: "#616161",
    Outcome.ERROR: "#bf360c",
}
HINT_COLOUR = "#1565c0"
_BOX = (
    "border-left: 4px solid {colour}; padding: 4px 10px; margin: 4px 0; "
    "background: #fafafa; color: #1f1f1f; "
    "font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.95em; line-height: 1.45"
)
_CODE = (
    "color: inherit; background: #ececec; padding: 0 0.2em; border-radius: 3px; "
    "border: none; overflow-wrap: anywhere"
)


def _inline(text: str) -> str:
    """Escape ``text`` for HTML and turn `code` spans into <code> elements."""
    escaped = html.escape(text, quote=False)
    return re.sub(r"`([^`]+)`", rf'<code style="{_CODE}">\1</code>', escaped)


def _item(line: str) -> str:
    label, colon, rest = line.partition(": ")
    if label == "Hint" and colon:
        return f'<strong style="color: {HINT_COLOUR}">Hint:</strong> {_inline(rest)}'
    return _inline(line)


def box(label: str, colour: str, heading: str, lines: list[str]) -> str:
    items = "".join(f"<li>{_item(line)}</li>" for line in lines)
    body = f'<ul style="margin: 2px 0 2px 1.2em; padding: 0">{items}</ul>' if items else ""
    return (
        f'<div class="autocheck" style="{_BOX.format(colour=colour)}">'
        f'<strong style="color: {colour}">{label}</strong> — {_inline(heading)}{body}</div>'
    )


def result_html(result: Result) -> str:
    """The HTML of a verdict; its plain text is ``str(result)``."""
    return box(result.outcome.label, COLOURS[result.outcome], result.heading, result.details)


def hint_text(exercise_id: str, name: str, level: int, total: int, text: str) -> str:
    more = f' Next: `hint("{exercise_id}", {level + 1})`.' if level < total else ""
    return f"Hint {level} of {total} — Exercise {exercise_id} (`{name}`): {text}{more}"


def hint_html(exercise_id: str, name: str, level: int, total: int, text: str) -> str:
    plain = hint_text(exercise_id, name, level, total, text)
    label, _, heading = plain.partition(" — ")
    return box(label, HINT_COLOUR, heading, [])


def points_text(points: float) -> str:
    """``2``, ``1.5``, ``0.33``: points as people write them (partial credit has decimals)."""
    return f"{round(float(points), 2):g}"


def summary_rows(rows: list[tuple[str, str, float, int, str]]) -> tuple[int, int, str, int]:
    """(passed, exercises, points, max points) of ``(id, title, points, max, outcome)`` rows."""
    passed = sum(1 for row in rows if row[4] == Outcome.CORRECT.value)
    points = points_text(sum(row[2] for row in rows))
    return passed, len(rows), points, sum(row[3] for row in rows)


def summary_text(title: str, rows: list[tuple[str, str, float, int, str]]) -> str:
    passed, total, points, max_points = summary_rows(rows)
    lines = [f"{title}: {passed}/{total} passed, {points}/{max_points} points"]
    width = max((len(row[1]) for row in rows), default=0)
    for exercise_id, exercise_title, got, worth, outcome in rows:
        got = points_text(got)
        lines.append(f"  {exercise_id:<5} {exercise_title:<{width}}  {outcome:<13} {got}/{worth}")
    return "\n".join(lines)


def summary_html(title: str, rows: list[tuple[str, str, float, int, str]]) -> str:
    passed, total, points, max_points = summary_rows(rows)
    colour = COLOURS[Outcome.CORRECT if passed == total else Outcome.INCORRECT]
    colours = {outcome.value: COLOURS[outcome] for outcome in Outcome}
    cell = 'style="padding: 1px 12px 1px 0; text-align: left"'
    body = "".join(
        f"<tr><td {cell}>{html.escape(i)}</td><td {cell}>{html.escape(t)}</td>"
        f'<td {cell}><span style="color: {colours.get(o, "#616161")}">{html.escape(o)}</span></td>'
        f"<td {cell}>{points_text(g)}/{w}</td></tr>"
        for i, t, g, w, o in rows
    )
    return (
        f'<div class="autocheck" style="{_BOX.format(colour=colour)}">'
        f'<strong style="color: {colour}">{passed}/{total} passed</strong> — '
        f"{html.escape(title)}: {points}/{max_points} points"
        f'<table style="margin-top: 4px; border-collapse: collapse">{body}</table></div>'
    )


def _shell() -> Any:
    """The running IPython shell, or None (IPython is never imported just to find out)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()
    except Exception:  # noqa: BLE001 - a broken IPython must not break a check
        return None


def show(text: str, html_text: str, record: dict[str, Any] | None = None) -> None:
    """Display one bundle in Jupyter/Colab/IPython, or print the text anywhere else."""
    if _shell() is None:
        print(text)
        return
    from IPython.display import display

    metadata = {MIME_TYPE: record} if record is not None else None
    display({"text/plain": text, "text/html": html_text}, raw=True, metadata=metadata)
