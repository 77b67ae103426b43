"""Command line of the course: ``python -m mmlearn.course COMMAND``.

Lesson 00 (section "How this course works") and the README explain these commands.

build-notebooks   write notebooks/ (student copies) from solutions/
check-notebooks   fail if notebooks/ is not what build-notebooks would write
execute [NB...]   run solution notebooks in place (authors, before committing)
run               run every lesson headless into build/course/ with results.json; a lesson that
                  fails, times out or kills its kernel is recorded there and the run goes on
set-repo OWNER/NAME [--branch B]   point every Colab badge and set-up cell at a fork
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from mmlearn.course import missing_lab_extra

    problem = missing_lab_extra()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from mmlearn.course import runner

    parser = argparse.ArgumentParser(
        prog="python -m mmlearn.course",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course checkout (default: here)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build-notebooks")
    sub.add_parser("check-notebooks")
    ex = sub.add_parser("execute")
    ex.add_argument("notebooks", nargs="*", type=Path, help="default: every solution notebook")
    run = sub.add_parser("run")
    run.add_argument("--out", type=Path, default=Path("build/course"))
    run.add_argument("--only", nargs="*", help="lesson prefixes, e.g. 00 02")
    run.add_argument(
        "--notebook-timeout",
        type=float,
        default=runner.NOTEBOOK_TIMEOUT_S,
        metavar="SECONDS",
        help="stop a lesson that runs longer than this, go on with the next (default: %(default)s; 0: none)",
    )
    run.add_argument(
        "--cell-timeout",
        type=float,
        default=runner.RUN_CELL_TIMEOUT_S,
        metavar="SECONDS",
        help="stop a lesson when one cell runs longer than this (default: %(default)s; 0: none)",
    )
    repo = sub.add_parser("set-repo")
    repo.add_argument("repository", help="OWNER/NAME on GitHub")
    repo.add_argument("--branch", default="main")
    args = parser.parse_args(argv)

    from mmlearn.course import student

    root = args.root
    if args.command == "build-notebooks":
        changed = student.build_notebooks(root)
        print(
            f"{len(changed)} notebook file(s) written"
            + "".join(f"\n  {p.relative_to(root)}" for p in changed)
        )
        return 0
    if args.command == "check-notebooks":
        stale = student.stale_notebooks(root)
        if stale:
            print("out of date (run `python -m mmlearn.course build-notebooks`):\n  " + "\n  ".join(stale))
            return 1
        print("notebooks/ is in sync with solutions/")
        return 0
    if args.command == "execute":
        from mmlearn.course.runner import execute_in_place

        paths = args.notebooks or student.solution_paths(root)
        for path in paths:
            seconds = execute_in_place(path)
            print(f"{path}: executed in {seconds:.1f} s")
        student.build_notebooks(root)
        return 0
    if args.command == "run":
        from mmlearn.course.runner import CourseRunError, run_course

        try:
            failures = run_course(
                root,
                args.out,
                args.only,
                notebook_timeout=args.notebook_timeout,
                cell_timeout=args.cell_timeout,
            )
        except CourseRunError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 1 if failures else 0
    if args.command == "set-repo":
        from mmlearn.course import colab

        colab.set_repository(args.repository, args.branch)
        student.build_notebooks(root)
        _rewrite_readme_badges(root)
        print(f"Colab badges and set-up cells now point to {colab.REPOSITORY}@{colab.BRANCH}")
        return 0
    return 2


def _rewrite_readme_badges(root: Path) -> None:
    """Badges in README.md link to notebooks/ on the configured repository."""
    import re

    from mmlearn.course import colab
    from mmlearn.report import atomic_write_text

    readme = Path(root) / "README.md"
    if not readme.exists():
        return
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/[^/\s)]+/")
    new = pattern.sub(
        f"https://colab.research.google.com/github/{colab.REPOSITORY}/blob/{colab.BRANCH}/", text
    )
    if new != text:
        atomic_write_text(readme, new)


if __name__ == "__main__":
    sys.exit(main())
