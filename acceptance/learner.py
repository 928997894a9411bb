"""The acceptance harness on a learner's code: ``RNNLAB_IMPL=DIR tox -e acceptance``.

With ``RNNLAB_IMPL`` naming a copy made by ``rnnlab exercise init DIR``, the harness trains the
labs with *that* copy's ``rnnlab`` (the learner's cells, loop, clipping, attention, ...), by
putting ``DIR`` first on ``sys.path`` before anything imports ``rnnlab`` (``activate``).

- A lab whose training calls an exercise that is still a stub is not attempted: its criteria
  are listed as such in the report, not as failures (``require``, ``LAB_NEEDS``).
- The copy carries no fast kernels (they spell out every cell's equations). For each built-in
  cell, ``rnnlab.fast.adopt`` checks the reference kernel, in the run, against the learner's
  own cell and loop (outputs and every gradient, float64, padded rows included); only if they
  agree is it used for that cell, so the function trained is the learner's, computed faster.
  Otherwise the learner's cell trains as written, through the plain loop (``verify_kernels``).

Nothing here imports ``rnnlab`` at module level: ``activate`` must run first.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_ATTEMPTED = "not attempted:"  # how a skipped lab test's reason starts (conftest turns it into report rows

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
LAB_NEEDS["bridge"] = LAB_NEEDS["lab02"]  # compared with Lab 02's trained models


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


def verify_kernels() -> dict[str, str]:
    """Decide now, for each built-in cell of the copy, whether the reference kernel runs it
    (only if proven equal to the learner's cell and loop: ``rnnlab.fast.adopt``), and keep
    the verdicts for the report."""
    from rnnlab.fast import adopt

    learner = current()
    assert learner is not None
    learner.recurrence = adopt.decisions()
    return learner.recurrence
