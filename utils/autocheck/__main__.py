"""``python -m utils.autocheck grade ...`` (instructors) and ``python -m utils.autocheck build``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m utils.autocheck {grade,build} ...

  grade   run submitted notebooks in fresh kernels and write grades.csv (see --help)
  build   write exercises/*.ipynb from solutions/*.ipynb (same as python -m utils.autocheck.build)
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("grade", "build"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "grade":
        from .grade import main as grade_main

        return grade_main(argv[1:])
    from .build import main as build_main

    return build_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
