"""Devices and random-number state: where a model runs, and how to make a run repeatable.

``resolve_device("auto")`` picks CUDA, then Apple's MPS, then the CPU. Every function that
takes a model moves its own inputs to the model's device (``model_device``), so training,
sampling, evaluation and translation share one code path on every device.

``rng_state()`` / ``set_rng_state()`` capture and restore every generator a run draws from
(torch's CPU and CUDA generators, numpy's, Python's) in a form a ``weights_only`` checkpoint
can hold, so a resumed run continues the same random stream.
"""

from __future__ import annotations

import random
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from rnnlab.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """ "auto" -> cuda, else mps, else cpu; a named device that is not there is a ValueError."""
    if name not in DEVICES:
        raise ConfigError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested, but torch sees no CUDA GPU here; use --device cpu (or auto)")
    if name == "mps" and not _mps_available():
        raise ConfigError(
            "device 'mps' requested, but torch sees no Apple MPS backend here; use --device cpu (or auto)"
        )
    return torch.device(name)


def model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def rng_state() -> dict[str, Any]:
    """Every generator's state, as tensors and plain Python values (weights_only-safe)."""
    kind, keys, pos, has_gauss, cached = cast(tuple[str, Any, int, int, float], np.random.get_state())
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def python_random_state(saved: Any) -> tuple[Any, ...]:
    """A saved ``random.getstate()`` back in the form ``setstate`` takes (a checkpoint turns
    its inner tuple into a list)."""
    version, internal, gauss = saved
    return version, tuple(internal), gauss


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    random.setstate(python_random_state(state["python"]))
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
