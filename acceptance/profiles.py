"""Acceptance profiles: the training budgets, fixed before anything is measured.

``quick`` is what ``tox`` runs (its measured wall time is in the README and in every report's
header); ``full`` spends more compute for tighter numbers. Choose with ``RNNLAB_PROFILE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from rnnlab.training import TrainConfig
from rnnlab.training.seq2seq import Seq2SeqTrainConfig

# The learning rates every grid tries, for Lab 02's RNN and for the bridge's attention LM (the full profile's
# grids also try the next rate past an edge best). A grid is recorded as (rate, validation perplexity) pairs
# in order of rate, with the steps each run took.
LR_GRID = (3e-3, 6e-3, 1e-2)
Grid = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Lab01:
    hidden_size: int = 256  # H of the vanilla RNN
    embedding_dim: int = 64
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=1000, batch_size=64, seq_len=64, lr=3e-3, clip=1.0, eval_points=10, seed=0
        )
    )
    # Dropout on the non-recurrent connections (CharLM's ``dropout``): 0 where the budget does not overfit.
    dropout: float = 0.0
    sample_length: int = 2000  # characters generated for each sample / English-likeness
    temperatures: tuple[float, ...] = (0.5, 0.8, 1.2)


@dataclass(frozen=True)
class Lab02:
    # hidden sizes chosen so the three parameter counts match within 10% (FLOPs per token match)
    hidden: tuple[tuple[str, int], ...] = (("rnn", 400), ("lstm", 192), ("gru", 224))
    embedding_dim: int = 64
    dropout: float = 0.0  # CharLM's, the same for all three models (and the bridge's attention LM)
    # None = torch's init. Measured (800 steps, lr 3e-3): forget bias 1.0 gave LSTM ppl 6.08 vs 5.62 without.
    lstm_forget_bias: float | None = None
    # lr: the best of its grid for the vanilla RNN, so the baseline is never the one left untuned; all three
    # models share it. How it was chosen, in the report's words:
    lr_grid: Grid = ((3e-3, 5.26), (6e-3, 4.96), (1e-2, 4.91))  # the RNN's validation perplexity at each rate
    lr_grid_steps: int = 800  # the steps of each of those runs
    # How the ranking depends on the shared rate, measured after the grid over the whole budget (seed 0;
    # the full profile's grids run over its whole budget): model -> (rate, validation perplexity) pairs.
    # The report states it (rate_sensitivity). Over all 1200 steps 6e-3 edges out 1e-2 for the RNN, on
    # seeds 1 and 2 too (4.822 vs 4.887, 4.800 vs 4.827). The shared rate was not moved to it: at 6e-3 the
    # LSTM loses to the RNN, so which rate is shared decides lab02.lstm_beats_rnn at this budget; the
    # report says so rather than choosing between them.
    rate_check: tuple[tuple[str, Grid], ...] = (
        ("rnn", ((3e-3, 4.984), (6e-3, 4.796), (1e-2, 4.800), (2e-2, 5.185))),
        ("lstm", ((6e-3, 4.849), (1e-2, 4.756))),
        ("gru", ((6e-3, 4.667), (1e-2, 4.664))),
    )
    rate_check_steps: int = 1200
    # 1200 steps: what the fast path (rnnlab.fast) fits in the wall-clock the plain loop needed for 800
    # (per step, measured when the budget was fixed: RNN 58 ms, LSTM 81 ms, GRU 80 ms with the fast path,
    # 103 / 204 / 158 ms plain; each report's Lab 02 timing table has the times of its own run).
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=1200, batch_size=64, seq_len=64, lr=1e-2, clip=1.0, eval_points=8, seed=0
        )
    )
    # How much of the past each trained model uses: loss at a target given only the last L characters
    # (fresh state), L = 1, 2, 4, ..., 512, over the same validation positions for every L.
    context_lengths: tuple[int, ...] = tuple(2**k for k in range(10))
    context_positions: int = 3000
    # Gates on real text: the trained LSTM and GRU traced over this many validation characters; a
    # unit is chosen on the first half and scored on the second.
    gate_chars: int = 12000
    grad_distance: int = 100  # measure ||dL_T/dh_t|| up to this many steps back
    grad_batches: int = 4  # batches of validation windows averaged
    grad_batch_size: int = 32
    bench_sizes: tuple[int, ...] = (128, 256)  # H for the from-scratch vs fused timing table
    bench_rounds: int = 7


@dataclass(frozen=True)
class Lab03:
    # one protocol for every variant: only the context (fixed vs attention) differs
    variants: tuple[str, ...] = ("none", "bahdanau", "luong", "luong_dot")
    hidden_size: int = 128
    embedding_dim: int = 48
    attention_dim: int = 128
    # 600 steps: measured before the comparison, the baseline alone first reaches >= 95% on short inputs
    # between steps 500 (94.1%) and 600 (99.2%); the budget gives it that, and is the same for every variant.
    train: Seq2SeqTrainConfig = field(
        default_factory=lambda: Seq2SeqTrainConfig(
            steps=600, batch_size=64, lr=2e-3, clip=1.0, tf_start=1.0, tf_end=0.5, eval_points=10, seed=0
        )
    )
    # The baseline-vs-Bahdanau gap is quoted over these seeds. Quick: one, because a second baseline +
    # Bahdanau pair costs about 4 minutes (measured: 126 / 201 ms per step, plus evaluation), which would
    # push `tox` past its 20-minute target (issue #6); the full profile runs three.
    seeds: tuple[int, ...] = (0,)
    # After the equal-budget comparison, the seed-0 baseline alone trains this many more steps (teacher
    # forcing held at tf_end, evaluated every 100 steps), to show where, if at all, it catches up.
    catch_up_steps: int = 400
    # Teacher forcing measured: the first seed's Bahdanau model trained once more with teacher forcing
    # always on (ratio 1.0 throughout), same budget and seed; both it and the scheduled-sampling run are
    # evaluated fed the gold previous characters and fed their own. Costs one Bahdanau run (about 80 s).
    always_forced: bool = True
    train_examples: int = 20000
    val_examples: int = 400
    test_examples: int = 2000


@dataclass(frozen=True)
class Bridge:
    """The bridge to transformers: a causal self-attention LM trained on Lab 02's characters with
    Lab 02's budget (steps, batch, window, schedule, clipping, seed), sized to Lab 02's parameter
    counts; and one training step timed against the sequence length for it and the LSTM."""

    d_model: int = 92  # 4 heads of 23; 2 blocks: 223,625 parameters against Lab 02's 213,665-216,625
    num_heads: int = 4
    num_layers: int = 2
    d_ff: int = 368  # 4 x d_model
    # the best of its grid for this model (None: Lab 02's rate), as Lab 02's rate is the best of its grid for the RNN
    lr: float | None = 6e-3
    # over the whole budget, as the full profile's grids (first run over 400 steps: 7.220 / 6.676 / 6.929)
    lr_grid: Grid = ((3e-3, 5.368), (6e-3, 5.305), (1e-2, 5.438))  # its validation perplexity at each rate
    lr_grid_steps: int = 1200
    timing_lengths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    timing_batch: int = 8  # sequences per timed step, the same at every length
    timing_rounds: int = 3


@dataclass(frozen=True)
class Studies:
    """Budgets of the opt-in studies (``tox -e studies``), fixed before they were first measured."""

    # What an exact earlier copy is worth (rnnlab.metrics.copy_gain): at copy_positions validation spans
    # of copy_span characters, the loss on the span after another span and after the same span written
    # d characters before it, inside Lab 02's training window (the attention LM's window); the
    # distances that fit the window are measured.
    copy_span: int = 16
    copy_distances: tuple[int, ...] = (0, 8, 16, 32, 64)
    copy_positions: int = 1000
    # Is the gated models' lead capped by the training window? The three models train again on windows
    # this long, the batch cut to keep the characters per step (same steps, tokens and parameters).
    long_window: int = 256


@dataclass(frozen=True)
class Profile:
    name: str
    lab01: Lab01
    lab02: Lab02
    lab03: Lab03
    bridge: Bridge = field(default_factory=Bridge)
    studies: Studies = field(default_factory=Studies)
    # criterion id (any device) or id@cpu / id@cuda / id@mps (that device only) -> why it fails,
    # with the numbers. Still shown as FAIL in the report; the test is an expected failure, and
    # fails loudly once the criterion passes.
    known_failures: dict[str, str] = field(default_factory=dict)


# The parallelism claim is about parallel hardware. On a CPU, attention's T x T scores make its
# step grow faster with T than the LSTM's T dependent steps: measured before the criterion ran
# in the harness (batch 8, T = 32 -> 1024, exploratory): LSTM 7.3 -> 222 ms (30x), attention
# 13.3 -> 918 ms (69x).
CPU_TIMING = {
    "bridge.parallel_steps@cpu": "a 2-core CPU has no parallel hardware for attention's positions to fill, and "
    "its T x T scores grow with T^2 while the LSTM's T dependent steps grow with T; the claim is one about GPUs.",
}

# Measured in the first full quick runs with the bridge (seed 0): a 2-core AMD EPYC CPU, one
# NVIDIA H100 (RNNLAB_DEVICE=cuda) and later a 2-core Intel Xeon gave the same picture.
QUICK_BRIDGE = {
    "bridge.attention_ppl": "at Lab 02's budget (1200 steps, 4.9M characters) the small transformer is behind every "
    "recurrent model: perplexity 5.305 against the RNN's 4.800 on a 2-core AMD EPYC, 5.325 against 4.769 on a "
    "2-core Intel Xeon, 5.329 against 4.784 on an H100.",
    "bridge.attention_context": "at this budget the transformer has not learned to use its 64-character window: its "
    "loss stops improving at L = 8 (the RNN's at 16), on both CPUs and on an H100.",
}

# Measured in the first end-to-end full run (a fresh clone, 2-core AMD EPYC CPU, 44 minutes) and again
# on a 2-core Intel Xeon (35 minutes); every criterion of Labs 01-03 passed on both.
FULL_BRIDGE = {
    "bridge.attention_ppl": "at the full budget (2000 steps, 12.8M characters, dropout 0.1) the small transformer is "
    "still behind every recurrent model: perplexity 4.954 against the RNN's 4.677 (LSTM 4.620, GRU 4.500) on a "
    "2-core AMD EPYC, 4.949 against the same 4.677 on a 2-core Intel Xeon, each at the best rate of its grid over "
    "the whole budget (attention at 3e-3, 6e-3, 1e-2: 4.978, 4.954, 5.543, AMD); the gap narrowed from 10.5% at "
    "the quick budget to 5.9%.",
    "bridge.attention_context": "at the full budget its loss still stops improving at L = 8 of its 100-character "
    "window on a 2-core AMD EPYC and at L = 16 on a 2-core Intel Xeon (the RNN's at 16, the LSTM's and GRU's at "
    "64, on both): level with the RNN at best, never beyond it.",
}

# The full profile's learning rates: the best of its grids (dropout 0.1), every run over the whole
# budget (2000 steps). The RNN's three LR_GRID rates were measured before the full profile first ran;
# its best was at the low edge, so 2e-3 was tried too, and the attention LM's grid, first run over a
# third of the budget (700 steps: 6.073 / 5.836 / 7.662), was run again over all of it, so that
# both models' rates are chosen the same way. Neither choice changed.
FULL_RNN_GRID = ((2e-3, 4.779), (3e-3, 4.677), (6e-3, 4.720), (1e-2, 5.416))
FULL_ATTENTION_GRID = ((3e-3, 4.978), (6e-3, 4.954), (1e-2, 5.543))
FULL_LR = 3e-3
FULL_ATTENTION_LR = 6e-3

PROFILES = {
    "quick": Profile("quick", Lab01(), Lab02(), Lab03(), known_failures={**CPU_TIMING, **QUICK_BRIDGE}),
    # Full, fixed before it was measured. Made to finish within an hour on 2 CPU cores; one training
    # step (B=64, T=100, 2 threads, no dropout, measured): RNN-512 92 ms, RNN-528 93, LSTM-256 113,
    # GRU-300 124, attention 155; dropout adds about a quarter (RNN-528: 2000 steps in 251 s).
    # - Lab 01 and Lab 02: larger models (about 350k parameters), 100-character windows, 2000 steps:
    #   12.8M characters, 12.8 passes over the training text (quick: 4.1M and 4.9M). Dropout 0.1
    #   (GPT-2's and BERT's rate) on every model: at 3000 steps and no dropout, Lab 01's H=512 RNN
    #   began to overfit (its validation loss rose by 0.0036 at the last of 15 evaluations, on an H200).
    #   Learning rates from grids at this budget (FULL_LR below); Lab 01 takes the one chosen for Lab
    #   02's RNN, a model of nearly its size (H=528 against 512) on the same budget.
    # - Lab 03: the quick protocol (600 steps: where the baseline learns short inputs, see Lab03) on
    #   three seeds, and the baseline's catch-up run 1000 steps further.
    "full": Profile(
        "full",
        Lab01(
            hidden_size=512,
            train=TrainConfig(steps=2000, batch_size=64, seq_len=100, lr=FULL_LR, clip=1.0, eval_points=10, seed=0),
            dropout=0.1,
        ),
        Lab02(
            hidden=(("rnn", 528), ("lstm", 256), ("gru", 300)),
            train=TrainConfig(steps=2000, batch_size=64, seq_len=100, lr=FULL_LR, clip=1.0, eval_points=10, seed=0),
            dropout=0.1,
            lr_grid=FULL_RNN_GRID,
            lr_grid_steps=2000,
            rate_check=(),  # not measured at this budget
            bench_sizes=(128, 256, 512),
            bench_rounds=9,
        ),
        Lab03(seeds=(0, 1, 2), catch_up_steps=1000),
        # 352,937 parameters at the 100-character window
        Bridge(d_model=116, d_ff=464, lr=FULL_ATTENTION_LR, lr_grid=FULL_ATTENTION_GRID, lr_grid_steps=2000),
        known_failures={**CPU_TIMING, **FULL_BRIDGE},
    ),
    # A dry run of the harness itself (about two minutes): tiny budgets, so most criteria FAIL;
    # for checking the report's plumbing after a change, never for numbers.
    "smoke": Profile(
        "smoke",
        Lab01(
            hidden_size=32,
            train=TrainConfig(steps=30, batch_size=16, seq_len=32, eval_points=10, seed=0),
            sample_length=300,
        ),
        Lab02(
            hidden=(("rnn", 48), ("lstm", 24), ("gru", 28)),
            train=TrainConfig(steps=30, batch_size=16, seq_len=32, lr=1e-2, eval_points=3, seed=0),
            grad_batches=1,
            rate_check=(),
            bench_sizes=(32,),
            bench_rounds=1,
        ),
        Lab03(
            hidden_size=16,
            embedding_dim=8,
            attention_dim=16,
            train=Seq2SeqTrainConfig(steps=20, batch_size=16, eval_points=2, seed=0),
            train_examples=400,
            val_examples=40,
            test_examples=200,
            catch_up_steps=100,
            seeds=(0, 1),  # exercises the multi-seed path the full profile takes
        ),
        Bridge(d_model=20, d_ff=80, timing_lengths=(16, 32), timing_rounds=1),
        studies=Studies(copy_span=8, copy_distances=(0, 8), copy_positions=50, long_window=64),
    ),
}


def lr_choice(lr: float, grid: Grid, steps: int, model: str) -> str:
    """How a learning rate was chosen, in the report's words; refuses a rate that is not the grid's best."""
    best = min(grid, key=lambda pair: pair[1])[0]
    if lr != best:
        raise ValueError(f"lr {lr} is not the best of its grid by the perplexities recorded, {grid}")
    rates = [_rate(r) for r, _ in grid]
    ppls = " / ".join(f"{p:g}" for _, p in grid)
    return (
        f"the best of {', '.join(rates[:-1])} and {rates[-1]} for {model}: validation perplexity {ppls} "
        f"after {steps} steps each"
    )


def _rate(r: float) -> str:
    return f"{r:.0e}".replace("e-0", "e-")


def behind_at(record: tuple[tuple[str, Grid], ...], model: str) -> list[tuple[str, float, float]]:
    """The rates of ``record`` at which ``model`` is not ahead of the baseline (the record's first model):
    (rate as written, its perplexity, the baseline's)."""
    if not record:
        return []
    at, grids = dict(record[0][1]), dict(record)
    return [(_rate(r), p, at[r]) for r, p in grids.get(model, ()) if r in at and p >= at[r]]


def rate_sensitivity(record: tuple[tuple[str, Grid], ...], steps: int, names: dict[str, str]) -> str:
    """The report's words for how the ranking of models depends on the learning rate they share:
    ``record`` is (model, grid) pairs, the baseline first; empty when nothing was measured."""
    if not record:
        return ""
    base, others = record[0][0], record[1:]
    listed = "; ".join(
        f"{names[m]} {' / '.join(f'{p:.3f}' for _, p in grid)} at {' / '.join(_rate(r) for r, _ in grid)}"
        for m, grid in record
    )
    flips = " ".join(
        f"At {r} the {names[m]} ({p:.3f}) is behind the {names[base]} ({b:.3f})."
        for m, _ in others
        for r, p, b in behind_at(record, m)
    )
    best = {m: min(grid, key=lambda pair: pair[1]) for m, grid in record}

    def who(models: list[str]) -> str:
        return " and the ".join(f"{names[m]} ({best[m][1]:.3f} at {_rate(best[m][0])})" for m in models)

    ahead = [m for m, _ in others if best[m][1] < best[base][1]]
    behind = [m for m, _ in others if m not in ahead]
    if ahead:
        verdict = f"the {who(ahead)} {'lead' if len(ahead) > 1 else 'leads'} the {who([base])}"
        verdict += f"; the {who(behind)} does not." if behind else "."
    else:
        verdict = f"none leads the {who([base])}."
    verdict = "At each model's best measured rate " + verdict
    return (
        f"Measured outside this run, over all {steps} steps (seed 0): {listed}. "
        + (f"{flips} " if flips else "")
        + verdict
    )


def current() -> Profile:
    name = os.environ.get("RNNLAB_PROFILE", "quick")
    try:
        return PROFILES[name]
    except KeyError:
        raise SystemExit(f"RNNLAB_PROFILE={name!r} is not a profile; choose one of {sorted(PROFILES)}") from None
