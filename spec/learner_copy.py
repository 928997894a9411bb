"""Which rnnlab is under test: the reference, or a learner's copy (``rnnlab exercise init DIR``).

``pytest spec --impl DIR`` (or ``RNNLAB_IMPL=DIR``) runs the specs, and ``RNNLAB_IMPL=DIR tox -e
acceptance`` trains the labs, with the copy's ``rnnlab``: ``activate`` puts ``DIR`` first on
``sys.path``, as pytest's own ``pythonpath`` setting does, from the first hook that runs (before
anything imports ``rnnlab``). The specs and the harness share this module; it imports no ``rnnlab``
at module level.

The copy carries no fast kernels (they spell out every cell's equations). For each built-in cell,
``rnnlab.fast.adopt`` checks the reference kernel, in the run, against the learner's own cell and
loop (outputs and every gradient, float64, padded rows included); only if they agree is it used for
that cell, so the function trained is the learner's, computed faster. Otherwise the learner's cell
trains as written, through the plain loop (``verify_kernels``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest


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


def verify_kernels() -> dict[str, str]:
    """Decide now, for each built-in cell of the copy, whether the reference kernel runs it
    (only if proven equal to the learner's cell and loop: ``rnnlab.fast.adopt``), and keep
    the verdicts for the report."""
    from rnnlab.fast import adopt

    learner = current()
    assert learner is not None
    learner.recurrence = adopt.decisions()
    return learner.recurrence
