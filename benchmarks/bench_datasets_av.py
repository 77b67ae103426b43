"""How fast the audio-visual digits build, how big their asset is, how hard the task is.

Prints the asset's size, the time to load it and to build the default
``av_digits()`` splits (cold: first call in the process, then warm), and with
``--accuracy`` the test accuracy of small MLPs trained for a few seconds on a
CPU: image only, audio only, concatenation fusion (raw inputs, and per-modality
encoders) and late fusion (averaged probabilities), for several dataset seeds.

    python benchmarks/bench_datasets_av.py [--accuracy] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from mmlearn.data.av_digits import av_digits
from mmlearn.data.spoken_digits import ASSET_PATH, load_spoken_digits


def timed(fn, repeats: int = 1) -> tuple[float, object]:
    """Median wall-clock seconds of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


class ImageOnly(nn.Module):
    def __init__(self, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, 10)
        )

    def forward(self, inputs):
        return self.net(inputs["image"])


class AudioOnly(nn.Module):
    def __init__(self, audio_dim: int, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(audio_dim, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, 10)
        )

    def forward(self, inputs):
        return self.net(inputs["audio"])


class ConcatInputs(nn.Module):
    """Early fusion: concatenate the flattened raw inputs, then one MLP."""

    def __init__(self, audio_dim: int, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64 + audio_dim, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, 10)
        )

    def forward(self, inputs):
        return self.net(torch.cat([inputs["image"].flatten(1), inputs["audio"].flatten(1)], dim=1))


class ConcatEncoders(nn.Module):
    """Concatenate one hidden layer per modality, then a linear classifier."""

    def __init__(self, audio_dim: int, hidden: int = 64):
        super().__init__()
        self.image = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU())
        self.audio = nn.Sequential(nn.Flatten(), nn.Linear(audio_dim, hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * hidden, 10))

    def forward(self, inputs):
        return self.head(torch.cat([self.image(inputs["image"]), self.audio(inputs["audio"])], dim=1))


def train(model: nn.Module, data, seed: int, epochs: int = 20) -> nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    order_gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(data), generator=order_gen).split(64):
            inputs = {k: v[idx] for k, v in data.modalities.items()}
            loss = nn.functional.cross_entropy(model(inputs), data.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def accuracy_table(n_seeds: int) -> None:
    torch.set_num_threads(1)  # models this small train faster on one thread
    print("\ntest accuracy, small MLPs (20 epochs, Adam, 1 thread), one row per dataset seed")
    print("seed  image  audio  concat(inputs)  concat(encoders)  late   best gain  train s")
    rows = []
    for seed in range(n_seeds):
        train_set, _, test = av_digits(seed=seed)
        audio_dim = train_set.modalities["audio"][0].numel()
        start = time.perf_counter()
        models = [
            train(ImageOnly(), train_set, seed),
            train(AudioOnly(audio_dim), train_set, seed),
            train(ConcatInputs(audio_dim), train_set, seed),
            train(ConcatEncoders(audio_dim), train_set, seed),
        ]
        seconds = time.perf_counter() - start
        with torch.no_grad():
            logits = [m(test.modalities) for m in models]
        accs = [(lg.argmax(1) == test.labels).float().mean().item() for lg in logits]
        late = logits[0].softmax(1) + logits[1].softmax(1)
        accs.append((late.argmax(1) == test.labels).float().mean().item())
        gain = max(accs[2:]) - max(accs[:2])
        rows.append(accs + [gain])
        print(f"{seed:4d}  " + "  ".join(f"{a:5.3f}" for a in accs) + f"  {gain:+.3f}   {seconds:5.1f}")
    means = [statistics.mean(col) for col in zip(*rows, strict=True)]
    print("mean  " + "  ".join(f"{a:5.3f}" for a in means[:-1]) + f"  {means[-1]:+.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accuracy", action="store_true", help="also train the small models")
    parser.add_argument("--seeds", type=int, default=3, help="dataset seeds for --accuracy")
    args = parser.parse_args()

    print(f"asset: {ASSET_PATH.name}, {ASSET_PATH.stat().st_size / 1e6:.2f} MB on disk")
    cold_load, speech = timed(load_spoken_digits)
    print(f"load + SHA-256 check + mu-law decode (cold, includes librosa's lazy imports): {cold_load:.3f} s")
    print(
        f"  {len(speech)} clips, {speech.n_variants} speakers, {speech.waveforms.shape[1]} samples at "
        f"{speech.sample_rate} Hz, {speech.waveforms.nbytes / 1e6:.1f} MB decoded"
    )
    cold, _ = timed(av_digits)
    print(f"av_digits() defaults (2000/500/1000 pairs), first call: {cold:.3f} s")
    warm, splits = timed(av_digits, repeats=5)
    print(f"av_digits() defaults, warm (median of 5): {warm:.3f} s")
    for name, part in zip(splits._fields, splits, strict=True):
        print(f"  {name}: {part}")
    for features in ("logmel", "waveform"):
        seconds, _ = timed(lambda f=features: av_digits(features=f), repeats=3)
        print(f"av_digits(features={features!r}), warm (median of 3): {seconds:.3f} s")
    if args.accuracy:
        accuracy_table(args.seeds)


if __name__ == "__main__":
    main()
