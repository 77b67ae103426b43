"""A small word-level vocabulary for captions and questions.

Taught in lesson 01 (section 2, "Text"); lessons 03, 04 and 06 tokenise captions with it.

The course's texts are short, templated English, so a word-level tokenizer is
enough and is easy to read: lower-case, split words from punctuation, map
each word to an id. Four special tokens frame every sequence:

- ``<pad>`` (id 0) fills short sequences up to a common length,
- ``<unk>`` (id 1) stands for any word not in the vocabulary,
- ``<bos>`` (id 2) and ``<eos>`` (id 3) mark the start and end of a sentence,
  which a caption decoder needs to know where to begin and when to stop.

``decode(encode(text)) == normalize(text)``: the lower-cased text with single
spaces and punctuation attached to the word before it.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from numbers import Integral

import torch

from mmlearn.validation import check_path

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
TOKEN_PATTERN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")  # words (keeping "it's" whole) or single symbols
ATTACHED = set(".,;:!?)'")  # punctuation written without a space before it


def tokenize(text: str, lower: bool = True) -> list[str]:
    """Split a sentence into words and punctuation marks: "A red circle." -> ["a", "red", "circle", "."]."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return TOKEN_PATTERN.findall(text.lower() if lower else text)


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens back into a sentence, without a space before punctuation."""
    if isinstance(tokens, str) or not isinstance(tokens, Iterable):
        raise TypeError(f"tokens must be a list of strings (use it as is for one string), got {tokens!r}")
    tokens = list(tokens)
    if not all(isinstance(token, str) for token in tokens):
        raise TypeError(f"tokens must be a list of strings, got {tokens!r}")
    out = ""
    for token in tokens:
        out += token if (not out or token in ATTACHED or out.endswith("(")) else " " + token
    return out


def normalize(text: str, lower: bool = True) -> str:
    """The form of ``text`` that survives an encode / decode round trip."""
    return detokenize(tokenize(text, lower))


class Vocabulary:
    """Word <-> id mapping with the four special tokens at ids 0-3.

    Usually made with ``Vocabulary.build(texts)``; ``Vocabulary(words)`` takes
    the word list as is and puts the special tokens first if it lacks them.
    """

    def __init__(self, words: Sequence[str], lower: bool = True):
        if isinstance(words, str) or not isinstance(words, Iterable):
            raise TypeError(f"words must be a list of words, not one string, got {words!r}")
        words = list(words)
        if any(not isinstance(w, str) or not w for w in words):
            raise TypeError("every vocabulary word must be a non-empty str")
        if list(words[: len(SPECIALS)]) != list(SPECIALS):
            words = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        if len(set(words)) != len(words):
            raise ValueError("the vocabulary has duplicate words")
        self.itos = words  # id -> word
        self.stoi = {w: i for i, w in enumerate(words)}  # word -> id
        self.lower = lower

    @classmethod
    def build(
        cls, texts: Iterable[str], min_freq: int = 1, max_size: int | None = None, lower: bool = True
    ) -> Vocabulary:
        """Collect the words of ``texts`` seen at least ``min_freq`` times, most frequent first.

        Ties are broken alphabetically so the ids do not depend on the order
        of the texts. ``max_size`` caps the number of words (specials excluded).
        """
        if isinstance(texts, str) or not isinstance(texts, Iterable):
            raise TypeError(f"texts must be a list of strings, not one string, got {texts!r}")
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be a positive integer, got {min_freq!r}")
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0
        ):
            raise ValueError(f"max_size must be None or a non-negative integer, got {max_size!r}")
        counts = Counter()
        n_texts = 0
        for text in texts:
            counts.update(tokenize(text, lower))
            n_texts += 1
        if n_texts == 0:
            raise ValueError("cannot build a vocabulary from no texts")
        words = sorted(
            (w for w, c in counts.items() if c >= min_freq and w not in SPECIALS),
            key=lambda w: (-counts[w], w),
        )
        if max_size is not None:
            words = words[:max_size]
        return cls(list(SPECIALS) + words, lower=lower)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} words: {', '.join(self.itos[4:12])}, ...)"

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    @property
    def bos_id(self) -> int:
        return 2

    @property
    def eos_id(self) -> int:
        return 3

    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> list[int]:
        """Word ids of one sentence; unknown words become ``<unk>``."""
        ids = [self.stoi.get(token, self.unk_id) for token in tokenize(text, self.lower)]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def encode_batch(
        self, texts: Sequence[str], length: int | None = None, *, bos: bool = False, eos: bool = False
    ) -> torch.Tensor:
        """Encode sentences into one (B, length) LongTensor, padded with ``<pad>``.

        ``length=None`` uses the longest sentence; longer sentences are cut at
        ``length`` (the cut may drop ``<eos>``).
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings; use encode() for one string")
        if len(texts) == 0:
            raise ValueError("cannot encode an empty batch of texts")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
            raise ValueError(f"length must be None or a positive integer, got {length!r}")
        encoded = [self.encode(text, bos=bos, eos=eos) for text in texts]
        if length is None:
            length = max(1, max(len(ids) for ids in encoded))
        rows = [ids[:length] + [self.pad_id] * (length - len(ids)) for ids in encoded]
        return torch.tensor(rows, dtype=torch.long)  # (B, length)

    def decode(self, ids, *, strip_special: bool = True) -> str:
        """Ids back to a sentence: stop at ``<eos>``, drop ``<pad>`` and ``<bos>`` (unless told not to)."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(
                    f"ids must be one sequence (1-D), got shape {tuple(ids.shape)}; use decode_batch"
                )
            ids = ids.tolist()
        if isinstance(ids, str) or not isinstance(ids, Iterable):
            raise TypeError(f"ids must be a list or 1-D tensor of token ids, got {ids!r}")
        tokens = []
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, Integral) or not 0 <= i < len(self):
                raise ValueError(f"token id {i!r} is not in the vocabulary (0..{len(self) - 1})")
            if strip_special:
                if i == self.eos_id:
                    break
                if i in (self.pad_id, self.bos_id):
                    continue
            tokens.append(self.itos[int(i)])
        return detokenize(tokens)

    def decode_batch(self, ids: torch.Tensor, *, strip_special: bool = True) -> list[str]:
        """Decode a (B, L) tensor of ids into B sentences."""
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2:
            raise ValueError(
                f"ids must be a 2-D (B, L) tensor of token ids, got {getattr(ids, 'shape', ids)!r}"
            )
        return [self.decode(row, strip_special=strip_special) for row in ids]

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON."""
        with open(check_path(path), "w", encoding="utf-8") as f:
            json.dump({"words": self.itos, "lower": self.lower}, f, indent=0)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        """Read a vocabulary written by ``save``."""
        if not os.path.exists(check_path(path)):
            raise FileNotFoundError(f"no vocabulary file at {path}")
        with open(path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} is not a vocabulary JSON file: {err}") from err
        if not isinstance(data, dict) or not isinstance(data.get("words"), list):
            raise ValueError(f"{path} is not a vocabulary file: expected a JSON object with a 'words' list")
        if list(data["words"][: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError(f"{path} does not start with the special tokens {list(SPECIALS)}")
        return cls(data["words"], lower=bool(data.get("lower", True)))
