"""How fast the Sort-of-CLEVR generator is, and how long each lesson's scene dataset takes to build.

Run:  python benchmarks/bench_scenes.py

Target: 10,000 scenes with their 200,000 questions in under 0.25 s on a
2-core CPU (the public OpenCV generator takes about 3.4 s and stores float64),
and every lesson dataset in under 2 s. Each figure is the best of a few runs.
"""

from __future__ import annotations

import time

from mmlearn.data.scene_captions import scene_captions
from mmlearn.data.scene_questions import make_questions, sort_of_clevr
from mmlearn.data.scene_render import make_scenes
from mmlearn.data.text import Vocabulary


def best_time(fn, repeats: int = 5) -> tuple[float, object]:
    """The shortest wall-clock time of ``repeats`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def scenes_and_questions(n: int = 10_000):
    scenes = make_scenes(n, seed=0)
    return scenes, make_questions(scenes, seed=0)


def captions_for_contrastive(n: int = 4_000):
    """Lesson 04: small scenes, one tokenized caption per scene."""
    data = scene_captions(n, seed=0)
    vocab = Vocabulary.build(c for caps in data.info["captions"] for c in caps)
    return vocab.encode_batch([caps[0] for caps in data.info["captions"]])


def captions_for_captioning(n: int = 4_000):
    """Lesson 06: small scenes, all five captions tokenized with <bos>/<eos>."""
    data = scene_captions(n, seed=0)
    texts = [c for caps in data.info["captions"] for c in caps]
    vocab = Vocabulary.build(texts)
    return vocab.encode_batch(texts, bos=True, eos=True)


def main() -> None:
    seconds, (scenes, questions) = best_time(scenes_and_questions)
    n_questions = questions.qtype.numel()
    megabytes = scenes.images.numel() * scenes.images.element_size() / 2**20
    print(f"{len(scenes):,} scenes + {n_questions:,} questions: {seconds:.3f} s (target < 0.25 s)")
    print(f"  image tensor {tuple(scenes.images.shape)} {scenes.images.dtype}: {megabytes:.0f} MiB")
    print(f"  (as float64, like the public generator: {megabytes * 8:.0f} MiB)")
    seconds, _ = best_time(lambda: make_scenes(10_000, seed=0))
    print(f"  of which rendering and placing the scenes: {seconds:.3f} s")
    seconds, _ = best_time(questions.texts)
    print(f"  English text of all {n_questions:,} questions: {seconds:.3f} s")

    print("lesson datasets (target < 2 s each):")
    for name, build in [
        ("07 VQA: sort_of_clevr(10_000)", lambda: sort_of_clevr(10_000, seed=0)),
        ("04 contrastive: 4,000 captioned scenes + vocabulary + tokens", captions_for_contrastive),
        ("06 captioning: 4,000 scenes x 5 captions + vocabulary + tokens", captions_for_captioning),
    ]:
        seconds, _ = best_time(build, repeats=3)
        print(f"  {name}: {seconds:.3f} s")


if __name__ == "__main__":
    main()
