"""Lab 01's report section: what was trained, its curves, samples, claims and talking points."""

from __future__ import annotations

import math
from dataclasses import asdict
from itertools import pairwise
from typing import Any

from acceptance import plots
from acceptance.measures import BLOCKS, block_means
from acceptance.ngram import reads
from acceptance.record import Claim, Figure, Recorder, Table, TalkingPoint
from acceptance.records import recorded_finding_said
from acceptance.trained import Lab01Result
from rnnlab.metrics import perplexity

LAB = "lab01"


def write(recorder: Recorder, run: Lab01Result) -> None:
    h = run.history
    recorder.number("lab01.val_loss", LAB, "Validation loss after training", h.val_loss[-1], "nats")
    recorder.number("lab01.ppl", LAB, "Validation perplexity after training", perplexity(h.val_loss[-1]))
    recorder.number(
        "lab01.train_loss", LAB, "Training loss, mean of the last block", block_means(h.train_loss)[-1], "nats"
    )
    _write_section(recorder, run)
    _claims_and_talking_points(recorder, run)


def _write_section(recorder: Recorder, run: Lab01Result) -> None:
    cfg, h = run.cfg, run.history
    sec = recorder.section(LAB, "Lab 01 — vanilla RNN character language model")
    sec.summary = (
        f"A {cfg.hidden_size}-unit Elman RNN (embedding {cfg.embedding_dim}, {run.params:,} parameters), built from "
        f"nn.Linear and tanh and unrolled by an explicit loop, trained for {cfg.train.steps} Adam steps on "
        f"Tiny Shakespeare (batch {cfg.train.batch_size} x {cfg.train.seq_len} characters, truncated BPTT with the "
        f"state carried across windows, clipping at global norm {cfg.train.clip}, cosine learning rate from "
        f"{cfg.train.lr}"
        + (
            f"; dropout {cfg.dropout} on the embedding's output and before the head, never on the recurrence "
            "(Zaremba et al., 2014), against overfitting on this many passes over the text"
            if cfg.dropout
            else ""
        )
        + f"). Training took {h.train_seconds:.1f} s; checkpoint: {run.checkpoint.name}."
    )
    sec.figures.append(
        Figure(
            "Loss curves",
            "Training loss (25-step moving mean) and validation loss on the whole validation split "
            f"({run.val_chars:,} characters) at evenly spaced steps.",
            plots.loss_curves({"RNN": asdict(h)}, title="Lab 01: vanilla RNN on Tiny Shakespeare"),
        )
    )
    sec.figures.append(
        Figure(
            "Gradient norm over training",
            "Global gradient norm before clipping, per step (25-step mean); "
            f"clipping scales any step above {cfg.train.clip} down to it.",
            plots.series(
                {"RNN": h.grad_norm},
                "training step",
                "global gradient norm (pre-clip)",
                "Gradient norm before clipping",
                logy=True,
                smooth=25,
            ),
        )
    )
    means = block_means(h.train_loss)
    sec.tables.append(
        Table(
            "Validation loss at each evaluation",
            ["step", "validation loss", "perplexity", "training seconds"],
            [[s, v, perplexity(v), t] for s, v, t in zip(h.eval_step, h.val_loss, h.eval_seconds, strict=True)],
        )
    )
    sec.tables.append(
        Table(
            f"Training loss in {BLOCKS} consecutive blocks",
            ["block", "steps", "mean training loss", "change"],
            [
                [
                    i + 1,
                    f"{i * len(h.train_loss) // BLOCKS + 1}-{(i + 1) * len(h.train_loss) // BLOCKS}",
                    m,
                    "" if i == 0 else f"{100 * (m - means[i - 1]) / means[i - 1]:+.2f}%",
                ]
                for i, m in enumerate(means)
            ],
        )
    )
    if run.reset_loss:
        carried = h.val_loss[-1]
        sec.tables.append(
            Table(
                "What the carried state is worth: validation loss with the state reset every W characters",
                ["state at evaluation", "validation loss (nats)", "perplexity", "against the carried state"],
                [
                    [
                        f"reset every {w} characters" + (" (the training window)" if w == cfg.train.seq_len else ""),
                        loss,
                        perplexity(loss),
                        f"{loss - carried:+.3f} nats",
                    ]
                    for w, loss in sorted(run.reset_loss.items())
                ]
                + [["carried through each row (as evaluated in training)", carried, perplexity(carried), "—"]],
                caption=f"The same {cfg.train.eval_rows} rows of the validation split and the same targets in every "
                "row; a reset starts a window from zeros, so a prediction reads only the characters since its window "
                "began. Truncated BPTT cuts the gradient at the training window, not the state.",
            )
        )
    if run.ngram:
        sec.tables.append(_counting_table(run))
    sec.tables.append(
        Table(
            "Sampling speed",
            ["characters", "temperature", "characters per second", "goal"],
            [[10_000, 0.8, run.sampling_rate, ">= 5,000 (issue #6; `tox -e bench` asserts it)"]],
            caption="The prime is read once; each further character is one step of the cell with the state carried "
            "(no re-reading of the prefix). One run, on the device the lab trained on.",
        )
    )
    for t, text in run.samples.items():
        sec.samples.append((f"temperature {t} (seed 0, after training)", text[:800]))
    sec.samples.append(("temperature 0.8, untrained model (same seed)", run.untrained_sample[:400]))


def _claims_and_talking_points(recorder: Recorder, run: Lab01Result) -> None:
    cfg, h = run.cfg, run.history
    ppl = perplexity(h.val_loss[-1])
    shares = run.shares
    recorder.claims.append(
        Claim(
            LAB,
            "validation perplexity at the end of training",
            "throw-away prototype (issue #2)",
            "6.3 (H=128, B=32, T=64, 1000 steps, 16 s)",
            f"{ppl:.3f} (H={cfg.hidden_size}, B={cfg.train.batch_size}, "
            f"T={cfg.train.seq_len}, {cfg.train.steps} steps, {h.train_seconds:.0f} s)",
            f"{cfg.train.steps} steps of {cfg.train.batch_size} x {cfg.train.seq_len} characters is "
            f"{cfg.train.batch_size * cfg.train.seq_len / (32 * 64):.2g}x the prototype's characters per step, with "
            f"H={cfg.hidden_size} against its 128",
            key="lab01.perplexity",
        )
    )
    recorder.claims.append(
        Claim(
            LAB,
            "share of sampled words (T=0.8) found in the training text",
            "throw-away prototype (issue #2)",
            "78% after 1000 steps",
            f"{100 * shares[0.8]:.1f}%",
            f"the same measure (runs of letters, lower-cased, {run.cfg.sample_length:,} sampled characters); "
            "it follows perplexity, "
            f"{ppl:.2f} here against the prototype's 6.3",
            key="lab01.known_words",
        )
    )
    recorder.talking_points.append(_tbptt_point(run))
    if run.ngram:
        recorder.talking_points.append(_perplexity_point(run))
    clipped = sum(n > cfg.train.clip for n in h.grad_norm)
    means = block_means(h.train_loss)
    worst = max((b - a) / a for a, b in pairwise(means))
    first = h.grad_norm[: len(h.grad_norm) // 10]
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "Why do we clip gradients?",
            "Backpropagation through time multiplies one Jacobian per step, so now and then a window yields a "
            "gradient so large that one update throws the weights far off: the exploding-gradient problem (Pascanu, "
            "Mikolov and Bengio, 2013). Clipping rescales the whole gradient whenever its global norm exceeds a "
            "threshold, which keeps its direction and bounds the step: what lets plain SGD, whose step grows with the "
            "gradient, take a large rate, and mere insurance for Adam, which divides each step by the gradient's "
            "running size.",
            [
                f"Pre-clip gradient norm above the threshold {cfg.train.clip}: {clipped} of {len(h.grad_norm)} steps "
                f"(largest {max(h.grad_norm):.2f}; median over the first tenth of training "
                f"{sorted(first)[len(first) // 2]:.2f})"
                + ("; rarely needed in this run." if clipped < 0.05 * len(h.grad_norm) else "."),
                f"Training loss in {BLOCKS} blocks: it rose by at most {100 * max(worst, 0):.2f}% from one block to the "
                "next (criterion lab01.train_blocks).",
            ],
            "lab01.train_blocks",
            recorded=_clipping_recorded(run.profile),
        )
    )
    recorder.talking_points.append(
        TalkingPoint(
            LAB,
            "Why does temperature control diversity?",
            "Sampling draws from softmax(logits / T): T < 1 stretches the gaps between logits so the likeliest "
            "characters take almost all the mass (safe, repetitive text), T > 1 shrinks them towards a uniform draw "
            "(varied text, more misspellings), and T -> 0 is the argmax (Hinton et al. 2015 use the same softmax "
            "temperature for distillation). It trades fidelity for diversity without retraining.",
            [
                "Share of sampled words (runs of letters) that exist in the training text: "
                + ", ".join(f"{100 * shares[t]:.1f}% at T = {t}" for t in sorted(shares))
                + ".",
                "The samples at each temperature are in the Lab 01 section.",
            ],
            "section-lab01",
        )
    )


CLIPPING_FINDING = "lab01.clipping"  # findings.json's key: the clipping study (tox -e studies) at a profile's budget


def _clipping_recorded(profile: str) -> list[str]:
    """What clipping buys at ``profile``'s budget, where the clipping study's runs are recorded (findings.json): this
    model trained clipped and not, under Adam and plain SGD."""
    found = recorded_finding_said(profile, CLIPPING_FINDING)
    return [] if found is None else [f"What removing it changes (the clipping study, `tox -e studies`): {found}."]


def _tbptt_point(run: Lab01Result) -> TalkingPoint:
    """What truncated BPTT is, then what carrying the state was worth to this run's model."""
    T, carried = run.cfg.train.seq_len, run.history.val_loss[-1]
    lines = [
        f"This run trains on windows of {T} characters: each update's gradient reaches at most {T - 1} steps back, "
        "and the state crosses each window's boundary with its values, without its gradient (Lab 01.3, "
        "rnnlab.recurrent.detach_state)."
    ]
    if run.reset_loss:
        resets = [
            f"every {w}"
            + (" (the training window: as if no state crossed a window)" if w == T else "")
            + f": {loss:.3f} ({loss - carried:+.3f}, {100 * (loss - carried) / carried:+.1f}%)"
            for w, loss in sorted(run.reset_loss.items())
        ]
        lines.append(
            f"Validation loss with the state carried through each row: {carried:.3f} nats. With the state reset to "
            f"zeros {'; '.join(resets)}."
        )
    else:
        lines.append(
            "The loss with the state reset was not measured: this copy of rnnlab was made before evaluate_lm could "
            "reset it (a copy made now by `rnnlab exercise init` measures it)."
        )
    lines.append("Lab 02's models trained on longer windows: the window study (`tox -e studies`).")
    return TalkingPoint(
        LAB,
        "What is truncated backpropagation through time?",
        "Backpropagation through time unrolls the recurrence and sends the gradient back through every step, so on "
        "a long text its memory and time grow with the length. Truncated BPTT cuts the text into windows of k steps: "
        "the gradient flows back at most k steps, while the hidden state is carried into the next window as a "
        "constant (detached), so the forward pass still reads the whole past (Williams and Peng, 1990). The price: a "
        "dependency longer than k gets no gradient to teach the model to keep it.",
        lines,
        "section-lab01",
    )


def _counting_table(run: Lab01Result) -> Table:
    """The RNN's validation loss beside a uniform guess and each Kneser-Ney n-gram's, on the same targets."""
    loss = run.history.val_loss[-1]
    ppl, uniform = perplexity(loss), math.log(run.vocab_size)

    def row(name: str, reads: str, value: float) -> list[Any]:
        return [name, reads, value, perplexity(value), f"{100 * (perplexity(value) / ppl - 1):+.1f}%"]

    return Table(
        "Perplexity against counting: a uniform guess and n-gram models, on the RNN's validation targets",
        [
            "model",
            "what it reads before each character",
            "validation loss (nats)",
            "perplexity",
            "against this run's RNN",
        ],
        [row(f"a uniform guess over the {run.vocab_size} symbols", "nothing", uniform)]
        + [row(f"Kneser-Ney {n}-gram", reads(n), value) for n, value in sorted(run.ngram.items())]
        + [["this run's RNN", "everything before it in its row, through the carried state", loss, ppl, "—"]],
        caption="Each n-gram model is counted on the training split alone (interpolated Kneser-Ney, each order's "
        "discount from its own counts of counts: nothing is fitted to the validation text; acceptance/ngram.py). "
        f"Every row scores the same targets: the validation split in {run.cfg.train.eval_rows} rows, every character "
        "but each row's first, each read only from its own row.",
    )


def _perplexity_point(run: Lab01Result) -> TalkingPoint:
    """What perplexity is, then this run's RNN against a uniform guess and counting."""
    loss = run.history.val_loss[-1]
    ppl = perplexity(loss)
    best = min(run.ngram, key=lambda n: run.ngram[n])
    counted = ", ".join(
        f"{n}-gram {perplexity(v):.2f}" + (" (the best)" if n == best else "") for n, v in sorted(run.ngram.items())
    )
    beaten = sorted(n for n, v in run.ngram.items() if v > loss)
    if not beaten:
        beats = "it beats none of them"
    elif len(beaten) == len(run.ngram):
        beats = "it beats every one of them"
    elif beaten == list(range(1, len(beaten) + 1)) and len(beaten) > 1:
        beats = f"it beats orders 1-{beaten[-1]}"
    else:
        beats = "it beats order" + ("s " if len(beaten) > 1 else " ") + ", ".join(map(str, beaten))
    gap = 100 * (ppl / perplexity(run.ngram[best]) - 1)
    return TalkingPoint(
        LAB,
        "What does a perplexity mean, and when is it good?",
        "Perplexity is the exponential of the mean cross-entropy per symbol: a model of perplexity k is as unsure as a "
        "fair choice among k symbols, so a uniform guess scores the vocabulary's size (Jelinek et al., 1977). It "
        "compares only models of the same text and symbols, and reads best against a counting baseline: an n-gram "
        "model smoothed by Kneser-Ney (Chen and Goodman, 1999). Neural language models overtook such counts by "
        "sharing what they learn across similar contexts, which counts treat as unrelated (Bengio et al., 2003), and "
        "recurrent ones by reading past a fixed n (Mikolov et al., 2010).",
        [
            f"A uniform guess over the {run.vocab_size} symbols: perplexity {run.vocab_size}.",
            f"Kneser-Ney n-grams counted on the training text: {counted}"
            + (": a longer context helps until its counts grow too sparse." if best < max(run.ngram) else "."),
            f"This run's RNN: perplexity {ppl:.2f} ({loss:.3f} nats) after {run.cfg.train.steps} steps "
            f"({run.history.train_seconds:.0f} s of training); {beats}, and is {abs(gap):.1f}% "
            + ("above" if gap > 0 else "below")
            + " the best n-gram.",
        ],
        "section-lab01",
    )
