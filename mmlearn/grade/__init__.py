"""The classroom grader: grade a class's submitted notebooks in one command, or export to nbgrader.

No lesson teaches this package: it is for teachers (TEACHING.md is their guide).

``python -m mmlearn.grade SUBMISSIONS... --out DIR`` (or ``mmlearn-grade``)
runs each notebook in its own kernel, in a scratch copy of the course, with
time and memory limits, re-runs every exercise's spec on the student's own
functions, and writes ``gradebook.csv`` and ``gradebook.json``.
``python -m mmlearn.grade export-nbgrader`` writes the lessons in nbgrader's
source layout. One idea per module:

- ``lessons``: which exercises of a lesson are graded, and their points;
- ``kernel``: the kernel process and its resource limits;
- ``inkernel``: the grader's own pass inside the kernel, after the student's cells;
- ``submission``: one notebook, from file to rows, whatever it does;
- ``gradebook``: the CSV and JSON files and the summary table;
- ``classroom``: many notebooks, student ids, progress;
- ``nbgrader_export``: the nbgrader source layout.
"""

from mmlearn.course import missing_lab_extra

if missing_lab_extra():  # a clear message instead of an ImportError deep inside the grader
    raise ImportError(f"mmlearn.grade: {missing_lab_extra()}")
