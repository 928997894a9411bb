"""Attention over encoder states: Bahdanau (additive) and Luong (dot, general).

Every module maps a query ``s`` (B, Dq) — the decoder state — and keys ``h`` (B, S, Dk) —
the encoder states — with a mask (B, S) (True = a real position) to

* ``weights`` (B, S): softmax of the scores over real positions; padding gets exactly 0;
* ``context`` (B, Dk): sum_j weights_j h_j.

Scores:
* additive (Bahdanau et al., 2015):  score(s, h_j) = v^T tanh(W_s s + W_h h_j)
* dot (Luong et al., 2015):          score(s, h_j) = s^T h_j            (Dq == Dk)
* general (Luong et al., 2015):      score(s, h_j) = s^T W h_j
Scaled dot-product attention (Vaswani et al., 2017) is the dot score divided by sqrt(Dk),
batched over many queries at once.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last axis, with masked positions given exactly zero weight.

    Args: ``scores`` (B, S); ``mask`` (B, S) bool, True at real positions, or None (all real).
    Returns: weights (B, S), each row summing to 1, exactly 0 where ``mask`` is False.
    Rule: set the masked scores to -inf *before* the softmax (not the weights after it).
    """
    # region exercise lab03.attention
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)
    # endregion


class _Attention(nn.Module):
    def score(self, query: Tensor, keys: Tensor, precomputed: Tensor | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def precompute(self, keys: Tensor) -> Tensor | None:
        """Work that depends only on the keys, done once per sequence rather than per step."""
        return None

    def forward(
        self, query: Tensor, keys: Tensor, mask: Tensor | None = None, precomputed: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        scores = self.score(query, keys, precomputed)  # (B, S)
        weights = masked_softmax(scores, mask)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)  # (B, Dk)
        return context, weights


class AdditiveAttention(_Attention):
    """Bahdanau: score(s, h_j) = v^T tanh(W_s s + W_h h_j). W_s (A, Dq), W_h (A, Dk), v (A,)."""

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.W_s = nn.Linear(query_dim, attn_dim, bias=False)
        self.W_h = nn.Linear(key_dim, attn_dim, bias=True)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        return self.W_h(keys)  # (B, S, A)

    def score(self, query: Tensor, keys: Tensor, precomputed: Tensor | None = None) -> Tensor:
        """Bahdanau's additive score of the decoder state against every encoder state.

        Args: ``query`` s (B, Dq); ``keys`` h (B, S, Dk); ``precomputed``: ``self.precompute(keys)``,
        W_h h (B, S, A), computed once per sequence, or None (then compute it here).
        Returns: scores (B, S), score_j = v^T tanh(W_s s + W_h h_j), with ``self.W_s``, ``self.W_h``, ``self.v``.
        """
        # region exercise lab03.attention
        projected_keys = self.W_h(keys) if precomputed is None else precomputed  # (B, S, A)
        return self.v(torch.tanh(self.W_s(query).unsqueeze(1) + projected_keys)).squeeze(-1)  # (B, S)
        # endregion


class DotAttention(_Attention):
    """Luong dot: score(s, h_j) = s^T h_j; ``scaled`` divides by sqrt(D) (Vaswani et al.)."""

    def __init__(self, scaled: bool = False) -> None:
        super().__init__()
        self.scaled = scaled

    def score(self, query: Tensor, keys: Tensor, precomputed: Tensor | None = None) -> Tensor:
        """Luong's dot score of the decoder state against every encoder state.

        Args: ``query`` s (B, D); ``keys`` h (B, S, D) of the same width; ``precomputed`` is unused.
        Returns: scores (B, S), score_j = s^T h_j, divided by sqrt(D) when ``self.scaled``.
        """
        if query.shape[-1] != keys.shape[-1]:
            raise ConfigError(
                f"dot attention needs query and keys of one width, got {query.shape[-1]} and {keys.shape[-1]}; "
                "use general attention (s^T W h) for different widths"
            )
        # region exercise lab03.attention
        scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)  # (B, S)
        return scores / keys.shape[-1] ** 0.5 if self.scaled else scores
        # endregion


class GeneralAttention(_Attention):
    """Luong general: score(s, h_j) = s^T W h_j, W (Dq, Dk)."""

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        self.W = nn.Linear(key_dim, query_dim, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        return self.W(keys)  # (B, S, Dq)

    def score(self, query: Tensor, keys: Tensor, precomputed: Tensor | None = None) -> Tensor:
        projected = self.W(keys) if precomputed is None else precomputed
        return torch.bmm(projected, query.unsqueeze(2)).squeeze(2)
