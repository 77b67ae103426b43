"""Offline datasets: generated or shipped, deterministic per seed, no download.

Lesson 01 ("What a modality is") opens every dataset here; each generator's docstring names the
lessons that use it.

| function | modalities | lesson |
|---|---|---|
| ``sort_of_clevr`` | image + question bits (Sort-of-CLEVR VQA) | 07 |
| ``scene_captions`` | image + reference captions | 03, 04, 06 |
| ``av_digits`` | handwritten digit image + spoken digit audio | 02, 05, 08 |
| ``clinical_lesions`` | lesion image + clinical record, known Bayes posterior | 09 |
| ``sensor_activities`` | accelerometer + gyroscope | 01 |

Real datasets are opt-in, in ``mmlearn.data.real``.
"""

from mmlearn.data.audio_features import log_mel, mfcc
from mmlearn.data.av_digits import av_digits
from mmlearn.data.base import MultimodalDataset, batches
from mmlearn.data.clinical import bayes_optimal_report, clinical_lesions, sample_clinical_cases
from mmlearn.data.corruption import corrupt
from mmlearn.data.scene_captions import combo_prompts, make_captions, scene_captions
from mmlearn.data.scene_questions import ANSWERS, QUESTION_TYPES, make_questions, sort_of_clevr
from mmlearn.data.scene_render import make_scenes
from mmlearn.data.sensors import imu_channels, sensor_activities
from mmlearn.data.spoken_digits import load_spoken_digits
from mmlearn.data.text import Vocabulary

__all__ = [
    "ANSWERS",
    "QUESTION_TYPES",
    "MultimodalDataset",
    "Vocabulary",
    "av_digits",
    "batches",
    "bayes_optimal_report",
    "clinical_lesions",
    "combo_prompts",
    "corrupt",
    "imu_channels",
    "load_spoken_digits",
    "log_mel",
    "make_captions",
    "make_questions",
    "make_scenes",
    "mfcc",
    "sample_clinical_cases",
    "scene_captions",
    "sensor_activities",
    "sort_of_clevr",
]
