"""Right-padded batches: which steps of each row are real."""

from __future__ import annotations

import torch
from torch import Tensor


def lengths_to_mask(lengths: Tensor, steps: int, device: torch.device | str | None = None) -> Tensor:
    """(B,) lengths -> (B, steps) bool mask, True where step t < the row's length."""
    device = lengths.device if device is None else device
    return torch.arange(steps, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)
