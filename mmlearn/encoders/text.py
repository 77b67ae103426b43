"""A text encoder: token ids -> one feature vector per sentence.

Taught in lesson 01 (section 5, "One feature extractor per modality"); used in lesson 04 and later.

Sentences in a batch have different lengths, so they are right-padded with a
pad id. The padding must not change the result: the GRU reads each sentence
only up to its own length (``pack_padded_sequence``), the transformer is
told which positions are padding (``src_key_padding_mask``) and averages only
over real tokens, and the convolutions zero every padded position before the
next layer and the max. A test checks that adding padding leaves the features
unchanged.

The convolutional kind is the cheapest on a CPU (no step-by-step recurrence):
lesson 04 trains it many hundreds of steps within its minute.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mmlearn.validation import check_level, check_positive_int, check_tensor

TEXT_KINDS = ("gru", "transformer", "conv")


class TextEncoder(nn.Module):
    """(B, L) right-padded token ids -> (B, out_dim) features.

    ``kind="gru"``: embedding -> GRU; the feature is the last layer's final
    hidden state at each sentence's true length (both directions concatenated
    when ``bidirectional``), so ``out_dim`` is the GRU's total hidden size.

    ``kind="transformer"``: embedding + learned positional embedding (up to
    ``max_len`` positions) -> ``nn.TransformerEncoder`` with a padding mask ->
    mean over real tokens -> linear to ``out_dim``.

    ``kind="conv"``: embedding -> ``num_layers`` 1-D convolutions over the
    word positions (``kernel_size`` words each, ``out_dim`` channels, ReLU) ->
    max over real tokens -> linear to ``out_dim``. Two layers of width 3 see
    five neighbouring words, e.g. "a red triangle at the".
    """

    def __init__(
        self,
        vocab_size: int,
        out_dim: int = 64,
        embed_dim: int = 32,
        kind: str = "gru",
        pad_id: int = 0,
        num_layers: int = 1,
        num_heads: int = 4,
        max_len: int = 64,
        bidirectional: bool = False,
        dropout: float = 0.0,
        kernel_size: int = 3,
    ):
        super().__init__()
        if kind not in TEXT_KINDS:
            raise ValueError(f"kind must be one of {TEXT_KINDS}, got {kind!r}")
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.out_dim = check_positive_int(out_dim, "out_dim")
        check_positive_int(embed_dim, "embed_dim")
        check_positive_int(num_layers, "num_layers")
        if isinstance(pad_id, bool) or not isinstance(pad_id, int) or not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id must be a token id in [0, {vocab_size}), got {pad_id!r}")
        dropout = check_level(dropout, "dropout")
        kernel_size = check_positive_int(kernel_size, "kernel_size")  # used by kind="conv" only
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (centred on a word), got {kernel_size}")
        self.kind, self.pad_id, self.max_len = kind, pad_id, check_positive_int(max_len, "max_len")
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        if kind == "gru":
            directions = 2 if bidirectional else 1
            if out_dim % directions:
                raise ValueError(f"a bidirectional GRU needs an even out_dim, got {out_dim}")
            self.rnn = nn.GRU(
                embed_dim,
                out_dim // directions,
                num_layers=num_layers,
                batch_first=True,
                bidirectional=bidirectional,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            self.token_dim = out_dim
        elif kind == "conv":
            if dropout:
                raise ValueError(f"dropout is not used by kind='conv', got {dropout}")
            widths = [embed_dim] + [out_dim] * num_layers
            self.convs = nn.ModuleList(
                nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2)
                for c_in, c_out in zip(widths[:-1], widths[1:], strict=True)
            )
            self.fc = nn.Linear(out_dim, out_dim)
            self.token_dim = out_dim
        else:
            if embed_dim % check_positive_int(num_heads, "num_heads"):
                raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
            self.position = nn.Embedding(max_len, embed_dim)
            layer = nn.TransformerEncoderLayer(
                embed_dim, num_heads, dim_feedforward=2 * embed_dim, dropout=dropout, batch_first=True
            )
            self.transformer = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
            self.fc = nn.Linear(embed_dim, out_dim)
            self.token_dim = embed_dim

    def _check(self, x) -> torch.Tensor:
        """Validate token ids and return the (B, L) padding mask (True = padding)."""
        name = "TextEncoder input"
        check_tensor(x, name, ndim=2)
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer token ids, got dtype {x.dtype}")
        if x.shape[1] == 0:
            raise ValueError(f"{name} has no token positions (shape {tuple(x.shape)})")
        if (x < 0).any() or (x >= self.vocab_size).any():
            raise ValueError(
                f"{name} has token ids outside [0, {self.vocab_size}): min {int(x.min())}, max {int(x.max())}"
            )
        pad = x == self.pad_id  # (B, L)
        empty = pad.all(dim=1)
        if empty.any():
            rows = empty.nonzero().flatten()[:5].tolist()
            raise ValueError(f"{name} rows {rows} contain only padding (pad_id={self.pad_id})")
        if (~pad[:, 1:] & pad[:, :-1]).any():
            rows = (~pad[:, 1:] & pad[:, :-1]).any(dim=1).nonzero().flatten()[:5].tolist()
            raise ValueError(f"{name} must be right-padded: rows {rows} have a real token after padding")
        if self.kind == "transformer" and x.shape[1] > self.max_len:
            raise ValueError(f"{name} has {x.shape[1]} positions, more than max_len={self.max_len}")
        return pad

    def _run(
        self, x: torch.Tensor, trim: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Return per-token outputs (B, L, token_dim), the padding mask (B, L), and the GRU's h_n.

        ``trim`` drops the trailing columns that are padding in every row: a
        batch of short captions padded to the dataset's longest one then costs
        only its own length (the pooled feature does not change).
        """
        pad = self._check(x)
        if trim:
            length = int((~pad).sum(dim=1).max())  # right-padded (checked): the longest row's length
            x, pad = x[:, :length], pad[:, :length]
        emb = self.embedding(x)  # (B, L, E)
        if self.kind == "gru":
            lengths = (~pad).sum(dim=1).cpu()  # (B,) true lengths; packing wants them on the CPU
            packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
            out, h_n = self.rnn(packed)  # h_n: (layers * directions, B, H), in the original row order
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])  # (B, L, D)
            return out, pad, h_n
        if self.kind == "conv":
            h = emb.transpose(1, 2)  # (B, E, L): Conv1d wants channels first
            keep = (~pad).unsqueeze(1).to(h.dtype)  # (B, 1, L), 0 at padding
            for conv in self.convs:
                h = torch.relu(conv(h)) * keep  # (B, out_dim, L), padded positions zeroed for the next layer
            return h.transpose(1, 2), pad, None  # (B, L, out_dim)
        positions = torch.arange(x.shape[1], device=x.device)  # (L,)
        h = emb + self.position(positions)  # (B, L, E)
        return self.transformer(h, src_key_padding_mask=pad), pad, None

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) ids -> per-token features (B, L, token_dim) and the padding mask (B, L), True = pad."""
        out, pad, _ = self._run(x)
        return out, pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, pad, h_n = self._run(x, trim=True)
        if self.kind == "gru":
            directions = 2 if self.rnn.bidirectional else 1
            return torch.cat(list(h_n[-directions:]), dim=1)  # last layer, all directions: (B, out_dim)
        if self.kind == "conv":
            # ReLU outputs are >= 0 and padding is 0: the max over all positions is the max over real tokens
            return self.fc(out.amax(dim=1))  # (B, L, D) -> (B, D) -> (B, out_dim)
        out = out.masked_fill(pad.unsqueeze(-1), 0.0)  # (B, L, E), padded positions zeroed
        pooled = out.sum(dim=1) / (~pad).sum(dim=1, keepdim=True)  # mean over real tokens: (B, E)
        return self.fc(pooled)  # (B, out_dim)
