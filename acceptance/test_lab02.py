"""Lab 02's requirements — LSTM and GRU from primitives, and why they help.

One test per criterion; ``lab02`` (acceptance/harness.py) trains the RNN, LSTM and GRU once per session at equal
compute, each at its own best rate, and an RNN as wide as each gated model (acceptance/runs.py), and writes the
lab's report section (acceptance/sections/lab02.py). The seed's test, "LSTM/GRU should beat vanilla RNN on
perplexity within the same compute budget", is posed twice (issue #32): at equal compute (parameters matched),
a criterion for the kinds where it holds by 3 standard deviations over seeds at the profile's budget
(the GRU in both profiles, the LSTM in the full one; elsewhere a finding, ``Lab02.findings``, gating.json), and at
equal width (the
tutorials' comparison, the gated cell holding 3-4x the RNN's weights), a criterion for both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from acceptance.criteria import check, require_models
from acceptance.measures import BASELINE, CONTEXT_TOLERANCE, GRAD_DISTANCE, NAMES, reduction, relative
from acceptance.record import FACTOR, Bound
from rnnlab.gates import SIGMOID_GATES

if TYPE_CHECKING:
    from acceptance.profiles import Lab02
    from acceptance.record import Recorder
    from acceptance.trained import Lab02Result


LAB = "lab02"
GATED = list(SIGMOID_GATES)  # the gated cells, each judged against the vanilla RNN
# The seed ("LSTM/GRU should beat vanilla RNN on perplexity"): the gated model's validation perplexity is below
# the RNN's, a reduction of more than 0% of the RNN's. The seed's own figure, a 38% reduction at an unstated
# budget (measures.SEED_CLAIMED_REDUCTION), is quoted beside both comparisons in the claims table, not judged.
MIN_REDUCTION = 0.0
# Issue #3: the best of LSTM and GRU reaches validation perplexity <= 5.2 on the quick budget.
MAX_BEST_PPL = 5.2
# Issue #3: GRAD_DISTANCE steps back, each gated model's gradient norm (relative to the last step)
# exceeds the RNN's by at least 10x after training.
MIN_GRAD_RATIO = 10.0
# Issue #16: a unit "tracks" the position in the line when |Pearson r| on held-out text is at least
# this (set after an exploratory look at earlier checkpoints, without a held-out split: r = 0.76 / 0.87).
MIN_TRACKING_R = 0.5


def skip_if_a_finding(cfg: Lab02, criterion: str, why: str) -> None:
    """Leave ``criterion`` unjudged where the profile reports it as a finding (``Lab02.findings``), saying why."""
    if criterion in cfg.findings:
        pytest.skip(why)


@pytest.mark.parametrize("kind", GATED)
def test_gated_cell_beats_the_rnn_at_equal_compute(lab02: Lab02Result, recorder: Recorder, kind: str) -> None:
    """{kind} beats the vanilla RNN on validation perplexity at equal compute (parameters matched, each at its own rate)."""
    runs, cfg = lab02.runs, lab02.cfg
    skip_if_a_finding(
        cfg,
        f"lab02.{kind}_beats_rnn",
        f"{NAMES[kind]} against the RNN at equal compute is a finding at this budget: not ahead by 3 standard "
        "deviations over seeds (the report's 'Two comparisons' table, RESULTS.md's gating study)",
    )
    require_models(runs, kind, BASELINE, criterion=f"lab02.{kind}_beats_rnn")
    ours, rnn = runs[kind], runs[BASELINE]
    check(
        recorder,
        f"lab02.{kind}_beats_rnn",
        LAB,
        f"At equal compute (parameters matched, each at its own best rate), {NAMES[kind]}'s validation perplexity "
        "is lower than the vanilla RNN's: the reduction, in % of the RNN's",
        Bound(reduction(rnn.ppl, ours.ppl), MIN_REDUCTION, ">", "%", "reduction"),
        detail=f"{NAMES[kind]} {ours.ppl:.3f} (H = {ours.hidden}, {ours.params:,} parameters, lr "
        f"{ours.lr:g}); RNN {rnn.ppl:.3f} (H = {rnn.hidden}, {rnn.params:,}, lr {rnn.lr:g})",
    )


@pytest.mark.parametrize("kind", GATED)
def test_gated_cell_beats_the_rnn_of_its_width(lab02: Lab02Result, recorder: Recorder, kind: str) -> None:
    """{kind} beats a vanilla RNN of its own hidden size on validation perplexity (equal width, not equal compute)."""
    runs, width = lab02.runs, lab02.width
    require_models(runs, kind, criterion=f"lab02.{kind}_beats_rnn_width")
    if kind not in width:
        pytest.skip("this profile trains no RNN of each gated model's width (Lab02.equal_width)")
    ours, rnn = runs[kind], width[kind]
    check(
        recorder,
        f"lab02.{kind}_beats_rnn_width",
        LAB,
        f"At equal width (the tutorials' comparison, not equal compute: {ours.params:,} parameters against "
        f"{rnn.params:,}), {NAMES[kind]}'s validation perplexity is lower than a vanilla RNN's of its hidden size "
        f"(H = {ours.hidden}): the reduction, in % of the RNN's",
        Bound(reduction(rnn.ppl, ours.ppl), MIN_REDUCTION, ">", "%", "reduction"),
        detail=f"{NAMES[kind]} {ours.ppl:.3f} (lr {ours.lr:g}); RNN of H = {rnn.hidden} {rnn.ppl:.3f} "
        f"(lr {rnn.lr:g}); the same characters, steps and schedule",
    )


def test_best_gated_perplexity(lab02: Lab02Result, recorder: Recorder) -> None:
    """The better of the LSTM and the GRU reaches a validation perplexity bound."""
    runs = lab02.runs
    require_models(runs, *GATED, criterion="lab02.best_ppl")
    best = min(GATED, key=lambda k: runs[k].ppl)
    check(
        recorder,
        "lab02.best_ppl",
        LAB,
        "Best of LSTM and GRU validation perplexity",
        Bound(runs[best].ppl, MAX_BEST_PPL, "<=", "", NAMES[best]),
    )


@pytest.mark.parametrize("kind", GATED)
def test_gated_cell_uses_more_of_the_past(lab02: Lab02Result, recorder: Recorder, kind: str) -> None:
    """{kind} uses more of the past than the vanilla RNN (effective context, from loss against context length)."""
    runs, cfg = lab02.runs, lab02.cfg
    skip_if_a_finding(
        cfg,
        f"lab02.{kind}_context",
        f"{NAMES[kind]}'s effective context against the RNN's is a finding at this budget: ahead at every seed "
        "measured, but not by 3 standard deviations (the report's context table; RESULTS.md)",
    )
    require_models(runs, kind, BASELINE, criterion=f"lab02.{kind}_context")
    ours, rnn = runs[kind].reach, runs[BASELINE].reach
    longest = max(cfg.context_lengths)
    check(
        recorder,
        f"lab02.{kind}_context",
        LAB,
        f"{NAMES[kind]} uses more of the past than the vanilla RNN: its effective context (the shortest L within "
        f"{100 * CONTEXT_TOLERANCE:.0f}% of its loss at L = {longest}) is longer",
        Bound(ours, rnn, ">", "characters", against="the RNN's"),
        detail=f"loss at L = {rnn}: {NAMES[kind]} {runs[kind].context[rnn]:.3f}, RNN {runs[BASELINE].context[rnn]:.3f}; "
        f"at L = {longest}: {runs[kind].context[longest]:.3f} vs {runs[BASELINE].context[longest]:.3f}",
    )


@pytest.mark.parametrize("kind", GATED)
def test_gradients_survive_longer_in_gated_cells(lab02: Lab02Result, recorder: Recorder, kind: str) -> None:
    """{kind} keeps a multiple of the RNN's gradient many steps back, after training."""
    runs = lab02.runs
    require_models(runs, kind, BASELINE, criterion=f"lab02.{kind}_grad_flow")
    ours = relative(runs[kind].grad_trained, GRAD_DISTANCE)
    rnn = relative(runs[BASELINE].grad_trained, GRAD_DISTANCE)
    ratio = ours / rnn
    check(
        recorder,
        f"lab02.{kind}_grad_flow",
        LAB,
        f"After training, {NAMES[kind]}'s relative gradient norm {GRAD_DISTANCE} steps back over the RNN's",
        Bound(ratio, MIN_GRAD_RATIO, ">=", FACTOR),
        detail=f"{NAMES[kind]} {ours:.3g}, RNN {rnn:.3g} (||dL_T/dh_(T-{GRAD_DISTANCE})|| / ||dL_T/dh_T||)",
    )


@pytest.mark.parametrize("kind", GATED)
def test_a_unit_tracks_the_position_in_the_line(lab02: Lab02Result, recorder: Recorder, kind: str) -> None:
    """A unit of the trained {kind} tracks the position in the line, on held-out text."""
    require_models(lab02.runs, kind, criterion=f"lab02.{kind}_line_unit")
    g_ = lab02.runs[kind].gates
    assert g_ is not None, f"{NAMES[kind]} has sigmoid gates, so its run studies them"
    found = g_.found
    check(
        recorder,
        f"lab02.{kind}_line_unit",
        LAB,
        f"A unit of the trained {NAMES[kind]} tracks the position in the line: its state's correlation with the "
        "characters since the last newline, on held-out text (the unit chosen on other text)",
        Bound(abs(found.held_out), MIN_TRACKING_R, ">=", "", "|r|"),
        detail=f"{g_.state}[{found.unit}] of {g_.units}; r = {found.chosen_on:.2f} where it was chosen",
    )
