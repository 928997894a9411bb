"""Gradient clipping by global norm, written out."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from rnnlab.errors import ConfigError


def clip_grad_norm(parameters: Iterable[nn.Parameter], max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Args: ``parameters`` (an iterable: read it once), ``max_norm`` > 0.
    Returns: the norm *before* clipping, sqrt(sum over every gradient of ||g||^2), as a float
    (what to log: a spike here is an exploding gradient). If it exceeds ``max_norm``, every
    gradient is multiplied in place by max_norm / (norm + 1e-6), as ``torch.nn.utils.clip_grad_norm_`` does.
    """
    if not max_norm > 0:
        raise ConfigError(f"max_norm must be > 0, got {max_norm}")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    # region exercise lab01.clipping
    total = math.sqrt(sum(float(g.detach().double().pow(2).sum()) for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        with torch.no_grad():
            for g in grads:
                g.mul_(scale)
    return total
    # endregion
