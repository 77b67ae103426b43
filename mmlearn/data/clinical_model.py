r"""The generative model behind the clinical-lesion dataset, and its exact Bayes posterior.

For lesson 09 (medical diagnosis, planned): the generative model whose exact posterior is the Bayes
limit.

Why this module exists: a medical-fusion lesson should say how good a model
*could* be, not only how good it is. Real data never tells you that; a model
written down in full does. This module samples cases from the model below and
computes :math:`p(y=1 \mid \text{evidence})` exactly, from the image factors,
from the record, or from both. ``lesion_images`` turns the factors into
pictures; ``clinical`` assembles the ``MultimodalDataset``.

The model
---------
Diagnosis. :math:`y \in \{0 = \text{benign}, 1 = \text{malignant}\}`,
:math:`y \sim \text{Bernoulli}(\pi)`, :math:`\pi = 0.5` by default (a biopsy
series, where about half the excised lesions are malignant; see "Prevalence").

Image factors (the ABCD rule of dermoscopy). Each factor :math:`k` is a
monotone function :math:`g_k` of a score :math:`z_k` with

.. math::  z_k \mid y \sim \mathcal N(m_k + \delta_k\, y,\; 1), \quad
           k \in \{A, B, C, D\}, \text{ independent given } y,

=============  ==========================  =======  ========  =============================
factor         value :math:`g_k(z)`        m_k      delta_k   drawn in the image as
=============  ==========================  =======  ========  =============================
asymmetry      sigmoid(z), 0-1             -1.0     0.55      odd harmonics (k=1, 3), shading
border         sigmoid(z), 0-1             -1.0     0.80      high harmonics (k=6..12)
colour         sigmoid(z), 0-1             -0.8     0.60      dark / light patches inside
diameter_mm    5 exp(0.25 z), mm            0.0     0.90      size of the blob
=============  ==========================  =======  ========  =============================

Because :math:`g_k` is invertible the likelihood ratio of a value equals that
of its score, so the image evidence is linear in the scores:

.. math::  \log\frac{p(A,B,C,D \mid y=1)}{p(A,B,C,D \mid y=0)}
           = \sum_k \delta_k \left(z_k - m_k - \tfrac{\delta_k}{2}\right).

The picture is drawn from the factors plus nuisance that does not depend on
:math:`y` (skin tone, lighting, phases of the harmonics, elongation, patch
positions, pixel noise), so :math:`y \to \text{factors} \to \text{image}` is a
Markov chain and :math:`p(y \mid \text{factors})` is an upper bound for any
model that sees only pixels: the *image oracle*.

Record fields, independent of the image factors given :math:`y`:

==============  ==========================================================
age             whole years 18-94; :math:`\lfloor a \rfloor` with :math:`a`
                a normal truncated to [18, 95): mean 46 / 60 years, sd 15 / 14
                (benign / malignant)
sex_male        Bernoulli 0.43 / 0.57
growth          patient reports recent growth: Bernoulli 0.15 / 0.45
family_history  melanoma in a first-degree relative: Bernoulli 0.05 / 0.16
lab             serum marker, U/L (synthetic, LDH-like scale); depends on age:
                :math:`\log \text{lab} \mid \text{age}, y \sim
                \mathcal N(\log 190 + 0.04\,\tfrac{\text{age}-50}{10}
                + 0.15\,y,\; 0.2^2)`
==============  ==========================================================

Given :math:`y` the fields are independent, except that the lab value depends
on age (so a high value in an 80-year-old means less than in a 30-year-old).
The record's log likelihood ratio is the sum of one term per field.

Missing values. Each field is missing independently of everything else with a
fixed rate (missing completely at random, MCAR): by default lab 20 %,
family history 10 %, growth 5 %, age and sex never. Under MCAR the
missingness carries no information, so the posterior *marginalises* a missing
field: its term is integrated out of the likelihood. For an independent field
that simply drops the term; a missing age with an observed lab value uses

.. math::  p(\text{lab} \mid y) = \sum_{a=18}^{94} p(a \mid y)\, p(\text{lab} \mid a, y).

Fusion. Image and record are conditionally independent given :math:`y`, so

.. math::  \operatorname{logit} p(y=1 \mid \text{image}, \text{record})
           = \operatorname{logit}\pi + \text{LLR}_\text{image} + \text{LLR}_\text{record}.

Prevalence. With :math:`\pi = 0.3` a classifier that always says "benign" is
already 70 % accurate, so accuracy mostly measures the prior: this model then
gives Bayes accuracies of 0.80 (image), 0.80 (record) and 0.86 (fused). The
balanced default gives 0.77, 0.76 and 0.84: fusion gains about 8 points, and
AUROC (0.85, 0.84, 0.92) is the same under both priors. Pass
``prevalence=0.3`` to study an imbalanced clinic. Measured figures for the
defaults are in ``EXPECTED_BAYES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit, logsumexp
from scipy.stats import norm

from mmlearn.validation import check_level, check_number, check_positive_int, check_seed

PREVALENCE = 0.5


@dataclass(frozen=True)
class ImageFactor:
    """One ABCD factor: its score is N(benign_mean + shift * y, 1)."""

    name: str
    unit: str
    meaning: str
    benign_mean: float
    shift: float


IMAGE_FACTORS = (
    ImageFactor("asymmetry", "0-1", "outline and shading depart from point symmetry", -1.0, 0.55),
    ImageFactor("border", "0-1", "ragged, notched border (radial harmonics 6-12)", -1.0, 0.80),
    ImageFactor("colour", "0-1", "strength of dark and light patches inside the lesion", -0.8, 0.60),
    ImageFactor("diameter_mm", "mm", "lesion diameter (5 mm times exp(0.25 z))", 0.0, 0.90),
)
FACTOR_NAMES = tuple(f.name for f in IMAGE_FACTORS)

# Diameter: d = DIAMETER_MEDIAN_MM * exp(DIAMETER_LOG_SD * z).
DIAMETER_MEDIAN_MM = 5.0
DIAMETER_LOG_SD = 0.25


@dataclass(frozen=True)
class RecordField:
    """One column of the clinical record, for a lesson's table."""

    name: str
    unit: str
    meaning: str
    benign: str
    malignant: str


RECORD_FIELDS = (
    RecordField("age", "years", "age at the visit", "~N(46, 15) in 18-94", "~N(60, 14) in 18-94"),
    RecordField("sex_male", "0/1", "1 = male, 0 = female", "43 % male", "57 % male"),
    RecordField("growth", "0/1", "patient reports the lesion has grown", "15 % yes", "45 % yes"),
    RecordField("family_history", "0/1", "melanoma in a first-degree relative", "5 % yes", "16 % yes"),
    RecordField(
        "lab", "U/L", "serum marker (synthetic, LDH-like), rises with age", "~190 at age 50", "~221 at age 50"
    ),
)
RECORD_NAMES = tuple(f.name for f in RECORD_FIELDS)
DEFAULT_MISSING_RATES = {"age": 0.0, "sex_male": 0.0, "growth": 0.05, "family_history": 0.10, "lab": 0.20}

AGE_MIN, AGE_MAX = 18, 94  # whole years, both included
AGE_MEAN = (46.0, 60.0)  # benign, malignant
AGE_SD = (15.0, 14.0)
P_MALE = (0.43, 0.57)
P_GROWTH = (0.15, 0.45)
P_FAMILY = (0.05, 0.16)
LAB_LOG_BASE = float(np.log(190.0))
LAB_AGE_SLOPE = 0.04  # change of log(lab) per decade of age
LAB_SHIFT = 0.15  # change of log(lab) when malignant
LAB_LOG_SD = 0.2
_BINARY = {"sex_male": P_MALE, "growth": P_GROWTH, "family_history": P_FAMILY}

# Record encoding for models: fixed constants (not fitted), so every split is encoded alike.
AGE_CENTER, AGE_SCALE = 55.0, 15.0
LAB_LOG_CENTER, LAB_LOG_SCALE = float(np.log(200.0)), 0.25
RECORD_COLUMNS = RECORD_NAMES + tuple(f"{name}_missing" for name in RECORD_NAMES)

# Bayes-optimal figures of the defaults (prevalence 0.5, default missing rates),
# measured on 2,000,000 cases (standard error about 0.0003); see benchmarks/bench_datasets_clinical.py.
EXPECTED_BAYES = {
    "image": {"accuracy": 0.766, "auroc": 0.848},
    "record": {"accuracy": 0.757, "auroc": 0.838},
    "fused": {"accuracy": 0.843, "auroc": 0.923},
}


@dataclass
class ClinicalCases:
    """Sampled cases without pictures: everything the posterior needs.

    labels:          (N,) int64, 1 = malignant
    factors:         {factor name: (N,) float64} image factors (the latent truth behind each picture)
    record:          {field name: (N,) float64}, NaN where missing
    record_complete: the same record before values were removed
    posteriors:      {"image", "record", "fused": (N,) float64} p(y=1 | that evidence)
    prevalence:      the prior p(y=1) used to sample and to compute the posteriors
    """

    labels: np.ndarray
    factors: dict[str, np.ndarray]
    record: dict[str, np.ndarray]
    record_complete: dict[str, np.ndarray]
    posteriors: dict[str, np.ndarray]
    prevalence: float

    def __len__(self) -> int:
        return len(self.labels)


# ----------------------------------------------------------------------------- checks


def check_prevalence(prevalence) -> float:
    """The prior p(malignant) must lie strictly between 0 and 1."""
    prevalence = check_number(prevalence, "prevalence")
    if not 0.0 < prevalence < 1.0:
        raise ValueError(f"prevalence must be strictly between 0 and 1, got {prevalence}")
    return prevalence


def missing_rates(missing) -> dict[str, float]:
    """``True`` -> the default rates, ``False`` -> none, a dict -> those rates (other fields complete)."""
    if missing is True:
        return dict(DEFAULT_MISSING_RATES)
    if missing is False:
        return dict.fromkeys(RECORD_NAMES, 0.0)
    if not isinstance(missing, Mapping):
        raise TypeError(
            f"missing must be True, False or a dict of field -> rate, got {type(missing).__name__}"
        )
    unknown = sorted(set(missing) - set(RECORD_NAMES))
    if unknown:
        raise KeyError(f"unknown record field {unknown} in missing; fields are {list(RECORD_NAMES)}")
    rates = dict.fromkeys(RECORD_NAMES, 0.0)
    for name, rate in missing.items():
        rates[name] = check_level(rate, f"missing rate of '{name}'")
    return rates


def _as_columns(values: Mapping, names: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    if not isinstance(values, Mapping):
        raise TypeError(f"{what} must be a dict of name -> array, got {type(values).__name__}")
    absent = [name for name in names if name not in values]
    if absent:
        raise KeyError(f"{what} lacks {absent}; expected all of {list(names)}")
    columns = {name: np.asarray(values[name], dtype=np.float64).reshape(-1) for name in names}
    sizes = {name: len(col) for name, col in columns.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"{what} columns differ in length: {sizes}")
    if next(iter(sizes.values())) == 0:
        raise ValueError(f"{what} is empty")
    return columns


def _check_factors(factors: Mapping) -> dict[str, np.ndarray]:
    cols = _as_columns(factors, FACTOR_NAMES, "image factors")
    for name, col in cols.items():
        if not np.isfinite(col).all():
            raise ValueError(
                f"image factor '{name}' has NaN or infinite values (image factors are never missing)"
            )
    for name in ("asymmetry", "border", "colour"):
        if ((cols[name] <= 0) | (cols[name] >= 1)).any():
            raise ValueError(f"image factor '{name}' must lie strictly between 0 and 1")
    if (cols["diameter_mm"] <= 0).any():
        raise ValueError("image factor 'diameter_mm' must be positive")
    return cols


def _check_record(record: Mapping) -> dict[str, np.ndarray]:
    cols = _as_columns(record, RECORD_NAMES, "record")
    for name, col in cols.items():
        if np.isinf(col).any():
            raise ValueError(f"record field '{name}' has infinite values (use NaN for missing)")
    age = cols["age"][~np.isnan(cols["age"])]
    if ((age != np.round(age)) | (age < AGE_MIN) | (age > AGE_MAX)).any():
        raise ValueError(f"record field 'age' must be whole years in {AGE_MIN}-{AGE_MAX} (or NaN)")
    for name in _BINARY:
        seen = cols[name][~np.isnan(cols[name])]
        if not np.isin(seen, (0.0, 1.0)).all():
            raise ValueError(f"record field '{name}' must be 0, 1 or NaN")
    lab = cols["lab"][~np.isnan(cols["lab"])]
    if (lab <= 0).any():
        raise ValueError("record field 'lab' must be positive (or NaN)")
    return cols


# ----------------------------------------------------------------------------- the model


def factor_scores(factors: Mapping) -> dict[str, np.ndarray]:
    """Image factor values -> their Gaussian scores z (the inverse of the value maps)."""
    cols = _check_factors(factors)
    z = {name: logit(cols[name]) for name in ("asymmetry", "border", "colour")}
    z["diameter_mm"] = np.log(cols["diameter_mm"] / DIAMETER_MEDIAN_MM) / DIAMETER_LOG_SD
    return z


def _factor_values(z: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    values = {name: expit(z[name]) for name in ("asymmetry", "border", "colour")}
    values["diameter_mm"] = DIAMETER_MEDIAN_MM * np.exp(DIAMETER_LOG_SD * z["diameter_mm"])
    return values


def age_log_pmf(y: int) -> np.ndarray:
    """log p(age = a | y) for a = 18 ... 94: a normal truncated to [18, 95), floored to whole years."""
    if isinstance(y, bool) or not isinstance(y, int | np.integer) or y not in (0, 1):
        raise ValueError(f"y must be the class, 0 (benign) or 1 (malignant), got {y!r}")
    mean, sd = AGE_MEAN[y], AGE_SD[y]
    edges = norm.cdf((np.arange(AGE_MIN, AGE_MAX + 2) - mean) / sd)  # (78,)
    mass = np.diff(edges)  # (77,)
    return np.log(mass / mass.sum())


def _lab_log_mean(age: np.ndarray, y) -> np.ndarray:
    return LAB_LOG_BASE + LAB_AGE_SLOPE * (age - 50.0) / 10.0 + LAB_SHIFT * y


def image_log_likelihood_ratio(factors: Mapping) -> np.ndarray:
    """(N,) log p(factors | malignant) / p(factors | benign), from the ABCD factor values."""
    z = factor_scores(factors)
    llr = np.zeros(len(z["asymmetry"]))
    for f in IMAGE_FACTORS:
        llr += f.shift * (z[f.name] - f.benign_mean - f.shift / 2)
    return llr


def record_log_likelihood_ratio(record: Mapping) -> np.ndarray:
    """(N,) log p(record | malignant) / p(record | benign); NaN fields are marginalised out."""
    cols = _check_record(record)
    n = len(cols["age"])
    loglik = np.zeros((2, n))  # rows: y = 0, y = 1
    age, lab = cols["age"], cols["lab"]
    has_age, has_lab = ~np.isnan(age), ~np.isnan(lab)
    ages = np.arange(AGE_MIN, AGE_MAX + 1, dtype=np.float64)  # (77,)
    for y in (0, 1):
        age_lp = age_log_pmf(y)
        loglik[y, has_age] += age_lp[(age[has_age] - AGE_MIN).astype(int)]
        for name, p in _BINARY.items():
            x = cols[name]
            seen = ~np.isnan(x)
            loglik[y, seen] += np.where(x[seen] == 1.0, np.log(p[y]), np.log1p(-p[y]))
        # lab | age: a normal on the log scale (the 1/lab Jacobian cancels in the ratio)
        both = has_lab & has_age
        loglik[y, both] += norm.logpdf(np.log(lab[both]), _lab_log_mean(age[both], y), LAB_LOG_SD)
        only_lab = has_lab & ~has_age  # age missing: sum over the ages it could have been
        if only_lab.any():
            terms = norm.logpdf(np.log(lab[only_lab])[:, None], _lab_log_mean(ages, y)[None, :], LAB_LOG_SD)
            loglik[y, only_lab] += logsumexp(terms + age_lp[None, :], axis=1)
    return loglik[1] - loglik[0]


def record_llr_terms(record: Mapping) -> dict[str, np.ndarray]:
    """{field: (N,) its term of the record's log likelihood ratio}; the terms sum to
    ``record_log_likelihood_ratio(record)``.

    Lesson 09 (section 8, "Which modality drove the decision"): the weight the generative model
    gives each field of each case, to compare with a model's attributions. A missing field's term
    is 0 (it is marginalised out). "lab" is the lab value given the age (``log p(lab | age, y)``
    ratio), or, when the age is missing, given the age distribution; "age" is the age alone.
    """
    cols = _check_record(record)
    n = len(cols["age"])
    terms = {name: np.zeros(n) for name in RECORD_NAMES}
    age, lab = cols["age"], cols["lab"]
    has_age, has_lab = ~np.isnan(age), ~np.isnan(lab)
    ages = np.arange(AGE_MIN, AGE_MAX + 1, dtype=np.float64)
    for y, sign in ((1, 1.0), (0, -1.0)):
        age_lp = age_log_pmf(y)
        terms["age"][has_age] += sign * age_lp[(age[has_age] - AGE_MIN).astype(int)]
        for name, p in _BINARY.items():
            x = cols[name]
            seen = ~np.isnan(x)
            terms[name][seen] += sign * np.where(x[seen] == 1.0, np.log(p[y]), np.log1p(-p[y]))
        both = has_lab & has_age
        terms["lab"][both] += sign * norm.logpdf(np.log(lab[both]), _lab_log_mean(age[both], y), LAB_LOG_SD)
        only_lab = has_lab & ~has_age
        if only_lab.any():
            lp = norm.logpdf(np.log(lab[only_lab])[:, None], _lab_log_mean(ages, y)[None, :], LAB_LOG_SD)
            terms["lab"][only_lab] += sign * logsumexp(lp + age_lp[None, :], axis=1)
    return terms


def decode_record(encoded) -> dict[str, np.ndarray]:
    """The inverse of ``encode_record``: (N, 10) model input -> {field: (N,) values, NaN = missing}.

    Lesson 09 uses it to read the all-zero record (the baseline of integrated gradients) as a
    patient: age 55, female, no growth, no family history, lab 200 U/L, nothing missing.
    """
    try:
        x = np.asarray(encoded, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"encoded must be an (N, {len(RECORD_COLUMNS)}) array of numbers, got {encoded!r}"
        ) from err
    if x.ndim != 2 or x.shape[1] != len(RECORD_COLUMNS):
        raise ValueError(
            f"encoded must be (N, {len(RECORD_COLUMNS)}) as from encode_record, got shape {x.shape}"
        )
    if len(x) == 0:
        raise ValueError("encoded is empty")
    if not np.isfinite(x).all():
        raise ValueError("encoded has NaN or infinite values")
    k = len(RECORD_NAMES)
    missing = x[:, k:] > 0.5
    age = np.clip(np.round(x[:, 0] * AGE_SCALE + AGE_CENTER), AGE_MIN, AGE_MAX)
    values = {
        "age": age,
        "sex_male": (x[:, 1] > 0.5).astype(np.float64),
        "growth": (x[:, 2] > 0.5).astype(np.float64),
        "family_history": (x[:, 3] > 0.5).astype(np.float64),
        "lab": np.exp(x[:, 4] * LAB_LOG_SCALE + LAB_LOG_CENTER),
    }
    return {name: np.where(missing[:, i], np.nan, values[name]) for i, name in enumerate(RECORD_NAMES)}


def bayes_posterior(factors: Mapping | None = None, record: Mapping | None = None, prevalence=PREVALENCE):
    """(N,) exact p(malignant | the evidence given): image factors, record (NaN = missing), or both.

    Leave out ``record`` for the image oracle, ``factors`` for the record-only
    posterior (this is also the answer when a whole record is missing).
    """
    prevalence = check_prevalence(prevalence)
    if factors is None and record is None:
        raise ValueError("give image factors, a record, or both")
    logit_p = 0.0
    n = None
    if factors is not None:
        llr = image_log_likelihood_ratio(factors)
        logit_p = logit_p + llr
        n = len(llr)
    if record is not None:
        llr = record_log_likelihood_ratio(record)
        if n is not None and len(llr) != n:
            raise ValueError(f"image factors have {n} rows but the record has {len(llr)}")
        logit_p = logit_p + llr
    return expit(logit(prevalence) + logit_p)


# ----------------------------------------------------------------------------- sampling


def draw_cases(
    n: int, rng: np.random.Generator, rates: Mapping[str, float], prevalence: float
) -> ClinicalCases:
    """``sample_clinical_cases`` for a caller that holds a Generator and checked arguments."""
    labels = (rng.random(n) < prevalence).astype(np.int64)  # (N,)
    y = labels.astype(np.float64)

    z = {f.name: f.benign_mean + f.shift * y + rng.standard_normal(n) for f in IMAGE_FACTORS}
    factors = _factor_values(z)

    ages = np.arange(AGE_MIN, AGE_MAX + 1, dtype=np.float64)
    age = np.empty(n)
    for cls in (0, 1):
        rows = labels == cls
        age[rows] = rng.choice(ages, size=int(rows.sum()), p=np.exp(age_log_pmf(cls)))
    record = {"age": age}
    for name, p in _BINARY.items():
        record[name] = (rng.random(n) < np.where(labels == 1, p[1], p[0])).astype(np.float64)
    record["lab"] = np.exp(_lab_log_mean(age, y) + LAB_LOG_SD * rng.standard_normal(n))

    observed = {}
    for name in RECORD_NAMES:  # MCAR: one independent coin per field and case
        drop = rng.random(n) < rates[name]
        observed[name] = np.where(drop, np.nan, record[name])

    posteriors = {
        "image": bayes_posterior(factors, None, prevalence),
        "record": bayes_posterior(None, observed, prevalence),
        "fused": bayes_posterior(factors, observed, prevalence),
    }
    return ClinicalCases(labels, factors, observed, record, posteriors, prevalence)


def sample_clinical_cases(n: int, *, seed: int = 0, missing=True, prevalence=PREVALENCE) -> ClinicalCases:
    """Draw ``n`` cases (labels, image factors, records, exact posteriors) without drawing pictures.

    Cheap enough for a million cases; ``clinical.clinical_lesions`` adds the images.
    """
    check_positive_int(n, "n")
    rng = np.random.default_rng(check_seed(seed))
    return draw_cases(n, rng, missing_rates(missing), check_prevalence(prevalence))


def encode_record(record: Mapping) -> np.ndarray:
    """(N, 10) float32 model input: 5 value columns then 5 missing-indicator columns.

    Values: age as (age - 55) / 15; sex_male, growth, family_history as 0/1;
    lab as (log lab - log 200) / 0.25. A missing value becomes 0 (the typical
    value: about the population mean for age and lab, "no" for the binary
    fields) and its indicator column becomes 1, so a model can tell "unknown"
    from "no". Column names: ``RECORD_COLUMNS``.
    """
    cols = _check_record(record)
    values = {
        "age": (cols["age"] - AGE_CENTER) / AGE_SCALE,
        "sex_male": cols["sex_male"],
        "growth": cols["growth"],
        "family_history": cols["family_history"],
        "lab": (np.log(cols["lab"]) - LAB_LOG_CENTER) / LAB_LOG_SCALE,
    }
    missing = np.stack([np.isnan(cols[name]) for name in RECORD_NAMES], axis=1)  # (N, 5)
    filled = np.stack([values[name] for name in RECORD_NAMES], axis=1)  # (N, 5)
    filled = np.where(missing, 0.0, filled)
    return np.concatenate([filled, missing.astype(np.float64)], axis=1).astype(np.float32)
