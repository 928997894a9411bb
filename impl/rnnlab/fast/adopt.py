"""The fast path in a learner's copy: the reference kernels, for a cell only once proven equal to it.

A copy made by ``rnnlab exercise init`` carries no kernels (they spell out every cell's
equations). Its ``.rnnlab-exercise.json`` names the reference package it was made from. The
first time a built-in cell type runs through ``fast_unroll``, this module loads that
reference's kernel for it and compares, in float64 on a padded batch, what the kernel computes
with what the copy's own cell and loop compute: the outputs, the last state, and the gradients
of the input, the initial state and every weight, twice: on small random values, and in the regime
training reaches (weights large enough to saturate the gates, states of magnitude ~100, a 60-step
sequence; issue #34: a cell that clamps its state agreed on small values only). Only if they agree to
rounding in both is the kernel registered; otherwise the learner's cell runs through the plain loop,
exactly as written. ``RNNLAB_AS_WRITTEN=1`` (``rnnlab exercise accept --as-written``) always trains the
learner's code as written. ``decisions()`` says, per cell, which it was and what was checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch

from rnnlab.cells import CELLS
from rnnlab.fast import dispatch

TOLERANCE = 1e-9  # float64, relative to each tensor's largest value: a correct cell and the kernel agree to ~1e-15
# The regime of the second check: weights times WEIGHT_SCALE (gates saturated), inputs times INPUT_SCALE, the first
# state times STATE_SCALE (an LSTM's cell state up to ~100, as Lab 02's trained LSTM reaches), REGIME_STEPS steps.
WEIGHT_SCALE, INPUT_SCALE, STATE_SCALE, REGIME_STEPS = 25.0, 4.0, 40.0, 60
_DECISIONS: dict[str, str] = {}


def reference_package() -> Path | None:
    """The reference ``rnnlab`` this copy was made from (None: this is no learner's copy)."""
    record = Path(__file__).resolve().parents[2] / ".rnnlab-exercise.json"
    if not record.is_file():
        return None
    try:
        made_from = json.loads(record.read_text(encoding="utf-8")).get("made_from")
    except (UnicodeDecodeError, ValueError, AttributeError):  # a damaged record: no kernel stands in, plain loop
        return None
    return Path(made_from) if isinstance(made_from, str) and (Path(made_from) / "fast").is_dir() else None


def _load(name: str, package: Path) -> Any:
    module_name = dispatch.KERNEL_MODULES.get(name)
    if module_name is None:  # a kind with no kernel of its own: the plain loop
        return None
    path = package / "fast" / f"{module_name.rsplit('.', 1)[1]}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None or not path.is_file():
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # its imports (rnnlab.fast.ops, workspace) are the copy's own
    spec.loader.exec_module(module)
    return getattr(module, "FUNCTION", None)


def difference(cell_type: type, function: Any, seed: int = 0, regime: bool = False) -> float:
    """The largest difference, relative to each tensor's largest value, between the plain loop over ``cell_type``
    and ``function`` (outputs, last state, gradients of x, the initial state and every weight), float64, padded
    rows included; ``regime``: in the regime training reaches (``WEIGHT_SCALE`` ...). Raises whatever the cell or
    loop raises (NotImplementedError for a stub)."""
    from rnnlab.padding import lengths_to_mask
    from rnnlab.recurrent import map_state, unroll

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cell = cell_type(5, 4).double()
    steps = REGIME_STEPS if regime else 6
    if regime:
        with torch.no_grad():
            for p in cell.parameters():
                p.mul_(WEIGHT_SCALE)
    x = torch.randn(3, steps, 5, dtype=torch.float64, generator=generator) * (INPUT_SCALE if regime else 1.0)
    x.requires_grad_()
    lengths = torch.tensor([steps, steps // 2, 1])
    state = map_state(
        lambda t: (
            torch.randn(t.shape, dtype=t.dtype, generator=generator) * (STATE_SCALE if regime else 1.0)
        ).requires_grad_(),
        cell.init_state(3, x.detach()),
    )
    weight = torch.randn(3, steps, 4, dtype=torch.float64, generator=generator)

    def run(fast: bool) -> list[torch.Tensor]:
        if fast:
            dispatch.register(cell_type, function)
            try:
                out, last = dispatch.fast_unroll(cell, x, state, lengths)
            finally:
                dispatch._FUNCTIONS.pop(cell_type, None)
        else:
            out, last = unroll(cell, x, state, lengths_to_mask(lengths, steps, x.device))
        tensors = [last] if isinstance(last, torch.Tensor) else list(last)
        loss = (out * weight).sum() + sum(t.square().sum() for t in tensors)
        inputs = [x, *([state] if isinstance(state, torch.Tensor) else state), *cell.parameters()]
        return [out.detach(), *(t.detach() for t in tensors), *torch.autograd.grad(loss, inputs)]

    mine, theirs = run(fast=False), run(fast=True)
    return max(float((a - b).abs().max()) / (1.0 + float(b.abs().max())) for a, b in zip(mine, theirs, strict=True))


def adopt(cell_type: type) -> Any:
    """The Function to run ``cell_type`` with in this copy, or None (the plain loop); decided
    once per cell type (see the module's docstring)."""
    name = next((n for n, t in CELLS.items() if t is cell_type), None)
    if name is None:
        return None
    if name in _DECISIONS:
        return dispatch._FUNCTIONS.get(cell_type)
    if os.environ.get("RNNLAB_AS_WRITTEN", "") not in ("", "0"):
        _DECISIONS[name] = "plain loop: your cell and loop as written, as asked (RNNLAB_AS_WRITTEN=1)"
        return None
    package = reference_package()
    function = _load(name, package) if package is not None else None
    if function is None:
        _DECISIONS[name] = "plain loop: no reference kernel to check against"
        return None
    try:
        diff = difference(cell_type, function)
        regime = difference(cell_type, function, regime=True)
    except NotImplementedError:
        _DECISIONS[name] = "plain loop: the cell (or the loop) is still a stub"
        return None
    except Exception as exc:  # the learner's code fails on its own: the specs will say where
        _DECISIONS[name] = f"plain loop: checking your cell raised {type(exc).__name__}: {exc}"
        return None
    if max(diff, regime) > TOLERANCE:
        where = "on small random values" if diff > TOLERANCE else "where training goes (saturated gates, states ~100)"
        _DECISIONS[name] = (
            f"plain loop: your cell and loop differ from the reference kernel {where}, by up to "
            f"{max(diff, regime):.3g} of the largest value, so they run exactly as written (slower)"
        )
        return None
    dispatch.register(cell_type, function)
    _DECISIONS[name] = (
        "fast path: the reference kernel, checked in this process to compute what your cell and loop compute on "
        f"small random values and where training goes (saturated gates, states ~100, {REGIME_STEPS} steps): largest "
        f"relative difference {max(diff, regime):.1e} in outputs and gradients, float64; not checked on this run's "
        "own batches"
    )
    return function


def decisions() -> dict[str, str]:
    """How each built-in cell runs in this process (deciding for any not yet decided)."""
    for name, cell_type in CELLS.items():
        if cell_type in dispatch._FUNCTIONS and name not in _DECISIONS:
            _DECISIONS[name] = "fast path: this package's own kernel"
        else:
            adopt(cell_type)
    return dict(_DECISIONS)
