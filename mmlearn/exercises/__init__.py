"""Exercise checks for the lessons.

Taught in lesson 00 (section 5, "Exercises"): how every lesson's exercises are checked.

A student notebook calls ``check("02.1", my_function)`` after each exercise,
or ``my_function = use("02.1", my_function)`` when the lesson goes on to run
on the student's code. The checker runs the function on test inputs, compares
with the reference, prints what passed or one step of hint, and never raises;
``use`` hands back the reference while the student's answer is not done or
wrong, so a notebook runs top to bottom even with every exercise still undone. The specs of each lesson
live in ``lessonNN.py`` beside this file.
"""

from mmlearn.exercises.checker import (
    ExerciseFailure,
    check,
    exercise,
    expect_close,
    expect_raises,
    hint,
    passed,
    progress,
    use,
)

__all__ = [
    "check",
    "use",
    "hint",
    "exercise",
    "expect_close",
    "expect_raises",
    "passed",
    "progress",
    "ExerciseFailure",
]
