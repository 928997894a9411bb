"""Argument checks shared by every config: one wording for one mistake, and the bounds that
keep a typo from becoming an hour of silence or an allocator's error."""

from __future__ import annotations

import math
from typing import Any

import torch

from rnnlab.errors import ConfigError

MAX_LAYERS = 64  # stacked layers; the labs use 1-3 (char-rnn's deepest: 3; GNMT's encoder: 8)
MAX_WIDTH = 65_536  # a hidden or embedding size; one RNN layer this wide holds 8.6e9 weights
# what rnnlab builds at most: 1e9 float32 weights are 16 GB with their gradients and Adam's two moments
MAX_PARAMETERS = 1_000_000_000


def require_positive_ints(owner: str, at_most: int | None = None, **values: object) -> None:
    """Raise ``ValueError("<owner>: <name> must be a positive integer[ up to <at_most>], got <value>")``
    for the first bad value."""
    for name, value in values.items():
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value <= 0
            or (at_most is not None and value > at_most)
        ):
            bound = f" up to {at_most:,}" if at_most is not None else ""
            raise ConfigError(f"{owner}: {name} must be a positive integer{bound}, got {value!r}")


def require_fraction(owner: str, name: str, value: object) -> None:
    """A probability that leaves something: a number in [0, 1)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ConfigError(f"{owner}: {name} must be a number in [0, 1), got {value!r}")


def require_finite_or_none(owner: str, name: str, value: object) -> None:
    if value is not None and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
    ):
        raise ConfigError(f"{owner}: {name} must be a finite number or None, got {value!r}")


def count_parameters(model_cls: Any, config: Any) -> int:
    """The parameters ``model_cls.from_config(config)`` would have, counted on a skeleton without
    storage (torch's meta device): nothing is allocated, whatever the size."""
    with torch.device("meta"):
        return int(sum(p.numel() for p in model_cls.from_config(config).parameters()))
