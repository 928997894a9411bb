"""Right-padded batches: which steps of each row are real."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def lengths_to_mask(lengths: Tensor, steps: int, device: torch.device | str | None = None) -> Tensor:
    """(B,) lengths -> (B, steps) bool mask, True where step t < the row's length."""
    device = lengths.device if device is None else device
    return torch.arange(steps, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)


def by_length(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """The indices of ``texts`` in batches of ``batch_size``, shortest first, so that each batch
    pads to little more than its own longest text. Padding never reaches a row's state or its
    attention, so the order changes the work done (a random batch of dates pads to about 200
    characters), not a prediction."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
