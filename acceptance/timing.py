"""Timing one training step (forward + backward + Adam) of a recurrent layer.

Shared by the benchmarks (``tox -e bench``, pytest-benchmark) and the acceptance report's
ratio table. ``nn.RNN/LSTM/GRU`` appear here only as the fused baselines being compared to.
"""

from __future__ import annotations

import ctypes
import gc
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import torch

from rnnlab.cells import MODEL_KINDS
from rnnlab.fast import release_workspace
from rnnlab.models import CharLM
from rnnlab.models.attention_lm import AttentionLM
from rnnlab.recurrent import Recurrent

K = TypeVar("K")  # how a timed function is named

IMPLS = ("fast", "plain", "fused")  # rnnlab.fast, the readable loop over rnnlab.cells, torch's kernels


def impls(kind: str) -> tuple[str, ...]:
    """The implementations ``kind`` can be timed in: "fused" only where it has a torch baseline."""
    return IMPLS if MODEL_KINDS[kind].fused else IMPLS[:2]


def training_step(
    kind: str, impl: str, hidden: int, batch: int = 64, steps: int = 100, input_size: int | None = None, seed: int = 0
) -> Callable[[], None]:
    """A closure running one forward + backward + Adam step on fixed random data.

    ``impl``: "fast" (``rnnlab.fast``, what the labs train with), "plain" (the readable
    per-step loop learners write) or "fused" (torch's ``nn.RNN/LSTM/GRU``)."""
    torch.manual_seed(seed)
    input_size = input_size or hidden
    if impl in ("fast", "plain"):
        layer = Recurrent(kind, input_size, hidden, fast=impl == "fast")
    elif impl == "fused":
        fused = MODEL_KINDS[kind].fused
        if fused is None:
            raise ValueError(f"cell kind {kind!r} has no fused torch baseline to time")
        layer = getattr(torch.nn, fused)(input_size, hidden, batch_first=True)  # the baseline compared to
    else:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
    x = torch.randn(batch, steps, input_size)

    def step() -> None:
        out, _ = layer(x)
        loss = out.square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def lm_step(model: CharLM | AttentionLM, batch: int, steps: int, seed: int = 0) -> Callable[[], None]:
    """A closure running one training step of a language model (forward, cross-entropy,
    backward, Adam) on ``batch`` x ``steps`` random character ids, on the model's device
    (synchronised, so a GPU step is timed to its end)."""
    device = next(model.parameters()).device
    vocab = model.head.out_features
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, vocab, (batch, steps + 1), generator=gen).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        logits, _ = model(idx[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), idx[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step


def matmul_floor(
    kind: str, hidden: int, batch: int = 64, steps: int = 100, input_size: int | None = None, seed: int = 0
) -> Callable[[], None]:
    """A closure running only the matrix products one training step cannot do without, at the
    step's shapes, with the same BLAS calls: the input projection of every step, T recurrent
    products forward and T backward, and the two weight gradients (dL/dx is skipped, as the
    benchmark's input needs no gradient). Both the fast path and torch's fused layers do at
    least these, so their time is a floor for both: fast / fused cannot go below
    floor / fused, whatever the elementwise work costs."""
    gen = torch.Generator().manual_seed(seed)
    input_size = input_size or hidden
    rows, g = steps * batch, MODEL_KINDS[kind].cell.gates * hidden  # weight rows per hidden unit
    x, h_all = torch.randn(rows, input_size, generator=gen), torch.randn(rows, hidden, generator=gen)
    w_ih, w_hh = torch.randn(g, input_size, generator=gen), torch.randn(g, hidden, generator=gen)
    bias, d_pre = torch.randn(g, generator=gen), torch.randn(steps, batch, g, generator=gen)
    pre, dh = torch.empty(steps, batch, g), torch.empty(batch, hidden)
    w_hh_t = w_hh.t().contiguous()

    def products() -> None:
        torch.addmm(bias, x, w_ih.t(), out=pre.view(rows, g))
        for t in range(steps):
            pre[t].addmm_(h_all[t * batch : (t + 1) * batch], w_hh_t)
        for t in range(steps):
            torch.mm(d_pre[t], w_hh, out=dh)
        flat = d_pre.view(rows, g).t()
        flat.mm(x)  # dL/dW_ih
        flat.mm(h_all)  # dL/dW_hh

    return products


def interleaved_medians(fns: Mapping[K, Callable[[], None]], rounds: int = 5, warmup: int = 1) -> dict[K, float]:
    """Median seconds per call of each function, run round-robin so drift hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[K, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _release_free_memory() -> None:
    """Hand memory the allocator keeps free back to the OS (glibc malloc_trim), so that the
    next step's allocations show up as resident-set growth instead of reusing old pages.
    The fast path's kept buffers are dropped too, so its step is charged for them."""
    release_workspace()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_rss_mib(fn: Callable[[], None]) -> float | None:
    """Peak resident memory added while ``fn`` runs, in MiB. Linux only (None elsewhere):
    returns free heap pages to the OS, resets the high-water mark (VmHWM) through
    /proc/self/clear_refs, runs ``fn``, and reads VmHWM minus VmRSS before."""
    _release_free_memory()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    before = _status_kib("VmRSS")
    fn()
    peak = _status_kib("VmHWM")
    if before is None or peak is None:
        return None
    return max(0, peak - before) / 1024
