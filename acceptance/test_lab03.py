"""Lab 03's requirements — seq2seq date normalisation, without and with attention.

One test per criterion; ``lab03`` (acceptance/harness.py) trains every variant once per session
on one protocol (acceptance/runs.py) and writes the lab's report section (acceptance/sections/lab03.py).
Exposure bias, with teacher forcing scheduled, always on and never, and the baseline's accuracy
on short inputs are findings there (issue #25: its
one-seed difference, 0.485 against 0.495 points, was inside the noise), not a criterion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from acceptance.criteria import check
from acceptance.measures import SEQ2SEQ_NAMES as NAMES
from acceptance.measures import gaps
from acceptance.record import Bound

if TYPE_CHECKING:
    from acceptance.record import Recorder
    from acceptance.trained import Lab03Result


LAB = "lab03"
# The seed: attention beats the baseline by >= 15 points on long inputs (issue #4: at the same budget).
MIN_GAP_LONG = 15.0
# Issue #4: Bahdanau's exact match on long inputs >= 97%, and >= 95% on short inputs. Issue #4 asked the
# baseline for 95% on short inputs too; over seeds 0-2 it measured 95.2, 96.6 and 91.2% (issue #25), so
# that is a finding in the section, not a criterion.
MIN_BAHDANAU_LONG = 97.0
MIN_SHORT = 95.0
# Issue #4: the share of output year/month/day characters whose attention argmax falls in that
# field's input span; target >= 80%.
MIN_ALIGNMENT = 80.0


def test_attention_beats_the_baseline_on_long_inputs(lab03: Lab03Result, recorder: Recorder) -> None:
    g = gaps(lab03)
    worst = min(g)
    check(
        recorder,
        "lab03.gap_long",
        LAB,
        "Bahdanau attention beats the no-attention baseline on long inputs (>= 60 chars) at the same budget",
        Bound(worst, MIN_GAP_LONG, ">=", "points", f"the smallest of {len(g)} seeds" if len(g) > 1 else ""),
        detail="per seed: " + ", ".join(f"{x:+.1f}" for x in g),
    )


def test_bahdanau_long_accuracy(lab03: Lab03Result, recorder: Recorder) -> None:
    first = lab03.cfg.seeds[0]
    acc = 100 * lab03.runs[("bahdanau", first)].test["long"]
    check(
        recorder,
        "lab03.bahdanau_long",
        LAB,
        "Bahdanau exact match on long test inputs",
        Bound(acc, MIN_BAHDANAU_LONG, ">=", "%"),
    )


def test_bahdanau_short_accuracy(lab03: Lab03Result, recorder: Recorder) -> None:
    first = lab03.cfg.seeds[0]
    acc = 100 * lab03.runs[("bahdanau", first)].test["short"]
    check(
        recorder,
        "lab03.short_bahdanau",
        LAB,
        f"{NAMES['bahdanau']} exact match on short test inputs (< 20 chars)",
        Bound(acc, MIN_SHORT, ">=", "%"),
    )


def test_attention_aligns_with_the_fields(lab03: Lab03Result, recorder: Recorder) -> None:
    first = lab03.cfg.seeds[0]
    alignment = lab03.runs[("bahdanau", first)].alignment
    assert alignment is not None, "the first seed's Bahdanau run measures its alignment"
    score = 100 * alignment
    check(
        recorder,
        "lab03.alignment",
        LAB,
        "Bahdanau alignment: output year/month/day characters whose attention argmax lies in that field's input span",
        Bound(score, MIN_ALIGNMENT, ">=", "%"),
        detail=f"over {len(lab03.long_test)} long test inputs",
    )


def test_luong_against_bahdanau(lab03: Lab03Result, recorder: Recorder) -> None:
    first = lab03.cfg.seeds[0]
    runs = lab03.runs
    luong, bahdanau = (100 * runs[(v, first)].test["long"] for v in ("luong", "bahdanau"))
    base = 100 * runs[("none", first)].test["long"]
    check(
        recorder,
        "lab03.luong",
        LAB,
        "Luong (general) attention beats the baseline on long test inputs (the bound is the baseline's accuracy)",
        Bound(luong, base, ">", "%", against="the baseline's"),
        detail=f"Bahdanau {bahdanau:.1f}%; both attention models query with the previous decoder state; only the score function differs",
    )


def test_luong_dot_against_the_baseline(lab03: Lab03Result, recorder: Recorder) -> None:
    first = lab03.cfg.seeds[0]
    runs = lab03.runs
    if ("luong_dot", first) not in runs:
        pytest.skip("this profile does not train the luong_dot variant (the full profile does: tox -e full)")
    dot, base = (100 * runs[(v, first)].test["long"] for v in ("luong_dot", "none"))
    check(
        recorder,
        "lab03.luong_dot",
        LAB,
        "Luong dot attention (parameter-free score s . (h_fwd + h_bwd)) beats the baseline on long test inputs (the "
        "bound is the baseline's accuracy)",
        Bound(dot, base, ">", "%", against="the baseline's"),
        detail="the dot score has no parameters of its own; see the model table for its alignment",
    )
