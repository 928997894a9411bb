"""Lab 02's requirements — LSTM and GRU from primitives, and why they help.

One test per criterion; ``lab02`` (acceptance/harness.py) trains the RNN, LSTM and GRU once per
session at equal compute (acceptance/runs.py) and writes the lab's report section
(acceptance/sections/lab02.py). Whether a gated cell beats the RNN at this budget is a finding
there, not a criterion (issue #25): at the shared rate its one-seed margin is not clear of the RNN's own spread
over seeds (measures.RNN_PPL_OVER_SEEDS), and with each model at its own best rate, at one and two layers,
the LSTM is not ahead by more than noise at either depth (acceptance/measured/gating.json).
"""

from __future__ import annotations

import pytest

from acceptance.criteria import check, require_models
from acceptance.measures import CONTEXT_TOLERANCE, GRAD_DISTANCE, NAMES, param_spread, relative
from rnnlab.cells import MODEL_KINDS
from rnnlab.gates import SIGMOID_GATES

LAB = "lab02"
GATED = list(SIGMOID_GATES)  # the gated cells, each judged against the vanilla RNN
# Issue #3: the same training characters, optimiser and schedule, parameter counts matched within
# 10% (so FLOPs per character match).
MAX_PARAM_SPREAD = 0.10
# Issue #3: the best of LSTM and GRU reaches validation perplexity <= 5.2 on the quick budget.
MAX_BEST_PPL = 5.2
# Issue #3: GRAD_DISTANCE steps back, each gated model's gradient norm (relative to the last step)
# exceeds the RNN's by at least 10x after training.
MIN_GRAD_RATIO = 10.0
# Issue #16: a unit "tracks" the position in the line when |Pearson r| on held-out text is at least
# this (set after an exploratory look at earlier checkpoints, without a held-out split: r = 0.76 / 0.87).
MIN_TRACKING_R = 0.5


def test_equal_compute_budget(lab02, recorder):
    require_models(lab02["runs"], *MODEL_KINDS, criterion="lab02.budget")
    params = {k: r["params"] for k, r in lab02["runs"].items()}
    spread = param_spread(params)
    check(
        recorder,
        "lab02.budget",
        LAB,
        "Same training characters, optimiser and schedule; parameter counts matched",
        f"{100 * spread:.1f}% spread",
        f"<= {100 * MAX_PARAM_SPREAD:.0f}%",
        spread <= MAX_PARAM_SPREAD,
        ", ".join(f"{NAMES[k]} {v:,}" for k, v in params.items()),
    )


def test_best_gated_perplexity(lab02, recorder):
    runs = lab02["runs"]
    require_models(runs, *GATED, criterion="lab02.best_ppl")
    best = min(GATED, key=lambda k: runs[k]["ppl"])
    check(
        recorder,
        "lab02.best_ppl",
        LAB,
        "Best of LSTM and GRU validation perplexity",
        round(runs[best]["ppl"], 3),
        f"<= {MAX_BEST_PPL}",
        runs[best]["ppl"] <= MAX_BEST_PPL,
        f"best: {NAMES[best]}",
    )


@pytest.mark.parametrize("kind", GATED)
def test_gated_cell_uses_more_of_the_past(lab02, recorder, kind):
    runs, cfg = lab02["runs"], lab02["cfg"]
    require_models(runs, kind, "rnn", criterion=f"lab02.{kind}_context")
    ours, rnn = runs[kind]["reach"], runs["rnn"]["reach"]
    longest = max(cfg.context_lengths)
    check(
        recorder,
        f"lab02.{kind}_context",
        LAB,
        f"{NAMES[kind]} uses more of the past than the vanilla RNN: its effective context (the shortest L within "
        f"{100 * CONTEXT_TOLERANCE:.0f}% of its loss at L = {longest}) is longer",
        f"{ours} vs {rnn} characters",
        "> RNN's",
        ours > rnn,
        f"loss at L = {rnn}: {NAMES[kind]} {runs[kind]['context'][rnn]:.3f}, RNN {runs['rnn']['context'][rnn]:.3f}; "
        f"at L = {longest}: {runs[kind]['context'][longest]:.3f} vs {runs['rnn']['context'][longest]:.3f}",
    )


@pytest.mark.parametrize("kind", GATED)
def test_gradients_survive_longer_in_gated_cells(lab02, recorder, kind):
    runs = lab02["runs"]
    require_models(runs, kind, "rnn", criterion=f"lab02.{kind}_grad_flow")
    ours = relative(runs[kind]["grad_trained"], GRAD_DISTANCE)
    rnn = relative(runs["rnn"]["grad_trained"], GRAD_DISTANCE)
    ratio = ours / rnn
    check(
        recorder,
        f"lab02.{kind}_grad_flow",
        LAB,
        f"After training, {NAMES[kind]}'s relative gradient norm {GRAD_DISTANCE} steps back over the RNN's",
        f"{ratio:.3g}x",
        f">= {MIN_GRAD_RATIO:.0f}x",
        ratio >= MIN_GRAD_RATIO,
        f"{NAMES[kind]} {ours:.3g}, RNN {rnn:.3g} (||dL_T/dh_(T-{GRAD_DISTANCE})|| / ||dL_T/dh_T||)",
    )


@pytest.mark.parametrize("kind", GATED)
def test_a_unit_tracks_the_position_in_the_line(lab02, recorder, kind):
    require_models(lab02["runs"], kind, criterion=f"lab02.{kind}_line_unit")
    g_ = lab02["runs"][kind]["gates"]
    found = g_["found"]
    check(
        recorder,
        f"lab02.{kind}_line_unit",
        LAB,
        f"A unit of the trained {NAMES[kind]} tracks the position in the line: its state's correlation with the "
        "characters since the last newline, on held-out text (the unit chosen on other text)",
        f"|r| = {abs(found.held_out):.2f}",
        f">= {MIN_TRACKING_R}",
        abs(found.held_out) >= MIN_TRACKING_R,
        f"{g_['state']}[{found.unit}] of {g_['units']}; r = {found.chosen_on:.2f} where it was chosen",
    )
