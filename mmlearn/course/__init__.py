"""Course tooling: student copies, Colab links, and the headless course run.

Run ``python -m mmlearn.course --help`` for the commands.
"""
