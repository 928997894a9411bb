"""Lab 02's report section: the perplexity table, context and gradient flow, gates on real text,
the timing table, claims and talking points."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any

import torch

from acceptance import plots
from acceptance.measures import (
    BASELINE,
    CONTEXT_TOLERANCE,
    GRAD_DISTANCE,
    GRU,
    LSTM,
    NAMES,
    SEED_CLAIMED_REDUCTION,
    SNIPPET,
    reduction,
    relative,
    width_lead,
)
from acceptance.measures import lead as lead_at_equal_compute
from acceptance.ngram import reads
from acceptance.profiles import GATING_LR_GRID, Lab02
from acceptance.record import Claim, Figure, LabSection, Recorder, Table, TalkingPoint
from acceptance.records import (
    GATING_COLUMNS,
    GatingRun,
    choice,
    gating,
    gating_rows,
    gating_verdicts,
    lr_choice,
    over_seeds,
    rate_check,
    rate_sensitivity,
    rate_text,
    recorded_finding,
    rnn_spread,
    spread_text,
)
from acceptance.speed import speed_goals_words
from acceptance.spread import ROBUST_SDS
from acceptance.timing import IMPLS
from acceptance.trained import GateStudy, Lab02Result, LMRun, StudiedRun
from rnnlab.cells import MODEL_KINDS
from rnnlab.gates import HIGH, LOW
from rnnlab.gates import NAMES as GATE_NAMES
from rnnlab.metrics import perplexity

LAB = "lab02"


def write(recorder: Recorder, result: Lab02Result) -> None:
    runs = result.runs
    for k, r in runs.items():
        recorder.number(
            f"lab02.{k}.ppl",
            LAB,
            f"{NAMES[k]} validation perplexity (H = {r.hidden}, {r.params:,} parameters)",
            r.ppl,
        )
    if set(runs) != set(MODEL_KINDS):
        _write_partial(recorder, result)
        return
    _write_section(recorder, result)
    _claims_and_talking_points(recorder, result)


def _write_partial(recorder: Recorder, result: Lab02Result) -> None:
    """A run of some of the models (RNNLAB_MODELS, ``rnnlab exercise accept DIR --lab 02 --model KIND``):
    their perplexity and loss curves; the comparisons wait for a run of every model."""
    cfg, runs = result.cfg, result.runs
    t = cfg.train
    names = ", ".join(NAMES[k] for k in runs)
    every = _every_run(result)
    wide = "".join(f" and an RNN as wide as the {NAMES[k]}" for k in result.width)
    sec = recorder.section(LAB, f"Lab 02 — LSTM and GRU (this run trained {names} only)")
    sec.summary = (
        f"This run trained {names} only{wide}, on Lab 02's budget ({t.steps} steps of {t.batch_size} x {t.seq_len}, "
        f"seed {t.seed}), each at its kind's rate ({', '.join(f'{name} {rate_text(r.lr)}' for name, r in every)}). "
        "The criteria that compare it with a model not trained here are not attempted; a run of every model (without "
        "RNNLAB_MODELS or --model) gives the whole section."
    )
    sec.tables.append(_perplexity_table(result, "Every model this run trained."))
    histories = {NAMES[k]: asdict(r.history) for k, r in runs.items()}
    sec.figures.append(
        Figure(
            "Loss curves",
            "Training loss (25-step mean) and validation loss.",
            plots.loss_curves(histories, title=f"Lab 02: {names}"),
        )
    )
    # the talking points that need no model this run did not train, with this run's own numbers (issue #34)
    lstm = runs.get(LSTM)
    if lstm is not None and lstm.gates is not None:
        recorder.talking_points.append(_gates_talking_point(cfg, lstm.gates))


def _write_section(recorder: Recorder, result: Lab02Result) -> None:
    cfg, runs = result.cfg, result.runs
    t = cfg.train
    tokens = t.steps * t.batch_size * t.seq_len
    sec = recorder.section(LAB, "Lab 02 — LSTM and GRU, and why they help")
    sec.summary = (
        f"Equal compute: each model sees the same {tokens:,} training characters ({t.steps} steps of "
        f"{t.batch_size} x {t.seq_len}), with the same Adam optimiser, cosine schedule, clipping at {t.clip} and "
        "seed; hidden sizes are chosen so parameter counts (and so FLOPs per character) match (within 10%: "
        "spec/harness/test_profiles.py). Initialisation is torch's for every cell"
        + (
            "."
            if cfg.lstm_forget_bias is None
            else f", except the LSTM's forget-gate bias, which starts at "
            f"{cfg.lstm_forget_bias} (Jozefowicz et al., 2015)."
        )
        + _rates_text(result)
        + (
            f" Dropout {cfg.dropout} on every model's non-recurrent connections (embedding output and recurrent "
            "output; Zaremba et al., 2014), against overfitting on this many passes over the text."
            if cfg.dropout
            else ""
        )
    )
    checked = rate_check(result.profile)
    if checked:
        sec.notes.append(
            "How much the ranking depends on the shared learning rate. " + rate_sensitivity(checked, NAMES)
        )
    study = gating(result.profile)
    sec.tables.append(
        _perplexity_table(
            result,
            "Every model this run trained: the three at equal compute, then the vanilla RNNs as wide as each gated "
            "model (the equal-width comparison). None has converged (validation loss is still falling at the last "
            "evaluation).",
        )
    )
    sec.tables.append(_comparisons_table(result))
    if study:
        sec.tables.append(_gating_table(study))
    histories = {NAMES[k]: asdict(r.history) for k, r in runs.items()}
    sec.figures.append(
        Figure(
            "Loss curves at equal compute",
            "Training loss (25-step mean) and validation loss.",
            plots.loss_curves(histories, title="Lab 02: RNN vs LSTM vs GRU"),
        )
    )
    sec.figures.append(
        Figure(
            "Validation loss against wall-clock",
            "The same runs against training seconds: per step the from-scratch LSTM and GRU cost "
            "more than the RNN on a CPU, so the time view is less kind to them than the token view.",
            plots.val_loss_vs_time(histories),
        )
    )
    longest = max(cfg.context_lengths)
    sec.figures.append(
        Figure(
            "How much of the past each model uses",
            f"Validation cross-entropy at {cfg.context_positions:,} target characters when the model sees only the "
            f"last L characters before each (a fresh state), for L = {', '.join(map(str, cfg.context_lengths))}; "
            "the same targets for every L. A ring marks each model's effective context: the shortest L whose loss "
            f"is within {100 * CONTEXT_TOLERANCE:.0f}% of its loss at L = {longest}. Training windows are "
            f"{cfg.train.seq_len} characters long (truncated BPTT).",
            plots.context_curves(
                {NAMES[k]: r.context for k, r in runs.items()}, {NAMES[k]: r.reach for k, r in runs.items()}
            ),
        )
    )
    sec.tables.append(
        Table(
            "Loss at the target against context length L (nats)",
            ["model", *(f"L={L}" for L in cfg.context_lengths), "effective context"],
            [[NAMES[k], *(r.context[L] for L in cfg.context_lengths), r.reach] for k, r in runs.items()],
        )
    )
    distances = list(range(cfg.grad_distance + 1))
    grad_profiles = {
        NAMES[k]: (
            [relative(r.grad_init, d) for d in distances],
            [relative(r.grad_trained, d) for d in distances],
        )
        for k, r in runs.items()
    }
    sec.figures.append(
        Figure(
            "Gradient norm through time",
            "||dL_T/dh_t|| / ||dL_T/dh_T|| against the distance T - t, log scale, mean over "
            f"{cfg.grad_batches} x {cfg.grad_batch_size} validation windows. A straight fall on this scale is "
            "geometric decay: the vanishing gradient.",
            plots.grad_through_time(grad_profiles),
        )
    )
    sec.tables.append(
        Table(
            "Relative gradient norm by distance back (trained models)",
            ["model"] + [f"{d} back" for d in (1, 10, 25, 50, 100) if d <= cfg.grad_distance],
            [
                [NAMES[k]] + [relative(r.grad_trained, d) for d in (1, 10, 25, 50, 100) if d <= cfg.grad_distance]
                for k, r in runs.items()
            ],
        )
    )
    sec.figures.append(
        Figure(
            "Gradient norm over training",
            "Global gradient norm before clipping, 25-step mean, log scale.",
            plots.series(
                {NAMES[k]: r.history.grad_norm for k, r in runs.items()},
                "training step",
                "global gradient norm (pre-clip)",
                "Gradient norm over training",
                logy=True,
                smooth=25,
            ),
        )
    )
    _gate_figures(sec, cfg, runs)
    bench, memory = result.bench, result.memory
    sec.tables.append(
        Table(
            "From scratch vs torch's fused kernels: one training step (forward + backward + Adam), B=64, T=100",
            [
                "cell",
                "H",
                "fast path (ms)",
                "plain loop (ms)",
                "torch fused (ms)",
                "matmuls alone (ms)",
                "fast / fused",
                "plain / fused",
                "floor: matmuls / fused",
                "peak RSS MiB: fast / plain / fused",
            ],
            [
                [
                    NAMES[kind],
                    h,
                    *(_ms(bench, (kind, h, what)) for what in ("fast", "plain", "fused", "floor")),
                    *(_over_fused(bench, kind, h, what) for what in ("fast", "plain", "floor")),
                    " / ".join(
                        f"{memory[(kind, h, impl)]:.0f}" if (kind, h, impl) in memory else "—" for impl in IMPLS
                    ),
                ]
                for h in cfg.bench_sizes
                for kind in runs
            ],
            caption=(
                f"Medians of {cfg.bench_rounds} interleaved rounds on this machine ({torch.get_num_threads()} threads). "
                "The fast path (rnnlab.fast: hand-written BPTT, one autograd.Function per layer) is what the labs "
                "train with; the plain loop is the readable one learners write; both compute the same function "
                f"(spec/lab02/test_fast_path.py). {speed_goals_words()} "
                '"Matmuls alone" runs only the matrix products a step cannot avoid (input projection, '
                "T recurrent products forward and T backward, the two weight gradients) at the same shapes with the "
                "same BLAS calls: both implementations do at least these, so fast / fused cannot go below "
                "matmuls / fused, and the gap between the two is the elementwise work, the optimiser and Python. "
                "The fast path keeps its buffers between steps (rnnlab.fast.workspace._Workspace); its peak RSS is measured "
                "with them released, so it is charged for them. Peak RSS is the resident memory a step adds at its peak (median of 3 steps; Linux "
                "VmHWM). `tox -e bench` measures the same with pytest-benchmark at H = 128, 256, 512 "
                "(reports/bench/benchmarks.json)."
            ),
        )
    )


def _ms(bench: dict[Any, float], key: tuple[str, int, str]) -> float | str:
    """Milliseconds of a timed step, or a dash for one not timed (a kind without a fused baseline)."""
    return round(1000 * bench[key], 1) if key in bench else "—"


def _over_fused(bench: dict[Any, float], kind: str, h: int, what: str) -> float | str:
    fused = bench.get((kind, h, "fused"))
    return round(bench[(kind, h, what)] / fused, 2) if fused else "—"


def _mostly(share: list[float], threshold: float = 0.5) -> int:
    return sum(1 for v in share if v > threshold)


def _gate_figures(sec: LabSection, cfg: Lab02, runs: dict[str, StudiedRun]) -> None:
    gated = {k: r.gates for k, r in runs.items() if r.gates is not None}
    sec.figures.append(
        Figure(
            "Gates on real text: how often each unit's gate is saturated",
            f"Each dot is one hidden unit of the trained model, over {cfg.gate_chars:,} validation characters: x is "
            f"the share of characters at which its gate is below {LOW} (left-saturated: shut), y the share above "
            f"{HIGH} (right-saturated: open), as Karpathy, Johnson & Fei-Fei (2015) plot them. A dot near the top "
            "left is a gate that is always open; near the diagonal, a gate that switches between open and shut; "
            "near the origin, one that works in between.",
            plots.gate_saturation(
                {
                    f"{NAMES[k]} {GATE_NAMES[g]}": g_.saturation[g]
                    for k, g_ in gated.items()
                    for g in MODEL_KINDS[k].sigmoid_gates
                }
            ),
        )
    )
    sec.tables.append(
        Table(
            "Gate saturation (trained models, validation text)",
            [
                "model",
                "gate",
                "mean share left-saturated",
                "mean share right-saturated",
                "units mostly shut (> half the time)",
                "units mostly open (> half the time)",
            ],
            [
                [
                    NAMES[k],
                    GATE_NAMES[g],
                    statistics.fmean(left),
                    statistics.fmean(right),
                    f"{_mostly(left)} of {g_.units}",
                    f"{_mostly(right)} of {g_.units}",
                ]
                for k, g_ in gated.items()
                for g, (left, right) in g_.saturation.items()
            ],
        )
    )
    sec.tables.append(
        Table(
            "A unit named by measurement: the one that tracks the position in the line",
            ["model", "state", "unit", "r where it was chosen", "r on held-out text"],
            [[NAMES[k], g_.state, g_.found.unit, g_.found.chosen_on, g_.found.held_out] for k, g_ in gated.items()],
            caption=(
                "The feature is the number of characters since the last newline. Each unit's state is correlated "
                f"with it (Pearson r) over the first {cfg.gate_chars // 2:,} traced characters, the unit with the "
                f"largest |r| is chosen there, and its r is then measured on the next {cfg.gate_chars // 2:,}, "
                "which played no part in choosing it."
            ),
        )
    )
    sec.figures.append(
        Figure(
            "The unit that counts characters along the line",
            f"Each chosen unit's state over {SNIPPET} characters of the held-out half, beside the position in the "
            "line it was chosen for; all standardised (mean 0, standard deviation 1), and a unit that falls as "
            "the line goes on is drawn upside down (marked -). Dashed lines are newlines. The text: "
            + repr(next(iter(gated.values())).snippet[:120])
            + "...",
            plots.unit_over_text(
                {
                    f"{NAMES[k]} {'-' if g_.found.held_out < 0 else ''}{g_.state}[{g_.found.unit}]": (
                        _standardised(g_.unit_values, -1.0 if g_.found.held_out < 0 else 1.0)
                    )
                    for k, g_ in gated.items()
                }
                | {"position in line": _standardised(next(iter(gated.values())).feature)},
                next(iter(gated.values())).snippet,
                "Units chosen by correlation with the position in the line",
            ),
        )
    )


def _standardised(values: list[float], sign: float = 1.0) -> list[float]:
    mean, sd = statistics.fmean(values), statistics.pstdev(values) or 1.0
    return [sign * (v - mean) / sd for v in values]


def _rates_text(result: Lab02Result) -> str:
    """How each model's learning rate was chosen, in the summary's words."""
    cfg, runs = result.cfg, result.runs
    rates = {k: r.lr for k, r in runs.items()}
    if len(set(rates.values())) == 1:
        lr = next(iter(rates.values()))
        chosen = lr_choice(lr, choice(result.profile, "lab02.rnn"), "the vanilla RNN")
        return (
            f" Every model trains at one rate, {chosen}: the baseline is not the model left untuned, and the gated "
            "models' own grids at this budget are not measured yet."
        )
    listed = ", ".join(f"{NAMES[k]} {rate_text(lr)}" for k, lr in rates.items())
    return (
        f" Each model trains at its own learning rate, the best of its recorded grid at this budget ({listed}; the "
        "gating study below, acceptance/measured/gating.json), so no model is compared at a rate chosen for another; "
        f"an RNN as wide as a gated model trains at the RNN's ({rate_text(cfg.lr(BASELINE))})."
    )


PERPLEXITY_COLUMNS = [
    "model",
    "hidden",
    "parameters",
    "training chars",
    "train seconds",
    "val loss",
    "learning rate",
    "val perplexity",
]


def _perplexity_table(result: Lab02Result, caption: str) -> Table:
    """Every model this run trained, then (where counted) the best Kneser-Ney n-gram on the same validation targets,
    with each model's perplexity against it: whether these perplexities are good at all, not only which is lower."""
    t = result.cfg.train
    tokens = t.steps * t.batch_size * t.seq_len
    rows: list[list[Any]] = [
        [name, r.hidden, r.params, tokens, r.history.train_seconds, r.history.val_loss[-1], rate_text(r.lr), r.ppl]
        for name, r in _every_run(result)
    ]
    counted = _best_ngram(result)
    if counted is None:
        return Table("Perplexity", PERPLEXITY_COLUMNS, rows, caption=caption)
    n, best = counted
    for row in rows:
        row.append(_against(row[-1], best))
    orders = sorted(result.ngram)
    rows.append([f"Kneser-Ney {n}-gram (counting, no training)", "—", "—", "—", "—", result.ngram[n], "—", best, "—"])
    caption += (
        f" The last row is no neural model: the best of the Kneser-Ney n-grams of orders {orders[0]}-{orders[-1]}, "
        "counted on the training split and scored on the same validation targets (Lab 01's counting baselines, "
        "acceptance/ngram.py), its order chosen on these same targets, which flatters it. Against it: how much "
        "higher (+) or lower (-) each model's perplexity is, in %."
    )
    return Table("Perplexity", [*PERPLEXITY_COLUMNS, "against the best n-gram"], rows, caption=caption)


def _best_ngram(result: Lab02Result) -> tuple[int, float] | None:
    """(order, perplexity) of the best counting baseline on Lab 02's validation targets; None where not counted."""
    if not result.ngram:
        return None
    n = min(result.ngram, key=lambda order: result.ngram[order])
    return n, perplexity(result.ngram[n])


def _against(ppl: float, best: float) -> str:
    """How much higher (+) or lower (-) a perplexity is than the best n-gram's, in % of it: Lab 02's one formula,
    ``reduction``, read the other way."""
    return f"{0.0 - reduction(best, ppl):+.1f}%"


def _every_run(result: Lab02Result) -> list[tuple[str, LMRun]]:
    """(label, run) for each model at equal compute, then each RNN as wide as a gated model."""
    named: list[tuple[str, LMRun]] = [(NAMES[k], r) for k, r in result.runs.items()]
    return named + [(f"RNN as wide as the {NAMES[k]}", r) for k, r in result.width.items()]


COMPARISON_COLUMNS = [
    "comparison",
    "model (H, parameters, rate)",
    "its RNN (H, parameters, rate)",
    "val perplexity: model / RNN",
    "reduction vs its RNN",
    "over seeds: reduction, mean +- sd",
    "verdict",
]


def _comparisons_table(result: Lab02Result) -> Table:
    """Issue #32: the seed's "LSTM/GRU beat the vanilla RNN" posed two ways, side by side: at equal compute
    (parameters matched) and at equal width (the tutorials'), with each comparison's spread over seeds."""
    cfg, runs, profile = result.cfg, result.runs, result.profile
    lead, wide = lead_at_equal_compute(runs), width_lead(result)
    gated = {v.kind: v for v in gating_verdicts(gating(profile)) if v.layers == 1}

    def described(r: LMRun) -> str:
        return f"H = {r.hidden}, {r.params:,}, {rate_text(r.lr)}"

    rows = []
    for kind in lead:
        cid = f"lab02.{kind}_beats_rnn"
        column = over_seeds(profile, cid)
        if column:
            spread = spread_text(column[0])
        elif kind in gated:
            v = gated[kind]
            spread = f"{statistics.fmean(v.gaps):+.2f} +- {statistics.stdev(v.gaps):.2f} ({v.ratio} sd, gating study)"
        else:
            spread = "—"
        verdict = "a finding at this budget" if cid in cfg.findings else f"criterion {cid}"
        rnn = runs[BASELINE]
        rows.append(
            [
                "equal compute",
                f"{NAMES[kind]} ({described(runs[kind])})",
                f"RNN ({described(rnn)})",
                f"{runs[kind].ppl:.3f} / {rnn.ppl:.3f}",
                f"{lead[kind]:+.1f}%",
                spread,
                verdict,
            ]
        )
    for kind, narrow in result.width.items():
        cid = f"lab02.{kind}_beats_rnn_width"
        column = over_seeds(profile, cid)
        weights = runs[kind].params / narrow.params
        rows.append(
            [
                "equal width",
                f"{NAMES[kind]} ({described(runs[kind])})",
                f"RNN ({described(narrow)}): {weights:.1f}x fewer weights",
                f"{runs[kind].ppl:.3f} / {narrow.ppl:.3f}",
                f"{wide[kind]:+.1f}%",
                spread_text(column[0]) if column else "—",
                f"criterion {cid}",
            ]
        )
    return Table(
        "Do the LSTM and GRU beat the vanilla RNN? Two comparisons",
        COMPARISON_COLUMNS,
        rows,
        caption=(
            f'The seed: "LSTM/GRU should beat vanilla RNN on perplexity within the same compute budget", with a '
            f"{SEED_CLAIMED_REDUCTION:.0f}% reduction quoted at an unstated budget. Equal compute: parameters matched "
            "(so FLOPs per character match), each model at its own best rate; the RNN gets the larger hidden size. "
            "Equal width: the comparison most char-RNN tutorials make, an RNN of the gated model's hidden size, "
            "which gives the gated model 3-4x the weights. Both are real and answer different questions (Collins, "
            "Sohl-Dickstein and Sussillo 2017: nearly equal capacity per parameter for every common cell). Reduction: "
            "how much lower the model's perplexity is, in % of its RNN's; over seeds, from "
            f"acceptance/measured/seeds-{profile}.json (a criterion) or the gating study (a finding). A criterion "
            f"here holds by {ROBUST_SDS} standard deviations over seeds; the others are findings."
        ),
    )


def _gating_table(study: list[GatingRun]) -> Table:
    """Issue #25's protocol search for the seed's "LSTM/GRU beat the RNN at the same compute", measured outside
    the run (acceptance/measured/gating.json): each model at its own best rate, one and two layers, three seeds."""
    first = study[0]
    rates = ", ".join(rate_text(r) for r in GATING_LR_GRID)
    stacked = ", ".join(f"{NAMES[r.model.split('.')[-1]]} {r.hidden}" for r in study if r.layers > 1 and r.hidden)
    return Table(
        "Do gated cells beat the RNN when each gets its own best learning rate? (measured outside this run)",
        GATING_COLUMNS,
        gating_rows(study, NAMES),
        caption=f"A finding, not a criterion. Lab 02's {first.profile} budget ({first.steps} steps, parameters "
        f"matched; a two-layer model gets the largest hidden size that fits the same count: {stacked} units). Each "
        f"model's rate is the best of {rates} at seed 0, a best at the top taken one rate further (as Greff et al. "
        f"2015 tune each variant); seeds {', '.join(map(str, first.seeds))} "
        "then train at it. 'vs RNN': the perplexity reduction against the RNN of the same depth and seed; clear of "
        f"noise when it has one sign at every seed and its mean is at least {ROBUST_SDS} standard deviations. "
        f"{first.machine}, git {first.git}; commands in acceptance/measured/gating.json.",
    )


def _gating_words(profile: str) -> list[str]:
    """The gating study's verdicts on ``profile``'s budget in one line (empty without the record)."""
    study = gating(profile)
    if not study:
        return []
    said = "; ".join(
        f"{NAMES[v.kind]} at {v.layers} layer{'s' if v.layers > 1 else ''} {v.gaps_text} ({v.verdict})"
        for v in gating_verdicts(study)
    )
    return [
        f"Each model at its own best rate, seeds 0-2, reduction against the RNN of the same depth (the gating "
        f"table, measured outside this run): {said}."
    ]


FORGET_GATE_FINDING = "lab02.lstm_without_forget_gate"  # findings.json's key: the LSTM trained without it


def _forget_gate_recorded(profile: str) -> list[str]:
    """What the forget gate buys at ``profile``'s budget, where runs without it are recorded (findings.json): the
    LSTM's lead over the RNN of its width, with it and without."""
    found = recorded_finding(profile, FORGET_GATE_FINDING)
    if found is None:
        return []
    measured, where = found
    return [
        "What the forget gate buys (Gers et al. added it in 2000, for streams like this one, whose state is carried "
        f"from window to window), measured with it left out, the lab's LSTM otherwise: {measured} ({where})."
    ]


def _versus(reduction: float, noise: float | None) -> str:
    """A perplexity gap (% of the other's) in words; one inside the RNN's own spread over seeds (``noise``, %) is no
    effect."""
    gap = f"{abs(reduction):.1f}% {'below' if reduction > 0 else 'above'}"
    if noise is not None and abs(reduction) < noise:
        return f"level with ({gap}: inside the {noise:.1f}% the RNN alone moves over seeds)"
    return gap


def _claims_and_talking_points(recorder: Recorder, result: Lab02Result) -> None:
    cfg, runs, bench = result.cfg, result.runs, result.bench
    red, wide = lead_at_equal_compute(runs), width_lead(result)
    noise = rnn_spread(result.profile, runs[BASELINE].lr)
    t = cfg.train
    at_width = "; equal width: " + ", ".join(f"{NAMES[k]} {v:.1f}%" for k, v in wide.items()) if wide else ""
    recorder.claims.append(
        Claim(
            LAB,
            "perplexity reduction of the LSTM over the vanilla RNN",
            "seed write-up; prototype (issue #3)",
            f"{SEED_CLAIMED_REDUCTION:.0f}% (seed, budget and comparison not stated); about 8% (prototype, 10 min "
            "each, H=256)",
            "equal compute: "
            + ", ".join(f"{NAMES[k]} {v:.1f}%" for k, v in red.items())
            + at_width
            + f" ({t.steps} steps, each model at its own rate)",
            "at equal compute (parameters matched) the RNN gets the larger hidden size and common cells store about "
            "as much per parameter (Collins et al. 2017); at equal width, the tutorials' comparison, the gated cell "
            f"has 3-4x the weights; and {t.steps} steps on {t.seq_len}-character windows exercise little long-range "
            "memory",
            key="lab02.gated_reduction",
        )
    )
    recorder.talking_points.append(_gates_pay_off(result, red, wide))
    recorder.claims.append(
        Claim(
            LAB,
            "from-scratch training step over torch's fused kernel (B=64, T=100)",
            "prototypes (issue #6)",
            "hand-written BPTT: GRU 0.73 / 0.86 / 0.74x, LSTM 1.11 / 1.10 / 1.32x at H = 128 / 256 / 512",
            " · ".join(
                f"H={hh}: "
                + ", ".join(
                    f"{NAMES[k]} {bench[(k, hh, 'fast')] / bench[(k, hh, 'fused')]:.2f}x"
                    for k in runs
                    if (k, hh, "fused") in bench
                )
                for hh in cfg.bench_sizes
            ),
            f"same approach (rnnlab.fast); medians of {cfg.bench_rounds} interleaved rounds, so expect a few percent "
            "of noise on a shared 2-core machine",
            key="lab02.fast_vs_fused",
        )
    )
    d = GRAD_DISTANCE
    rel = {k: relative(runs[k].grad_trained, d) for k in runs}
    rel_init = {k: relative(runs[k].grad_init, d) for k in runs}
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "Why do vanilla RNNs' gradients vanish?",
            "Each step back multiplies the gradient by W_hh^T diag(1 - h_t^2), so over k steps it is a product of k "
            "such Jacobians: when their norms stay below 1 the signal shrinks geometrically with distance, and "
            "above 1 it explodes (Bengio, Simard and Frasconi, 1994; Pascanu et al., 2013). So a vanilla RNN learns "
            "mostly from the last few dozen steps, whatever its state could in principle carry.",
            [
                f"Relative gradient norm {d} steps back, ||dL_T/dh_(T-{d})|| / ||dL_T/dh_T||, after training: "
                f"{_each(rel, '.2g')} (criteria lab02.*_grad_flow).",
                f"At initialisation: {_each(rel_init, '.2g')}.",
            ],
            "lab02.lstm_grad_flow",
        )
    )
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "Why does the LSTM's additive cell-state update help?",
            "c_t = f_t * c_(t-1) + i_t * g_t: along the cell, one step back multiplies the gradient by the forget "
            "gate alone, with no weight matrix and no squashing derivative, so with f near 1 it passes almost "
            "unchanged (Hochreiter and Schmidhuber's constant error carousel, 1997; the forget gate is Gers et al., "
            "2000). The network learns when to keep and when to reset instead of fighting a product of Jacobians.",
            [
                f"Relative gradient {d} steps back after training: the LSTM's is {rel[LSTM] / rel[BASELINE]:.3g}x the "
                f"RNN's ({relative(runs[LSTM].grad_trained, min(100, cfg.grad_distance)):.2g} of its last "
                f"step's at {min(100, cfg.grad_distance)} back).",
                f"Validation perplexity at this budget (same characters, parameters matched): LSTM {_versus(red[LSTM], noise)} "
                f"the RNN's, GRU {_versus(red[GRU], noise)} it"
                + (
                    f": reaching further back does not show in perplexity after {t.steps} steps on "
                    f"{t.seq_len}-character windows."
                    if noise is not None and max(red.values()) < noise
                    else "."
                ),
                *_gating_words(result.profile),
                "A spec checks that f = 1, i = 0 carries c exactly (spec/lab02).",
            ],
            "section-lab02",
            recorded=_forget_gate_recorded(result.profile),
        )
    )
    reach = {k: r.reach for k, r in runs.items()}
    longest, window = max(cfg.context_lengths), cfg.train.seq_len
    ctx = {k: r.context for k, r in runs.items()}
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "Do the LSTM and GRU actually use more of the past than a vanilla RNN?",
            "Measure it by cutting the context: show a trained model only the last L characters before each target "
            "and find the L beyond which its loss stops improving (Khandelwal et al., 2018, did this for LSTM "
            "language models: about 200 tokens used, word order only within the last 50). Gated models are expected "
            "to reach further, since their gradients survive longer.",
            [
                f"Effective context (loss within {100 * CONTEXT_TOLERANCE:.0f}% of its loss at L = {longest}): "
                f"{_each(reach)} characters ("
                + "; ".join(
                    f"{NAMES[k]}: {'a finding at this budget' if f'lab02.{k}_context' in cfg.findings else 'criterion'} "
                    f"lab02.{k}_context"
                    for k in runs
                    if MODEL_KINDS[k].sigmoid_gates
                )
                + ").",
                f"Loss at L = {reach[BASELINE]}: {_each({k: c[reach[BASELINE]] for k, c in ctx.items()}, '.3f')} nats; "
                f"at L = {longest}: {_each({k: c[longest] for k, c in ctx.items()}, '.3f')}.",
                f"Every model trained on {window}-character windows (truncated BPTT): what it uses beyond {window} "
                "characters it learned only through the state it carries forward.",
            ],
            "section-lab02",
        )
    )
    lstm_gates = runs[LSTM].gates
    if lstm_gates is not None:
        recorder.talking_points.append(_gates_talking_point(cfg, lstm_gates))
    h = cfg.bench_sizes[-1]
    step_ms = {k: 1000 * bench[(k, h, "fast")] for k in (LSTM, GRU)}
    e = cfg.embedding_dim
    per_unit = {k: gates * (e + runs[k].hidden + 2) for k, gates in ((LSTM, 4), (GRU, 3))}
    gap = reduction(runs[LSTM].ppl, runs[GRU].ppl)
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "When does a GRU match an LSTM?",
            "Most of the time, at equal parameters: the large comparisons found neither cell better across tasks "
            "(Chung et al. 2014; Greff et al. 2015; Jozefowicz et al. 2015, whose language models favoured an LSTM "
            "with forget-gate bias 1). Rule of thumb: a GRU when parameters, data or time are short (three gate "
            "blocks to four, no separate cell), an LSTM when the task needs unbounded memory such as counting (Weiss "
            "et al. 2018) or when it is the tuned default.",
            [
                f"Validation perplexity, same characters and parameters: GRU {runs[GRU].ppl:.3f}, LSTM "
                f"{runs[LSTM].ppl:.3f} (the GRU {_versus(gap, noise)} the LSTM).",
                f"Cost per hidden unit: GRU 3 (E + H + 2) = {per_unit[GRU]:,} parameters, LSTM 4 (E + H + 2) = "
                f"{per_unit[LSTM]:,}, so the GRU gets H = {runs[GRU].hidden} to the LSTM's "
                f"{runs[LSTM].hidden}.",
                f"Effective context: GRU {reach[GRU]}, LSTM {reach[LSTM]} characters; relative gradient {d} steps "
                f"back: {rel[GRU]:.2g} against {rel[LSTM]:.2g}.",
                f"One fast-path training step at H = {h}: GRU {step_ms[GRU]:.1f} ms, LSTM {step_ms[LSTM]:.1f} ms.",
                "Not shown here: dependencies far longer than the training window, the case the LSTM's separate "
                "cell is built for.",
            ],
            "section-lab02",
        )
    )


def _gates_pay_off(result: Lab02Result, red: dict[str, float], wide: dict[str, float]) -> TalkingPoint:
    """Issue #32: "When do gates pay off?", from both comparisons."""
    runs = result.runs
    evidence = [
        "At equal compute (parameters matched, each at its own rate): "
        + ", ".join(f"{NAMES[k]} {v:+.1f}% against the RNN's perplexity" for k, v in red.items())
        + " ("
        + ", ".join(f"{NAMES[k]} H = {r.hidden}" for k, r in runs.items())
        + ").",
    ]
    if wide:
        evidence.append(
            "At equal width: "
            + ", ".join(
                f"{NAMES[k]} {v:+.1f}% against an RNN of H = {result.width[k].hidden} "
                f"({runs[k].params / result.width[k].params:.1f}x its weights)"
                for k, v in wide.items()
            )
            + "."
        )
    counted = _best_ngram(result)
    if counted is not None:
        n, best = counted
        evidence.append(
            f"Against counting on the same targets: the best Kneser-Ney n-gram (the {n}-gram, reading {reads(n)}) "
            f"reaches perplexity {best:.3f}; "
            + ", ".join(f"{NAMES[k]} {_against(r.ppl, best)}" for k, r in runs.items())
            + " against it."
        )
    evidence += _gating_words(result.profile)
    d = GRAD_DISTANCE
    rel = {k: relative(r.grad_trained, d) for k, r in runs.items()}
    evidence.append(
        f"Relative gradient {d} steps back after training: "
        + ", ".join(f"{NAMES[k]} {v:.2g}" for k, v in rel.items())
        + " (criteria lab02.*_grad_flow): what the gates buy is trainability over long spans."
    )
    return TalkingPoint(
        LAB,
        "When do gates pay off?",
        "Per parameter, hardly on short-range text: common recurrent cells store about as much per parameter (Collins, "
        "Sohl-Dickstein and Sussillo 2017), and the large gains tutorials report compare an LSTM with an RNN of its "
        "hidden size, which hands the LSTM about four times the weights. What gating buys is trainability: gradients "
        "that survive long spans, deeper stacks that train, a wider range of workable learning rates (Karpathy, "
        "Johnson and Fei-Fei 2015 find both gated cells clearly ahead at two layers and more). So name the "
        "comparison a number comes from: equal compute or equal width.",
        evidence,
        "section-lab02",
    )


def _each(values: dict[str, Any], spec: str = "") -> str:
    """ "RNN 0.12, LSTM 0.34, GRU 0.56": each model kind's value, named from the registry, in registration order."""
    return ", ".join(f"{NAMES[k]} {format(values[k], spec)}" for k in MODEL_KINDS if k in values)


def _gates_talking_point(cfg: Lab02, g_: GateStudy) -> TalkingPoint:
    sat, units, found = g_.saturation, g_.units, g_.found

    def open_shut(gate: str) -> str:
        left, right = sat[gate]
        return f"{_mostly(right)} of {units} units open (> {HIGH}) and {_mostly(left)} shut (< {LOW}) more than half the time"

    return TalkingPoint(
        LAB,
        "Walk through the LSTM gates",
        "From h_(t-1) and x_t the cell computes a forget gate f (how much of the old cell c_(t-1) to keep), an "
        "input gate i (how much of the candidate g = tanh(.) to write) and an output gate o (how much of tanh(c_t) "
        "to show as h_t), each a sigmoid; c_t = f * c_(t-1) + i * g and h_t = o * tanh(c_t). Trained on text, "
        "some units become interpretable counters and switches (Karpathy, Johnson and Fei-Fei, 2015, found a "
        "line-length cell and a quote cell).",
        [
            f"Forget gate over {cfg.gate_chars:,} validation characters: {open_shut('f')}; the open ones carry their "
            "cell across many characters, the shut ones reset every step.",
            f"Input gate: {open_shut('i')}.",
            f"Output gate: {open_shut('o')}.",
            f"Cell c[{found.unit}], chosen among {units} for its correlation with the characters since the last "
            f"newline on one half of the text, correlates at r = {found.held_out:.2f} on the other half "
            "(criterion lab02.lstm_line_unit).",
        ],
        "lab02.lstm_line_unit",
    )
