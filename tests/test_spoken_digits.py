"""The shipped spoken-digit asset: integrity check, decoding, clear errors."""

import shutil

import numpy as np
import pytest

from mmlearn.data.download import sha256_of
from mmlearn.data.spoken_digits import ASSET_PATH, ASSET_SHA256, load_spoken_digits


def test_asset_matches_recorded_checksum_and_is_small():
    assert sha256_of(ASSET_PATH) == ASSET_SHA256
    assert ASSET_PATH.stat().st_size < 4_000_000


def test_decoded_contents():
    sd = load_spoken_digits()
    n, t = sd.waveforms.shape
    assert sd.sample_rate == 8000 and t == 5600
    assert sd.waveforms.dtype == np.float32
    assert np.abs(sd.waveforms).max() <= 1.0
    assert n == len(sd.labels) == len(sd.variant_ids) == len(sd.speeds) == len(sd)
    # every speaker says every digit exactly once
    assert sd.n_variants >= 60
    table = np.zeros((sd.n_variants, 10), dtype=int)
    np.add.at(table, (sd.variant_ids, sd.labels), 1)
    assert (table == 1).all()
    # each clip holds a word (loud somewhere) and quiet padding at its ends
    assert (np.abs(sd.waveforms).max(axis=1) > 0.5).all()
    assert np.abs(sd.waveforms[:, :50]).max() < 0.05
    # clips are not copies of each other
    assert len(np.unique(sd.waveforms[:, ::50], axis=0)) == n


def test_cached_arrays_are_read_only():
    sd = load_spoken_digits()
    with pytest.raises(ValueError):
        sd.waveforms[0, 0] = 0.5


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nothing_here.npz"
    with pytest.raises(FileNotFoundError, match="nothing_here.npz"):
        load_spoken_digits(missing)


def test_tampered_copy_fails_checksum(tmp_path):
    copy = tmp_path / "tampered.npz"
    data = bytearray(ASSET_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"tampered\.npz is corrupt"):
        load_spoken_digits(copy)


def test_unreadable_file_without_checksum_still_gives_clear_error(tmp_path):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(ASSET_PATH.read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated.npz cannot be read"):
        load_spoken_digits(truncated, sha256=None)


def test_file_lacking_arrays_is_rejected(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, labels=np.zeros(3))
    with pytest.raises(ValueError, match="lacks the arrays"):
        load_spoken_digits(other, sha256=None)


def test_untampered_copy_loads_like_the_original(tmp_path):
    copy = tmp_path / "copy.npz"
    shutil.copy(ASSET_PATH, copy)
    a, b = load_spoken_digits(), load_spoken_digits(copy)
    np.testing.assert_array_equal(a.waveforms, b.waveforms)
    np.testing.assert_array_equal(a.labels, b.labels)
