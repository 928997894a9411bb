"""Acceptance profiles: the training budgets and choices, fixed before anything is measured.

``quick`` is what ``tox`` runs; ``full`` spends more compute for tighter numbers; ``smoke`` is a dry
run of the harness. Choose with ``RNNLAB_PROFILE``. Nothing measured lives here: the grids that chose
the learning rates and the criteria a budget is known to fail are records under
``acceptance/measured/`` (read by ``acceptance/records.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from rnnlab.cells import MODEL_KINDS
from rnnlab.checks import count_parameters
from rnnlab.models.charlm import CharLM, CharLMConfig
from rnnlab.training import TrainConfig
from rnnlab.training.recall import RecallTrainConfig
from rnnlab.training.seq2seq import Seq2SeqTrainConfig

# What `tox` (lint, the specs, the curriculum and the quick profile's acceptance run) must finish within on a fresh
# clone on a 2-core CPU, either of the project's machines: the project's requirement, so that a learner validates every
# lab on a laptop. The quick profile's budgets are sized to it; every text that quotes it reads it from here.
TOX_MINUTES = 12
# The learning rates every grid tries, for Lab 02's RNN and for the bridge's attention LM (the full
# profile's grids also try the next rate past an edge best); the grids are records in
# acceptance/measured/learning-rates.json.
LR_GRID = (3e-3, 6e-3, 1e-2)
# The rates every recall model's grid tries (Adam on small models). First (1e-3, 3e-3, 1e-2), fixed before the
# first recall run; moved down a decade after the pilots of 2026-11-30: once answers were no longer shown after
# their queries, the attention LM learnt recall at 3e-4 (100% of 4 pairs by step 1,000) and never at 1e-3 or 3e-3
# in 3,000-15,000 steps (29-31%, the 1/N of a value picked from the sequence).
RECALL_LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3)
# The gating study's grid (issue #25: each of Lab 02's models at its own best rate, acceptance/measured/gating.json):
# LR_GRID and one rate up, since the gated cells' best shared rate was LR_GRID's top (rate_check); a grid whose
# best is at its top goes one rate further (x2).
GATING_LR_GRID = (*LR_GRID, 2e-2)


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

    @property
    def reset_windows(self) -> tuple[int, ...]:
        """What truncated BPTT's carried state is worth (the report's talking point): the validation loss with the
        state reset to zeros every W characters, at a quarter of, once and four times the training window."""
        T = self.train.seq_len
        return (max(1, T // 4), T, 4 * T)


@dataclass(frozen=True)
class Lab02:
    # One parameter budget for every model kind registered in rnnlab.cells.MODEL_KINDS: each gets the
    # largest hidden size, a multiple of HIDDEN_MULTIPLE, whose one-layer CharLM fits it (``hidden``), so
    # the counts, and with them the FLOPs per character, match. 220,000 at Tiny Shakespeare's 65 characters:
    # RNN 400, LSTM 192, GRU 224 (216,625 / 214,849 / 213,665 parameters), the sizes Lab 02 was
    # first measured at.
    param_budget: int = 220_000
    embedding_dim: int = 64
    # Stacked recurrent layers (each the same hidden size): 1 is the lab's protocol; the depth study
    # (`python -m acceptance.grid --layers 2`, issue #25) sizes a deeper model to the same budget.
    layers: int = 1
    dropout: float = 0.0  # CharLM's, the same for all three models (and the bridge's attention LM)
    # None = torch's init. Measured (800 steps, lr 3e-3): forget bias 1.0 gave LSTM ppl 6.08 vs 5.62 without.
    lstm_forget_bias: float | None = None
    # Each model kind's own learning rate, the best of its recorded grid at this budget (issue #32: the gating
    # study's protocol, acceptance/measured/gating.json, one layer), so that no model is compared at a rate
    # chosen for another; a kind not listed trains at train.lr (the vanilla RNN's best on its grid,
    # acceptance/measured/learning-rates.json, shared by every model where no kind's own grid was measured).
    rates: tuple[tuple[str, float], ...] = ()
    # The ids of Lab 02's criteria that are findings at this budget (reported with their numbers, never judged):
    # each one measured over seeds and not clear of them by 3 standard deviations (issue #25; RESULTS.md), or not
    # yet measured over seeds where the quick profile's spread says it must be. A spec holds the seeds records to it.
    findings: tuple[str, ...] = ()
    # The tutorials' comparison (issue #32): each gated model also against a vanilla RNN of its own hidden size
    # (same characters, steps and schedule, at the RNN's rate): equal width, not equal compute.
    equal_width: bool = True
    # 1200 steps: what the fast path (rnnlab.fast) fits in the wall-clock the plain loop needed for 800
    # (per step, measured when the budget was fixed: RNN 58 ms, LSTM 81 ms, GRU 80 ms with the fast path,
    # 103 / 204 / 158 ms plain; each report's Lab 02 timing table has the times of its own run).
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=1200, batch_size=64, seq_len=64, lr=1e-2, clip=1.0, eval_points=4, seed=0
        )
    )
    # How much of the past each trained model uses: loss at a target given only the last L characters
    # (fresh state), L = 1, 2, 4, ..., 512, over the same validation positions for every L.
    context_lengths: tuple[int, ...] = tuple(2**k for k in range(10))
    context_positions: int = 3000
    # The seed of every held-out draw Lab 02 and its studies score on (the context positions, the copying study's
    # spans, the bidirectional study's windows and blanks): not a training seed, so RNNLAB_SEED (with_seed) leaves it.
    eval_seed: int = 0
    # Gates on real text: the trained LSTM and GRU traced over this many validation characters; a
    # unit is chosen on the first half and scored on the second.
    gate_chars: int = 12000
    grad_distance: int = 100  # measure ||dL_T/dh_t|| up to this many steps back
    grad_batches: int = 4  # batches of validation windows averaged
    grad_batch_size: int = 32
    bench_sizes: tuple[int, ...] = (128, 256)  # H for the from-scratch vs fused timing table
    bench_rounds: int = 7
    # The kinds this run trains (RNNLAB_MODELS=lstm, `rnnlab exercise accept DIR --lab 02 --model lstm`):
    # () = every registered kind. A criterion about a kind not trained is skipped, saying so.
    models: tuple[str, ...] = ()

    def lr(self, kind: str) -> float:
        """``kind``'s learning rate: its own (``rates``) where recorded, else the shared ``train.lr``."""
        return dict(self.rates).get(kind, self.train.lr)

    def hidden(self, vocab_size: int) -> tuple[tuple[str, int], ...]:
        """(kind, hidden size) for every kind this run trains, in registration order."""
        kinds = [k for k in MODEL_KINDS if not self.models or k in self.models]
        return tuple((kind, hidden_for_budget(self, kind, vocab_size)) for kind in kinds)


HIDDEN_MULTIPLE = 4  # hidden sizes are multiples of 4: whole SIMD lanes, and the rule gives Lab 02's first sizes


def hidden_for_budget(cfg: Lab02, kind: str, vocab_size: int) -> int:
    """Lab 02's hidden size for ``kind``: the largest within ``cfg.param_budget`` (``largest_hidden``)."""
    return largest_hidden(kind, vocab_size, cfg.embedding_dim, cfg.param_budget, cfg.lstm_forget_bias, cfg.layers)


def largest_hidden(
    kind: str, vocab_size: int, embedding_dim: int, budget: int, forget_bias: float | None = None, layers: int = 1
) -> int:
    """The largest hidden size, a multiple of HIDDEN_MULTIPLE, whose CharLM of ``kind`` (``layers``
    layers) has at most ``budget`` parameters; counted without allocating."""

    def count(hidden: int) -> int:
        config = CharLMConfig(vocab_size, kind, hidden, layers, embedding_dim, forget_bias=forget_bias)
        return count_parameters(CharLM, config)

    return largest_within(count, budget, kind)


def largest_within(count: Callable[[int], int], budget: int, what: str) -> int:
    """The largest multiple of HIDDEN_MULTIPLE whose model, ``count(hidden)`` parameters (growing with
    ``hidden``), fits ``budget``; ``what`` names the model in the error when none does."""
    if count(HIDDEN_MULTIPLE) > budget:
        raise ValueError(f"a parameter budget of {budget:,} cannot hold a {what} of any hidden size")
    low, high = 1, 2  # in units of HIDDEN_MULTIPLE: low fits, high is found not to
    while count(high * HIDDEN_MULTIPLE) <= budget:
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if count(mid * HIDDEN_MULTIPLE) <= budget else (low, mid)
    return low * HIDDEN_MULTIPLE


@dataclass(frozen=True)
class Lab03:
    # one protocol for every variant: only the context (fixed vs attention) differs. Luong's dot score
    # (no parameters of its own) is the full profile's: the seed asks for Bahdanau "and Luong", and one
    # more run would put `tox` past its 12 minutes on 2 cores.
    variants: tuple[str, ...] = ("none", "bahdanau", "luong")
    hidden_size: int = 128
    embedding_dim: int = 48
    attention_dim: int = 128
    # 600 steps: measured before the comparison, the baseline alone first reaches >= 95% on short inputs
    # between steps 500 (94.1%) and 600 (99.2%); the budget gives it that, and is the same for every variant.
    train: Seq2SeqTrainConfig = field(
        default_factory=lambda: Seq2SeqTrainConfig(
            steps=600, batch_size=64, lr=2e-3, clip=1.0, tf_start=1.0, tf_end=0.5, eval_points=5, seed=0
        )
    )
    # The baseline-vs-Bahdanau gap is quoted over these seeds. Quick: one, because a second baseline +
    # Bahdanau pair costs about 4 minutes (measured: 126 / 201 ms per step, plus evaluation), which would
    # push `tox` past its then 20-minute target (issue #6; TOX_MINUTES now); the full profile runs three.
    seeds: tuple[int, ...] = (0,)
    # After the equal-budget comparison, the seed-0 baseline alone trains this many more steps (teacher
    # forcing held at tf_end, evaluated every 100 steps), to show where, if at all, it catches up.
    catch_up_steps: int = 400
    # Teacher forcing measured: the first seed's Bahdanau model trained once more with teacher forcing
    # always on (ratio 1.0 throughout), same budget and seed; both it and the scheduled-sampling run are
    # evaluated fed the gold previous characters and fed their own (every run is, so the quick profile still
    # reports its scheduled-sampling run's exposure bias). The full profile's, beside never_forced: in the quick
    # profile it was the fifth Bahdanau-sized run on two workers (103 s of one core), `tox` took 792 s against
    # its 720 (ec82680, a 2-core AMD EPYC), and its finding there was null (exposure bias 0.36 points against
    # scheduled sampling's 0.32, one seed).
    always_forced: bool = False
    # What teacher forcing is for: the same Bahdanau run with teacher forcing never on (ratio 0.0 throughout,
    # the decoder always fed its own predictions), its learning curve and accuracy beside the other two. The
    # full profile's: in the quick profile it was the fifth run on two workers, a third round of about 85 s
    # alone, and `tox` took 741 s against its 720 (the runs at 2c404b3 and 247fa1a: 706 and 741 s).
    never_forced: bool = False
    train_examples: int = 20000
    val_examples: int = 400
    test_examples: int = 2000
    # Greedy decoding against beam search (a finding, the first seed's runs): the prefixes the beam keeps. Twice
    # the 2 with which Sutskever, Vinyals and Le (2014) found most of beam search's benefit, so that a gain a wider
    # beam would give shows. Costs about 7 s of one core over the quick profile's three models (2,000 test dates).
    beam: int = 4


@dataclass(frozen=True)
class Bridge:
    """The bridge to transformers: a causal self-attention LM trained on Lab 02's characters with
    Lab 02's budget (steps, batch, window, schedule, clipping, seed), sized to Lab 02's parameter
    counts; and one training step timed against the sequence length for it and the LSTM."""

    d_model: int = 92  # 4 heads of 23; 2 blocks: 223,625 parameters against Lab 02's 213,665-216,625
    num_heads: int = 4
    num_layers: int = 2
    d_ff: int = 368  # 4 x d_model
    # the best of its recorded grid for this model (None: Lab 02's rate), as Lab 02's rate is the best of its
    # grid for the RNN
    lr: float | None = 6e-3
    timing_lengths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    timing_batch: int = 8  # sequences per timed step, the same at every length
    timing_rounds: int = 3
    # Whether the acceptance run trains the attention LM on Lab 02's characters and budget (its perplexity and
    # context beside Lab 02's models: findings). Not in the quick profile: it was the longest of Lab 02's six runs
    # (151 s of one core, and its context curve), and `tox` took about 720 s on a 2-core AMD EPYC with it (fbacfec
    # to 3d84565); the quick report shows the findings recorded at its budget (acceptance/measured/findings.json).
    train_lm: bool = False
    # Whether the acceptance run trains the recall study (Studies.recall) and judges bridge.recall. Not in the
    # quick profile: its four models take about 2 minutes on 2 cores, and `tox` would pass its 12 minutes.
    recall: bool = False


@dataclass(frozen=True)
class Recall:
    """Multi-query associative recall (issue #25; Arora et al. 2023): the bridge's attention LM design and a
    one-layer model of every registered kind, parameters matched to the attention LM's (each recurrent
    model the largest hidden size within its count), the same optimiser, steps and sequences, each at
    the best rate of its recorded grid (``rates``; acceptance/measured/learning-rates.json, models
    ``recall.KIND``)."""

    d_model: int = 64  # the attention LM's width, and every model's embedding
    num_heads: int = 4
    num_layers: int = 2
    keys: int = 32  # the key half of the vocabulary (as many values)
    # Sized by pilot runs of the attention LM (rnnlab.data.recall's docstring; the note on #25). With 4 and 8
    # pairs at 3e-4 it learnt recall by step 2,000 (100% of both by 3,000); with 16 pairs in the mix, or 8 alone,
    # it had not by 3,000-4,000 (as Zoology, it learns the short sequences first).
    # 4,000 steps: at 3,000 and 1e-4, seed 1's attention LM was still learning (65.8% of 4 pairs, 32.9% of 8;
    # seeds 0 and 2: 100%).
    train: RecallTrainConfig = field(
        default_factory=lambda: RecallTrainConfig(steps=4000, lr=3e-4, pairs=(4, 8), eval_points=8)
    )
    # model -> its rate, the best of its recorded grid (RECALL_LR_GRID at this budget; learning-rates.json);
    # train.lr for a model not listed
    rates: tuple[tuple[str, float], ...] = (("rnn", 1e-3), ("lstm", 3e-3), ("gru", 3e-3), ("attention", 3e-4))
    distances: tuple[int, ...] = (8, 16, 24, 32)  # accuracy by how far back the key stands: up to each

    def lr(self, model: str) -> float:
        return dict(self.rates).get(model, self.train.lr)


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
    # What reading both ways buys, and why a language model cannot (acceptance/studies/bidirectional.py): Lab 02's
    # LSTM one way and both ways at Lab 02's parameter budget, window, batch, schedule and LSTM rate, trained to fill
    # blanks and to predict the next character. The share of characters blanked is BERT's (Devlin et al., 2019: 15%).
    # 600 steps, half of Lab 02's, fixed before the first run: both questions turn on what each model can read, not
    # on how well it is trained, and four runs of 600 steps keep the study to about two minutes on 2 cores.
    blank_rate: float = 0.15
    bidirectional_steps: int = 600
    bidirectional_windows: int = 1024  # held-out validation windows every model is scored on
    # What clipping buys (acceptance/studies/clipping.py): Lab 01's RNN on Lab 01's budget at its seed and the next
    # ones, clipped at Lab 01's threshold and not, under Adam at these multiples of Lab 01's rate and under plain SGD
    # at these rates. Chosen after one scouting run (seed 0, 2-core AMD EPYC, 2026-12-06): Adam at 3e-3, 1e-2 and 3e-2
    # (1,000 steps) ended within 0.01 nats of itself clipped and not; SGD (400 steps) at 0.3 and 1 trained either way,
    # and at 3 the unclipped run diverged at step 21 while the clipped one reached the lowest SGD loss.
    clip_adam_scales: tuple[float, ...] = (1.0, 10.0)
    clip_sgd_rates: tuple[float, ...] = (1.0, 3.0)
    clip_seeds: int = 3
    # Multi-query associative recall (issue #25): the long-range half of "why did transformers replace RNNs?".
    recall: Recall = field(default_factory=Recall)


@dataclass(frozen=True)
class Profile:
    name: str
    lab01: Lab01
    lab02: Lab02
    lab03: Lab03
    bridge: Bridge = field(default_factory=Bridge)
    studies: Studies = field(default_factory=Studies)


# The full profile's learning rates: the best of its recorded grids (dropout 0.1), every run over the
# whole budget (2000 steps); neither changed the quick profile's choice of model or schedule.
FULL_LR = 3e-3
FULL_ATTENTION_LR = 6e-3
# The full profile's Lab 02 findings (issue #32). At equal compute, each at its own rate, gating.json's three full seeds
# put the LSTM 6.4 / 5.1 / 5.2% below the RNN's perplexity (7.5 standard deviations) and the GRU 5.8 / 5.7 / 5.9% (66):
# both leads are criteria here. The LSTM's effective context stays a finding (the quick seeds' spread, sd 18
# characters, is too wide to judge one full seed).
FULL_FINDINGS = ("lab02.lstm_context",)

PROFILES = {
    "quick": Profile(
        "quick",
        Lab01(),
        # gating.json, one layer, seed-0 grids over GATING_LR_GRID: RNN 6e-3 (4.796), LSTM 2e-2 (4.729), GRU 1e-2
        # (4.664); over seeds 0-2 at those rates the GRU is ahead of the RNN by 3.3 sd, the LSTM by 1.9 (a finding).
        # At its own rate the LSTM's effective context is 32, 64, 32 characters over seeds 0-2 against the RNN's 16
        # at each: ahead at every seed, but 1.4 sd (seeds-quick.json; at the shared 1e-2 it was 64 at every seed).
        Lab02(
            rates=(("rnn", 6e-3), ("lstm", 2e-2), ("gru", 1e-2)),
            findings=("lab02.lstm_beats_rnn", "lab02.lstm_context"),
        ),
        Lab03(),
    ),
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
            param_budget=355_000,  # RNN 528, LSTM 256, GRU 300 (352,177 / 350,593 / 353,125 parameters)
            train=TrainConfig(steps=2000, batch_size=64, seq_len=100, lr=FULL_LR, clip=1.0, eval_points=10, seed=0),
            dropout=0.1,
            # Each kind at the best of its own grid at this budget (issue #32; gating.json, full, seed 0): RNN 3e-3
            # (4.677; learning-rates.json), LSTM 1e-2 (4.376 against 4.62 at 3e-3, 4.484 at 6e-3, 4.598 at 2e-2),
            # GRU 6e-3 (4.405 against 4.5 at 3e-3 and 4.498 at 1e-2); seeds 1 and 2 then trained at each best.
            rates=(("rnn", FULL_LR), ("lstm", 1e-2), ("gru", 6e-3)),
            # lab02.lstm_context: the quick seeds' spread (sd 18 characters) is too wide to judge one full seed
            findings=FULL_FINDINGS,
            bench_sizes=(128, 256, 512),
            bench_rounds=9,
        ),
        Lab03(
            variants=("none", "bahdanau", "luong", "luong_dot"),
            seeds=(0, 1, 2),
            catch_up_steps=1000,
            always_forced=True,
            never_forced=True,
        ),
        # 352,937 parameters at the 100-character window
        Bridge(d_model=116, d_ff=464, lr=FULL_ATTENTION_LR, train_lm=True, recall=True),
    ),
    # A dry run of the harness itself (every lab in about 20 s on 2 cores): tiny budgets, so most criteria FAIL;
    # for checking the report's plumbing after a change, never for numbers.
    "smoke": Profile(
        "smoke",
        Lab01(
            hidden_size=32,
            train=TrainConfig(steps=30, batch_size=16, seq_len=32, eval_points=10, seed=0),
            sample_length=300,
        ),
        Lab02(
            param_budget=14_000,
            train=TrainConfig(steps=30, batch_size=16, seq_len=32, lr=1e-2, eval_points=3, seed=0),
            grad_batches=1,
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
            always_forced=True,  # and its runs with teacher forcing always on
            never_forced=True,  # and never
        ),
        Bridge(d_model=20, d_ff=80, timing_lengths=(16, 32), timing_rounds=1, train_lm=True),
        studies=Studies(
            copy_span=8,
            copy_distances=(0, 8),
            copy_positions=50,
            long_window=64,
            clip_adam_scales=(1.0,),
            clip_sgd_rates=(3.0,),
            clip_seeds=1,
            recall=Recall(
                d_model=16, keys=8, train=RecallTrainConfig(steps=20, pairs=(2, 8), eval_points=2, eval_sequences=16)
            ),
        ),
    ),
}


def current() -> Profile:
    """The profile ``RNNLAB_PROFILE`` names (quick by default), every training seed moved by
    ``RNNLAB_SEED`` (0 by default): how a criterion's spread over seeds is measured."""
    name = os.environ.get("RNNLAB_PROFILE", "quick")
    try:
        profile = PROFILES[name]
    except KeyError:
        raise SystemExit(f"RNNLAB_PROFILE={name!r} is not a profile; choose one of {sorted(PROFILES)}") from None
    return only_models(with_seed(profile, seed()), os.environ.get("RNNLAB_MODELS", ""))


def only_models(profile: Profile, names: str) -> Profile:
    """``profile`` training only the comma-separated model kinds ``names`` in Lab 02 ("" = all): a
    learner's loop on one cell, in a third of Lab 02's time."""
    kinds = tuple(k.strip().lower() for k in names.split(",") if k.strip())
    unknown = [k for k in kinds if k not in MODEL_KINDS]
    if unknown:
        raise SystemExit(
            f"RNNLAB_MODELS={names!r}: {', '.join(unknown)} is not a model kind; choose from {list(MODEL_KINDS)}"
        )
    return replace(profile, lab02=replace(profile.lab02, models=kinds)) if kinds else profile


def seed() -> int:
    text = os.environ.get("RNNLAB_SEED", "0")
    try:
        value = int(text)
    except ValueError:
        raise SystemExit(f"RNNLAB_SEED={text!r} is not a seed; give a non-negative integer") from None
    if value < 0:
        raise SystemExit(f"RNNLAB_SEED={text!r} is not a seed; give a non-negative integer")
    return value


def with_seed(profile: Profile, offset: int) -> Profile:
    """``profile`` with every training seed moved by ``offset`` (the data, its split and the
    evaluation sets stay as they are: only the models' initialisation and sampling change)."""
    if offset == 0:
        return profile
    lab01, lab02, lab03 = profile.lab01, profile.lab02, profile.lab03
    studies, recall = profile.studies, profile.studies.recall
    return replace(
        profile,
        lab01=replace(lab01, train=replace(lab01.train, seed=lab01.train.seed + offset)),
        lab02=replace(lab02, train=replace(lab02.train, seed=lab02.train.seed + offset)),
        lab03=replace(lab03, seeds=tuple(s + offset for s in lab03.seeds)),
        studies=replace(studies, recall=replace(recall, train=replace(recall.train, seed=recall.train.seed + offset))),
    )
