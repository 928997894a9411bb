"""The acceptance harness on a learner's code: ``RNNLAB_IMPL=DIR tox -e acceptance``.

With ``RNNLAB_IMPL`` naming a copy made by ``rnnlab exercise init DIR``, the harness trains the
labs with *that* copy's ``rnnlab`` (the learner's cells, loop, clipping, attention, ...), by
putting ``DIR`` first on ``sys.path`` before anything imports ``rnnlab`` (``activate``).

- A lab whose training calls an exercise that is still a stub is not attempted: its criteria
  are listed as such in the report, not as failures (``require``, ``LAB_NEEDS``).
- The copy carries no fast kernels (they spell out every cell's equations). For each built-in
  cell, the reference kernel is checked here, in the run, against the learner's own cell and
  loop (outputs and every gradient, float64, padded rows included); only if they agree is it
  registered for that cell, so the function trained is the learner's, computed faster.
  Otherwise the learner's cell trains as written, through the plain loop (``verify_kernels``).

Nothing here imports ``rnnlab`` at module level: ``activate`` must run first.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "impl"
NOT_ATTEMPTED = "not attempted:"  # how a skipped lab test's reason starts (conftest turns it into report rows
KERNEL_TOLERANCE = 1e-9  # float64: the reference kernel and a correct cell agree to rounding (~1e-15)

# The exercises each lab's training and measurements call (a stub among them: the lab is not attempted).
LAB_NEEDS: dict[str, tuple[str, ...]] = {
    "lab01": ("lab01.rnn_cell", "lab01.unroll", "lab01.tbptt", "lab01.clipping", "lab01.perplexity", "lab01.sampling"),
    "lab02": (
        "lab01.rnn_cell",
        "lab01.unroll",
        "lab01.tbptt",
        "lab01.clipping",
        "lab01.perplexity",
        "lab02.lstm_cell",
        "lab02.gru_cell",
        "lab02.grad_flow",
    ),
    "lab03": ("lab01.unroll", "lab01.clipping", "lab02.gru_cell", "lab03.dates", "lab03.attention", "lab03.seq2seq"),
}


@dataclass
class Learner:
    directory: Path
    stubbed: list[str] = field(default_factory=list)  # exercise ids still stubs, curriculum order
    recurrence: dict[str, str] = field(default_factory=dict)  # cell -> how it trains (fast path or plain loop)


_STATE: dict[str, Learner | None] = {"learner": None}


def directory() -> Path | None:
    value = os.environ.get("RNNLAB_IMPL")
    return Path(value).expanduser().resolve() if value else None


def activate(path: Path | None = None) -> Learner | None:
    """Make ``import rnnlab`` find the learner's copy at ``path`` (default: ``RNNLAB_IMPL``;
    no-op without either)."""
    path = path or directory()
    if path is None:
        return None
    if not (path / "rnnlab" / "__init__.py").is_file():
        raise pytest.UsageError(f"{path}: no rnnlab package there; create one with `rnnlab exercise init {path}`")
    loaded = sys.modules.get("rnnlab")
    if loaded is not None and Path(loaded.__file__ or "").parent != path / "rnnlab":
        raise pytest.UsageError(
            "rnnlab was imported before RNNLAB_IMPL took effect; the harness would train the wrong code"
        )
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    from rnnlab import exercise

    learner = Learner(path, stubbed=exercise.stubbed(path))
    _STATE["learner"] = learner
    return learner


def current() -> Learner | None:
    return _STATE["learner"]


def require(lab: str) -> None:
    """Skip ``lab`` (all its criteria) when an exercise its training calls is still a stub."""
    learner = current()
    if learner is None:
        return
    from rnnlab.exercise import BY_ID

    missing = [BY_ID[e] for e in LAB_NEEDS[lab] if e in learner.stubbed]
    if missing:
        names = "; ".join(f"{e.number} {e.title}" for e in missing)
        pytest.skip(f"{NOT_ATTEMPTED} needs {names} (still stubbed in {learner.directory})")


def _reference_kernel(name: str) -> Any:
    """The reference package's Function for cell ``name``, loaded into the copy's ``rnnlab.fast``
    (its imports, ``rnnlab.fast.ops`` and ``workspace``, are the copy's own: not exercises)."""
    from rnnlab.fast.dispatch import KERNEL_MODULES

    module_name = KERNEL_MODULES[name]
    path = REFERENCE / Path(*module_name.split(".")).with_suffix(".py")
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None, f"no reference kernel at {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module.FUNCTION


def kernel_difference(cell_type: type, function: Any, seed: int = 0) -> float:
    """The largest difference between the learner's loop over ``cell_type`` and ``function``
    (outputs, last state, gradients of x, the initial state and every weight), in float64 on a
    padded batch. Raises NotImplementedError where the learner's cell or loop is a stub."""
    import torch

    from rnnlab.fast import dispatch
    from rnnlab.padding import lengths_to_mask
    from rnnlab.recurrent import map_state, unroll

    torch.manual_seed(seed)
    cell = cell_type(5, 4).double()
    x = torch.randn(3, 6, 5, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([6, 3, 1])
    state = map_state(lambda t: t.normal_().requires_grad_(), cell.init_state(3, x))
    weight = torch.randn(3, 6, 4, dtype=torch.float64)

    def run(fast: bool) -> list[torch.Tensor]:
        if fast:
            dispatch.register(cell_type, function)
            try:
                out, last = dispatch.fast_unroll(cell, x, state, lengths)
            finally:
                dispatch._FUNCTIONS.pop(cell_type, None)
        else:
            out, last = unroll(cell, x, state, lengths_to_mask(lengths, 6, x.device))
        last_tensors = [last] if isinstance(last, torch.Tensor) else list(last)
        loss = (out * weight).sum() + sum(t.square().sum() for t in last_tensors)
        inputs = [x, *([state] if isinstance(state, torch.Tensor) else state), *cell.parameters()]
        return [out.detach(), *(t.detach() for t in last_tensors), *torch.autograd.grad(loss, inputs)]

    mine, theirs = run(fast=False), run(fast=True)
    return max(float((a - b).abs().max()) for a, b in zip(mine, theirs, strict=True))


def verify_kernels() -> dict[str, str]:
    """For each built-in cell of the copy: register the reference kernel if it computes what
    the learner's cell and loop compute; say, per cell, how it will train."""
    from rnnlab.cells import CELLS
    from rnnlab.fast import dispatch

    learner = current()
    assert learner is not None
    for name, cell_type in CELLS.items():
        if dispatch.kernel(name) is not None:  # a copy that kept its kernels (not one from `exercise init`)
            learner.recurrence[name] = "fast path: the copy's own kernel"
            continue
        function = _reference_kernel(name)
        try:
            diff = kernel_difference(cell_type, function)
        except NotImplementedError:
            learner.recurrence[name] = "plain loop: the cell (or the loop) is still a stub"
            continue
        except Exception as exc:  # the learner's code fails on its own: the specs will show where
            learner.recurrence[name] = f"plain loop: checking your cell raised {type(exc).__name__}: {exc}"
            continue
        if diff <= KERNEL_TOLERANCE:
            dispatch.register(cell_type, function)
            learner.recurrence[name] = (
                f"fast path: the reference kernel, checked in this run to compute what your cell and loop "
                f"compute (largest difference {diff:.1e} in outputs and gradients, float64)"
            )
        else:
            learner.recurrence[name] = (
                f"plain loop: your cell and loop differ from the reference kernel by up to {diff:.3g}, "
                "so they train exactly as written (slower)"
            )
    return learner.recurrence
