"""Synthesise the spoken-digit asset that ships inside ``mmlearn``.

Why this script exists: lesson 08 pairs written digits with spoken ones, and
the course may not download anything. So the words "zero" ... "nine" are
synthesised once with the espeak-ng speech synthesiser, in many voices,
pitches and speeds, and stored compactly in ``mmlearn/data/assets``. Anyone
can rerun this script (with espeak-ng installed, e.g. ``apt-get install
espeak-ng``) to rebuild the asset; ``mmlearn`` itself never needs espeak-ng.

Each "speaker" is one (voice, variant, pitch, speed) setting; it says all ten
digits. Per clip the script:

1. synthesises the word with ``espeak-ng -w`` (22,050 Hz, 16-bit mono WAV);
2. resamples to 8 kHz with soxr (through librosa);
3. trims leading and trailing silence (``librosa.effects.trim``);
4. scales the peak to 0.9 and centres the word in a fixed 0.7 s window
   (5,600 samples), re-synthesising a little faster if it does not fit;
5. stores it as 8-bit mu-law (``librosa.mu_compress``).

The ``.npz`` is written with fixed zip timestamps, so the same espeak-ng
version gives a byte-identical file, and written atomically (temporary file,
then rename). The script prints the SHA-256 to record in
``mmlearn/data/spoken_digits.py`` and ``mmlearn/data/assets/README.md``.

Usage::

    python scripts/make_spoken_digits.py [--out mmlearn/data/assets/spoken_digits.npz]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import librosa
import numpy as np

from mmlearn.data.download import sha256_of

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# espeak-ng's English voices (language / accent) ...
VOICES = [
    "en",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
]
# ... times its voice variants (formant sets: male m1-m7, female f1-f4).
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4"]
PITCH_RANGE = (25, 75)  # espeak-ng -p, 0-99 (default 50)
SPEED_RANGE = (140, 210)  # espeak-ng -s, words per minute (default 175)
SAMPLE_RATE = 8000
CLIP_SECONDS = 0.7
CLIP_SAMPLES = int(SAMPLE_RATE * CLIP_SECONDS)  # 5,600
TRIM_TOP_DB = 35  # anything 35 dB below the clip's peak counts as silence
PEAK = 0.9
SEED = 2024
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps -> reproducible bytes

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "mmlearn" / "data" / "assets" / "spoken_digits.npz"


def speakers(seed: int = SEED) -> list[dict]:
    """Every (voice, variant) pair once, each with its own random pitch and speed."""
    rng = np.random.default_rng(seed)
    out = []
    for voice in VOICES:
        for variant in VARIANTS:
            out.append(
                {
                    "voice": f"{voice}+{variant}",
                    "pitch": int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                    "speed": int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1)),
                }
            )
    return out


def synthesise(word: str, voice: str, pitch: int, speed: int, workdir: str) -> np.ndarray:
    """One word as float32 samples at ``SAMPLE_RATE``, silence trimmed."""
    wav = os.path.join(workdir, f"{voice}_{pitch}_{speed}_{word}.wav")
    cmd = ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", wav, word]
    subprocess.run(cmd, check=True, capture_output=True)
    y, _ = librosa.load(wav, sr=SAMPLE_RATE, mono=True, res_type="soxr_hq")
    os.remove(wav)
    y, _ = librosa.effects.trim(y, top_db=TRIM_TOP_DB, frame_length=256, hop_length=64)
    return y


def make_clip(word: str, speaker: dict, workdir: str) -> tuple[np.ndarray, int]:
    """The word centred in a ``CLIP_SAMPLES`` window; returns (int8 mu-law clip, speed used)."""
    speed = speaker["speed"]
    y = synthesise(word, speaker["voice"], speaker["pitch"], speed, workdir)
    while len(y) > CLIP_SAMPLES:  # too long for the window: say it a little faster
        speed += 10
        y = synthesise(word, speaker["voice"], speaker["pitch"], speed, workdir)
    y = PEAK * y / np.abs(y).max()
    clip = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    start = (CLIP_SAMPLES - len(y)) // 2
    clip[start : start + len(y)] = y
    codes = librosa.mu_compress(clip, mu=255, quantize=True)  # ints in [-128, 127]
    return codes.astype(np.int8), speed


def write_npz_reproducibly(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with fixed zip timestamps, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name, array in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue(), compresslevel=9)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the asset is for everyone
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def build(out: Path, workers: int = 4) -> str:
    """Synthesise every clip, write the asset and return its SHA-256."""
    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng)")
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
    version = version.split("Data at")[0].strip()  # "eSpeak NG text-to-speech: 1.51", no local path
    spk = speakers()
    jobs = [(s, d) for s in range(len(spk)) for d in range(10)]
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda job: make_clip(WORDS[job[1]], spk[job[0]], workdir), jobs))
    arrays = {
        "mulaw": np.stack([codes for codes, _ in results]),  # (N, CLIP_SAMPLES) int8
        "labels": np.array([d for _, d in jobs], dtype=np.int8),  # (N,) digit 0-9
        "variant_ids": np.array([s for s, _ in jobs], dtype=np.int16),  # (N,) speaker index
        "speeds": np.array([speed for _, speed in results], dtype=np.int16),  # (N,) wpm actually used
        "variant_voices": np.array([s["voice"] for s in spk]),  # (n_speakers,) e.g. "en-us+f3"
        "variant_pitches": np.array([s["pitch"] for s in spk], dtype=np.int16),
        "sample_rate": np.array(SAMPLE_RATE, dtype=np.int32),
        "generator": np.array(f"scripts/make_spoken_digits.py with {version}"),
    }
    write_npz_reproducibly(out, arrays)
    digest = sha256_of(out)
    n_faster = int((arrays["speeds"] != np.repeat([s["speed"] for s in spk], 10)).sum())
    print(f"{len(jobs)} clips from {len(spk)} speakers ({n_faster} re-synthesised faster to fit)")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    print(f"sha256 {digest}")
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .npz")
    parser.add_argument("--workers", type=int, default=4, help="espeak-ng processes run at once")
    args = parser.parse_args()
    build(args.out, args.workers)


if __name__ == "__main__":
    main()
