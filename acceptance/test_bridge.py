"""The bridge's requirements — from recurrence to attention, at Lab 02's budget.

One test per criterion; ``bridge`` (acceptance/harness.py) counts sequential operations and times one
step against the sequence length (acceptance/runs.py), trains the attention LM on Lab 02's characters
and budget where the profile says so (``Bridge.train_lm``: the full profile's), and writes the bridge's
report section (acceptance/sections/bridge.py). Its perplexity and context against the recurrent
models, and the CPU's step times, are findings there (issue #25), not criteria.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from acceptance.criteria import check
from acceptance.measures import ATTENTION, TIMED
from acceptance.measures import LM_NAMES as NAMES
from acceptance.profiles import TOX_MINUTES
from acceptance.record import FACTOR, Bound

if TYPE_CHECKING:
    from acceptance.profiles import Profile
    from acceptance.record import Recorder
    from acceptance.trained import BridgeResult, RecallResult


LAB = "bridge"
# Issue #25, from Vaswani et al. 2017, Table 1 (sequential operations: O(n) recurrent, O(1) self-attention),
# fixed before the first count: attention's chain is as long at every T; a recurrent model's grows at least
# half as fast as T (linear growth gives the full ratio; O(log n) or O(1) would give far less).
MAX_ATTENTION_DEPTH_GROWTH = 1.0
MIN_RECURRENT_DEPTH_GROWTH = 0.5
# Issue #25 (Arora et al. 2023, "Zoology"), written before the first recall run (commit 6d5201b): at some number
# of key-value pairs the attention LM answers at least this share of held-out queries ...
MIN_ATTENTION_RECALL = 0.95
# ... while every recurrent model, parameters matched, answers at most this share.
MAX_RECURRENT_RECALL = 0.50


def test_attention_needs_a_constant_number_of_sequential_operations(bridge: BridgeResult, recorder: Recorder) -> None:
    cfg, depth = bridge.cfg, bridge.depth
    short, long_ = min(cfg.timing_lengths), max(cfg.timing_lengths)
    growth = {kind: depth[(kind, long_)] / depth[(kind, short)] for kind in {k for k, _ in depth}}
    recurrent = {k: g for k, g in growth.items() if k != ATTENTION}
    slowest = min(recurrent, key=lambda k: recurrent[k])
    check(
        recorder,
        "bridge.sequential_ops",
        LAB,
        f"Sequential operations (the longest chain of dependent operations in a forward pass, counted from the "
        f"models): from T = {short} to T = {long_} every recurrent model's grows at least half as fast as T, "
        "attention's not at all",
        Bound(growth[ATTENTION], MAX_ATTENTION_DEPTH_GROWTH, "<=", FACTOR, "attention"),
        Bound(
            growth[slowest],
            MIN_RECURRENT_DEPTH_GROWTH * long_ / short,
            ">=",
            FACTOR,
            f"slowest recurrent ({NAMES[slowest]})",
        ),
        detail="; ".join(f"{NAMES[k]} {depth[(k, short)]:,} -> {depth[(k, long_)]:,}" for k in growth),
    )


def test_attention_step_time_grows_slower_than_the_lstms_on_a_gpu(bridge: BridgeResult, recorder: Recorder) -> None:
    if bridge.device == "cpu":
        pytest.skip(
            "a criterion on a GPU only: a CPU has no parallel hardware for attention's positions to fill "
            "(this run's CPU step times are a finding in the bridge's section)"
        )
    cfg, timing, growth = bridge.cfg, bridge.timing, bridge.growth
    short, long_ = min(cfg.timing_lengths), max(cfg.timing_lengths)
    check(
        recorder,
        "bridge.parallel_steps",
        LAB,
        f"On a GPU, from T = {short} to T = {long_}, one attention training step grows by a smaller factor than one "
        "LSTM step (T dependent steps against one parallel pass per layer)",
        Bound(growth[ATTENTION], growth[TIMED], "<", FACTOR, "attention", "the LSTM's"),
        detail=f"at T = {long_}: LSTM {1000 * timing[(TIMED, long_)]:.0f} ms, attention {1000 * timing[(ATTENTION, long_)]:.0f} ms",
    )


def test_attention_recalls_what_a_fixed_size_state_cannot_hold(
    profile: Profile, request: pytest.FixtureRequest, recorder: Recorder
) -> None:
    if not profile.bridge.recall:
        pytest.skip(
            f"recall is judged in the full profile (RNNLAB_PROFILE=full tox -e full), and measured in `tox -e studies`; "
            f"the {profile.name} profile leaves it out to keep `tox` within its {TOX_MINUTES} minutes"
        )
    result: RecallResult = request.getfixturevalue("recall")  # typed: mypy checks every field read below
    runs = result.runs
    pairs = result.cfg.train.pairs
    recurrent = {k: r for k, r in runs.items() if k != ATTENTION}
    worst = {n: max(r.by_pairs[n] for r in recurrent.values()) for n in pairs}  # the best recurrent model at n
    met = [n for n in pairs if runs[ATTENTION].by_pairs[n] >= MIN_ATTENTION_RECALL and worst[n] <= MAX_RECURRENT_RECALL]
    at = met[0] if met else max(pairs)
    check(
        recorder,
        "bridge.recall",
        LAB,
        "Multi-query associative recall, parameters matched: at some number of key-value pairs the attention LM "
        f"answers at least {100 * MIN_ATTENTION_RECALL:.0f}% of held-out queries and every recurrent model at most "
        f"{100 * MAX_RECURRENT_RECALL:.0f}%",
        Bound(100 * runs[ATTENTION].by_pairs[at], 100 * MIN_ATTENTION_RECALL, ">=", "%", f"{at} pairs: attention"),
        Bound(100 * worst[at], 100 * MAX_RECURRENT_RECALL, "<=", "%", f"{at} pairs: best recurrent"),
        detail="; ".join(
            f"{NAMES[k]} " + ", ".join(f"{100 * r.by_pairs[n]:.1f}%" for n in pairs) for k, r in runs.items()
        )
        + f" (at {', '.join(map(str, pairs))} pairs)",
    )
