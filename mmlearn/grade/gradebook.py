"""The gradebook: one row per student and exercise, written as CSV and JSON, and a summary table.

No lesson teaches this module: it belongs to the classroom grader (see TEACHING.md).

Both files are written atomically (a temporary file, then a rename), so an
interrupted grading run leaves the previous gradebook or the new one, never
half of one. They hold nothing that changes from run to run (no times, no
temporary paths), so grading the same notebooks twice writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from mmlearn.grade.submission import Submission
from mmlearn.report import atomic_write_text

CSV_NAME = "gradebook.csv"
JSON_NAME = "gradebook.json"
COLUMNS = (
    "student",
    "file",
    "lesson",
    "exercise",
    "title",
    "points",
    "max_points",
    "passed",
    "status",
    "message",
)


def _number(value: float):
    return int(value) if float(value).is_integer() else round(value, 3)


def rows(submissions: list[Submission]) -> list[dict]:
    """Flat rows, sorted by student, file and exercise. A notebook with no exercise rows (unknown
    lesson, unreadable file) gets one row with an empty exercise and its note as the message."""
    out = []
    for sub in sorted(submissions, key=lambda s: (s.student, s.file)):
        base = {"student": sub.student, "file": sub.file, "lesson": sub.lesson or ""}
        if not sub.rows:
            out.append(
                {
                    **base,
                    "exercise": "",
                    "title": "",
                    "points": 0,
                    "max_points": 0,
                    "passed": False,
                    "status": "not graded",
                    "message": sub.note,
                }
            )
        for row in sorted(sub.rows, key=lambda r: r.exercise):
            message = row.message
            if sub.note and sub.note not in message:
                message = f"{message} [notebook: {sub.note}]" if message else f"[notebook: {sub.note}]"
            out.append(
                {
                    **base,
                    "exercise": row.exercise,
                    "title": row.title,
                    "points": _number(row.points),
                    "max_points": _number(row.max_points),
                    "passed": row.passed,
                    "status": row.status,
                    "message": message,
                }
            )
    return out


def write(out: Path, submissions: list[Submission]) -> tuple[Path, Path]:
    """Write ``gradebook.csv`` and ``gradebook.json`` into ``out`` (created if needed)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    flat = rows(submissions)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    students = [
        {
            "student": s.student,
            "file": s.file,
            "lesson": s.lesson or "",
            "points": _number(s.points),
            "max_points": _number(s.max_points),
            "note": s.note,
        }
        for s in sorted(submissions, key=lambda s: (s.student, s.file))
    ]
    data = {"students": students, "rows": flat}
    atomic_write_text(out / CSV_NAME, text.getvalue())
    atomic_write_text(out / JSON_NAME, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return out / CSV_NAME, out / JSON_NAME


def summary(submissions: list[Submission]) -> str:
    """A plain-text table: student, lesson, points, one character per exercise, seconds, note."""
    table = [("student", "lesson", "points", "exercises", "seconds", "note")]
    marks = {"passed": "P", "failed": "F", "not attempted": ".", "missing": "-"}
    for sub in sorted(submissions, key=lambda s: (s.student, s.file)):
        ticks = "".join(marks.get(r.status, "?") for r in sorted(sub.rows, key=lambda r: r.exercise))
        note = sub.note if len(sub.note) <= 70 else sub.note[:67] + "..."
        table.append(
            (
                sub.student,
                sub.lesson or "?",
                f"{_number(sub.points)}/{_number(sub.max_points)}",
                ticks,
                f"{sub.seconds:.1f}",
                note,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(5)]
    lines = ["  ".join(f"{r[i]:<{widths[i]}}" for i in range(5)) + "  " + r[5] for r in table]
    lines.insert(1, "-" * max(len(line) for line in lines))
    lines.append("exercises: P passed, F failed, . not attempted, - missing, ? not graded")
    return "\n".join(line.rstrip() for line in lines)
