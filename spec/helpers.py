"""Assertions whose failure messages teach: what was computed, what was expected, and why."""
from __future__ import annotations

import numpy as np
import torch


def as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def assert_matches(actual, expected, *, what: str, rule: str, atol: float = 1e-9, rtol: float = 1e-7) -> None:
    """Fail with the largest error, where it is, and the rule the values should obey."""
    a, e = as_numpy(actual), as_numpy(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: expected shape {e.shape}, got {a.shape}. {rule}")
    if not np.isfinite(a).all():
        raise AssertionError(f"{what}: got non-finite values (nan or inf). {rule}")
    err = np.abs(a - e)
    bound = atol + rtol * np.abs(e)
    if (err > bound).any():
        where = np.unravel_index(np.argmax(err - bound), err.shape)
        raise AssertionError(
            f"{what}: max error {err.max():.3g} at index {tuple(int(i) for i in where)} "
            f"(got {a[where]:.6g}, expected {e[where]:.6g}). {rule}"
        )
