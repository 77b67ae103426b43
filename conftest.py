"""pytest set-up for the whole repository (unit tests and nbval on both notebook folders).

The committed notebook outputs were made on a CPU. nbval starts each
notebook's kernel with this process's environment, so forcing the CPU here
keeps a machine with a GPU from training on CUDA and printing other figures.
"""

import os

os.environ["MMLEARN_DEVICE"] = "cpu"
