import math

import numpy as np
import pytest
import torch
from scipy.integrate import trapezoid
from scipy.special import expit, logit
from scipy.stats import truncnorm

from mmlearn.data import clinical_model as cm
from mmlearn.data.base import MultimodalDataset
from mmlearn.data.clinical import (
    DEFAULT_MISSING_RATES,
    EXPECTED_BAYES,
    RECORD_COLUMNS,
    RECORD_NAMES,
    bayes_optimal_report,
    bayes_posterior,
    clinical_lesions,
    encode_record,
    image_factor_table,
    record_field_table,
    render_lesions,
    sample_clinical_cases,
)

BIG = 60_000


@pytest.fixture(scope="module")
def big():
    return sample_clinical_cases(BIG, seed=7)


@pytest.fixture(scope="module")
def small():
    return clinical_lesions(300, seed=5)


# ----------------------------------------------------------------- dataset shape and determinism


def test_dataset_shapes_and_ranges(small):
    image, record = small.modalities["image"], small.modalities["record"]
    assert image.shape == (300, 3, 32, 32) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert record.shape == (300, len(RECORD_COLUMNS)) == (300, 10)
    assert small.labels.dtype == torch.int64 and set(small.labels.tolist()) == {0, 1}
    for key in (
        "asymmetry",
        "border",
        "colour",
        "diameter_mm",
        *RECORD_NAMES,
        "p_image",
        "p_record",
        "p_fused",
    ):
        assert len(small.info[key]) == 300
    assert clinical_lesions(20, seed=0, image_size=48).modalities["image"].shape == (20, 3, 48, 48)


def test_same_seed_same_data_other_seed_differs():
    a, b, c = clinical_lesions(64, seed=3), clinical_lesions(64, seed=3), clinical_lesions(64, seed=4)
    for key in ("image", "record"):
        assert torch.equal(a.modalities[key], b.modalities[key])
        assert not torch.equal(a.modalities[key], c.modalities[key])
    assert torch.equal(a.labels, b.labels)
    for key, value in a.info.items():
        assert torch.equal(value.nan_to_num(-1), b.info[key].nan_to_num(-1)), key
    assert not torch.equal(a.info["p_fused"], c.info["p_fused"])


def test_dataset_holds_the_same_cases_as_sample_clinical_cases(small):
    cases = sample_clinical_cases(300, seed=5)
    np.testing.assert_array_equal(small.labels.numpy(), cases.labels)
    np.testing.assert_array_equal(small.info["p_fused"].numpy(), cases.posteriors["fused"])
    np.testing.assert_array_equal(small.info["lab"].numpy(), cases.record["lab"])


def test_split_keeps_posteriors_with_their_cases(small):
    train, test = small.split((0.5, 0.5), seed=1)
    report = bayes_optimal_report(test)
    labels = test.labels.numpy()
    p = test.info["p_fused"].numpy()
    assert report["fused"]["accuracy"] == pytest.approx(np.mean((p > 0.5) == (labels == 1)))


# ----------------------------------------------------------------- the Bayes figures


def _auroc_se(auc, n_pos, n_neg):
    """Hanley & McNeil (1982) standard error of an AUROC."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return math.sqrt(var)


def test_empirical_bayes_figures_match_the_documented_ones(big):
    report = bayes_optimal_report(big)
    n_pos = int(big.labels.sum())
    n_neg = BIG - n_pos
    for source, expected in EXPECTED_BAYES.items():
        acc, auc = report[source]["accuracy"], report[source]["auroc"]
        se_acc = math.sqrt(expected["accuracy"] * (1 - expected["accuracy"]) / BIG)
        assert abs(acc - expected["accuracy"]) < 3 * se_acc + 5e-4, (source, acc)  # 5e-4: rounding
        assert abs(auc - expected["auroc"]) < 3 * _auroc_se(expected["auroc"], n_pos, n_neg) + 5e-4, (
            source,
            auc,
        )


def test_documented_figures_are_in_the_promised_ranges():
    image, record, fused = (EXPECTED_BAYES[k]["accuracy"] for k in ("image", "record", "fused"))
    assert 0.72 <= image <= 0.80 and 0.70 <= record <= 0.78
    assert fused - max(image, record) >= 0.07


@pytest.mark.parametrize("source", ["image", "record", "fused"])
def test_posterior_is_calibrated(big, source):
    p, y = big.posteriors[source], big.labels
    edges = np.quantile(p, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
    for b in range(10):
        rows = bins == b
        rate, mean_p = y[rows].mean(), p[rows].mean()
        se = math.sqrt(max(mean_p * (1 - mean_p), 1e-4) / rows.sum())
        assert abs(rate - mean_p) < 4 * se, (source, b, rate, mean_p)


def test_each_single_modality_is_worse_than_fusion(big):
    report = bayes_optimal_report(big)
    se = math.sqrt(0.25 / BIG)
    for single in ("image", "record"):
        assert report["fused"]["accuracy"] - report[single]["accuracy"] > 0.06 > 20 * se
        assert report["fused"]["auroc"] - report[single]["auroc"] > 0.05


def test_fused_posterior_multiplies_the_likelihood_ratios(big):
    lhs = logit(big.posteriors["fused"])
    rhs = logit(big.posteriors["image"]) + logit(big.posteriors["record"]) - logit(big.prevalence)
    np.testing.assert_allclose(lhs, rhs, atol=1e-8)


def test_prevalence_sets_the_label_rate_and_the_prior():
    cases = sample_clinical_cases(20_000, seed=2, prevalence=0.3)
    assert abs(cases.labels.mean() - 0.3) < 3 * math.sqrt(0.21 / 20_000)
    assert abs(cases.posteriors["fused"].mean() - cases.labels.mean()) < 0.01
    report = bayes_optimal_report(cases)
    assert report["fused"]["accuracy"] > report["image"]["accuracy"] > 0.7  # above "always benign"


# ----------------------------------------------------------------- an independent reference posterior


def _ref_log_joint(y, age, sex, growth, family, lab):
    """log p(y, record) for complete records, written from the documented model with scipy's truncnorm."""
    mean, sd = cm.AGE_MEAN[y], cm.AGE_SD[y]
    dist = truncnorm((cm.AGE_MIN - mean) / sd, (cm.AGE_MAX + 1 - mean) / sd, loc=mean, scale=sd)
    out = np.log(cm.PREVALENCE if y == 1 else 1 - cm.PREVALENCE) + np.log(dist.cdf(age + 1) - dist.cdf(age))
    for x, p in ((sex, cm.P_MALE[y]), (growth, cm.P_GROWTH[y]), (family, cm.P_FAMILY[y])):
        out = out + np.log(np.where(x == 1, p, 1 - p))
    log_mean = np.log(190.0) + 0.04 * (age - 50) / 10 + cm.LAB_SHIFT * y
    z = (np.log(lab) - log_mean) / cm.LAB_LOG_SD
    return out - 0.5 * z**2 - np.log(cm.LAB_LOG_SD * math.sqrt(2 * math.pi) * lab)  # density of lab itself


def _ref_posterior(log_joint_1, log_joint_0):
    return expit(log_joint_1 - log_joint_0)


@pytest.fixture(scope="module")
def complete():
    cases = sample_clinical_cases(40, seed=11, missing=False)
    return {k: v.copy() for k, v in cases.record.items()}


def test_complete_record_posterior_matches_reference(complete):
    r = complete
    ref = _ref_posterior(*(_ref_log_joint(y, *(r[k] for k in RECORD_NAMES)) for y in (1, 0)))
    np.testing.assert_allclose(bayes_posterior(record=r), ref, rtol=1e-9, atol=1e-12)


def test_missing_lab_is_integrated_out(complete):
    r = dict(complete)
    grid = np.exp(np.linspace(np.log(40), np.log(1000), 4001))[:, None]  # (G, 1) lab values, U/L
    joint = [
        trapezoid(
            np.exp(_ref_log_joint(y, r["age"], r["sex_male"], r["growth"], r["family_history"], grid)),
            grid,
            axis=0,
        )
        for y in (1, 0)
    ]
    expected = joint[0] / (joint[0] + joint[1])
    r["lab"] = np.full_like(r["lab"], np.nan)
    np.testing.assert_allclose(bayes_posterior(record=r), expected, atol=1e-6)


def test_missing_age_is_summed_out_with_lab_observed(complete):
    r = dict(complete)
    ages = np.arange(cm.AGE_MIN, cm.AGE_MAX + 1)[:, None]  # (77, 1)
    joint = [
        np.exp(_ref_log_joint(y, ages, r["sex_male"], r["growth"], r["family_history"], r["lab"])).sum(axis=0)
        for y in (1, 0)
    ]
    r["age"] = np.full_like(r["age"], np.nan)
    np.testing.assert_allclose(bayes_posterior(record=r), joint[0] / (joint[0] + joint[1]), rtol=1e-9)


def test_missing_binary_fields_are_summed_out(complete):
    r = dict(complete)
    joint = [
        sum(
            np.exp(_ref_log_joint(y, r["age"], r["sex_male"], g, f, r["lab"]))
            for g in (0.0, 1.0)
            for f in (0.0, 1.0)
        )
        for y in (1, 0)
    ]
    r["growth"] = np.full_like(r["growth"], np.nan)
    r["family_history"] = np.full_like(r["family_history"], np.nan)
    np.testing.assert_allclose(bayes_posterior(record=r), joint[0] / (joint[0] + joint[1]), rtol=1e-9)


def test_fully_missing_record_gives_the_prior(complete):
    empty = {k: np.full(5, np.nan) for k in RECORD_NAMES}
    np.testing.assert_allclose(bayes_posterior(record=empty, prevalence=0.3), 0.3)


def test_image_posterior_matches_reference_in_value_space():
    cases = sample_clinical_cases(50, seed=4)
    f = cases.factors
    log_lik = []
    for y in (0, 1):
        total = 0.0
        for factor in cm.IMAGE_FACTORS:
            mu = factor.benign_mean + factor.shift * y
            v = f[factor.name]
            if factor.name == "diameter_mm":  # log-normal density of the diameter itself
                s = cm.DIAMETER_LOG_SD
                total = total - 0.5 * ((np.log(v / 5.0) - s * mu) / s) ** 2 - np.log(v * s)
            else:  # logit-normal density of a value in (0, 1)
                total = total - 0.5 * (logit(v) - mu) ** 2 - np.log(v * (1 - v))
        log_lik.append(total)
    np.testing.assert_allclose(cases.posteriors["image"], expit(log_lik[1] - log_lik[0]), rtol=1e-9)


# ----------------------------------------------------------------- missing values and the encoding


def test_missing_values_at_the_documented_rates(big):
    for name, rate in DEFAULT_MISSING_RATES.items():
        frac = np.isnan(big.record[name]).mean()
        assert abs(frac - rate) <= 3 * math.sqrt(rate * (1 - rate) / BIG), (name, frac)
    assert not any(np.isnan(v).any() for v in big.record_complete.values())


def test_missing_false_and_custom_rates():
    complete = sample_clinical_cases(2000, seed=1, missing=False)
    assert not any(np.isnan(v).any() for v in complete.record.values())
    custom = sample_clinical_cases(2000, seed=1, missing={"age": 0.5})
    assert 0.45 < np.isnan(custom.record["age"]).mean() < 0.55
    assert not np.isnan(custom.record["lab"]).any()
    everything = sample_clinical_cases(50, seed=1, missing=dict.fromkeys(RECORD_NAMES, 1.0))
    np.testing.assert_allclose(everything.posteriors["record"], 0.5)


def test_record_encoding_marks_missing_values(small):
    record = small.modalities["record"].numpy()
    for j, name in enumerate(RECORD_NAMES):
        raw = small.info[name].numpy()
        missing = np.isnan(raw)
        np.testing.assert_array_equal(record[:, 5 + j], missing.astype(np.float32))
        assert (record[missing, j] == 0).all()
    age = small.info["age"].numpy()
    np.testing.assert_allclose(record[:, 0], (age - 55) / 15, rtol=1e-6)
    lab = small.info["lab"].numpy()
    seen = ~np.isnan(lab)
    np.testing.assert_allclose(
        record[seen, 4], (np.log(lab[seen]) - np.log(200)) / 0.25, rtol=1e-5, atol=1e-6
    )
    assert small.modalities["record"].isfinite().all()


def test_tables_for_the_lesson():
    rows = record_field_table()
    assert [r["field"] for r in rows] == list(RECORD_NAMES)
    assert {r["field"]: r["missing"] for r in rows}["lab"] == "20 %"
    assert all(r["unit"] for r in rows)
    factors = image_factor_table()
    assert [r["factor"] for r in factors] == ["asymmetry", "border", "colour", "diameter_mm"]
    assert all(float(r["malignant median"]) > float(r["benign median"]) for r in factors)


# ----------------------------------------------------------------- the pictures


def test_larger_diameter_draws_more_lesion_pixels():
    d = np.array([3.0, 4.5, 6.0, 8.0])
    images, masks = render_lesions(np.full(4, 0.2), np.full(4, 0.2), np.full(4, 0.2), d, same_nuisance=True)
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
    area = masks.sum(axis=(1, 2))
    assert np.all(np.diff(area) > 0)
    # the expected area of the outline is close to pi R^2 (elongation and harmonics average out)
    px_mm = 12.0 / 32
    assert area[0] * px_mm**2 == pytest.approx(np.pi * 1.5**2, rel=0.25)
    dark = (images.astype(float).mean(axis=3) < 150).sum(axis=(1, 2))
    assert np.all(np.diff(dark) > 0)


def test_colour_factor_varies_the_colour_inside_the_lesion():
    n = 40
    spread = []
    for c in (0.02, 0.95):
        images, masks = render_lesions(
            np.full(n, 0.2), np.full(n, 0.2), np.full(n, c), np.full(n, 7.0), seed=1
        )
        inside = masks > 0.95
        spread.append(np.mean([images[i][inside[i]].astype(float).std(axis=0).mean() for i in range(n)]))
    assert spread[1] > 2 * spread[0]


def _odd_moment_asymmetry(mask):
    """Point-symmetric shapes have zero third central moments; return their normalised size."""
    ys, xs = np.mgrid[: mask.shape[0], : mask.shape[1]]
    m = mask.sum()
    cx, cy = (mask * xs).sum() / m, (mask * ys).sum() / m
    dx, dy = xs - cx, ys - cy
    scale = m ** (5 / 2)
    return math.sqrt(sum(((mask * dx**i * dy ** (3 - i)).sum() / scale) ** 2 for i in range(4)))


def test_asymmetry_and_border_change_the_outline():
    n = 30
    ones = np.full(n, 0.02)
    _, sym = render_lesions(ones, ones, ones, np.full(n, 8.0), image_size=64, seed=2)
    _, asym = render_lesions(np.full(n, 0.98), ones, ones, np.full(n, 8.0), image_size=64, seed=2)
    _, ragged = render_lesions(ones, np.full(n, 0.98), ones, np.full(n, 8.0), image_size=64, seed=2)
    score = [np.mean([_odd_moment_asymmetry(m) for m in masks]) for masks in (sym, asym)]
    assert score[1] > 3 * score[0]

    def edge_per_area(masks):  # a ragged border has a longer edge for the same area
        edge = np.abs(np.diff(masks, axis=1)).sum(axis=(1, 2)) + np.abs(np.diff(masks, axis=2)).sum(
            axis=(1, 2)
        )
        return np.mean(edge / np.sqrt(masks.sum(axis=(1, 2))))

    assert edge_per_area(ragged) > 1.15 * edge_per_area(sym)


def test_lesion_pixels_track_the_diameter_in_a_dataset(small):
    grey = small.modalities["image"].mean(dim=1)  # (N, H, W)
    skin = grey[:, 0, :].median(dim=1).values  # top row is skin
    dark = (grey < skin[:, None, None] - 0.15).sum(dim=(1, 2)).float().numpy()
    corr = np.corrcoef(dark, small.info["diameter_mm"].numpy() ** 2)[0, 1]
    assert corr > 0.8


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be a positive integer"),
        ({"n": -5}, ValueError, "n must be a positive integer"),
        ({"n": 10, "image_size": 8}, ValueError, "image_size must be at least 16"),
        ({"n": 10, "image_size": 32.0}, ValueError, "image_size must be a positive integer"),
        ({"n": 10, "missing": {"lab": 1.5}}, ValueError, "missing rate of 'lab' must be between 0 and 1"),
        ({"n": 10, "missing": {"lab": -0.1}}, ValueError, "between 0 and 1"),
        ({"n": 10, "missing": {"weight": 0.1}}, KeyError, "unknown record field"),
        ({"n": 10, "missing": "yes"}, TypeError, "missing must be True, False or a dict"),
        ({"n": 10, "prevalence": 1.0}, ValueError, "prevalence must be strictly between 0 and 1"),
        ({"n": 10, "seed": -1}, ValueError, "seed must be a non-negative integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        clinical_lesions(**kwargs)


def test_bad_posterior_inputs(complete):
    with pytest.raises(ValueError, match="give image factors, a record, or both"):
        bayes_posterior()
    bad_age = dict(complete, age=np.full(40, 12.0))
    with pytest.raises(ValueError, match="age"):
        bayes_posterior(record=bad_age)
    with pytest.raises(KeyError, match="lacks"):
        bayes_posterior(record={"age": complete["age"]})
    with pytest.raises(ValueError, match="sex_male"):
        bayes_posterior(record=dict(complete, sex_male=np.full(40, 2.0)))
    factors = {"asymmetry": [1.2], "border": [0.3], "colour": [0.3], "diameter_mm": [5.0]}
    with pytest.raises(ValueError, match="asymmetry"):
        bayes_posterior(factors=factors)
    with pytest.raises(ValueError, match="NaN"):
        bayes_posterior(factors=dict(factors, asymmetry=[np.nan]))
    good = dict(factors, asymmetry=[0.3])
    with pytest.raises(ValueError, match="rows"):
        bayes_posterior(factors=good, record=complete)
    with pytest.raises(ValueError, match=r"colour must lie in \[0, 1\]"):
        render_lesions([0.2], [0.2], [1.5], [5.0])
    with pytest.raises(ValueError, match="equally long"):
        render_lesions([0.2, 0.3], [0.2], [0.2], [5.0])
    with pytest.raises(ValueError, match="diameter_mm must be positive"):
        render_lesions([0.2], [0.2], [0.2], [0.0])


def test_bad_report_inputs(small):
    with pytest.raises(TypeError, match="clinical_lesions"):
        bayes_optimal_report({"labels": small.labels})
    bare = MultimodalDataset(small.modalities, small.labels, {})
    with pytest.raises(KeyError, match="p_image"):
        bayes_optimal_report(bare)
    one_class = small.subset(torch.nonzero(small.labels == 1).flatten())
    with pytest.raises(ValueError, match="both benign and malignant"):
        bayes_optimal_report(one_class)


def test_encode_record_rejects_bad_values(complete):
    with pytest.raises(ValueError, match="lab"):
        encode_record(dict(complete, lab=-np.ones(40)))
    with pytest.raises(ValueError, match="infinite"):
        encode_record(dict(complete, lab=np.full(40, np.inf)))
