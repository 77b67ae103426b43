"""Visual question answering on Sort-of-CLEVR: three ways to combine a question with image regions.

Taught in lesson 07 ("Visual question answering"). Every model here reads a
(B, 3, 75, 75) uint8 scene and the Q questions asked about it, (B, Q, 11)
bit vectors (``mmlearn.data.scene_questions``), and returns (B, Q, 13)
answer logits. The image is encoded once per scene and shared by its
questions, so a batch of 64 scenes answers 64 x 20 questions.

* ``RegionEncoder``: the paper's CNN, four 3x3 convolutions with stride 2
  (75 -> 38 -> 19 -> 10 -> 5), so a scene becomes 25 "objects": the feature
  vectors of a 5 x 5 grid of regions, each tagged with its (x, y) position.
  Nothing tells the network where the coloured shapes are; a region is only
  a patch of the canvas.
* ``CnnMlp``: the baseline of Santoro et al. (2017): all region features
  flattened, concatenated with the question, through an MLP. It must learn
  every relation between regions from scratch in its first layer.
* ``RelationNetwork``: RN(O, q) = f( sum over pairs (i, j) of g(o_i, o_j, q) ).
  The same small network g looks at every ordered pair of regions together
  with the question; the sum makes the answer independent of the order of the
  regions, and f reads the answer from the sum. Here the sum is divided by
  the number of pairs (a mean): the same function up to a scale that f's
  first layer can absorb, but f's input stays the size of one g output, so
  the first steps of training are not thrown off by a 625-fold larger input.
* ``CrossAttentionVQA``: the question becomes a query that attends over the
  regions (after the regions have attended to each other), two hops.

The pairwise cost of the RN, and how to cut it. With n = 25 regions there
are n^2 = 625 pairs per question. g's first layer is linear, so on a
concatenation it splits into three parts:

    W [o_i ; o_j ; q] + b  =  W_a o_i  +  W_b o_j  +  (W_q q + b)

``RelationNetwork(decomposed=True)`` (the default) projects each region once
(n matrix products instead of n^2) and each question once, then forms the
n^2 sums by broadcasting. The result is the same up to float rounding; the
first layer's matrix products go from O(n^2) to O(n). The later layers of
g still see all n^2 pairs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.data.scene_questions import ANSWERS, N_BITS
from mmlearn.validation import check_positive_int, check_tensor

N_ANSWERS = len(ANSWERS)  # 13: three shapes, left/right, top/bottom, counts 1-6


def check_vqa_inputs(images, questions, question_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a batch: (B, 3, H, W) images (uint8 or float) and (B, Q, question_dim) questions."""
    check_tensor(images, "images", ndim=4)
    check_tensor(questions, "questions", ndim=3)
    if images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W) RGB, got shape {tuple(images.shape)}")
    if questions.shape[0] != images.shape[0]:
        raise ValueError(
            f"questions has {questions.shape[0]} scenes but images has {images.shape[0]}: "
            "questions must be (B, Q, question_dim) for the same B scenes"
        )
    if questions.shape[2] != question_dim:
        raise ValueError(f"questions must be (B, Q, {question_dim}), got shape {tuple(questions.shape)}")
    for name, x in (("images", images), ("questions", questions)):
        if not (x.dtype == torch.uint8 or x.is_floating_point()):
            raise TypeError(f"{name} must be uint8 (0-255 pixels, 0/1 bits) or float, got dtype {x.dtype}")
    images = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    return images, questions.float()


class RegionEncoder(nn.Module):
    """(B, 3, 75, 75) scenes -> (B, 25, channels + 2) region features, each with its (x, y) in [-1, 1].

    Four blocks of 3x3 convolution (stride 2) + BatchNorm + ReLU, as in the
    RN paper (24 channels there). The grid size follows the image size:
    75 px gives 5 x 5 regions.
    """

    def __init__(self, channels: int = 24, blocks: int = 4):
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        check_positive_int(blocks, "blocks")
        layers, c_in = [], 3
        for _ in range(blocks):
            layers += [nn.Conv2d(c_in, channels, 3, stride=2, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
            c_in = channels
        self.cnn = nn.Sequential(*layers)
        self.out_dim = channels + 2

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        maps = self.cnn(images)  # (B, C, h, w): 5 x 5 for 75 px
        b, c, h, w = maps.shape
        ys, xs = torch.meshgrid(
            torch.linspace(-1, 1, h, device=maps.device),
            torch.linspace(-1, 1, w, device=maps.device),
            indexing="ij",
        )
        coords = torch.stack([xs, ys]).expand(b, 2, h, w)  # (B, 2, h, w)
        return torch.cat([maps, coords], dim=1).flatten(2).transpose(1, 2)  # (B, h * w, C + 2)


def _mlp(sizes: list[int], dropout_before_last: float = 0.0) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last); optional dropout before the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        last = i == len(sizes) - 2
        if last and dropout_before_last:
            layers.append(nn.Dropout(dropout_before_last))
        layers.append(nn.Linear(a, b))
        if not last:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VQAModel(nn.Module):
    """Shared plumbing: checks, the region encoder, ``forward(inputs)`` on a dataset batch dict."""

    def __init__(self, channels: int, question_dim: int):
        super().__init__()
        self.question_dim = check_positive_int(question_dim, "question_dim")
        self.regions = RegionEncoder(channels)
        self.num_classes = N_ANSWERS

    def forward(self, inputs, questions: torch.Tensor | None = None) -> torch.Tensor:
        """``model(images, questions)`` or ``model({"image": ..., "question": ...})`` -> (B, Q, 13) logits."""
        if isinstance(inputs, dict):
            missing = {"image", "question"} - set(inputs)
            if missing:
                raise KeyError(f"inputs must hold 'image' and 'question', missing {sorted(missing)}")
            images, questions = inputs["image"], inputs["question"]
        else:
            images = inputs
            if questions is None:
                raise TypeError(
                    "pass the questions: model(images, questions) or model({'image', 'question'})"
                )
        images, questions = check_vqa_inputs(images, questions, self.question_dim)
        return self.answer(self.regions(images), questions)

    def answer(self, objects: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class CnnMlp(VQAModel):
    """The paper's baseline: flattened region features + question -> MLP -> answer logits."""

    def __init__(
        self, channels: int = 24, hidden: int = 256, question_dim: int = N_BITS, n_regions: int = 25
    ):
        super().__init__(channels, question_dim)
        self.n_regions = n_regions = check_positive_int(n_regions, "n_regions")
        hidden = check_positive_int(hidden, "hidden")
        self.head = _mlp([n_regions * (channels + 2) + question_dim, hidden, hidden, hidden, N_ANSWERS], 0.5)

    def answer(self, objects: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        if objects.shape[1] != self.n_regions:
            raise ValueError(
                f"images give {objects.shape[1]} regions but this CnnMlp was built for n_regions="
                f"{self.n_regions} (75 x 75 images give 25): pass images of the size it was built for"
            )
        b, q = questions.shape[:2]
        flat = objects.flatten(1)  # (B, 25 * (C + 2))
        joint = torch.cat([flat[:, None].expand(b, q, flat.shape[1]), questions], dim=2)  # (B, Q, D + 11)
        return self.head(joint)  # (B, Q, 13)


class RelationNetwork(VQAModel):
    """RN(O, q) = f(mean_ij g(o_i, o_j, q)) over all ordered pairs of the 25 regions.

    ``g``: ``g_layers`` layers of width ``hidden`` with ReLU; ``f``: hidden ->
    hidden -> dropout -> 13. ``decomposed=True`` computes g's first layer from
    per-region projections (see the module docstring); ``False`` builds every
    concatenated pair explicitly, the textbook form, for comparison.
    """

    def __init__(
        self,
        channels: int = 24,
        hidden: int = 256,
        g_layers: int = 4,
        question_dim: int = N_BITS,
        decomposed: bool = True,
    ):
        super().__init__(channels, question_dim)
        hidden = check_positive_int(hidden, "hidden")
        if check_positive_int(g_layers, "g_layers") < 2:
            raise ValueError(f"g_layers must be at least 2 (a first layer and one more), got {g_layers}")
        if not isinstance(decomposed, bool):
            raise TypeError(f"decomposed must be True or False, got {decomposed!r}")
        d = channels + 2
        self.decomposed = decomposed
        self.g_first = nn.Linear(2 * d + question_dim, hidden)  # acts on [o_i ; o_j ; q]
        self.g_rest = _mlp([hidden] * g_layers)  # the other g_layers - 1 layers
        self.f = _mlp([hidden, hidden, hidden, N_ANSWERS], 0.5)

    def first_layer(self, objects: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        """g's first layer on every pair and question: (B, n, d), (B, Q, 11) -> (B, Q, n, n, hidden)."""
        b, n, d = objects.shape
        q = questions.shape[1]
        if self.decomposed:
            w = self.g_first.weight  # (hidden, 2d + 11), columns: [o_i | o_j | q]
            left = objects @ w[:, :d].T  # (B, n, hidden): W_a o_i, once per region
            right = objects @ w[:, d : 2 * d].T  # (B, n, hidden): W_b o_j
            ask = questions @ w[:, 2 * d :].T + self.g_first.bias  # (B, Q, hidden)
            pairs = left[:, :, None, :] + right[:, None, :, :]  # (B, n, n, hidden), no question yet
            return pairs[:, None] + ask[:, :, None, None, :]  # (B, Q, n, n, hidden)
        o_i = objects[:, None, :, None, :].expand(b, q, n, n, d)  # (B, Q, n, n, d)
        o_j = objects[:, None, None, :, :].expand(b, q, n, n, d)
        qq = questions[:, :, None, None, :].expand(b, q, n, n, questions.shape[2])
        return self.g_first(torch.cat([o_i, o_j, qq], dim=-1))  # (B, Q, n, n, hidden)

    def answer(self, objects: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.first_layer(objects, questions))  # (B, Q, n, n, hidden)
        relations = F.relu(self.g_rest(h)).mean(dim=(2, 3))  # (B, Q, hidden): over the n^2 pairs
        return self.f(relations)  # (B, Q, 13)


class CrossAttentionVQA(VQAModel):
    """Regions attend to each other, then the question attends over them (two hops) -> answer logits.

    The regions go through ``self_layers`` Transformer encoder layers (each
    region can see every other: relations between regions can form there);
    the question, projected to ``dim``, is a query that reads the regions
    with multi-head attention ``hops`` times (residual + LayerNorm + a
    feed-forward block after each read); a linear layer gives the answer.
    """

    def __init__(
        self,
        channels: int = 24,
        dim: int = 64,
        heads: int = 4,
        self_layers: int = 2,
        hops: int = 2,
        question_dim: int = N_BITS,
    ):
        super().__init__(channels, question_dim)
        dim = check_positive_int(dim, "dim")
        if dim % check_positive_int(heads, "heads"):
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.embed_regions = nn.Linear(channels + 2, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True)
        self.context = nn.TransformerEncoder(layer, check_positive_int(self_layers, "self_layers"))
        self.embed_question = nn.Linear(question_dim, dim)
        hops = check_positive_int(hops, "hops")
        self.reads = nn.ModuleList(nn.MultiheadAttention(dim, heads, batch_first=True) for _ in range(hops))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2 * hops))
        self.ffns = nn.ModuleList(_mlp([dim, 2 * dim, dim]) for _ in range(hops))
        self.out = nn.Linear(dim, N_ANSWERS)

    def answer(self, objects: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        regions = self.context(self.embed_regions(objects))  # (B, n, dim)
        query = self.embed_question(questions)  # (B, Q, dim): one query per question
        for k, (read, ffn) in enumerate(zip(self.reads, self.ffns, strict=True)):
            seen, _ = read(query, regions, regions)  # (B, Q, dim): each question's weighted sum of regions
            query = self.norms[2 * k](query + seen)
            query = self.norms[2 * k + 1](query + ffn(query))
        return self.out(query)  # (B, Q, 13)


VQA_MODELS = {"mlp": CnnMlp, "rn": RelationNetwork, "xattn": CrossAttentionVQA}


def make_vqa_model(kind: str, **options) -> VQAModel:
    """A fresh VQA model by name: ``"mlp"`` (CNN+MLP), ``"rn"`` (CNN+RN) or ``"xattn"`` (cross-attention)."""
    if kind not in VQA_MODELS:
        raise ValueError(f"kind must be one of {sorted(VQA_MODELS)}, got {kind!r}")
    return VQA_MODELS[kind](**options)
