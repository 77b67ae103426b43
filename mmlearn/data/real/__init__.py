"""Opt-in loaders for real datasets (they download, so no lesson calls them).

No lesson needs these; they swap a lesson's generated data for real data (README).

Every lesson runs on the course's generated data. These loaders are for a
student who wants to repeat a lesson on the real thing, on a machine with
internet: MNIST with spoken digits (AV-MNIST style), spoken digits alone
(FSDD), Flickr8k captions and MedMNIST. They share one shape,
``load_name(root, split, *, download=False, ...)`` with ``split`` one of
``train``, ``val``, ``test``, and return the same ``MultimodalDataset`` as
the offline generators (with ``classes`` when the labels are classes). They
verify what they download, and say clearly what to do offline.
"""

from mmlearn.data.real.av_mnist import FSDD_SHA256, FSDD_URL, fsdd_recordings, load_av_mnist, load_fsdd
from mmlearn.data.real.flickr8k import load_flickr8k, read_flickr8k_captions
from mmlearn.data.real.medmnist import load_medmnist, medmnist_classes

__all__ = [
    "FSDD_SHA256",
    "FSDD_URL",
    "fsdd_recordings",
    "load_av_mnist",
    "load_flickr8k",
    "load_fsdd",
    "load_medmnist",
    "medmnist_classes",
    "read_flickr8k_captions",
]
