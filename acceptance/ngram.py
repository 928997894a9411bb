"""Counting baselines for a character LM: interpolated Kneser-Ney n-grams (Kneser & Ney 1995; the interpolated
form of Chen & Goodman 1999, with one discount per order, n1 / (n1 + 2 n2), Ney, Essen & Kneser 1994).

A perplexity means little alone: these say what counting the training text reaches on the same validation
targets as the model (``ngram_losses`` reads the split in the rows ``rnnlab.metrics.evaluate_lm`` reads it in).
Nothing is fitted to the validation text: every count and discount comes from the training text.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.metrics import stream_rows

# The orders the report shows: 1 to 7 characters, the longest past the best on Tiny Shakespeare (6, measured: 1.558
# nats on Lab 01's validation targets; 7: 1.565), where a longer context's counts grow too sparse to help.
ORDERS = tuple(range(1, 8))


def reads(order: int) -> str:
    """What an n-gram model of ``order`` reads before each character, in the report's words."""
    k = order - 1
    return {0: "nothing", 1: "the character before"}.get(k, f"the {k} characters before")


def discount(counts: Tensor) -> float:
    """One order's absolute discount from its own counts of counts: n1 / (n1 + 2 n2) (Ney, Essen & Kneser 1994);
    0.5 where no n-gram was seen once (a training text too short to estimate it)."""
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    return n1 / (n1 + 2 * n2) if n1 else 0.5


def _keys(ids: Tensor, m: int, vocab: int) -> Tensor:
    """Each run of ``m`` consecutive ids along the last dimension as one integer (base ``vocab``)."""
    length = ids.shape[-1] - m + 1
    key = torch.zeros((*ids.shape[:-1], max(length, 0)), dtype=torch.int64)
    if length <= 0:  # shorter than one run
        return key
    for j in range(m):
        key = key * vocab + ids[..., j : j + length].long()
    return key


def _lookup(table: Tensor, values: Tensor, query: Tensor) -> Tensor:
    """``values`` at ``query``'s positions in the sorted ``table``; 0 where a query is absent."""
    if table.numel() == 0:
        return torch.zeros(query.shape, dtype=torch.float64)
    pos = torch.searchsorted(table, query).clamp(max=table.numel() - 1)
    return torch.where(table[pos] == query, values[pos], 0).double()


def ngram_log_probs(train: Tensor, rows: Tensor, order: int, vocab_size: int) -> Tensor:
    """log p(rows[:, t] | the up to ``order`` - 1 characters before it in its row), for t >= 1: shape
    (rows, N - 1), float64. A target with fewer characters before it in its row uses the orders it has."""
    return _kneser_ney(train, rows, (order,), vocab_size)[order].log()


def ngram_losses(train: Tensor, val: Tensor, orders: tuple[int, ...], vocab_size: int, rows: int) -> dict[int, float]:
    """Mean cross-entropy (nats) of each order's Kneser-Ney model on ``val``, read in ``rows`` rows as
    ``evaluate_lm`` reads it: the same targets, each predicted from the characters before it in its row."""
    data = stream_rows(val.reshape(-1).cpu(), rows)
    found = _kneser_ney(train.reshape(-1).cpu(), data, orders, vocab_size)
    return {n: -float(found[n].log().mean()) for n in orders}


def _kneser_ney(train: Tensor, rows: Tensor, orders: tuple[int, ...], vocab_size: int) -> dict[int, Tensor]:
    """p of every target of ``rows`` under each order in ``orders``, in one pass up the orders: order m as the
    highest counts its m-grams, and as a lower order (under m + 1 and above) its continuation counts."""
    top = max(orders)
    if train.numel() < top:
        raise ValueError(
            f"order {top} needs a training text of at least {top} characters, got {train.numel()}: "
            "use a lower order or more text"
        )
    if vocab_size**top >= 2**63:
        raise ValueError(
            f"order {top} over {vocab_size} symbols does not fit the 64-bit keys n-grams are counted by: "
            "use a lower order"
        )
    train = train.reshape(-1)
    lower = torch.full((rows.shape[0], rows.shape[1] - 1), 1.0 / vocab_size, dtype=torch.float64)
    found: dict[int, Tensor] = {}
    grams, counts = torch.unique(_keys(train, 1, vocab_size), return_counts=True)
    for m in range(1, top + 1):
        if m in orders:  # the highest order counts its n-grams
            found[m] = _interpolate(grams, counts, rows, m, vocab_size, lower)
        if m < top:  # a lower one, the distinct characters before each n-gram (its continuation count)
            grams, counts = torch.unique(_keys(train, m + 1, vocab_size), return_counts=True)
            suffixes, continuations = torch.unique(grams % vocab_size**m, return_counts=True)
            lower = _interpolate(suffixes, continuations, rows, m, vocab_size, lower)
    return found


def _interpolate(grams: Tensor, counts: Tensor, rows: Tensor, m: int, vocab_size: int, lower: Tensor) -> Tensor:
    """p at order m of every target of ``rows`` from the m-grams' ``counts``, interpolated with the order below's
    p (``lower``); a target with fewer than m - 1 characters before it in its row, or an unseen context, keeps it."""
    d = discount(counts)
    contexts, which = torch.unique(grams // vocab_size, return_inverse=True)
    total = torch.zeros(contexts.numel(), dtype=torch.int64).index_add_(0, which, counts)
    kinds = torch.bincount(which, minlength=contexts.numel())
    # the targets t >= m - 1 have m - 1 characters before them in their row (t >= 1: a row's first is no target)
    query = _keys(rows, m, vocab_size)[:, max(0, 1 - (m - 1)) :].contiguous()
    c_hw = _lookup(grams, counts, query)
    c_h = _lookup(contexts, total, query // vocab_size)
    n_h = _lookup(contexts, kinds, query // vocab_size)
    below = lower[:, max(m - 2, 0) :]
    p = lower.clone()
    p[:, max(m - 2, 0) :] = torch.where(c_h > 0, ((c_hw - d).clamp(min=0) + d * n_h * below) / c_h.clamp(min=1), below)
    return p
