"""Clinical skin lesions: a picture and a patient record per case, with the best possible answer known.

For lesson 09 (medical diagnosis, planned): fusion measured against the Bayes-optimal limit.

Why this module exists: the medical lesson compares image-only, record-only
and fused models, and wants to print beside each one the accuracy and AUROC
that *no* model could beat on the same cases. ``clinical_model`` holds the
generative model (its docstring has the maths) and the exact posterior;
``lesion_images`` draws the pictures; this module puts both into a
``MultimodalDataset``.

Quick use::

    data = clinical_lesions(3000, seed=0)
    train, val, test = data.split((0.7, 0.15, 0.15))
    bayes_optimal_report(test)  # {"image": {"accuracy", "auroc"}, "record": ..., "fused": ...}
"""

from __future__ import annotations

import numpy as np
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.clinical_model import (
    DEFAULT_MISSING_RATES,
    DIAMETER_LOG_SD,
    DIAMETER_MEDIAN_MM,
    EXPECTED_BAYES,
    FACTOR_NAMES,
    IMAGE_FACTORS,
    PREVALENCE,
    RECORD_COLUMNS,
    RECORD_FIELDS,
    RECORD_NAMES,
    ClinicalCases,
    bayes_posterior,
    check_prevalence,
    decode_record,
    draw_cases,
    encode_record,
    missing_rates,
    record_llr_terms,
    sample_clinical_cases,
)
from mmlearn.data.lesion_images import FIELD_OF_VIEW_MM, check_image_size, draw_lesions, render_lesions
from mmlearn.metrics import posterior_report
from mmlearn.validation import check_positive_int, check_seed

__all__ = [
    "DEFAULT_MISSING_RATES",
    "EXPECTED_BAYES",
    "FACTOR_NAMES",
    "FIELD_OF_VIEW_MM",
    "IMAGE_FACTORS",
    "PREVALENCE",
    "RECORD_COLUMNS",
    "RECORD_FIELDS",
    "RECORD_NAMES",
    "ClinicalCases",
    "bayes_optimal_report",
    "bayes_posterior",
    "clinical_lesions",
    "decode_record",
    "encode_record",
    "image_factor_table",
    "record_field_table",
    "record_llr_terms",
    "render_lesions",
    "sample_clinical_cases",
]


def clinical_lesions(
    n: int, *, seed: int = 0, image_size: int = 32, missing=True, prevalence: float = PREVALENCE
) -> MultimodalDataset:
    """``n`` generated cases as a ``MultimodalDataset``.

    Modalities:
      "image":  float32 (N, 3, H, W) in [0, 1], H = W = ``image_size`` (12 mm field of view)
      "record": float32 (N, 10): 5 encoded values then 5 missing indicators (see ``encode_record``;
                column names in ``RECORD_COLUMNS``); a missing value is 0 with its indicator 1
    Labels: int64 (N,), 1 = malignant.
    Info (one row per case):
      the image factors "asymmetry", "border", "colour", "diameter_mm" (float64 (N,));
      the raw record fields "age", "sex_male", "growth", "family_history", "lab" (float64, NaN = missing);
      the exact posteriors "p_image", "p_record", "p_fused" = p(malignant | that evidence).

    ``missing``: True for the default MCAR rates (``DEFAULT_MISSING_RATES``), False for a
    complete record, or a dict ``{field: rate}`` (fields not named are complete).
    The same arguments give the same cases as ``sample_clinical_cases`` (which skips the pictures).
    """
    check_positive_int(n, "n")
    rng = np.random.default_rng(check_seed(seed))
    check_image_size(image_size)
    cases = draw_cases(n, rng, missing_rates(missing), check_prevalence(prevalence))
    f = cases.factors
    images, _ = draw_lesions(f["asymmetry"], f["border"], f["colour"], f["diameter_mm"], rng, image_size)
    image = torch.from_numpy(images).float().div_(255.0)  # (N, 3, H, W)
    record = torch.from_numpy(encode_record(cases.record))  # (N, 10)
    info = {name: torch.from_numpy(f[name]) for name in FACTOR_NAMES}
    info.update({name: torch.from_numpy(cases.record[name]) for name in RECORD_NAMES})
    info.update({f"p_{source}": torch.from_numpy(p) for source, p in cases.posteriors.items()})
    labels = torch.from_numpy(cases.labels)
    modalities = {"image": image, "record": record}
    return MultimodalDataset(modalities, labels, info, classes=("benign", "malignant"))


def bayes_optimal_report(data: MultimodalDataset | ClinicalCases) -> dict[str, dict[str, float]]:
    """Accuracy and AUROC of the exact posterior on these cases, per evidence source.

    Returns ``{"image": {"accuracy", "auroc"}, "record": {...}, "fused": {...}}``:
    the ceiling for a model evaluated on the same cases. "image" uses the true
    factors behind each picture, so it bounds every image-only model.
    """
    if isinstance(data, ClinicalCases):
        return posterior_report(data.labels, data.posteriors)
    if not isinstance(data, MultimodalDataset):
        raise TypeError(
            f"data must be a dataset from clinical_lesions (or the cases of sample_clinical_cases), "
            f"got {type(data).__name__}"
        )
    absent = [key for key in ("p_image", "p_record", "p_fused") if key not in data.info]
    if absent:
        raise KeyError(f"dataset info lacks {absent}: was it made by clinical_lesions?")
    labels = data.labels.cpu().numpy()
    posteriors = {source: data.info[f"p_{source}"].cpu().numpy() for source in ("image", "record", "fused")}
    return posterior_report(labels, posteriors)


def record_field_table(missing=True) -> list[dict[str, str]]:
    """One row per record field (name, unit, meaning, benign, malignant, missing), for a lesson's table.

    ``pandas.DataFrame(record_field_table())`` shows it as a table.
    """
    rates = missing_rates(missing)
    return [
        {
            "field": f.name,
            "unit": f.unit,
            "meaning": f.meaning,
            "benign": f.benign,
            "malignant": f.malignant,
            "missing": f"{100 * rates[f.name]:.0f} %",
        }
        for f in RECORD_FIELDS
    ]


def image_factor_table() -> list[dict[str, str]]:
    """One row per ABCD image factor (name, unit, meaning, benign and malignant medians)."""
    from scipy.special import expit

    rows = []
    for f in IMAGE_FACTORS:
        if f.name == "diameter_mm":
            medians = [
                DIAMETER_MEDIAN_MM * np.exp(DIAMETER_LOG_SD * (f.benign_mean + f.shift * y)) for y in (0, 1)
            ]
        else:
            medians = [expit(f.benign_mean + f.shift * y) for y in (0, 1)]
        rows.append(
            {
                "factor": f.name,
                "unit": f.unit,
                "meaning": f.meaning,
                "benign median": f"{medians[0]:.2f}",
                "malignant median": f"{medians[1]:.2f}",
            }
        )
    return rows
