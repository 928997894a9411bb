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
exactly as written. Once registered, the kernel is checked again on the states the run itself visits
(``agrees_here``): its first call, and the calls after ``check_next`` (the training loop asks at every
evaluation and after it: the real batches at intervals, and the trained model at the end), in the run's
own dtype. A difference there takes the kernel out: a training run in progress starts again from its
beginning with the learner's cell and loop as written (``as_written_on_mismatch``; issue #34), and the
report says why. ``RNNLAB_AS_WRITTEN=1`` (``rnnlab exercise accept --as-written``) always trains the
learner's code as written. ``decisions()`` says, per cell, which it was and what was checked.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

from rnnlab.cells import CELLS
from rnnlab.fast import dispatch

TOLERANCE = 1e-9  # float64, relative to each tensor's largest value: a correct cell and the kernel agree to ~1e-15
# The same in the run's own dtype, on its own states: float32 rounding in a different order. Measured with every
# exercise written as the reference has it, Lab 02's sizes (RNN 400, LSTM 192, GRU 224), 64 x 64 batches, 300 steps:
# at most 1.2e-6 at any check; a changed equation differs by orders of magnitude more.
RUN_TOLERANCE = 1e-4
# The regime of the second check: weights times WEIGHT_SCALE (gates saturated), inputs times INPUT_SCALE, the first
# state times STATE_SCALE (an LSTM's cell state up to ~100, as Lab 02's trained LSTM reaches), REGIME_STEPS steps.
WEIGHT_SCALE, INPUT_SCALE, STATE_SCALE, REGIME_STEPS = 25.0, 4.0, 40.0, 60
_DECISIONS: dict[str, str] = {}
CHECKED_AGAIN = "; and checked again on the run's own batches"  # how a kernel's verdict ends (the report adds counts)


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
    from rnnlab.recurrent import map_state

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
    state = map_state(
        lambda t: torch.randn(t.shape, dtype=t.dtype, generator=generator) * (STATE_SCALE if regime else 1.0),
        cell.init_state(3, x),
    )
    return run_difference(cell, x, state, torch.tensor([steps, steps // 2, 1]), function)


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
            f"plain loop: your cell and loop differ from the reference kernel {where}: largest relative difference "
            f"{max(diff, regime):.3g}, so they run exactly as written (slower)"
        )
        return None
    dispatch.register(cell_type, function)
    dispatch.ADOPTED.add(cell_type)
    _DECISIONS[name] = (
        "fast path: the reference kernel, checked in this process to compute what your cell and loop compute on "
        f"small random values and where training goes (saturated gates, states ~100, {REGIME_STEPS} steps): largest "
        f"relative difference {max(diff, regime):.1e} in outputs and gradients, float64{CHECKED_AGAIN}"
    )
    return function


class KernelMismatch(RuntimeError):
    """The reference kernel standing in for a learner's cell computed something else on a training run's own
    states: the run starts again with the learner's code as written (``as_written_on_mismatch``)."""


_CALLS: dict[type, int] = {}  # cell type -> calls through the kernel so far in this process
_DUE: set[type] = set()  # cell types whose next call is checked (``check_next``)
_TRAINING = [0]  # training runs in progress in this process (``as_written_on_mismatch``)
LOG_VARIABLE = "RNNLAB_KERNEL_LOG"  # a file each process appends its checks to (the harness's report reads it)


def check_next() -> None:
    """Check the next call of every cell the reference's kernel runs here against the learner's cell and loop."""
    _DUE.update(dispatch.ADOPTED)


def _log(entry: dict[str, Any]) -> None:
    path = os.environ.get(LOG_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as log:  # one short line per write: whole lines side by side
            log.write(json.dumps(entry) + "\n")


def run_difference(cell: Any, x: torch.Tensor, state: Any, lengths: torch.Tensor | None, function: Any) -> float:
    """The largest difference, relative to each tensor's largest value, between ``function`` and the learner's
    cell and loop on the given input, state and weights, in their dtype: outputs, last state, and the gradients
    of the input, the state and every weight of a fixed random projection of them (padded rows included, where
    ``lengths`` marks some). ``difference`` calls it on made-up values, ``agrees_here`` on a run's own."""
    from rnnlab.padding import lengths_to_mask
    from rnnlab.recurrent import map_state, unroll

    B, T, _ = x.shape
    with torch.enable_grad():
        xd = x.detach().requires_grad_()
        sd = map_state(lambda t: t.detach().requires_grad_(), state) if state is not None else None
        leaves = [xd, *(t for t in ([sd] if isinstance(sd, torch.Tensor) else (sd or ())) if t.requires_grad)]
        params = list(cell.parameters())
        generator = torch.Generator().manual_seed(0)

        def run(fast: bool) -> list[torch.Tensor]:
            if fast:
                out, last = dispatch.kernel_unroll(cell, xd, sd, lengths, function)
            else:
                out, last = unroll(cell, xd, sd, None if lengths is None else lengths_to_mask(lengths, T, x.device))
            tensors = [last] if isinstance(last, torch.Tensor) else list(last)
            weight = torch.randn(out.shape, generator=generator).to(out)
            loss = (out * weight).sum() + sum(t.square().sum() for t in tensors)
            grads = torch.autograd.grad(loss, [*leaves, *params], allow_unused=True)
            return [out.detach(), *(t.detach() for t in tensors), *(g for g in grads if g is not None)]

        mine = run(fast=False)
        generator.manual_seed(0)
        theirs = run(fast=True)
    return max(float((a - b).abs().max()) / (1.0 + float(b.abs().max())) for a, b in zip(mine, theirs, strict=True))


def agrees_here(cell: Any, x: torch.Tensor, state: Any, lengths: torch.Tensor | None, function: Any) -> bool:
    """Whether the reference's kernel may run this call of a learner's cell: yes unless this call is one that is
    checked (the first, and those ``check_next`` asks for) and there the kernel computes something else than the
    learner's cell and loop. A difference takes the kernel out for good; inside a training run
    (``as_written_on_mismatch``) it raises ``KernelMismatch``, so that the run starts again as written."""
    cell_type = type(cell)
    calls = _CALLS[cell_type] = _CALLS.get(cell_type, 0) + 1
    if calls > 1 and cell_type not in _DUE:
        return True
    _DUE.discard(cell_type)
    name = next((n for n, t in CELLS.items() if t is cell_type), cell_type.__name__)
    diff = run_difference(cell, x, state, lengths, function)
    B, T, _ = x.shape
    if diff <= RUN_TOLERANCE:
        _log({"cell": name, "checked": 1, "difference": diff})
        return True
    dispatch._FUNCTIONS.pop(cell_type, None)
    dispatch.ADOPTED.discard(cell_type)
    _DECISIONS[name] = (
        f"plain loop: your cell and loop differ from the reference kernel on this run's own states (a {B} x {T} "
        f"batch, {x.dtype}): largest relative difference {diff:.3g} (rounding gives under {RUN_TOLERANCE:g}), so "
        "they train exactly as written, from the run's start (slower)"
    )
    _log({"cell": name, "mismatch": _DECISIONS[name], "difference": diff})
    if _TRAINING[0]:
        raise KernelMismatch(_DECISIONS[name])
    return False


T = TypeVar("T")


def as_written_on_mismatch(model: torch.nn.Module, train: Callable[[], T], say: Callable[[str], None]) -> T:
    """``train()``; where a reference kernel standing in for a learner's cell turns out to differ from it on the
    run's own states (``KernelMismatch``), the model's weights and every random generator are put back as they were
    when it began, and ``train()`` runs again, the learner's cell now as written (``say`` tells why)."""
    if reference_package() is None:  # the reference itself (or an installed rnnlab): its own kernels, nothing to check
        return train()
    from rnnlab.device import rng_state, set_rng_state

    weights, generators = copy.deepcopy(model.state_dict()), rng_state()
    while True:
        _TRAINING[0] += 1
        try:
            return train()
        except KernelMismatch as exc:
            model.load_state_dict(weights)
            set_rng_state(generators)
            say(f"{exc}; training again from step 0")
        finally:
            _TRAINING[0] -= 1


def decisions() -> dict[str, str]:
    """How each built-in cell runs in this process (deciding for any not yet decided)."""
    for name, cell_type in CELLS.items():
        if cell_type in dispatch._FUNCTIONS and name not in _DECISIONS:
            _DECISIONS[name] = "fast path: this package's own kernel"
        else:
            adopt(cell_type)
    return dict(_DECISIONS)
