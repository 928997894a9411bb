"""The bridge to transformers: a causal self-attention character LM (a small GPT), written from
``nn.Linear``, ``nn.Embedding`` and tensor ops as the recurrent cells are.

Per block (pre-norm, as GPT-2): ``x = x + attention(layer_norm(x))``, then
``x = x + mlp(layer_norm(x))``, where attention is masked scaled dot-product attention over the
heads,

    softmax(Q K^T / sqrt(d_head) + M) V,  M[t, s] = -inf for s > t (no position sees the future),

and the MLP is ``Linear(d, d_ff) -> GELU -> Linear(d_ff, d)``. Positions are learned embeddings
for 0 .. ``context - 1``: the model reads at most ``context`` characters and carries nothing
from one window to the next. Every position of a window is computed at once: a layer is one
batch of matrix products over all T positions, not T dependent steps as in a recurrent cell.

``model(idx (B, T), state=None) -> (logits (B, T, V), None)``, so the training loop and the
measurements that take a ``CharLM`` take it too (``state`` must be None: there is none).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.checks import require_positive_ints
from rnnlab.errors import ConfigError


@dataclass
class AttentionLMConfig:
    vocab_size: int  # number of distinct characters
    d_model: int = 96  # width of every position's vector
    num_heads: int = 4  # attention heads per layer (d_model must divide evenly)
    num_layers: int = 2  # blocks
    d_ff: int = 384  # the MLP's inner width (4 x d_model, as GPT)
    context: int = 64  # the most characters the model reads: learned positions 0 .. context - 1
    dropout: float = 0.0  # GPT-2's: on the summed embeddings and on each residual branch before it is added

    def __post_init__(self) -> None:
        require_positive_ints(
            "AttentionLM",
            vocab_size=self.vocab_size,
            d_model=self.d_model,
            num_heads=self.num_heads,
            num_layers=self.num_layers,
            d_ff=self.d_ff,
            context=self.context,
        )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"AttentionLM: dropout must lie in [0, 1), got {self.dropout}")
        if self.d_model % self.num_heads:
            raise ConfigError(
                f"AttentionLM: d_model ({self.d_model}) must be a multiple of num_heads ({self.num_heads})"
            )


class LayerNorm(nn.Module):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last dimension (biased variance).

    Computed by torch's ``layer_norm``, one op with its own backward, as the cells use
    ``sigmoid`` and ``tanh``: written out, its mean, variance and their gradients cost more
    than the matrix products of this small model on a CPU. The spec checks it against the
    formula above."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


def gelu(x: Tensor) -> Tensor:
    """x * Phi(x), Phi the standard normal CDF (the exact GELU), by torch's ``gelu`` op (one pass,
    with its own backward); the spec checks it against 0.5 x (1 + erf(x / sqrt 2))."""
    return F.gelu(x)


def causal_attention(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """Masked scaled dot-product attention. ``q``, ``k``, ``v``: (..., T, d). Returns the
    outputs (..., T, d) and the weights (..., T, T), whose row t is zero beyond column t."""
    T, d = q.shape[-2], q.shape[-1]
    future = torch.full((T, T), float("-inf"), dtype=q.dtype, device=q.device).triu(1)  # M
    scores = torch.baddbmm(future, (q / math.sqrt(d)).flatten(0, -3), k.flatten(0, -3).transpose(1, 2))
    weights = torch.softmax(scores, dim=-1).view(*q.shape[:-1], T)  # (..., T, T)
    return weights @ v, weights


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Inverted dropout in training; skipped at p = 0, so a model without it draws no random numbers."""
    return F.dropout(x, p, training) if p and training else x


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)  # queries, keys and values of every position at once
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x`` (B, T, d) -> (outputs (B, T, d), weights (B, heads, T, T))."""
        B, T, d = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        out, weights = causal_attention(q, k, v)  # (B, heads, T, d_head)
        return self.proj(out.transpose(1, 2).reshape(B, T, d)), weights


class Block(nn.Module):
    def __init__(self, config: AttentionLMConfig) -> None:
        super().__init__()
        self.norm1 = LayerNorm(config.d_model)
        self.attention = CausalSelfAttention(config.d_model, config.num_heads)
        self.norm2 = LayerNorm(config.d_model)
        self.up = nn.Linear(config.d_model, config.d_ff)
        self.down = nn.Linear(config.d_ff, config.d_model)
        self.dropout = config.dropout

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        attended, weights = self.attention(self.norm1(x))
        x = x + dropout(attended, self.dropout, self.training)
        return x + dropout(self.down(gelu(self.up(self.norm2(x)))), self.dropout, self.training), weights


class AttentionLM(nn.Module):
    """``AttentionLM(vocab_size, d_model=..., ...)`` or ``AttentionLM.from_config(config)``."""

    def __init__(
        self,
        vocab_size: int,
        d_model: int = AttentionLMConfig.d_model,
        num_heads: int = AttentionLMConfig.num_heads,
        num_layers: int = AttentionLMConfig.num_layers,
        d_ff: int = AttentionLMConfig.d_ff,
        context: int = AttentionLMConfig.context,
        dropout: float = AttentionLMConfig.dropout,
    ) -> None:
        super().__init__()
        self.config = AttentionLMConfig(vocab_size, d_model, num_heads, num_layers, d_ff, context, dropout)
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(Block(self.config) for _ in range(num_layers))
        self.norm = LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        """GPT-2's: weights ~ N(0, 0.02), biases 0."""
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @classmethod
    def from_config(cls, config: AttentionLMConfig) -> AttentionLM:
        return cls(**asdict(config))

    @property
    def context(self) -> int:
        return self.config.context

    def forward(self, idx: Tensor, state: None = None) -> tuple[Tensor, None]:
        return self.run(idx, state)[0], None

    def run(self, idx: Tensor, state: None = None) -> tuple[Tensor, list[Tensor]]:
        """Logits (B, T, V) and every layer's attention weights (B, heads, T, T)."""
        if state is not None:
            raise ConfigError("AttentionLM carries no state from one window to the next; pass state=None")
        if idx.dim() != 2:
            raise ConfigError(f"AttentionLM: expected token ids of shape (batch, time), got {tuple(idx.shape)}")
        T = idx.shape[1]
        if T > self.context:
            raise ConfigError(
                f"AttentionLM reads at most {self.context} characters (its context), got {T}; "
                "cut the text into windows of at most that many"
            )
        x = self.embedding(idx) + self.position(torch.arange(T, device=idx.device))  # (B, T, d)
        x = dropout(x, self.config.dropout, self.training)
        all_weights = []
        for block in self.blocks:
            x, weights = block(x)
            all_weights.append(weights)
        return self.head(self.norm(x)), all_weights

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
