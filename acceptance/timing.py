"""Timing one training step (forward + backward + Adam) of a recurrent layer.

Shared by the benchmarks (``tox -e bench``, pytest-benchmark) and the acceptance report's
ratio table. ``nn.RNN/LSTM/GRU`` appear here only as the fused baselines being compared to.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from rnnlab.recurrent import Recurrent

FUSED = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}  # benchmark baselines only


def training_step(kind: str, impl: str, hidden: int, batch: int = 64, steps: int = 100,
                  input_size: int | None = None, seed: int = 0) -> Callable[[], None]:
    """A closure running one forward + backward + Adam step on fixed random data."""
    torch.manual_seed(seed)
    input_size = input_size or hidden
    if impl == "scratch":
        layer = Recurrent(kind, input_size, hidden)
    elif impl == "fused":
        layer = FUSED[kind](input_size, hidden, batch_first=True)
    else:
        raise ValueError(f"impl must be 'scratch' or 'fused', got {impl!r}")
    opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
    x = torch.randn(batch, steps, input_size)

    def step() -> None:
        out, _ = layer(x)
        loss = out.square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def interleaved_medians(fns: dict[str, Callable[[], None]], rounds: int = 5, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each function, run round-robin so drift hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(ts) for name, ts in times.items()}
