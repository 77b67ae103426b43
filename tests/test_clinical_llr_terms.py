"""record_llr_terms and decode_record (lesson 09's attribution check) against the model's own figures."""

import numpy as np
import pytest

from mmlearn.data.clinical import clinical_lesions, decode_record, record_llr_terms, sample_clinical_cases
from mmlearn.data.clinical_model import P_GROWTH, record_log_likelihood_ratio


def test_terms_sum_to_the_record_llr_and_missing_fields_weigh_nothing():
    cases = sample_clinical_cases(3000, seed=4)
    terms = record_llr_terms(cases.record)
    assert np.allclose(sum(terms.values()), record_log_likelihood_ratio(cases.record), atol=1e-10)
    for name, term in terms.items():
        assert (term[np.isnan(cases.record[name])] == 0).all()
    growth = cases.record["growth"] == 1  # a binary field's term, by hand
    assert np.allclose(terms["growth"][growth], np.log(P_GROWTH[1] / P_GROWTH[0]))


def test_decode_inverts_encode():
    data = clinical_lesions(40, seed=1, image_size=16)
    decoded = decode_record(data.modalities["record"].numpy())
    for name, values in decoded.items():
        raw = data.info[name].numpy()
        assert np.array_equal(np.isnan(values), np.isnan(raw))
        assert np.allclose(values[~np.isnan(raw)], raw[~np.isnan(raw)], rtol=1e-4)
    baseline = decode_record(np.zeros((1, 10)))
    assert {k: float(v[0]) for k, v in baseline.items()} == pytest.approx(
        {"age": 55, "sex_male": 0, "growth": 0, "family_history": 0, "lab": 200}
    )


def test_decode_bad_shape_is_named():
    with pytest.raises(ValueError, match="encoded"):
        decode_record(np.zeros((2, 9)))
