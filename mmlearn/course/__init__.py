"""Course tooling: student copies, Colab links, and the headless course run.

Lesson 00 (section "How this course works") and the README explain these tools; students do not need
to open them.

Run ``python -m mmlearn.course --help`` for the commands.
"""
