"""Command line of the classroom grader: ``python -m mmlearn.grade`` (also ``mmlearn-grade``).

No lesson teaches this module: it is for teachers (TEACHING.md is their guide).

python -m mmlearn.grade SUBMISSIONS... --out DIR [--lesson 00] [--hidden FILE] [limits]
    grade notebooks (files or folders of them); write DIR/gradebook.csv and DIR/gradebook.json
python -m mmlearn.grade export-nbgrader --out DIR [--lesson 00 ...]
    write the lessons in nbgrader's source layout (DIR/source/<assignment>/<notebook>)

Exit status 0 when every notebook was graded (whatever its points), 1 when one
could not be (its row says why), 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmlearn.grade import submission


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmlearn.grade",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders of notebooks")
    parser.add_argument("--out", type=Path, required=True, help="folder for gradebook.csv and gradebook.json")
    parser.add_argument(
        "--lesson", help="the lesson every submission must be, e.g. 00 (default: each its own)"
    )
    parser.add_argument("--course", type=Path, help="the course checkout with solutions/ (default: this one)")
    parser.add_argument("--hidden", type=Path, help="a Python file of extra specs: HIDDEN = {'00.1': spec}")
    parser.add_argument(
        "--student-id",
        choices=("file", "name"),
        default="file",
        help="identify students by file name, or by the 'Name:' line of the first cell",
    )
    parser.add_argument("--cell-timeout", type=_positive, default=submission.CELL_TIMEOUT_S, metavar="S")
    parser.add_argument(
        "--notebook-timeout", type=_positive, default=submission.NOTEBOOK_TIMEOUT_S, metavar="S"
    )
    parser.add_argument(
        "--check-timeout",
        type=_positive,
        metavar="S",
        help="time limit of each exercise's check (default: the exercise's own)",
    )
    parser.add_argument(
        "--memory-mb",
        type=_positive,
        default=submission.MEMORY_MB,
        help="address-space cap of each kernel (default: %(default)s)",
    )
    parser.add_argument(
        "--watch",
        type=Path,
        action="append",
        default=[],
        help="also report a notebook that changes files in this folder (repeatable)",
    )
    parser.add_argument("--no-progress", action="store_true")
    return parser


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mmlearn.grade export-nbgrader")
    parser.add_argument("--out", type=Path, required=True, help="the nbgrader course folder to write into")
    parser.add_argument("--lesson", action="append", help="lesson(s) to export, e.g. 00 (default: all)")
    parser.add_argument("--course", type=Path, help="the course checkout with solutions/ (default: this one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export-nbgrader":
        from mmlearn.grade.classroom import default_course
        from mmlearn.grade.nbgrader_export import export_course

        args = _export_parser().parse_args(argv[1:])
        try:
            written = export_course(args.course or default_course(), args.out, args.lesson)
        except (FileNotFoundError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"{len(written)} notebook(s) written:" + "".join(f"\n  {p}" for p in written))
        return 0
    args = _grade_parser().parse_args(argv)
    from mmlearn.grade import gradebook
    from mmlearn.grade.classroom import grade_class

    limits = submission.Limits(
        cell_timeout_s=args.cell_timeout,
        notebook_timeout_s=args.notebook_timeout,
        memory_mb=args.memory_mb,
        check_timeout_s=args.check_timeout,
    )
    try:
        results = grade_class(
            args.submissions,
            args.out,
            course=args.course,
            lesson=args.lesson,
            limits=limits,
            hidden=args.hidden,
            student_id=args.student_id,
            watch=args.watch,
            progress=not args.no_progress,
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(gradebook.summary(results))
    print(f"\ngradebook: {args.out / gradebook.CSV_NAME} and {args.out / gradebook.JSON_NAME}")
    ungraded = any(not r.rows or any(row.status == "not graded" for row in r.rows) for r in results)
    return 1 if ungraded else 0


if __name__ == "__main__":
    sys.exit(main())
