"""The committed solution notebooks show the results and claims each lesson promises.

The figures are read from the notebooks' saved outputs (the lines that
``mmlearn.report.record`` prints, "name = value"); nbval re-runs the
notebooks and checks that the cells printing them still print the same.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULT = re.compile(r"^(\w+) = (-?[\d.]+(?:e-?\d+)?)$", re.MULTILINE)

# The metric names each lesson must record (issue "core lessons 01-05").
REQUIRED = {
    "02_fusion": [
        "acc_image_only",
        "acc_audio_only",
        "best_unimodal_acc",
        "acc_early",
        "acc_late_mean",
        "acc_late_weighted",
        "acc_late_vote",
        "acc_intermediate",
        "acc_attention",
        "acc_tensor",
        "acc_gated",
        "best_fusion_acc",
        "acc_missing_audio_early",
        "acc_missing_audio_late",
        "robustness_auc_early",
        "robustness_auc_late_mean",
        "late_vote_max_gap_to_mean",
        "frac_exactly_one_unimodal_right",
        "frac_both_unimodal_wrong",
    ],
    "03_shared_representations": ["cca_r1", "retrieval_r1", "retrieval_r5", "chance_r1"],
    "04_contrastive": [
        "naive_r1",
        "chance_r1",
        "naive_embedding_std",
        "clip_r1",
        "siglip_r1",
        "zero_shot_acc",
        "sweep_r1_tau_1_0",
        "sweep_r1_tau_0_1",
        "sweep_r1_tau_0_01",
    ],
    "05_training_strategies": [
        "acc_joint",
        "acc_staged",
        "acc_dropout_missing",
        "acc_joint_missing",
        "acc_adv_clean",
        "acc_adv_attacked",
        "acc_standard_attacked",
        "acc_stage1_image_val",
        "acc_stage1_audio_val",
        "probe_gap_audio",
        "head_gap_joint",
        "head_gap_dropout",
        "adv_clean_cost",
        "acc_dropout_full",
        "dropout_missing_gain",
        "gain_from_head",
        "gain_from_encoders",
    ],
    "06_app_captioning": [
        "bleu4_greedy",
        "bleu4_beam",
        "caption_fact_acc",
        "blind_bleu4",
        "blind_fact_acc",
        "heldout_combo_fact_acc",
    ],
    "08_app_audio_visual": [
        "acc_audio",
        "acc_image",
        "acc_fusion",
        "acc_mfcc_cnn",
        "acc_waveform_cnn",
        *(
            f"robust_auc_{method}_{modality}_noise"
            for method in (
                "early",
                "late",
                "noise_early",
                "noise_late_product",
                "noise_late_entropy",
                "noise_gate",
            )
            for modality in ("audio", "image")
        ),
        "worst_case_gap",
        "best_robust_clean_minus_early",
        "best_robust_area_margin",
    ],
    "09_app_medical": [
        "auroc_image",
        "auroc_clinical",
        "auroc_fusion",
        "auroc_bayes",
        "auroc_bayes_image",
        "auroc_bayes_clinical",
        "ece_before",
        "ece_after",
        "auroc_fusion_missing_record",
    ],
    "10_challenges": [
        "latency_ms_b1",
        "latency_p95_ms_b1",
        "throughput_per_s_b64",
        "quantized_speedup",
        "quantized_acc_drop",
        "shapley_audio",
        "shapley_image",
        "ig_completeness_error",
        "ig_completeness_gap_logits",
        "leaky_split_acc",
        "clean_split_acc",
        "leaky_acc_seen_pairs",
        "leaky_acc_other_pairs",
    ],
    "11_scaling_out": ["ddp_world_size", "ddp_loss_abs_diff", "ddp_grad_max_abs_diff", "r1_with_gather"],
}


def outputs(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def lesson(name):
    """(metrics, claim lines, whether each claim's cell is checked by nbval) of a solution notebook."""
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    metrics, claims = {}, []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = outputs(cell)
        metrics |= {k: float(v) for k, v in RESULT.findall(text)}
        checked = "# NBVAL_CHECK_OUTPUT" in cell.source
        claims += [(line, checked) for line in text.splitlines() if line.startswith("claim:")]
    return metrics, claims


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_required_metrics_are_recorded(name):
    metrics, _ = lesson(name)
    missing = [m for m in REQUIRED[name] if m not in metrics]
    assert not missing, f"{name} does not record {missing}"


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_claim_passes_and_is_checked_by_nbval(name):
    _, claims = lesson(name)
    assert claims, f"{name} prints no claim"
    for line, checked in claims:
        assert line.endswith("PASS"), line
        assert checked, f"the cell printing '{line}' is not marked # NBVAL_CHECK_OUTPUT"


def test_the_claims_of_the_issue_hold_on_the_recorded_figures():
    fusion, _ = lesson("02_fusion")
    assert fusion["best_fusion_acc"] - fusion["best_unimodal_acc"] >= 0.05
    assert fusion["acc_missing_audio_late"] > fusion["acc_missing_audio_early"]
    shared, _ = lesson("03_shared_representations")
    assert shared["retrieval_r1"] >= 10 * shared["chance_r1"]
    assert shared["retrieval_r5"] >= shared["retrieval_r1"]
    assert shared["retrieval_r1"] >= shared["cca_r1"] + 0.05  # the learned heads beat CCA's best
    contrastive, _ = lesson("04_contrastive")
    assert contrastive["naive_r1"] <= 3 * contrastive["chance_r1"]
    assert contrastive["naive_embedding_std"] < 0.05
    assert contrastive["clip_r1"] >= 0.75
    assert contrastive["siglip_r1"] >= 20 * contrastive["chance_r1"]
    assert contrastive["zero_shot_acc"] > 3 / 18  # 3x chance over the 18 colour-shape classes
    assert contrastive["sweep_r1_tau_0_01"] < 0.5 * min(
        contrastive["sweep_r1_tau_0_1"], contrastive["sweep_r1_tau_1_0"]
    )
    strategies, _ = lesson("05_training_strategies")
    assert strategies["acc_dropout_missing"] - strategies["acc_joint_missing"] >= 0.05
    assert strategies["acc_adv_attacked"] - strategies["acc_standard_attacked"] >= 0.05
    assert strategies["gain_from_head"] - strategies["gain_from_encoders"] >= 0.05  # mostly the head
    captioning, _ = lesson("06_app_captioning")
    assert captioning["caption_fact_acc"] >= 0.9
    assert captioning["caption_fact_acc"] - captioning["blind_fact_acc"] >= 0.5
    bleu_gap = captioning["bleu4_beam"] - captioning["blind_bleu4"]
    assert bleu_gap < captioning["caption_fact_acc"] - captioning["blind_fact_acc"]  # BLEU rewards fluency
    scaling, _ = lesson("11_scaling_out")
    assert scaling["ddp_world_size"] == 2
    assert scaling["ddp_loss_abs_diff"] <= 1e-5 and scaling["ddp_grad_max_abs_diff"] <= 1e-5


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.stem)
def test_claims_go_through_report_claim(path):
    """A claim is printed and recorded by ``mmlearn.report.claim``, never by a hand-written PASS/FAIL line.

    ``claim`` also writes it to results.json under "claims", where ``make course`` gathers it.
    """
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            hand_written = re.search(r"[\"']PASS[\"']\s+if\b", cell.source)
            assert not hand_written, f"{path.name} cell {i}: use claim(name, holds, detail)"
    printed = sum(line.startswith("claim:") for cell in nb.cells for line in outputs(cell).splitlines())
    calls = sum(cell.source.count("claim(") for cell in nb.cells if cell.cell_type == "code")
    assert calls >= printed, f"{path.name}: {printed} claim lines but only {calls} claim() calls"
