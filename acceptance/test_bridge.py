"""The bridge to transformers: a causal self-attention LM beside Lab 02's RNN, LSTM and GRU —
perplexity at the same budget, how much of the past it uses, and what one training step costs
as sequences grow."""

from __future__ import annotations

from dataclasses import asdict, replace

import pytest
import torch

from acceptance import learner, plots
from acceptance.criteria import check
from acceptance.profiles import lr_choice
from acceptance.record import Claim, Figure, Table, TalkingPoint
from acceptance.test_lab02 import CONTEXT_TOLERANCE, MAX_PARAM_SPREAD, copy_study
from acceptance.test_lab02 import NAMES as LAB02_NAMES
from acceptance.timing import interleaved_medians, lm_step
from rnnlab.fast import set_fast
from rnnlab.metrics import effective_context, loss_by_context, perplexity
from rnnlab.models import CharLM
from rnnlab.models.attention_lm import AttentionLM
from rnnlab.training import seed_everything, train_lm

LAB = "bridge"
ATTENTION = "attention"
NAMES = {**LAB02_NAMES, ATTENTION: "Attention"}
TIMED = "lstm"  # the recurrent model timed against the sequence length


def attention_lm(cfg, vocab_size, context, dropout=0.0):
    return AttentionLM(
        vocab_size,
        d_model=cfg.d_model,
        num_heads=cfg.num_heads,
        num_layers=cfg.num_layers,
        d_ff=cfg.d_ff,
        context=context,
        dropout=dropout,
    )


@pytest.fixture(scope="session")
def bridge(profile, corpus, lab02, recorder, device):
    learner.require(LAB)
    cfg, lab02_cfg = profile.bridge, profile.lab02
    train_cfg = replace(lab02_cfg.train, lr=cfg.lr or lab02_cfg.train.lr)
    window = lab02_cfg.train.seq_len  # the attention LM reads exactly the recurrent models' training window
    seed_everything(train_cfg.seed)
    model = attention_lm(cfg, len(corpus["vocab"]), window, lab02_cfg.dropout).to(device)
    history, _ = train_lm(model, corpus["train_ids"], corpus["val_ids"], train_cfg, desc="bridge attention")
    context = loss_by_context(
        model,
        corpus["val_ids"],
        lab02_cfg.context_lengths,
        lab02_cfg.context_positions,
        seed=lab02_cfg.train.seed,
    )
    run = {
        "params": model.num_parameters(),
        "history": history,
        "ppl": perplexity(history.val_loss[-1]),
        "context": context,
        "reach": effective_context(context, CONTEXT_TOLERANCE),
        "window": window,
        "copy": copy_study(model, corpus["val_ids"], lab02_cfg),
    }
    timing = time_against_length(cfg, lab02_cfg, len(corpus["vocab"]), device)
    short, long_ = min(cfg.timing_lengths), max(cfg.timing_lengths)
    growth = {k: timing[(k, long_)] / timing[(k, short)] for k in (TIMED, ATTENTION)}  # step time, T short -> long
    result = {
        "growth": growth,
        "cfg": cfg,
        "train": train_cfg,
        "run": run,
        "lab02": lab02,
        "timing": timing,
        "device": str(device),
        "dropout": lab02_cfg.dropout,
    }
    _write_section(recorder, result)
    recorder.talking_points.append(_talking_point(result))
    recorder.claims.append(_claim(result))
    return result


def time_against_length(cfg, lab02_cfg, vocab_size, device):
    """Median seconds of one training step, batch ``timing_batch``, at each sequence length, for
    the LSTM of Lab 02 (fast path) and the attention LM (its window as long as the sequence)."""
    hidden = dict(lab02_cfg.hidden)[TIMED]
    longest = max(cfg.timing_lengths)
    torch.manual_seed(0)
    models = {
        TIMED: set_fast(CharLM(vocab_size, TIMED, hidden, 1, lab02_cfg.embedding_dim)).to(device),
        ATTENTION: attention_lm(cfg, vocab_size, longest).to(device),
    }
    fns = {(kind, T): lm_step(model, cfg.timing_batch, T) for T in cfg.timing_lengths for kind, model in models.items()}
    return interleaved_medians(fns, rounds=cfg.timing_rounds)


def _lr_words(cfg, t):
    if cfg.lr is None:
        return "Lab 02's rate"
    return lr_choice(t.lr, cfg.lr_grid, cfg.lr_grid_steps, "this model")


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
        f"schedule from lr {t.lr} ({_lr_words(cfg, t)}), clipping at {t.clip}, seed {t.seed}"
        + (
            f", dropout {result['dropout']} (GPT-2's places: embeddings and residual branches)"
            if result["dropout"]
            else ""
        )
        + f". Parameters are matched to Lab 02's models "
        f"(within {100 * MAX_PARAM_SPREAD:.0f}%). Unlike them it carries no state: it sees at most its window. "
        "Its validation loss is read in sliding windows half a window apart, so each scored character (after "
        f"the first window) sees at least {run['window'] // 2} characters before it; the recurrent models "
        "carry their state through the whole validation text."
    )
    rows = [[NAMES[k], r["params"], r["history"].train_seconds, r["ppl"], r["reach"]] for k, r in runs.items()] + [
        [NAMES[ATTENTION], run["params"], run["history"].train_seconds, run["ppl"], run["reach"]]
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
                {NAMES[k]: asdict(r["history"]) for k, r in runs.items()} | {NAMES[ATTENTION]: asdict(run["history"])},
                title="RNN, LSTM, GRU and attention at the same budget",
            ),
        )
    )
    curves = {NAMES[k]: r["context"] for k, r in runs.items()} | {NAMES[ATTENTION]: run["context"]}
    marks = {NAMES[k]: r["reach"] for k, r in runs.items()} | {NAMES[ATTENTION]: run["reach"]}
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
    _copy_evidence(sec, result)
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
                    f"{NAMES[kind]} ({'T forward + T backward dependent steps' if kind == TIMED else f'{cfg.num_layers} layers, no step along T'})": [
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
                f"{NAMES[TIMED]} ms",
                "attention ms",
                f"{NAMES[TIMED]} / attention",
                f"dependent steps along T: {NAMES[TIMED]}",
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


def _all_runs(result):
    """Lab 02's runs, then the attention LM's."""
    return result["lab02"]["runs"] | {ATTENTION: result["run"]}


def copy_gains(result):
    """model -> {d: (gain in nats per character, its standard error)}, the recurrent models first."""
    return {
        k: {d: (other - copied, se) for d, (other, copied, se) in r["copy"].items()}
        for k, r in _all_runs(result).items()
    }


def nats(gain: float) -> str:
    """A gain with its sign, to 4 places (a tiny negative prints as +0.0000, not -0.0000)."""
    return f"{round(gain, 4) + 0.0:+.4f}"


def copies_best(gains, far):
    """Whether the attention LM's gain at distance ``far`` exceeds every recurrent model's by more
    than twice the larger of their standard errors (less could be chance)."""
    mine, mine_se = gains[ATTENTION][far]
    return all(mine - g[far][0] > 2 * max(mine_se, g[far][1]) for k, g in gains.items() if k != ATTENTION)


def _copy_evidence(sec, result):
    lab02_cfg, gains, runs = result["lab02"]["cfg"], copy_gains(result), _all_runs(result)
    distances = list(result["run"]["copy"])
    span, window = lab02_cfg.copy_span, result["run"]["window"]
    far = max(distances)
    how = (
        f"At {lab02_cfg.copy_positions:,} validation spans of {span} characters, each model reads the "
        f"{window + 1} characters of text that end with the span from a fresh state, twice, with the {span} "
        "characters that end d characters before the span overwritten: once by another span of the text, once "
        "by the span itself. The gain is how much lower its mean loss on the span's characters "
        f"2..{span} is after the copy (rnnlab.metrics.copy_gain, spec/lab02/test_context.py)."
    )
    sec.tables.append(
        Table(
            "What an exact earlier copy is worth (in-context copying)",
            [
                "model",
                f"loss after another span (d = {far})",
                *(f"gain at d = {d}" for d in distances),
                "share at d = " + str(far),
            ],
            [
                [
                    NAMES[k],
                    r["copy"][far][0],
                    *(f"{nats(gains[k][d][0])} ± {gains[k][d][1]:.4f}" for d in distances),
                    f"{100 * gains[k][far][0] / r['copy'][far][0]:.1f}%",
                ]
                for k, r in runs.items()
            ],
            caption=how + " Each gain ± its standard error over the spans (a gain within about two of them of "
            "zero, or of another model's, could be chance). Share: the gain as a part of the loss after another "
            "span. Nats per character.",
        )
    )
    sec.figures.append(
        Figure(
            "What an exact earlier copy is worth, against its distance",
            how,
            plots.series(
                {NAMES[k]: [g[d][0] for d in distances] for k, g in gains.items()},
                "characters between the copy and the span (d)",
                "loss drop on the repeat (nats per character)",
                "In-context copying",
                x=distances,
            ),
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
    gains, span = copy_gains(result), result["lab02"]["cfg"].copy_span
    far = max(gains[ATTENTION])
    copies = copies_best(gains, far)
    most = max(runs, key=lambda k: gains[k][far][0])
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
        f"{runs[best]['ppl']:.3f} ({NAMES[best]}), and its loss stops improving at L = {run['reach']} "
        f"characters of context (window {run['window']}) against the RNN's {runs['rnn']['reach']}"
        + (
            ": it is ahead on both. "
            if ahead and further
            else ": at this budget it has not learned to use its window, so the quality half of the answer is not "
            "shown by this run; what it does show is the cost of one step as sequences grow. "
        )
        + "Exact recall, one mechanism credited for a transformer's reach (induction heads, Olsson et al., 2022), "
        f"measured: given a {span}-character span it already read {far} characters earlier, the attention LM's loss "
        f"on the repeat changes by {nats(-gains[ATTENTION][far][0])} ± {gains[ATTENTION][far][1]:.4f} nats per "
        f"character ({100 * gains[ATTENTION][far][0] / run['copy'][far][0]:.1f}% of it), the "
        + ", the ".join(f"{NAMES[k]}'s by {nats(-gains[k][far][0])}" for k in runs)
        + (
            ": it gains more than any recurrent model, by more than twice the standard errors."
            if copies
            else ": it gains not measurably more than the recurrent models (the largest of theirs: the "
            f"{NAMES[most]}'s)."
        ),
        "section-bridge",
    )


def test_attention_parameters_match_lab02(bridge, recorder):
    counts = {k: r["params"] for k, r in bridge["lab02"]["runs"].items()} | {ATTENTION: bridge["run"]["params"]}
    spread = max(counts.values()) / min(counts.values()) - 1
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
