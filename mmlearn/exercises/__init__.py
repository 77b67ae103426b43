"""Exercise checks for the lessons.

Taught in lesson 00 (section 5, "Exercises"): how every lesson's exercises are checked.

A student notebook calls ``check("02.1", my_function)`` after each exercise.
The checker runs the function on test inputs, compares with the reference,
prints what passed or what to fix, and never raises, so a notebook runs top
to bottom even with every exercise still undone. The specs of each lesson
live in ``lessonNN.py`` beside this file.
"""

from mmlearn.exercises.checker import (
    ExerciseFailure,
    check,
    exercise,
    expect_close,
    expect_raises,
    passed,
    progress,
)

__all__ = ["check", "exercise", "expect_close", "expect_raises", "passed", "progress", "ExerciseFailure"]
