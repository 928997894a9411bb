"""Measurements: perplexity, evaluation over a whole split, gradient norms, English-likeness."""
from __future__ import annotations

import math
import re
from collections.abc import Iterable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.recurrent import detach_state

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def perplexity(mean_cross_entropy: float) -> float:
    """exp(mean cross-entropy in nats): the effective number of equally likely next characters."""
    # region exercise lab01.perplexity
    return math.exp(mean_cross_entropy)
    # endregion


def global_grad_norm(parameters: Iterable[nn.Parameter]) -> float:
    """sqrt(sum over all parameters of ||grad||^2) — the quantity clipping bounds."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    return math.sqrt(sum(float(g.detach().double().pow(2).sum()) for g in grads))


def stream_rows(ids: Tensor, rows: int) -> Tensor:
    """Lay a 1-D id stream out as ``rows`` contiguous rows (rows, N // rows); the < rows
    trailing ids that do not fill a row are dropped."""
    n = ids.numel() // rows
    if n < 2:
        raise ValueError(
            f"a stream of {ids.numel()} ids is too short for {rows} rows; use fewer rows or more text"
        )
    return ids[: n * rows].view(rows, n)


@torch.no_grad()
def evaluate_lm(model: nn.Module, ids: Tensor, rows: int = 16, window: int = 256) -> float:
    """Mean next-character cross-entropy (nats) over a whole split.

    The split is cut into ``rows`` contiguous streams evaluated in parallel, each carrying its
    hidden state from window to window, so every prediction (but the first of each row) sees
    all the text before it in its row.
    """
    was_training = model.training
    model.eval()
    data = stream_rows(ids, rows)  # (rows, N)
    total, count, state = 0.0, 0, None
    for start in range(0, data.shape[1] - 1, window):
        x = data[:, start : start + window]
        y = data[:, start + 1 : start + 1 + window]
        x = x[:, : y.shape[1]]
        logits, state = model(x, state)
        state = detach_state(state)
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
        count += y.numel()
    model.train(was_training)
    return total / count


def words(text: str) -> list[str]:
    """Lower-cased words: runs of letters, with an inner apostrophe allowed (o'er, 'tis -> tis)."""
    return [w.lower() for w in _WORD.findall(text)]


def known_word_share(text: str, vocabulary: set[str]) -> float:
    """The share of the words in ``text`` that occur in ``vocabulary`` (0.0 for no words)."""
    found = words(text)
    if not found:
        return 0.0
    return sum(w in vocabulary for w in found) / len(found)
