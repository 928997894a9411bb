"""Lab 03's report section: the accuracy table, learning curves, accuracy by length, teacher
forcing measured, the attention heatmap, claims and talking points."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from typing import Any

import torch

from acceptance import plots
from acceptance.measures import (
    CATCH_UP_MARGINS,
    CONTINUED,
    FORCED,
    NEVER,
    SCHEDULED,
    catch_up,
    exposure,
    exposure_runs,
    gaps,
)
from acceptance.measures import (
    SEQ2SEQ_NAMES as NAMES,
)
from acceptance.profiles import TOX_MINUTES
from acceptance.record import Claim, Figure, LabSection, Recorder, Table, TalkingPoint
from acceptance.trained import Lab03Result
from rnnlab.data.dates import LONG_MIN, SHORT_MAX
from rnnlab.device import model_device

LAB = "lab03"


def write(recorder: Recorder, result: Lab03Result) -> None:
    _write_section(recorder, result)
    _claims_and_talking_points(recorder, result)


def catch_up_sentence(runs: dict[tuple[str, int], Any], first: int, budget: int) -> str:
    att, history, found = catch_up(runs, first)
    last = history.eval_step[-1]
    parts = [f"Bahdanau ends the {budget}-step budget at {att:.1f}% on long validation inputs."]
    for within in CATCH_UP_MARGINS:
        if within in found:
            step, acc = found[within]
            where = "within the budget" if step <= budget else f"{step - budget} steps past the budget"
            parts.append(
                f"The baseline first comes within {within:.0f} points of that at step {step} ({acc:.1f}%), {where}."
            )
        else:
            parts.append(
                f"The baseline does not come within {within:.0f} points of it by step {last} "
                f"({100 * history.val_accuracy[-1]['long']:.1f}%)."
            )
    if last > budget:
        parts.append(
            f"(After step {budget} only the baseline trains on, teacher forcing held at its final ratio: "
            "this measures where the fixed context catches up, not a comparison at equal budget.)"
        )
    return " ".join(parts)


def _write_section(recorder: Recorder, result: Lab03Result) -> None:
    cfg, runs, first = result.cfg, result.runs, result.cfg.seeds[0]
    t = cfg.train
    sec = recorder.section(LAB, "Lab 03 — seq2seq date normalisation, with and without attention")
    sec.summary = (
        f"Protocol, fixed before measuring: a character-level bidirectional GRU encoder and a GRU decoder "
        f"(hidden {cfg.hidden_size}, embedding {cfg.embedding_dim}), built from the Lab 02 GRU cell; every variant gets "
        f"the same {result.train_size:,} training examples, batch {t.batch_size}, Adam lr {t.lr}, clipping at {t.clip}, "
        f"scheduled sampling (teacher forcing {t.tf_start} -> {t.tf_end}, linear) and {t.steps} steps. The only "
        f"difference is the context vector: fixed (the encoder's final states) or attention. Test: "
        f"{len(result.test):,} examples over dates never seen in training ({len(result.long_test):,} long, "
        f">= {LONG_MIN} characters; short is < {SHORT_MAX}). The baseline-vs-Bahdanau gap is quoted over "
        f"{len(cfg.seeds)} seed(s): {list(cfg.seeds)}"
        + (
            f"; the quick profile runs one seed to keep `tox` within {TOX_MINUTES} minutes, the full profile three."
            if len(cfg.seeds) == 1
            else "."
        )
    )
    rows = []
    for (variant, seed), r in runs.items():
        acc = r.test
        for part in ("all", "short", "long"):
            if part in acc:
                recorder.number(
                    f"lab03.{variant}.seed{seed}.{part}",
                    LAB,
                    f"{NAMES[variant]} (seed {seed}) exact match on {part} held-out test dates",
                    100 * acc[part],
                    "%",
                )
        if r.alignment is not None:
            recorder.number(
                f"lab03.{variant}.seed{seed}.alignment",
                LAB,
                f"{NAMES[variant]} (seed {seed}) attention alignment on long inputs",
                100 * r.alignment,
                "%",
            )
        rows.append(
            [
                NAMES[variant],
                seed,
                r.params,
                r.history.train_seconds,
                100 * acc["all"],
                100 * acc.get("short", float("nan")),
                100 * acc.get("long", float("nan")),
                100 * r.alignment if r.alignment is not None else "—",
            ]
        )
    sec.tables.append(
        Table(
            "Exact-match accuracy on held-out test dates (%)",
            ["model", "seed", "parameters", "train seconds", "all", "short", "long", "alignment (long)"],
            rows,
            caption="Alignment: share of output year/month/day characters whose attention argmax "
            "falls inside the input span that expresses that field. The baseline's accuracy on short inputs is a "
            "finding, not a criterion (issue #25): over seeds 0-2 it measured 95.2%, 96.6% and 91.2% against the "
            "95% issue #4 asked for, so one seed's pass was noise (acceptance/measured/seeds-quick.json).",
        )
    )
    beam = beam_table(result)
    if beam is not None:
        sec.tables.append(beam)
    g = gaps(result)
    sec.notes.append(
        f"Gap on long inputs (Bahdanau minus baseline): {', '.join(f'{x:.1f}' for x in g)} points "
        f"(seeds {list(cfg.seeds)}), mean {statistics.mean(g):.1f}. " + catch_up_sentence(runs, first, t.steps)
    )
    models_first = {NAMES[v]: asdict(runs[(v, first)].history) for v in cfg.variants}
    with_continued = dict(models_first)
    continued = runs[("none", first)].continued
    if continued is not None:
        with_continued[CONTINUED] = asdict(continued)
    sec.figures.append(
        Figure(
            "Learning curves against steps",
            "Validation exact match on long (solid) and short (dashed) inputs. "
            + (
                f"The last curve is the baseline trained on past the {t.steps}-step budget "
                "(alone), to show where it catches up."
                if CONTINUED in with_continued
                else ""
            ),
            plots.learning_curves(with_continued, "eval_step", "training step"),
        )
    )
    sec.figures.append(
        Figure(
            "Learning curves against wall-clock",
            "The same evaluations against training seconds (evaluation time excluded).",
            plots.learning_curves(models_first, "eval_seconds", "training seconds"),
        )
    )
    sec.figures.append(
        Figure(
            "Accuracy against input length",
            "Test exact match in 20-character bins (bins with >= 10 examples): the picture of "
            "Bahdanau et al.'s figure 2 — a fixed context degrades as inputs grow.",
            plots.accuracy_by_length({NAMES[v]: runs[(v, first)].curve for v in cfg.variants}),
        )
    )
    _exposure_section(sec, result)
    model = runs[("bahdanau", first)].model
    example = max(result.long_test[:200], key=lambda e: len(e.source) if len(e.source) < 140 else 0)
    output = model.translate([example.source])[0]
    src, lengths = model.encode_sources([example.source])
    with torch.no_grad():
        attention = model.decode(src.to(model_device(model)), lengths)[1]
    assert attention is not None, "an attention model's decoder returns its weights"
    weights = attention[0].cpu().numpy()
    sec.figures.append(
        Figure(
            "Bahdanau attention for a long input",
            f'Input: "{example.source}" -> output {output} (target {example.target}).',
            plots.attention_heatmap(weights, example.source, output + "⏎", title="Bahdanau attention weights"),
        )
    )


def _exposure_section(sec: LabSection, result: Lab03Result) -> None:
    t = result.cfg.train
    runs = exposure_runs(result)
    steps = runs[SCHEDULED].history.eval_step
    how = {SCHEDULED: f"{t.tf_start} -> {t.tf_end}, the lab's", FORCED: "1.0 throughout", NEVER: "0.0 throughout"}
    alone = len(runs) == 1  # the quick profile: the runs that differ in teacher forcing alone are the full profile's
    if not alone:
        sec.figures.append(
            Figure(
                "Teacher forcing: what it is for",
                "Validation exact match (all inputs, fed its own predictions as at test time) during training of "
                f"{len(runs)} Bahdanau models that differ only in the teacher-forcing ratio: "
                + "; ".join(f"{name} ({how[name]})" for name in runs)
                + ". Same architecture, data, seed, budget and optimiser.",
                plots.series(
                    {name: [100 * a["all"] for a in r.history.val_accuracy] for name, r in runs.items()},
                    "training step",
                    "validation exact match (%)",
                    "Learning with and without teacher forcing",
                    x=steps,
                ),
            )
        )
    sec.figures.append(
        Figure(
            "Exposure bias: fed the gold prefix against fed its own",
            (
                "Validation character accuracy (all inputs) of the scheduled-sampling Bahdanau model. "
                if alone
                else "Validation character accuracy (all inputs) for the same models. "
            )
            + "Dashed: each model fed the gold "
            "previous characters (as teacher forcing trains it); solid: fed its own predictions (as at test "
            "time). The vertical gap between a model's two curves is its exposure bias. (Character accuracy, "
            "not exact match: greedy decoding makes its first mistake at the same place either way, so exact "
            "match is the same fed gold or fed its own; the difference is in what follows a first mistake.)",
            plots.series(
                {
                    f"{name} — {fed}": [100 * e[key]["all"] for e in r.history.val_exposure]
                    for name, r in runs.items()
                    for fed, key in (("fed gold", "forced"), ("fed own", "free"))
                },
                "training step",
                "validation character accuracy (%)",
                "Exposure bias during training",
                x=steps,
                styles=["--", "-"] * len(runs),
            ),
        )
    )
    sec.tables.append(
        Table(
            "Teacher forcing: accuracy and exposure bias (a finding, not a criterion)",
            [
                "model",
                "test exact match: all",
                "test exact match: long",
                "test characters fed gold: all",
                "test characters fed own: all",
                "exposure bias, validation, mean over evaluations (points)",
                "largest (points, at step)",
            ],
            [
                [
                    f"{name} ({how[name]})",
                    100 * r.test["all"],
                    100 * r.test.get("long", float("nan")),
                    100 * r.test_exposure["forced"]["all"],
                    100 * r.test_exposure["free"]["all"],
                    statistics.fmean(exposure(r.history)),
                    "{:.1f} at {}".format(*max(zip(exposure(r.history), steps, strict=True))),
                ]
                for name, r in runs.items()
            ],
            caption=(f"{ALONE} " if alone else "Only the teacher-forcing ratio differs. ")
            + "Issue #25: at the quick budget the exposure-bias difference between scheduled sampling and teacher "
            "forcing always on lies within the noise of one seed (0.485 against 0.495 points when it was a "
            "criterion), so it is reported, not judged.",
        )
    )


def _teacher_forcing_point(result: Lab03Result) -> TalkingPoint:
    t = result.cfg.train
    runs = exposure_runs(result)
    steps = runs[SCHEDULED].history.eval_step
    bias = {name: statistics.fmean(exposure(r.history)) for name, r in runs.items()}
    final = {name: 100 * r.test["all"] for name, r in runs.items()}
    curve = {name: [100 * a["all"] for a in r.history.val_accuracy] for name, r in runs.items()}
    halfway = len(steps) // 2 - 1

    def at_half(name: str) -> str:
        return f"{curve[name][halfway]:.1f}%"

    if len(runs) == 1:
        return TalkingPoint(
            LAB,
            TEACHER_FORCING_QUESTION,
            TEACHER_FORCING_ANSWER.format(start=t.tf_start, end=t.tf_end),
            [
                f"The Bahdanau model trained with scheduled sampling ({t.tf_start} -> {t.tf_end}), {t.steps} steps: "
                f"test dates exactly right {final[SCHEDULED]:.1f}%; exposure bias (character accuracy fed the gold "
                f"prefix minus fed its own, mean over the evaluations) {bias[SCHEDULED]:.2f} points.",
                ALONE,
            ],
            "section-lab03",
        )
    measured = [
        f"Bahdanau models that differ only in teacher forcing, {t.steps} steps each; validation dates exactly right "
        f"at step {steps[halfway]}: " + ", ".join(f"{name.split(', ')[1]} {at_half(name)}" for name in runs) + ".",
        "Test dates exactly right at the end: "
        + ", ".join(f"{name.split(', ')[1]} {final[name]:.1f}%" for name in runs)
        + ".",
        "Exposure bias (character accuracy fed the gold prefix minus fed its own, mean over the evaluations): "
        + ", ".join(f"{name.split(', ')[1]} {bias[name]:.2f} points" for name in runs)
        + ".",
    ]
    if FORCED in runs:
        measured.append(
            f"Scheduled sampling against teacher forcing always on: {bias[SCHEDULED] - bias[FORCED]:+.2f} points of "
            "exposure bias on this task: a finding (issue #25), reported and not judged, since one seed's noise "
            "is as large (the exposure-bias table)."
        )
    return TalkingPoint(
        LAB,
        TEACHER_FORCING_QUESTION,
        TEACHER_FORCING_ANSWER.format(start=t.tf_start, end=t.tf_end),
        measured,
        "section-lab03",
    )


TEACHER_FORCING_QUESTION = "What is teacher forcing, and what does scheduled sampling fix?"
TEACHER_FORCING_ANSWER = (
    "Teacher forcing feeds the decoder the gold previous token during training instead of its own prediction "
    "(Williams and Zipser, 1989), so every step learns from a correct prefix and training is fast and stable. "
    "Its cost is exposure bias: the model never practises recovering from its own mistakes, which is all it "
    "reads at test time, and scheduled sampling (Bengio et al., 2015; here {start} -> {end}) feeds "
    "it its own predictions more and more often as training goes on to close that gap."
)
# What a profile that trains only the lab's own (scheduled-sampling) Bahdanau run says of the others
ALONE = (
    "The same model trained with teacher forcing always on and never on, the comparison that measures what "
    "teacher forcing is for, is the full profile's (RNNLAB_PROFILE=full tox -e full): two more Bahdanau runs "
    f"would put `tox` past its {TOX_MINUTES} minutes on 2 cores."
)


def _claims_and_talking_points(recorder: Recorder, result: Lab03Result) -> None:
    cfg, runs, first = result.cfg, result.runs, result.cfg.seeds[0]
    acc = {v: {k: 100 * x for k, x in runs[(v, first)].test.items()} for v in cfg.variants}
    g = gaps(result)
    att, history, found = catch_up(runs, first)
    close = CATCH_UP_MARGINS[-1]
    caught = f"step {found[close][0]}" if close in found else f"not by step {history.eval_step[-1]}"
    recorder.claims.append(
        Claim(
            LAB,
            "where the no-attention baseline catches up on long inputs",
            "measured facts in issue #4 (sentences of 60-160 characters)",
            "attention ahead by 88 points at 200 steps, 25 at 300, 4 at 400; both 99.7% at 800",
            f"gap {statistics.mean(g):+.1f} points at {cfg.train.steps} steps; the baseline within {close:.0f} points of "
            f"Bahdanau's {att:.1f}%: {caught}",
            "our sentences run to 200 characters (theirs to 160) and our batches are grouped by length; in an "
            "exploratory run, length-grouped batches made the baseline learn long inputs more slowly per step "
            "(12.5% against 40.5% at 300 steps)",
            key="lab03.catch_up",
        )
    )
    recorder.talking_points.append(_teacher_forcing_point(result))
    recorder.talking_points.append(beam_point(result))
    padded = padding_point(result)
    if padded is not None:
        recorder.talking_points.append(padded)
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "What is the bottleneck problem?",
            "Without attention the decoder sees the whole input only through one fixed-size vector, the encoder's "
            "final state, so the longer the input the more that vector must squeeze in, and quality falls with "
            "length (Cho et al., 2014, measured it on translation; Bahdanau et al., 2014, removed it with attention).",
            [
                f"Baseline (fixed context), held-out dates: {acc['none']['short']:.1f}% of short inputs exactly right, "
                f"{acc['none']['long']:.1f}% of long ones.",
                f"Bahdanau attention, same budget: {acc['bahdanau']['long']:.1f}% of long ones (criterion "
                "lab03.gap_long).",
                "The accuracy-against-length figure shows both models as inputs grow.",
            ],
            "lab03.gap_long",
        )
    )
    aligned = {v: runs[(v, first)].alignment for v in ("bahdanau", "luong", "luong_dot") if (v, first) in runs}
    align = {v: 100 * a for v, a in aligned.items() if a is not None}
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "From additive attention to scaled dot-product attention",
            "Bahdanau scores each encoder state with a small network, v^T tanh(W_s s + W_h h_j); Luong et al. "
            "(2015) replaced it with a bilinear form s^T W h_j ('general') or a plain dot product s^T h_j, cheaper "
            "and one matrix product for all positions. Vaswani et al. (2017) divide the dot product by sqrt(d) so "
            "that the softmax does not saturate as d grows, and compute it for all queries at once.",
            [
                f"{NAMES[v]}: {acc[v]['long']:.1f}% of long inputs exactly right"
                + (f", attention inside the right field {align[v]:.1f}% of the time" if v in align else "")
                + "."
                for v in cfg.variants
                if v != "none"
            ],
            "lab03.luong",
        )
    )

    curves = {v: runs[(v, first)].curve for v in ("none", "bahdanau")}
    span = {v: (100 * c[1][0], 100 * c[1][-1]) for v, c in curves.items()}
    lengths = curves["bahdanau"][0]
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "Why does attention 'look back', and where did it come from?",
            "Bahdanau, Cho and Bengio (2014) added it to neural machine translation because an encoder-decoder "
            "squeezed every sentence into one fixed vector. At each output step the decoder scores every encoder "
            "state against its own state, turns the scores into weights with a softmax and reads their weighted "
            "mean: a soft lookup into the whole input, learned end to end.",
            [
                "For the year, month and day characters written on long inputs, Bahdanau's attention peaks inside "
                f"the input span of that field {align['bahdanau']:.1f}% of the time (criterion lab03.alignment; "
                "the heatmap shows one example).",
                f"Exact match from inputs of about {lengths[0]:.0f} characters to about {lengths[-1]:.0f}: Bahdanau "
                f"{span['bahdanau'][0]:.0f}% -> {span['bahdanau'][1]:.0f}%, the fixed-vector baseline "
                f"{span['none'][0]:.0f}% -> {span['none'][1]:.0f}%.",
            ],
            "lab03.alignment",
        )
    )


BUCKETS = ("short", "medium", "long", "all")


def _beamed(result: Lab03Result) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """variant -> (greedy, beam search) exact match by bucket, in %, for the first seed's runs that measured both."""
    first = result.cfg.seeds[0]
    found = {}
    for v in result.cfg.variants:
        run = result.runs.get((v, first))
        if run is not None and run.beam is not None:
            found[v] = ({k: 100 * x for k, x in run.test.items()}, {k: 100 * x for k, x in run.beam.items()})
    return found


def beam_table(result: Lab03Result) -> Table | None:
    """Greedy decoding against beam search, model by model and bucket by bucket; None where nothing measured both."""
    k, found = result.cfg.beam, _beamed(result)
    if not found:
        return None
    parts = [b for b in BUCKETS if any(b in greedy for greedy, _ in found.values())]
    rows: list[list[Any]] = []
    for v, (greedy, beam) in found.items():
        rows.append([NAMES[v], "greedy", *(greedy.get(b, "—") for b in parts)])
        rows.append(["", f"beam of {k}", *(beam.get(b, "—") for b in parts)])
        rows.append(["", "change (points)", *(f"{beam[b] - greedy[b]:+.2f}" if b in beam else "—" for b in parts)])
    return Table(
        f"Greedy decoding against beam search (a beam of {k}): exact match on held-out test dates (%)",
        ["model", "decoding", *parts],
        rows,
        caption="The same trained models (the first seed's) and test dates; only the decoding differs. Greedy keeps "
        f"the most probable next character at every step, the beam the {k} most probable prefixes, returning the most "
        "probable whole output it found.",
    )


def padding_point(result: Lab03Result) -> TalkingPoint | None:
    """How to batch sequences of different lengths: the answer, then the padding of Lab 03's own training batches;
    None where it was not measured."""
    if not result.padding:
        return None
    drawn, grouped = result.padding["random"], result.padding["by length"]
    return TalkingPoint(
        LAB,
        "How do you batch sequences of different lengths?",
        "Pad each batch to its longest sequence and carry the true lengths as a mask: a padded step must not change "
        "a row's state, take attention weight or count in the loss. Then group sequences of similar length into a "
        "batch, so that little of the work is padding (Sutskever, Vinyals and Le, 2014, got a twofold speed-up this "
        "way), and shuffle the batches themselves; PyTorch's pack_padded_sequence skips the padded steps altogether.",
        [
            f"One pass over Lab 03's {result.train_size:,} training dates: in random batches of "
            f"{result.cfg.train.batch_size}, {100 * drawn:.1f}% of the encoder's steps are padding; grouped by length "
            f"(as Lab 03 trains), {100 * grouped:.1f}%: at random the encoder runs {(1 - grouped) / (1 - drawn):.1f}x "
            "the steps.",
            "Specs hold that padding never reaches an answer: the encoder stops each row at its own length, the "
            "attention gives padded positions exactly zero weight, and translate answers each date as it would alone "
            "(spec/lab03/test_seq2seq.py, spec/lab03/test_attention.py).",
        ],
        "section-lab03",
    )


def beam_point(result: Lab03Result) -> TalkingPoint:
    """Greedy or beam search: the answer, then what the beam changed for each of this run's models."""
    k, found = result.cfg.beam, _beamed(result)
    lines = [
        f"{NAMES[v][0].upper()}{NAMES[v][1:]}: {greedy['all']:.1f}% exactly right greedy, {beam['all']:.1f}% with a beam of {k} "
        f"({beam['all'] - greedy['all']:+.1f} points)"
        + (f"; long inputs {greedy['long']:.1f}% -> {beam['long']:.1f}%" if "long" in greedy and "long" in beam else "")
        + "."
        for v, (greedy, beam) in found.items()
    ]
    if "none" in found and "bahdanau" in found and all("long" in g for g, _ in (found["none"], found["bahdanau"])):
        (base, base_beam), (att, _) = found["none"], found["bahdanau"]
        lines.append(
            f"On long inputs the beam moves the baseline {base_beam['long'] - base['long']:+.1f} points; attention "
            f"puts Bahdanau {att['long'] - base['long']:+.1f} points ahead of it, both decoded greedily "
            "(criterion lab03.gap_long)."
        )
    if not found:
        lines.append(
            "Not measured: this copy of rnnlab was made before translate could search a beam (a copy made now by "
            "`rnnlab exercise init` measures it)."
        )
    return TalkingPoint(
        LAB,
        "Greedy decoding or beam search?",
        "Greedy decoding emits the most probable next token at every step and never revisits it, so an early choice "
        "that looked best can lead to a less probable whole output. Beam search keeps the k most probable prefixes at "
        "each step and returns the most probable complete output it found, for about k times the decoding work "
        "(Sutskever, Vinyals and Le, 2014, found a beam of 2 gave most of its benefit). It finds outputs the model "
        "scores higher; it cannot fix a model whose most probable output is wrong.",
        lines,
        "section-lab03",
    )
