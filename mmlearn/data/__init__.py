"""Offline datasets: generated or shipped, deterministic per seed, no download."""

from mmlearn.data.base import MultimodalDataset, batches

__all__ = ["MultimodalDataset", "batches"]
