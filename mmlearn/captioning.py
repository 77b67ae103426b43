"""An image captioner that looks at the image: region features, additive attention, a GRU decoder.

Taught in lesson 06 (sections 2, "A captioner that looks: regions, attention, a GRU", and 3,
"Teacher forcing through the training loop").

Show, Attend and Tell (Xu et al., 2015) keeps the CNN's feature map as a grid
of region vectors instead of pooling it into one vector, and lets the
decoder choose, at every word, which regions to read. The pieces:

* ``RegionEncoder``: a CNN whose last feature map (B, D, H', W') becomes
  R = H' * W' region vectors (B, R, D). Two extra input channels hold each
  pixel's x and y (CoordConv, Liu et al., 2018), so that a region's vector
  says *where* it is as well as what it shows (captions here name places).
* ``AdditiveAttention``: Bahdanau et al.'s (2015) score
  e_i = v^T tanh(W_q h + W_k r_i), weights alpha = softmax(e) over the R
  regions, and the context sum_i alpha_i r_i.
* ``AttentionDecoder``: a GRU that reads the previous word's embedding;
  after each word its new state queries the attention (Luong et al.'s
  order, a variant of Show, Attend and Tell, which feeds the context into
  the recurrent cell), and the next word is predicted from the state and
  the context the attention picked. The first state comes from the mean
  region, so the image also reaches the decoder outside the attention.
* ``Captioner``: encoder + decoder. ``Captioner(..., blind=True)`` is the same
  decoder given all-zero regions: it never sees the image, which is the
  mistake of the source article's captioning code (lesson 06, section 6).

Training uses teacher forcing: the decoder reads the reference caption's
words, not its own guesses, and learns to predict each next word
(``captioning_step``, a step for ``mmlearn.training.fit``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.encoders.image import ImageEncoder, check_image_batch
from mmlearn.validation import check_modalities, check_module, check_positive_int, check_seed, check_tensor

__all__ = ["RegionEncoder", "AdditiveAttention", "AttentionDecoder", "Captioner", "captioning_step"]


class RegionEncoder(nn.Module):
    """(B, 3, S, S) images -> (B, R, dim) region features, one per cell of the CNN's last feature map.

    Two coordinate channels (the row and column of each pixel, from -1 to 1;
    "CoordConv", Liu et al., 2018) are added to the pixels, so that a
    region's features can say *where* in the image its object is, not only
    what it is: convolutions alone are blind to absolute position, and the
    captions name places. The CNN is the course's ``ImageEncoder`` (conv
    3x3, batch norm, ReLU; every block halves the resolution), used up to
    its feature map; a linear map takes each cell's channels to ``dim``.
    """

    def __init__(self, image_size: int, dim: int = 64, channels: Sequence[int] = (16, 32, 32)):
        super().__init__()
        self.image_size = check_positive_int(image_size, "image_size")
        self.dim = check_positive_int(dim, "dim")
        self.cnn = ImageEncoder(in_channels=5, out_dim=1, channels=channels, pool_size=1, first_stride=2)
        del self.cnn.pool, self.cnn.fc  # only the feature map is used
        side = image_size
        for _ in self.cnn.conv[::3]:
            side = (side + 1) // 2  # a 3x3 convolution with stride 2 and padding 1
        self.grid = side  # the feature map is grid x grid cells
        self.n_regions = side * side
        self.stride = 2 ** len(self.cnn.conv[::3])  # pixels between the centres of neighbouring cells
        self.project = nn.Linear(self.cnn.token_dim, dim)

    def region_at(self, x: int, y: int) -> int:
        """The region (row-major index) whose cell is centred nearest to pixel (x, y).

        Cell (i, j) of the last feature map is centred on pixel
        (``stride`` * i, ``stride`` * j): each 3x3 convolution with stride 2
        and padding 1 centres its output j on its input 2j.
        """
        for name, value in (("x", x), ("y", y)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < self.image_size:
                raise ValueError(
                    f"{name} must be a pixel coordinate in 0..{self.image_size - 1}, got {value!r}"
                )
        row, col = ((v + self.stride // 2) // self.stride for v in (y, x))
        return min(row, self.grid - 1) * self.grid + min(col, self.grid - 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = check_image_batch(images, "images", 3)  # uint8 pixels are scaled to [0, 1]
        b, _, h, w = x.shape
        if h != self.image_size or w != self.image_size:
            raise ValueError(
                f"images must be (B, 3, {self.image_size}, {self.image_size}) for this encoder, "
                f"got shape {tuple(images.shape)}"
            )
        ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
        coords = torch.stack(torch.meshgrid(ys, ys, indexing="ij")).expand(b, 2, h, w)  # (B, 2, S, S)
        fmap = self.cnn.feature_map(torch.cat([x, coords], dim=1))  # (B, C, grid, grid)
        regions = fmap.flatten(2).transpose(1, 2)  # (B, R, C), row by row
        return self.project(regions)  # (B, R, dim)


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention of decoder states over region features.

    ``forward(query, keys, projected_keys)``: ``query`` (B, T, Q) the
    decoder's states (T words; T = 1 when decoding word by word), ``keys``
    (B, R, K) the region features, ``projected_keys`` (B, R, A) =
    ``self.key(keys)``, computed once per image by the decoder (it does not
    change from word to word). Returns the contexts (B, T, K) and the
    weights (B, T, R), which sum to 1 over the R regions:

        e_ti = score(tanh(query_proj(query_t) + projected_keys_i)),
        alpha_t = softmax_i(e_t),  context_t = sum_i alpha_ti keys_i.
    """

    def __init__(self, query_dim: int, key_dim: int, attention_dim: int = 64):
        super().__init__()
        for name, value in (("query_dim", query_dim), ("key_dim", key_dim), ("attention_dim", attention_dim)):
            check_positive_int(value, name)
        self.query = nn.Linear(query_dim, attention_dim)  # W_q h + b
        self.key = nn.Linear(key_dim, attention_dim, bias=False)  # W_k r_i
        self.score = nn.Linear(attention_dim, 1, bias=False)  # v^T

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, projected_keys: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        energy = torch.tanh(self.query(query).unsqueeze(2) + projected_keys.unsqueeze(1))  # (B, T, R, A)
        weights = torch.softmax(self.score(energy).squeeze(3), dim=2)  # (B, T, R)
        context = torch.bmm(weights, keys)  # (B, T, K)
        return context, weights


class AttentionDecoder(nn.Module):
    """A GRU decoder that attends over the regions at every word.

    At word t the GRU reads the previous word and updates its state h_t;
    the attention uses h_t to weigh the regions; the next word is predicted
    from h_t and the context. The image also sets the GRU's first state
    (from the mean region). Show, Attend and Tell computes the context from
    the state *before* the word and feeds it into the recurrent cell as
    well; computing it from the state after the word (Luong et al., 2015)
    lets teacher forcing run the GRU over a whole caption in one call, which
    is several times faster on a CPU.

    State: ``{"hidden": (B, H), "regions": (B, R, D), "projected": (B, R, A)}``.
    ``start(regions)`` makes the first state; ``step(tokens, state)`` reads
    one word per caption and returns the next word's logits (B, V), the new
    state and the attention weights (B, R); ``forward(regions, tokens)``
    reads whole (B, T) captions (teacher forcing).
    """

    def __init__(
        self,
        vocab_size: int,
        region_dim: int,
        hidden: int = 128,
        embedding: int = 32,
        attention_dim: int = 64,
        attention: type[nn.Module] = AdditiveAttention,
    ):
        super().__init__()
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.region_dim = check_positive_int(region_dim, "region_dim")
        self.hidden = check_positive_int(hidden, "hidden")
        self.embed = nn.Embedding(vocab_size, check_positive_int(embedding, "embedding"))
        if not callable(attention):
            raise TypeError(f"attention must be a class like AdditiveAttention, got {attention!r}")
        self.attention = attention(hidden, region_dim, check_positive_int(attention_dim, "attention_dim"))
        self.init_hidden = nn.Linear(region_dim, hidden)
        self.gru = nn.GRU(embedding, hidden, batch_first=True)
        self.out = nn.Linear(hidden + region_dim, vocab_size)  # the next word from the state and the context

    def start(self, regions: torch.Tensor) -> dict[str, torch.Tensor]:
        check_tensor(regions, "regions", ndim=3)
        if regions.shape[2] != self.region_dim:
            raise ValueError(f"regions must be (B, R, {self.region_dim}), got shape {tuple(regions.shape)}")
        hidden = torch.tanh(self.init_hidden(regions.mean(dim=1)))  # (B, H)
        return {"hidden": hidden, "regions": regions, "projected": self.attention.key(regions)}

    def _check_tokens(self, tokens, ndim: int) -> torch.Tensor:
        check_tensor(tokens, "tokens", ndim=ndim)
        if tokens.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"tokens must be word ids (an int64 tensor), got dtype {tokens.dtype}")
        if (
            tokens.device.type == "cpu"
            and tokens.numel()
            and not 0 <= int(tokens.min()) <= int(tokens.max()) < (self.vocab_size)
        ):
            raise ValueError(
                f"tokens must be word ids in 0..{self.vocab_size - 1}, got values from {int(tokens.min())} "
                f"to {int(tokens.max())}"
            )
        return tokens

    def _read(self, tokens: torch.Tensor, state: Mapping[str, torch.Tensor]):
        """(B, T) words -> (B, T, V) logits, (B, T, R) weights, the state after the last word."""
        states, last = self.gru(self.embed(tokens), state["hidden"].unsqueeze(0).contiguous())  # (B, T, H)
        context, weights = self.attention(
            states, state["regions"], state["projected"]
        )  # (B, T, D), (B, T, R)
        logits = self.out(torch.cat([states, context], dim=2))  # (B, T, V)
        return logits, weights, {**state, "hidden": last.squeeze(0)}

    def step(self, tokens: torch.Tensor, state: Mapping[str, torch.Tensor]):
        """(B,) word ids and a state -> (B, V) logits of the next word, the new state, (B, R) weights."""
        self._check_tokens(tokens, 1)
        logits, weights, state = self._read(tokens.unsqueeze(1), state)
        return logits.squeeze(1), state, weights.squeeze(1)

    def forward(self, regions: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: (B, R, D) regions, (B, T) input words -> (B, T, V) logits, (B, T, R) weights."""
        self._check_tokens(tokens, 2)
        if tokens.shape[0] != regions.shape[0]:
            raise ValueError(
                f"tokens has {tokens.shape[0]} captions but regions has {regions.shape[0]} images"
            )
        logits, weights, _ = self._read(tokens, self.start(regions))
        return logits, weights


class Captioner(nn.Module):
    """Encoder + decoder: (B, 3, S, S) images and (B, T) input words -> (B, T, V) next-word logits.

    ``blind=True`` gives the decoder all-zero regions instead of the
    encoder's: the same decoder, trained and run without ever seeing the
    image (a language model of the captions). ``start`` and ``step`` are
    what the decoding functions of ``mmlearn.decoding`` call.
    """

    def __init__(self, encoder: RegionEncoder, decoder: AttentionDecoder, *, blind: bool = False):
        super().__init__()
        check_module(encoder, "encoder")
        check_module(decoder, "decoder")
        if getattr(encoder, "dim", None) != decoder.region_dim:
            raise ValueError(
                f"the encoder gives {getattr(encoder, 'dim', None)}-d regions but the decoder expects "
                f"{decoder.region_dim}-d"
            )
        if not isinstance(blind, bool):
            raise TypeError(f"blind must be True or False, got {blind!r}")
        self.encoder, self.decoder, self.blind = encoder, decoder, blind

    def regions(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B, R, D); all zeros for a blind captioner (the image is never read)."""
        if self.blind:
            check_tensor(images, "images", ndim=4)
            param = self.decoder.init_hidden.weight
            return torch.zeros(
                images.shape[0],
                self.encoder.n_regions,
                self.encoder.dim,
                device=param.device,
                dtype=param.dtype,
            )
        return self.encoder(images)

    def start(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.decoder.start(self.regions(images))

    def step(self, tokens: torch.Tensor, state: Mapping[str, torch.Tensor]):
        return self.decoder.step(tokens, state)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decoder(self.regions(images), tokens)


def captioning_step(
    model: Captioner,
    *,
    pad_id: int = 0,
    image_key: str = "image",
    caption_key: str = "captions",
    seed: int = 0,
):
    """A step for ``mmlearn.training.fit``: teacher-forced cross-entropy on one reference caption per scene.

    ``inputs[caption_key]`` holds (B, C, L) token ids, C reference captions
    per scene framed by ``<bos>`` ... ``<eos>`` and padded with ``pad_id``.
    Each batch draws one of the C references per scene (from a generator
    seeded with ``seed``, so a run repeats), feeds its words 0..L-2 to the
    decoder and scores the predictions of words 1..L-1; padding is not
    scored. Reports ``loss`` and ``token_accuracy`` (the share of scored
    words predicted right).
    """
    check_module(model, "model")
    if isinstance(pad_id, bool) or not isinstance(pad_id, int) or pad_id < 0:
        raise ValueError(f"pad_id must be a token id (an int >= 0), got {pad_id!r}")
    generator = torch.Generator().manual_seed(check_seed(seed))

    def step(inputs: Mapping[str, torch.Tensor], labels: torch.Tensor) -> dict[str, torch.Tensor]:
        if not isinstance(inputs, Mapping):
            raise TypeError(f"inputs must be a dict of modality name -> tensor, got {type(inputs).__name__}")
        for key in (image_key, caption_key):
            if key not in inputs:
                raise KeyError(f"inputs have no modality '{key}'; they have {sorted(inputs)}")
        check_modalities({image_key: inputs[image_key], caption_key: inputs[caption_key]})  # one batch
        captions = inputs[caption_key]
        if captions.dim() != 3:
            raise ValueError(
                f"inputs['{caption_key}'] must be (B, n_captions, L) token ids, "
                f"got shape {tuple(captions.shape)}"
            )
        b, c, _ = captions.shape
        pick = torch.randint(0, c, (b,), generator=generator).to(captions.device)  # one reference per scene
        tokens = captions[torch.arange(b, device=captions.device), pick]  # (B, L)
        length = int((tokens != pad_id).sum(dim=1).max())  # drop the columns that are padding everywhere
        tokens = tokens[:, :length]
        logits, _ = model(inputs[image_key], tokens[:, :-1])  # (B, L-1, V): predict word t+1 from words <= t
        targets = tokens[:, 1:]  # (B, L-1)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id)
        scored = targets != pad_id
        right = (logits.detach().argmax(dim=-1) == targets) & scored
        return {"loss": loss, "token_accuracy": right.sum() / scored.sum()}

    return step
