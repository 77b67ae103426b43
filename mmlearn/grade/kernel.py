"""The kernel a submission runs in: an IPython kernel started under resource limits.

No lesson teaches this module: it belongs to the classroom grader (see TEACHING.md).

The grader starts ``python -m mmlearn.grade.kernel -f CONNECTION_FILE``
(through a kernel spec it writes into the scratch folder). Before the kernel
starts, this caps what the student's code can take, so that one notebook
cannot take the machine down with it:

- address space (``RLIMIT_AS``, from ``MMLEARN_GRADE_MEMORY_MB``): an
  allocation past it fails with ``MemoryError`` in that cell instead of
  waking the machine's out-of-memory killer; the checker's forked children
  inherit the cap;
- the size of any one file it writes (``RLIMIT_FSIZE``, from
  ``MMLEARN_GRADE_FILE_MB``), so it cannot fill the disk with one file;
- its CPU time (``RLIMIT_CPU``, from ``MMLEARN_GRADE_CPU_S``): the grader
  kills a kernel that runs past the notebook's time limit, but a grader
  that is itself killed (Ctrl-C twice, a closed terminal) cannot; this cap
  makes such an orphaned kernel, looping in a student's cell, end by itself;
- no core dumps.
"""

from __future__ import annotations

import os
import sys


def apply_limits(environ=os.environ) -> None:
    """Apply the limits the grader put in the environment (a no-op where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # Windows: no limits (TEACHING.md says so)
        return
    caps = {"MMLEARN_GRADE_MEMORY_MB": "RLIMIT_AS", "MMLEARN_GRADE_FILE_MB": "RLIMIT_FSIZE"}
    for variable, name in caps.items():
        value = environ.get(variable, "").strip()
        if value and hasattr(resource, name):
            limit = int(float(value) * 2**20)
            resource.setrlimit(getattr(resource, name), (limit, limit))
    cpu = environ.get("MMLEARN_GRADE_CPU_S", "").strip()
    if cpu and hasattr(resource, "RLIMIT_CPU"):
        seconds = max(1, int(float(cpu)))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 10))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> None:
    apply_limits()
    from ipykernel import kernelapp

    sys.argv[0] = "mmlearn-grade-kernel"
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
