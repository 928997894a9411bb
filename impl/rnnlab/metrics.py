"""Measurements: perplexity, evaluation over a whole split, gradient norms, English-likeness."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.device import model_device
from rnnlab.errors import ConfigError
from rnnlab.fast import set_fast
from rnnlab.models.charlm import CharLM
from rnnlab.recurrent import detach_state


def perplexity(mean_cross_entropy: float) -> float:
    """exp(mean cross-entropy in nats): the effective number of equally likely next characters.

    Args: ``mean_cross_entropy``, a float in nats. Returns: a float >= 1; ``math.inf`` once exp
    overflows a float (above about 709 nats: a model that bad is no better than infinitely unsure).
    """
    # region exercise lab01.perplexity
    return math.exp(mean_cross_entropy) if mean_cross_entropy < 709.0 else math.inf
    # endregion


def stream_rows(ids: Tensor, rows: int) -> Tensor:
    """Lay a 1-D id stream out as ``rows`` contiguous rows (rows, N // rows); the < rows
    trailing ids that do not fill a row are dropped."""
    n = ids.numel() // rows
    if n < 2:
        raise ConfigError(f"a stream of {ids.numel()} ids is too short for {rows} rows; use fewer rows or more text")
    return ids[: n * rows].view(rows, n)


@torch.no_grad()
def evaluate_lm(model: nn.Module, ids: Tensor, rows: int = 16, window: int = 256, carry: bool = True) -> float:
    """Mean next-character cross-entropy (nats) over a whole split.

    The split is cut into ``rows`` contiguous streams evaluated in parallel, each carrying its
    hidden state from window to window, so every prediction (but the first of each row) sees
    all the text before it in its row. With ``carry=False`` every window of ``window`` targets
    starts from a fresh (zero) state instead, so a prediction sees only the characters since its
    window began: the same targets, scored without the past the carried state brings (what
    truncated BPTT's carried state is worth). A model with a bounded ``context`` and no state
    (the attention LM) is read in sliding windows instead (``_evaluate_windows``).
    """
    context = getattr(model, "context", None)
    if context is not None and not carry:
        raise ConfigError(
            "evaluate_lm: carry=False resets a recurrent state; this model reads a bounded context and carries none"
        )
    was_training = model.training
    model.eval()
    data = stream_rows(ids.to(model_device(model)), rows)  # (rows, N)
    if context is not None:  # a model that reads a bounded window and carries no state
        loss = _evaluate_windows(model, data, context)
        model.train(was_training)
        return loss
    if not carry:
        loss = _evaluate_fresh_windows(model, data, window)
        model.train(was_training)
        return loss
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


def _evaluate_fresh_windows(model: nn.Module, data: Tensor, window: int, batch: int = 512) -> float:
    """Every window of ``window`` targets of each row read from a zero state. No window depends on
    another, so the rows' windows run side by side, ``batch`` at a time (the shorter last ones apart)."""
    x, y = data[:, :-1], data[:, 1:]  # (rows, M) inputs and their next characters
    whole = y.shape[1] // window * window
    parts = [(x[:, :whole].reshape(-1, window), y[:, :whole].reshape(-1, window))] if whole else []
    if whole < y.shape[1]:
        parts.append((x[:, whole:], y[:, whole:]))
    total, count = 0.0, 0
    for inputs, targets in parts:
        for xs, ys in zip(inputs.split(batch), targets.split(batch), strict=True):
            logits, _ = model(xs)  # no state: zeros
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1), reduction="sum"))
            count += ys.numel()
    return total / count


def _evaluate_windows(model: nn.Module, data: Tensor, context: int) -> float:
    """Sliding windows of ``context`` characters, half a window apart: the first window scores
    every position, each later one only its last half, so every target is scored once and
    (past the first window) sees at least ``context // 2`` characters before it."""
    stride = max(1, context // 2)
    N = data.shape[1]
    total, count, first, start = 0.0, 0, 1, 0  # first: the next target index not yet scored
    while first < N:
        x = data[:, start : start + context]
        y = data[:, start + 1 : start + 1 + context]
        logits, _ = model(x[:, : y.shape[1]])
        skip = first - (start + 1)  # positions an earlier window already scored
        tail = logits[:, skip:]
        total += float(F.cross_entropy(tail.reshape(-1, tail.shape[-1]), y[:, skip:].reshape(-1), reduction="sum"))
        count += y[:, skip:].numel()
        first = start + 1 + y.shape[1]
        start += stride
    return total / count


def grad_norms_through_time(model: CharLM, idx: Tensor, target: Tensor) -> Tensor:
    """||dL_T / dh_t|| against the distance T - 1 - t, averaged over the batch.

    ``idx`` (B, T) is read by a one-layer character LM; L_T is the cross-entropy of its
    prediction at the *last* step against ``target`` (B,), *summed* over the batch
    (``reduction="sum"``), so sample b's loss reaches only sample b's states and dL_T/dh_t[b]
    is that sample's own gradient (a mean over the batch would make every entry B times
    smaller). Returns a (T,) tensor whose entry k is the mean over the batch of the per-sample
    norms ||dL_T / dh_{T-1-k}[b]||: entry 0 is the last step, entry 50 is fifty steps back. A vanilla RNN multiplies by W_hh^T diag(1 - h^2) at every step
    back, so its entries shrink geometrically (vanishing gradients); the LSTM's additive
    cell-state path and the GRU's gated carry keep them larger.
    """
    if len(model.rnn.cells) != 1:
        raise ConfigError("grad_norms_through_time measures a one-layer, one-direction model")
    cell = model.rnn.cell_at(0)
    device = model_device(model)
    idx, target = idx.to(device), target.to(device)
    B, T = idx.shape
    # region exercise lab02.grad_flow
    x_proj = cell.ih(model.embedding(idx))  # (B, T, G*H)
    state = cell.init_state(B, x_proj)
    hs = []
    for t in range(T):
        h, state = cell.step(x_proj[:, t], state)  # h is the same tensor the next step reads
        hs.append(h)
    # sum, not mean: sample b's loss then reaches only sample b's states
    loss = F.cross_entropy(model.head(hs[-1]), target, reduction="sum")
    grads = torch.autograd.grad(loss, hs)  # dL_T/dh_t for every t, through every path
    norms = torch.stack([g.norm(dim=1).mean() for g in grads])  # (T,), index t
    return norms.flip(0).detach()  # index k = distance back from the last step
    # endregion


@torch.no_grad()
def loss_by_context(
    model: nn.Module,
    ids: Tensor,
    lengths: Sequence[int] = tuple(2**k for k in range(10)),
    positions: int = 3000,
    seed: int = 0,
    batch: int = 250,
) -> dict[int, float]:
    """How much of the past ``model`` uses: for each L in ``lengths``, the mean cross-entropy
    (nats) of predicting ``ids[p]`` from ``ids[p-L:p]`` alone, from a fresh (zero) state.

    The same ``positions`` targets p (drawn with ``seed``, all at least max(lengths) into the
    text) serve every L, so the curve compares like with like; a model that uses more of the
    past keeps improving to larger L. ``batch`` windows run at a time (memory). A model with a
    bounded ``context`` (the attention LM) given more reads the last ``context`` characters, as
    it would in use, so its curve is flat beyond its window by construction."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    ids = ids.to(device)
    longest = max(lengths)
    if ids.numel() <= longest:
        raise ConfigError(f"the text ({ids.numel()} ids) must be longer than the longest context ({longest})")
    context = getattr(model, "context", None)
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(longest, ids.numel(), (positions,), generator=generator).to(device)
    curve: dict[int, float] = {}
    by_window: dict[int, float] = {}  # a bounded-window model reads the same windows for every L past it
    for L in lengths:
        read = min(L, context) if context is not None else L
        if read in by_window:
            curve[L] = by_window[read]
            continue
        total = 0.0
        for chunk in targets.split(batch):
            windows = ids[chunk.unsqueeze(1) - L + torch.arange(L, device=device)]  # (b, L)
            if context is not None:  # a bounded-window model reads only the last `context` of them
                windows = windows[:, -context:]
            logits, _ = model(windows)
            total += float(F.cross_entropy(logits[:, -1], ids[chunk], reduction="sum"))
        curve[L] = by_window[read] = total / positions
    model.train(was_training)
    return curve


def effective_context(curve: dict[int, float], tolerance: float = 0.01) -> int:
    """The smallest context length whose loss is within ``tolerance`` (relative) of the loss at
    the longest length measured: how far back the model's use of the past reaches."""
    if not curve:
        raise ConfigError("effective_context needs a curve with at least one length")
    reference = curve[max(curve)]
    return min(L for L, loss in curve.items() if loss <= (1 + tolerance) * reference)


@torch.no_grad()
def copy_gain(
    model: nn.Module,
    ids: Tensor,
    window: int,
    span: int = 16,
    distances: Sequence[int] = (0, 8, 16, 32, 64),
    positions: int = 1000,
    seed: int = 0,
    batch: int = 250,
) -> dict[int, tuple[float, float, float]]:
    """How well ``model`` reuses an exact earlier copy of what it is reading (in-context copying).

    For each target span S = ``ids[p : p + span]`` (the same ``positions`` spans, drawn with
    ``seed``, serve every distance), the model reads the ``window + 1`` characters of text that
    end with S, from a fresh (zero) state, twice. Both times the ``span`` characters that end
    ``d`` characters before S begins are overwritten: once with another span F of the text
    (``ids[q : q + span]``, q drawn with the same generator), once with S itself. Everything else
    is the same text in the same places, and both overwrite the same natural context, so the two
    losses on S differ only by whether the earlier span is S: what an exact earlier copy is worth
    to the model at distance ``d``.

    Returns ``{d: (other, copied, se)}``: the mean cross-entropy (nats) of S's characters
    2 .. span (the first cannot be inferred from the copy) after F and after the copy, and the
    standard error of the gain ``other - copied`` over the spans (their sample standard
    deviation / sqrt(positions): a gain within about two of it could be chance). A model that
    reads only its last character gains nothing at any distance; one that can look back to the
    copy can predict the repeat almost exactly."""
    if span < 2:
        raise ConfigError(f"copy_gain needs a span of at least 2 characters, got {span}")
    if not distances:
        raise ConfigError("copy_gain needs at least one distance")
    longest = max(distances) + 2 * span
    if min(distances) < 0 or longest > window:
        raise ConfigError(
            f"copy_gain: the copy and the span ({span} characters each) with {max(distances)} characters "
            f"between them need {longest} of the {window}-character window; use shorter distances or a "
            "longer window"
        )
    context = getattr(model, "context", None)
    if context is not None and window > context:
        raise ConfigError(f"copy_gain: a window of {window} exceeds the model's context ({context})")
    if ids.numel() <= window + span:
        raise ConfigError(
            f"the text ({ids.numel()} ids) must be longer than the window plus the span ({window + span})"
        )
    was_training = model.training
    model.eval()
    device = model_device(model)
    ids = ids.to(device)
    generator = torch.Generator().manual_seed(seed)
    # p: where S starts; the read text is ids[p + span - window - 1 : p + span]
    starts = torch.randint(window + 1 - span, ids.numel() - span + 1, (positions,), generator=generator).to(device)
    others = torch.randint(0, ids.numel() - span + 1, (positions,), generator=generator).to(device)
    offsets = torch.arange(window + 1, device=device)
    at = window + 1 - span  # where S starts inside the read text
    result: dict[int, tuple[float, float, float]] = {}
    for d in distances:
        per_span: list[list[Tensor]] = [[], []]  # each span's mean loss on S[1:], after F and after S
        for chunk, other in zip(starts.split(batch), others.split(batch), strict=True):
            other_text = ids[chunk.unsqueeze(1) - at + offsets]  # (b, window + 1), S at its end
            copied = other_text.clone()
            slot = slice(at - d - span, at - d)
            other_text[:, slot] = ids[other.unsqueeze(1) + torch.arange(span, device=device)]  # F
            copied[:, slot] = copied[:, at:]  # S
            for k, text in enumerate((other_text, copied)):
                logits, _ = model(text[:, :-1])
                scored = logits[:, at:]  # predictions of S[1:] (position t predicts character t + 1)
                losses = F.cross_entropy(scored.transpose(1, 2), text[:, at + 1 :], reduction="none")  # (b, span - 1)
                per_span[k].append(losses.double().mean(dim=1))
        after_other, after_copy = (torch.cat(v) for v in per_span)
        gains = after_other - after_copy
        se = float(gains.std() / math.sqrt(positions)) if positions > 1 else math.nan
        result[d] = (float(after_other.mean()), float(after_copy.mean()), se)
    model.train(was_training)
    return result


def sequential_depth(model: nn.Module, length: int) -> int:
    """The longest chain of dependent operations in one forward pass of ``model`` over ``length``
    characters: the operations that must run one after another however many processors there
    are ("sequential operations", Vaswani et al. 2017, Table 1: O(n) for a recurrent layer, O(1)
    for self-attention). Counted as the longest path through the autograd graph, from the
    parameters to the summed logits, on a copy with the fast path off (its kernels fold a
    whole sequence into one node; the function is the same) and in eval mode."""
    probe = set_fast(copy.deepcopy(model), False).eval()
    ids = torch.zeros(1, length, dtype=torch.long, device=model_device(model))
    with torch.enable_grad():
        out = probe(ids)
        logits = out[0] if isinstance(out, tuple) else out
        root = logits.sum().grad_fn
    depth: dict[Any, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:  # iterative post-order: a recurrence over 1,000 steps is 10,000 nodes deep
        node, expanded = stack.pop()
        if node is None or node in depth:
            continue
        children = [child for child, _ in node.next_functions if child is not None]
        if expanded:
            depth[node] = 1 + max((depth[c] for c in children), default=0)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if child not in depth)
    return depth[root] if root is not None else 0
