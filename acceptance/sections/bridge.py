"""The bridge's report section: the attention LM beside Lab 02's models, the step time against
the sequence length, the claim and the talking point."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from acceptance import plots
from acceptance.measures import ATTENTION, CONTEXT_TOLERANCE, TIMED
from acceptance.measures import LM_NAMES as ALL_NAMES
from acceptance.record import Claim, Figure, Recorder, Table, TalkingPoint
from acceptance.records import choice, lr_choice

LAB = "bridge"


def write(recorder: Recorder, result: dict[str, Any]) -> None:
    _write_section(recorder, result)
    recorder.talking_points.append(_talking_point(result))
    recorder.claims.append(_claim(result))


def _lr_words(cfg, t, profile):
    if cfg.lr is None:
        return "Lab 02's rate"
    return lr_choice(t.lr, choice(profile, "bridge.attention"), "this model")


def _write_section(recorder, result):
    cfg, t, run, lab02, timing = result["cfg"], result["train"], result["run"], result["lab02"], result["timing"]
    runs = lab02["runs"]
    sec = recorder.section(LAB, "Bridge — from recurrence to attention")
    sec.summary = (
        f"A causal self-attention language model (a small GPT: {cfg.num_layers} pre-norm blocks of masked "
        f"scaled dot-product attention with {cfg.num_heads} heads and a GELU MLP, d_model {cfg.d_model}, learned "
        f"positions over a {run['window']}-character window), written from tensor ops in "
        "rnnlab/models/attention_lm.py and specced like the cells (spec/lab02/test_attention_lm.py), trained on "
        f"Lab 02's characters with Lab 02's budget: {t.steps} steps of {t.batch_size} x {t.seq_len}, Adam, cosine "
        f"schedule from lr {t.lr} ({_lr_words(cfg, t, result['profile'])}), clipping at {t.clip}, seed {t.seed}"
        + (
            f", dropout {result['dropout']} (GPT-2's places: embeddings and residual branches)"
            if result["dropout"]
            else ""
        )
        + ". Parameters are matched to Lab 02's models "
        "(criterion bridge.budget). Unlike them it carries no state: it sees at most its window. "
        "Its validation loss is read in sliding windows half a window apart, so each scored character (after "
        f"the first window) sees at least {run['window'] // 2} characters before it; the recurrent models "
        "carry their state through the whole validation text."
    )
    rows = [[ALL_NAMES[k], r["params"], r["history"].train_seconds, r["ppl"], r["reach"]] for k, r in runs.items()] + [
        [ALL_NAMES[ATTENTION], run["params"], run["history"].train_seconds, run["ppl"], run["reach"]]
    ]
    sec.tables.append(
        Table(
            "Attention beside the recurrent models at the same budget",
            ["model", "parameters", "train seconds", "val perplexity", "effective context"],
            rows,
            caption="The recurrent rows are Lab 02's runs. Effective context: the shortest L whose loss is within "
            f"{100 * CONTEXT_TOLERANCE:.0f}% of the loss at the longest L (same targets for every model).",
        )
    )
    sec.figures.append(
        Figure(
            "Loss curves at the same budget, attention included",
            "Training loss (25-step mean) and validation loss of Lab 02's models and the attention LM.",
            plots.loss_curves(
                {ALL_NAMES[k]: asdict(r["history"]) for k, r in runs.items()}
                | {ALL_NAMES[ATTENTION]: asdict(run["history"])},
                title="RNN, LSTM, GRU and attention at the same budget",
            ),
        )
    )
    curves = {ALL_NAMES[k]: r["context"] for k, r in runs.items()} | {ALL_NAMES[ATTENTION]: run["context"]}
    marks = {ALL_NAMES[k]: r["reach"] for k, r in runs.items()} | {ALL_NAMES[ATTENTION]: run["reach"]}
    sec.figures.append(
        Figure(
            "How much of the past each model uses, attention included",
            "Lab 02's context curves with the attention LM added: the loss at the same validation targets given "
            f"only the last L characters. Beyond its {run['window']}-character window the attention LM reads the "
            "last window of them, so its curve is flat there by construction; the recurrent models could in "
            "principle carry more through their state.",
            plots.context_curves(curves, marks),
        )
    )
    lengths = cfg.timing_lengths
    sec.figures.append(
        Figure(
            "One training step against the sequence length",
            f"Forward, backward and Adam for a batch of {cfg.timing_batch} sequences of T characters, median of "
            f"{cfg.timing_rounds} interleaved rounds on {_where(result)}; log-log axes. The LSTM (Lab 02's, fast "
            "path) runs T dependent steps forward and T back; each attention block is a handful of matrix "
            "products over all T positions at once, whose cost grows with T^2 in the attention scores.",
            plots.series(
                {
                    f"{ALL_NAMES[kind]} ({'T forward + T backward dependent steps' if kind == TIMED else f'{cfg.num_layers} layers, no step along T'})": [
                        1000 * timing[(kind, T)] for T in lengths
                    ]
                    for kind in (TIMED, ATTENTION)
                },
                "sequence length T",
                "ms per training step",
                "Training step time against T",
                logy=True,
                logx=True,
                x=lengths,
            ),
        )
    )
    sec.tables.append(
        Table(
            f"One training step (batch {cfg.timing_batch}) against the sequence length",
            [
                "T",
                f"{ALL_NAMES[TIMED]} ms",
                "attention ms",
                f"{ALL_NAMES[TIMED]} / attention",
                f"dependent steps along T: {ALL_NAMES[TIMED]}",
                "attention",
            ],
            [
                [
                    T,
                    1000 * timing[(TIMED, T)],
                    1000 * timing[(ATTENTION, T)],
                    timing[(TIMED, T)] / timing[(ATTENTION, T)],
                    f"{2 * T:,} ({T:,} forward, {T:,} backward)",
                    "0 (each layer one parallel pass)",
                ]
                for T in lengths
            ],
            caption=f"The attention LM here has a {max(lengths)}-position window so that every T fits; "
            "its other sizes are the trained model's.",
        )
    )


def _where(result):
    return "this machine's CPU" if result["device"] == "cpu" else f"the GPU ({result['device']})"


def _claim(result):
    cfg = result["cfg"]
    short, long_ = min(cfg.timing_lengths), max(cfg.timing_lengths)
    growth = result["growth"]
    return Claim(
        LAB,
        "sequential operations per layer: self-attention against a recurrent layer",
        "Vaswani et al., 2017, Table 1",
        "O(1) against O(n) sequential operations; O(n^2 d) against O(n d^2) work per layer",
        f"on {_where(result)}, one training step from T = {short} to {long_} (batch {cfg.timing_batch}): "
        f"attention {growth[ATTENTION]:.1f}x, LSTM {growth[TIMED]:.1f}x",
        "the table counts operations; wall-clock follows it only where the hardware can run a layer's "
        "positions in parallel (a GPU), while on a few CPU cores attention's n^2 work shows",
        key="bridge.sequential_ops",
    )


def _talking_point(result):
    run, runs, timing, cfg = result["run"], result["lab02"]["runs"], result["timing"], result["cfg"]
    best = min(runs, key=lambda k: runs[k]["ppl"])
    short, long_ = min(cfg.timing_lengths), max(cfg.timing_lengths)
    growth = result["growth"]
    slower = growth[ATTENTION] < growth[TIMED]
    ahead = run["ppl"] < runs[best]["ppl"]
    further = run["reach"] > runs["rnn"]["reach"]
    on = _where(result)
    return TalkingPoint(
        LAB,
        "Why did transformers replace RNNs?",
        "The usual answer has two parts: parallelism and long-range dependencies. Parallelism: an RNN's step t "
        "needs step t-1, so training on T characters is T dependent steps forward and T back, while a "
        "self-attention layer computes every position in one batch of matrix products (its cost: T x T "
        f"scores). Measured on {on}, one training step with batch {cfg.timing_batch}: at T = {short} the LSTM "
        f"takes {1000 * timing[(TIMED, short)]:.1f} ms and attention {1000 * timing[(ATTENTION, short)]:.1f} ms; "
        f"at T = {long_}, {1000 * timing[(TIMED, long_)]:.0f} against {1000 * timing[(ATTENTION, long_)]:.0f} ms, so "
        f"over the range the LSTM's step grew {growth[TIMED]:.0f}x and attention's {growth[ATTENTION]:.0f}x. "
        + (
            "Here the parallel pass wins: the hardware runs the positions at once while the LSTM's steps wait "
            "for each other. "
            if slower
            else "Here attention's step grew faster: with few cores there is no parallel hardware for its "
            "positions to fill, so its T^2 scores cost more than the LSTM's T small steps; the parallelism "
            "argument is one about GPUs (RNNLAB_DEVICE=cuda measures it; the README gives an H100's numbers). "
        )
        + "Long-range dependencies: any position reads any earlier one in its window in one step, with no "
        f"gradient shrinking along a chain. At Lab 02's budget and parameter count ({run['params']:,}) the "
        f"attention LM reaches validation perplexity {run['ppl']:.3f} against the best recurrent model's "
        f"{runs[best]['ppl']:.3f} ({ALL_NAMES[best]}), and its loss stops improving at L = {run['reach']} "
        f"characters of context (window {run['window']}) against the RNN's {runs['rnn']['reach']}"
        + (
            ": it is ahead on both."
            if ahead and further
            else ": at this budget it has not learned to use its window, so the quality half of the answer is not "
            "shown by this run; what it does show is the cost of one step as sequences grow."
        ),
        "section-bridge",
    )
