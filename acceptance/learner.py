"""The acceptance harness on a learner's code: ``RNNLAB_IMPL=DIR tox -e acceptance``.

With ``RNNLAB_IMPL`` naming a copy made by ``rnnlab exercise init DIR``, the harness trains the
labs with *that* copy's ``rnnlab`` (the learner's cells, loop, clipping, attention, ...); which
``rnnlab`` is under test is decided by ``rnnlab_under_test`` (impl/), shared with the specs.

- Each exercise still a stub is filled in from the reference, in a temporary completed copy
  (``activate(complete=True)``): a lab trains as soon as one exercise it calls is the learner's,
  and the report names the parts that came from the reference. A lab none of whose exercises is
  the learner's yet is not attempted: its criteria are listed as such in the report, not as
  failures (``require``, ``LAB_NEEDS``); the reference run's values stand beside them.
- Which reference kernels train the learner's cells (only those proven equal to them) is decided
  once per session (``verify_kernels``) and shown in the report.

Nothing here imports ``rnnlab`` at module level: ``activate`` must run first.
"""

from __future__ import annotations

import pytest

from rnnlab_under_test import UnderTestError, activate, current, verify_kernels

__all__ = [
    "LAB_NEEDS",
    "NOT_ATTEMPTED",
    "UnderTestError",
    "activate",
    "current",
    "from_reference",
    "require",
    "verify_kernels",
]
NOT_ATTEMPTED = "not attempted:"  # how a skipped lab test's reason starts (the harness turns it into report rows)

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


def require(lab: str) -> None:
    """Skip ``lab`` (all its criteria) when none of the exercises its training calls is the learner's
    yet: trained, it would be the reference's code, whose values the report already shows."""
    learner = current()
    if learner is None:
        return
    from rnnlab.exercise import BY_ID

    if all(e in learner.stubbed for e in LAB_NEEDS[lab]):
        names = "; ".join(f"{BY_ID[e].number} {BY_ID[e].title}" for e in LAB_NEEDS[lab])
        pytest.skip(f"{NOT_ATTEMPTED} none of its exercises is yours yet ({names}: still stubs in {learner.directory})")


def from_reference(lab: str) -> list[str]:
    """The exercises ``lab`` trains with that came from the reference (stubs in the learner's copy)."""
    learner = current()
    return [e for e in LAB_NEEDS[lab] if learner is not None and e in learner.from_reference]
