"""The bridge's requirements — from recurrence to attention, at Lab 02's budget.

One test per criterion; ``bridge`` (acceptance/harness.py) trains the attention LM once per
session on Lab 02's characters and budget and times one step against the sequence length
(acceptance/runs.py), and writes the bridge's report section (acceptance/sections/bridge.py).
"""

from __future__ import annotations

from acceptance.criteria import check
from acceptance.measures import ATTENTION, TIMED, param_spread
from acceptance.measures import LM_NAMES as NAMES

LAB = "bridge"
# Issue #16: parameters matched to Lab 02's models, as Lab 02 matches its own (issue #3: within 10%).
MAX_PARAM_SPREAD = 0.10


def test_attention_parameters_match_lab02(bridge, recorder):
    counts = {k: r["params"] for k, r in bridge["lab02"]["runs"].items()} | {ATTENTION: bridge["run"]["params"]}
    spread = param_spread(counts)
    check(
        recorder,
        "bridge.budget",
        LAB,
        "The attention LM trains on Lab 02's characters with its budget, parameter counts matched to its models",
        f"{100 * spread:.1f}% spread",
        f"<= {100 * MAX_PARAM_SPREAD:.0f}%",
        spread <= MAX_PARAM_SPREAD,
        ", ".join(f"{NAMES[k]} {v:,}" for k, v in counts.items()),
    )


def test_attention_uses_more_of_the_past_than_the_rnn(bridge, recorder):
    run, rnn = bridge["run"], bridge["lab02"]["runs"]["rnn"]
    check(
        recorder,
        "bridge.attention_context",
        LAB,
        "The attention LM uses more of the past than the vanilla RNN (effective context)",
        f"{run['reach']} vs {rnn['reach']} characters",
        "> RNN's",
        run["reach"] > rnn["reach"],
        f"its window: {run['window']} characters",
    )


def test_attention_step_time_grows_slower_than_the_lstms(bridge, recorder):
    cfg, timing = bridge["cfg"], bridge["timing"]
    short, long_ = min(cfg.timing_lengths), max(cfg.timing_lengths)
    growth = bridge["growth"]
    check(
        recorder,
        "bridge.parallel_steps",
        LAB,
        f"From T = {short} to T = {long_}, one attention training step grows by a smaller factor than one LSTM "
        "step (T dependent steps against one parallel pass per layer)",
        f"{growth[ATTENTION]:.1f}x vs {growth[TIMED]:.1f}x",
        "attention's < LSTM's",
        growth[ATTENTION] < growth[TIMED],
        f"at T = {long_}: LSTM {1000 * timing[(TIMED, long_)]:.0f} ms, attention {1000 * timing[(ATTENTION, long_)]:.0f} ms",
    )


def test_attention_perplexity_is_below_the_rnns(bridge, recorder):
    run, runs = bridge["run"], bridge["lab02"]["runs"]
    check(
        recorder,
        "bridge.attention_ppl",
        LAB,
        "At the same budget the attention LM's validation perplexity is below the vanilla RNN's",
        f"{run['ppl']:.3f} vs {runs['rnn']['ppl']:.3f}",
        "< RNN's",
        run["ppl"] < runs["rnn"]["ppl"],
        ", ".join(f"{NAMES[k]} {r['ppl']:.3f}" for k, r in runs.items()),
    )
