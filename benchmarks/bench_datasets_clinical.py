"""Build times of the clinical-lesion and sensor datasets, and the Bayes-optimal figures.

Run: ``python benchmarks/bench_datasets_clinical.py`` (add ``--quick`` to skip the
2,000,000-case estimate behind ``EXPECTED_BAYES``). Prints wall-clock and CPU
seconds (best of 3 builds) for the sizes the lessons use (target: under 2 s),
then the Bayes figures per evidence source, and a logistic regression on the
encoded record as a check that a simple model can approach the record ceiling.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from mmlearn.data.clinical import (
    EXPECTED_BAYES,
    bayes_optimal_report,
    clinical_lesions,
    sample_clinical_cases,
)
from mmlearn.data.sensors import sensor_activities


def timed(build, repeats: int = 3) -> tuple[float, float]:
    """Best wall-clock and CPU seconds over ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        build()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def show(title: str, report: dict) -> None:
    print(title)
    for source, figures in report.items():
        print(f"  {source:7s} accuracy {figures['accuracy']:.3f}   AUROC {figures['auroc']:.3f}")
    best_single = max(report["image"]["accuracy"], report["record"]["accuracy"])
    print(f"  fusion gain over the best single source: {report['fused']['accuracy'] - best_single:+.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 2,000,000-case estimate")
    args = parser.parse_args()

    print("build times (best of 3; target < 2 s)")
    for label, build in [
        ("clinical_lesions(3000), 32 px", lambda: clinical_lesions(3000, seed=0)),
        ("clinical_lesions(3000), 48 px", lambda: clinical_lesions(3000, seed=0, image_size=48)),
        ("sensor_activities(3000)", lambda: sensor_activities(3000, seed=0)),
        ("sample_clinical_cases(100000), no images", lambda: sample_clinical_cases(100_000, seed=0)),
    ]:
        wall, cpu = timed(build)
        print(f"  {label:42s} {wall:6.2f} s wall  {cpu:6.2f} s CPU")

    data = clinical_lesions(3000, seed=0)
    train, val, test = data.split((0.7, 0.15, 0.15), seed=0)
    show("\nBayes-optimal, clinical_lesions(3000, seed=0), all cases", bayes_optimal_report(data))
    show("Bayes-optimal, its test split (450 cases)", bayes_optimal_report(test))

    x_train, y_train = train.modalities["record"].numpy(), train.labels.numpy()
    x_test, y_test = test.modalities["record"].numpy(), test.labels.numpy()
    p = LogisticRegression(max_iter=2000).fit(x_train, y_train).predict_proba(x_test)[:, 1]
    print(
        f"  logistic regression on the encoded record (test): accuracy {np.mean((p > 0.5) == y_test):.3f}"
        f"   AUROC {roc_auc_score(y_test, p):.3f}"
    )

    show(
        "\nBayes-optimal at prevalence 0.3, 200,000 cases",
        bayes_optimal_report(sample_clinical_cases(200_000, 1, prevalence=0.3)),
    )
    if not args.quick:
        wall = time.perf_counter()
        big = bayes_optimal_report(sample_clinical_cases(2_000_000, seed=12345))
        show(f"\nBayes-optimal, 2,000,000 cases ({time.perf_counter() - wall:.1f} s)", big)
        print("  EXPECTED_BAYES in the package:", EXPECTED_BAYES)


if __name__ == "__main__":
    main()
