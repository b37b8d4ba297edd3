"""Argument types for the course's scripts (``python -m utils.distributed`` and the like)."""

from __future__ import annotations

import argparse


def positive(kind):
    """An argparse ``type`` that accepts numbers of ``kind`` (``int``, ``float``) above 0."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    return parse
