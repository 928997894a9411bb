"""The acceptance runs: each lab's models trained on its profile's budget, and what is measured of them.

Each function trains one lab once per session (``acceptance/harness.py`` holds the fixtures that
call it) and returns plain results: the criteria in ``acceptance/test_labNN.py`` judge them and
the sections in ``acceptance/sections/`` report them. Nothing here decides pass or fail.
"""

from __future__ import annotations

import copy
import inspect
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from acceptance.measures import (
    ATTENTION,
    BASELINE,
    CONTEXT_TOLERANCE,
    FIELD_POSITIONS,
    LSTM,
    SNIPPET,
    TIMED,
    known_word_share,
    padding_share,
    words,
)
from acceptance.ngram import ORDERS, ngram_losses
from acceptance.parallel import run_all
from acceptance.profiles import Bridge, Lab01, Lab02, Lab03, Profile, Recall, largest_hidden
from acceptance.timing import impls, interleaved_medians, lm_step, matmul_floor, peak_rss_mib, training_step
from acceptance.trained import (
    AttentionRun,
    BridgeResult,
    Corpus,
    GateStudy,
    Lab01Result,
    Lab02Result,
    Lab03Result,
    LMRun,
    RecallResult,
    RecallRun,
    Seq2SeqRun,
    Snapshot,
    StudiedRun,
)
from rnnlab.cells import MODEL_KINDS
from rnnlab.checkpoint import save
from rnnlab.data import Vocab
from rnnlab.data.dates import INPUT_ALPHABET, Example, bucket, make_examples, split_dates
from rnnlab.data.recall import RecallVocab
from rnnlab.device import model_device, rng_state
from rnnlab.fast import set_fast
from rnnlab.gates import gate_trace, line_position, saturation, tracking_unit
from rnnlab.metrics import (
    effective_context,
    evaluate_lm,
    grad_norms_through_time,
    loss_by_context,
    perplexity,
    sequential_depth,
)
from rnnlab.models import CharLM
from rnnlab.models.attention_lm import AttentionLM
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.padding import by_length
from rnnlab.sampling import sample
from rnnlab.training import TrainConfig, seed_everything, train_lm
from rnnlab.training.lm import History
from rnnlab.training.recall import answered, held_out, train_recall
from rnnlab.training.seq2seq import (
    Seq2SeqTrainConfig,
    exposure_by_bucket,
    length_batches,
    score_by_bucket,
    train_seq2seq,
)

# --- Lab 01 -----------------------------------------------------------------------------------------


def lab01(profile: Profile, corpus: Corpus, runs_dir: Path, device: torch.device) -> Lab01Result:
    """The vanilla RNN LM: trained, checkpointed, sampled at each temperature (and untrained)."""
    cfg = profile.lab01
    vocab = corpus["vocab"]
    seed_everything(cfg.train.seed)
    model = set_fast(CharLM(len(vocab), BASELINE, cfg.hidden_size, 1, cfg.embedding_dim, cfg.dropout)).to(device)
    known = set(words(corpus["train"]))
    untrained_sample = sample(model, vocab, cfg.sample_length, 0.8, seed=0)
    history, optimizer = train_lm(model, corpus["train_ids"], corpus["val_ids"], cfg.train, desc="lab01 rnn")
    path = _save_lm(runs_dir / "lab01" / "rnn.pt", model, vocab, optimizer, cfg.train, history)
    samples = {t: sample(model, vocab, cfg.sample_length, t, seed=0) for t in cfg.temperatures}
    started = time.perf_counter()
    sample(model, vocab, 10_000, 0.8, seed=1)
    sampling_rate = 10_000 / (time.perf_counter() - started)
    return Lab01Result(
        cfg=cfg,
        history=history,
        checkpoint=path,
        params=model.num_parameters(),
        samples=samples,
        untrained_share=known_word_share(untrained_sample, known),
        trained_share=known_word_share(samples[0.8], known),
        untrained_sample=untrained_sample,
        shares={t: known_word_share(s, known) for t, s in samples.items()},
        sampling_rate=sampling_rate,
        val_chars=len(corpus["val"]),
        reset_loss=reset_losses(model, corpus["val_ids"], cfg),
        ngram=counting_losses(corpus, cfg.train),
        vocab_size=len(vocab),
        profile=profile.name,
    )


def counting_losses(corpus: Corpus, train: TrainConfig) -> dict[int, float]:
    """Order n -> validation loss of the Kneser-Ney n-grams of ORDERS counted on the training split, on exactly the
    targets ``train``'s validation loss scores (its ``eval_rows``): the counting baselines Lab 01 and Lab 02 read
    their models' perplexities against (about 2 s of one core)."""
    return ngram_losses(corpus["train_ids"], corpus["val_ids"], ORDERS, len(corpus["vocab"]), train.eval_rows)


def reset_losses(model: CharLM, val_ids: torch.Tensor, cfg: Lab01) -> dict[int, float]:
    """The trained model's validation loss with the state reset every W characters, W in ``cfg.reset_windows``,
    scoring the targets its carried evaluation scores (under 2 s on 2 cores); {} for a learner's copy made before
    ``evaluate_lm`` took ``carry``."""
    if "carry" not in inspect.signature(evaluate_lm).parameters:
        return {}
    return {w: evaluate_lm(model, val_ids, rows=cfg.train.eval_rows, window=w, carry=False) for w in cfg.reset_windows}


def _save_lm(
    path: Path, model: CharLM, vocab: Vocab, optimizer: torch.optim.Optimizer, train: TrainConfig, history: History
) -> Path:
    """A trained LM's checkpoint in ``reports/runs/``, for use (it records no data to resume from)."""
    return save(
        path,
        model,
        vocab,
        optimizer=optimizer,
        step=train.steps,
        train_config=asdict(train),
        history=asdict(history),
    )


# --- Lab 02 -----------------------------------------------------------------------------------------


def lab02(
    profile: Profile, corpus: Corpus, runs_dir: Path, device: torch.device, attention: bool = False
) -> Lab02Result:
    """RNN, LSTM and GRU at equal compute, each at its own rate: perplexity, gradient flow, context used, gates;
    each gated model against a vanilla RNN of its own width (issue #32); and one training step of each, from
    scratch against torch's fused kernels. The runs train side by side on a CPU (acceptance/parallel.py), with the
    bridge's attention LM among them where ``attention`` (the session runs the bridge): a third of a minute sooner
    than training it alone after them. What Lab 02 measures of each trained model of the comparison (its study)
    is a follow-up job, queued once the model is in, so a worker that frees early takes it: three long runs on two
    workers otherwise leave one core idle while the last run's study ends (measured: about 30 s)."""
    cfg = profile.lab02
    vocab = corpus["vocab"]
    sizes = dict(cfg.hidden(len(vocab)))

    def job(kind: str, hidden: int, name: str, keep: bool) -> Callable[[], LMRun]:
        def train() -> LMRun:
            return train_lab02_model(cfg, kind, hidden, name, corpus, runs_dir, device, keep)

        return train

    def study(kind: str) -> Callable[[Any], dict[Any, Callable[[], StudiedRun]]]:
        return lambda run: {("study", kind): lambda: study_lab02_model(cfg, run, corpus, device)}

    jobs: dict[Any, Callable[[], Any]] = {kind: job(kind, hidden, kind, True) for kind, hidden in sizes.items()}
    if cfg.equal_width:  # the tutorials' comparison: an RNN as wide as each gated model
        for kind, hidden in sizes.items():
            if MODEL_KINDS[kind].sigmoid_gates:
                jobs[("width", kind)] = job(BASELINE, hidden, f"{BASELINE}-{hidden}", False)
    if attention:
        jobs[("attention",)] = lambda: train_attention_lm(profile, corpus, device)
    jobs[("ngram",)] = lambda: counting_losses(corpus, cfg.train)  # a worker's 2 s, not the parent's beside two
    # the longest runs first (the models of the comparison, the attention LM, then the narrow RNNs), so that two
    # workers end together
    order = sorted(
        jobs, key=lambda name: (isinstance(name, tuple), name[0] == "width" if isinstance(name, tuple) else False)
    )
    trained = run_all(
        {name: jobs[name] for name in order}, side_by_side=device.type == "cpu", after={k: study(k) for k in sizes}
    )
    runs: dict[str, StudiedRun] = {kind: trained[("study", kind)] for kind in sizes}
    width: dict[str, LMRun] = {
        name[1]: run for name, run in trained.items() if isinstance(name, tuple) and name[0] == "width"
    }
    kinds = list(runs)
    fns = {
        (kind, hidden, impl): training_step(kind, impl, hidden)
        for hidden in cfg.bench_sizes
        for kind in kinds
        for impl in impls(kind)
    }
    floors = {(kind, hidden, "floor"): matmul_floor(kind, hidden) for hidden in cfg.bench_sizes for kind in kinds}
    bench = interleaved_medians({**fns, **floors}, rounds=cfg.bench_rounds)
    memory = peak_memory(fns, side_by_side=device.type == "cpu")
    return Lab02Result(
        cfg,
        profile.name,
        runs,
        width,
        bench,
        memory,
        attention=trained[("attention",)] if attention else None,
        ngram=trained[("ngram",)],
    )


def peak_memory(fns: dict[Any, Callable[[], None]], side_by_side: bool) -> dict[Any, float]:
    """Each training step's peak added memory (MiB, the median of three), in two forked workers, half of the
    steps each (one thread each, as the runs train): the probes do not time anything, so they need no quiet core
    (measured on 2 cores: 12 s, against 18 s for them one after another in this process)."""

    def probe(keys: list[Any]) -> Callable[[], dict[Any, float]]:
        return lambda: {key: statistics.median(peak_rss_mib(fns[key]) or 0.0 for _ in range(3)) for key in keys}

    keys = list(fns)
    halves = run_all({half: probe(keys[half::2]) for half in range(2)}, side_by_side=side_by_side)
    found = {key: value for half in halves.values() for key, value in half.items()}
    return {key: found[key] for key in keys}


def train_lab02_model(
    cfg: Lab02, kind: str, hidden: int, name: str, corpus: Corpus, runs_dir: Path, device: torch.device, keep: bool
) -> LMRun:
    """One Lab 02 model of ``kind`` and ``hidden`` units trained at its kind's rate; with ``keep``, a StudiedRun
    that holds the trained model, for ``study_lab02_model``."""
    vocab = corpus["vocab"]
    train_cfg = replace(cfg.train, lr=cfg.lr(kind))
    model = fresh_model(cfg, kind, hidden, len(vocab), device)
    history, optimizer = train_lm(model, corpus["train_ids"], corpus["val_ids"], train_cfg, desc=f"lab02 {name}")
    path = _save_lm(runs_dir / "lab02" / f"{name}.pt", model, vocab, optimizer, train_cfg, history)
    ppl = perplexity(history.val_loss[-1])
    if not keep:
        return LMRun(kind, hidden, train_cfg.lr, model.num_parameters(), history, path, ppl)
    return StudiedRun(kind, hidden, train_cfg.lr, model.num_parameters(), history, path, ppl, model=model)


def study_lab02_model(cfg: Lab02, run: StudiedRun, corpus: Corpus, device: torch.device) -> StudiedRun:
    """What Lab 02 measures of a trained model beside its perplexity: gradient flow before training (the same
    model made again from the same seed) and after, the context it uses, and its gates."""
    model = run.model
    assert model is not None, f"the {run.kind} run kept no model to study"
    untrained = fresh_model(cfg, run.kind, run.hidden, len(corpus["vocab"]), device)
    context, reach = context_used(model, cfg, corpus["val_ids"])
    return replace(
        run,
        grad_init=grad_profile(untrained, corpus["val_ids"], cfg),
        grad_trained=grad_profile(model, corpus["val_ids"], cfg),
        context=context,
        reach=reach,
        gates=gate_study(model, run.kind, corpus["val"][: cfg.gate_chars], corpus["vocab"])
        if MODEL_KINDS[run.kind].sigmoid_gates
        else None,
    )


def context_used(model: torch.nn.Module, cfg: Lab02, val_ids: torch.Tensor) -> tuple[dict[int, float], int]:
    """A trained LM's validation loss given only the last L characters, at Lab 02's lengths and positions, and its
    effective context (the shortest L within CONTEXT_TOLERANCE of its loss at the longest)."""
    context = loss_by_context(model, val_ids, cfg.context_lengths, cfg.context_positions, seed=cfg.eval_seed)
    return context, effective_context(context, CONTEXT_TOLERANCE)


def fresh_model(cfg: Lab02, kind: str, hidden: int, vocab_size: int, device: torch.device) -> CharLM:
    seed_everything(cfg.train.seed)
    return set_fast(
        CharLM(
            vocab_size,
            kind,
            hidden,
            cfg.layers,
            cfg.embedding_dim,
            dropout=cfg.dropout,
            forget_bias=cfg.lstm_forget_bias if kind == LSTM else None,
        )
    ).to(device)


def grad_profile(model: CharLM, val_ids: torch.Tensor, cfg: Lab02, seed: int = 0) -> list[float]:
    """Mean ||dL_T/dh_t|| by distance back, over ``grad_batches`` batches of validation windows."""
    g = torch.Generator().manual_seed(seed)
    T = cfg.grad_distance + 1
    total = torch.zeros(T, dtype=torch.float64)
    for _ in range(cfg.grad_batches):
        starts = torch.randint(0, val_ids.numel() - T - 1, (cfg.grad_batch_size,), generator=g)
        idx = torch.stack([val_ids[s : s + T] for s in starts.tolist()])
        target = val_ids[starts + T]
        total += grad_norms_through_time(model, idx, target).double().cpu()
    mean: list[float] = (total / cfg.grad_batches).tolist()
    return mean


def gate_study(model: CharLM, kind: str, text: str, vocab: Vocab) -> GateStudy:
    """The trained model's gates over validation ``text``: each sigmoid gate's saturation per
    unit, and the unit whose state tracks the position in the line (chosen on the first half,
    scored on the second)."""
    trace = gate_trace(model, torch.as_tensor(vocab.encode(text)))
    state = "c" if "c" in trace else "h"  # the memory cell where the kind carries one
    feature = line_position(text)
    half = len(text) // 2
    found = tracking_unit(trace[state], feature, select=half)
    saturated = {g: _pair(saturation(trace[g])) for g in MODEL_KINDS[kind].sigmoid_gates}
    return GateStudy(
        state=state,
        found=found,
        saturation=saturated,
        units=trace[state].shape[1],
        snippet=text[half : half + SNIPPET],
        unit_values=trace[state][half : half + SNIPPET, found.unit].tolist(),
        feature=feature[half : half + SNIPPET].tolist(),
    )


def _pair(shares: tuple[torch.Tensor, torch.Tensor]) -> tuple[list[float], list[float]]:
    return shares[0].tolist(), shares[1].tolist()


# --- Lab 03 -----------------------------------------------------------------------------------------


def lab03(profile: Profile, runs_dir: Path, device: torch.device) -> Lab03Result:
    """Every seq2seq variant on one protocol (the baseline on each seed, with Bahdanau), the
    baseline trained on past the budget, and Bahdanau twice more: teacher forcing always on, and never."""
    cfg = profile.lab03
    splits = split_dates(seed=0)
    train_set = make_examples(splits["train"], cfg.train_examples, seed=1)
    val = make_examples(splits["validation"], cfg.val_examples, seed=2)
    test = make_examples(splits["test"], cfg.test_examples, seed=3)
    long_test = [e for e in test if bucket(e.source) == "long"]
    first = cfg.seeds[0]

    def job(variant: str, seed: int, name: str, **schedule: Any) -> Callable[[], Seq2SeqRun]:
        def train() -> Seq2SeqRun:
            tcfg = replace(cfg.train, seed=seed, **schedule)
            run, snapshots = train_variant(
                cfg, variant, tcfg, train_set, val, test, runs_dir / "lab03" / f"{name}.pt", device
            )
            if variant == "none" and seed == first and not schedule and cfg.catch_up_steps:
                run.snapshot = snapshots[-1]  # where the continuation (a follow-up job) resumes
            if variant != "none" and seed == first and not schedule:
                run.alignment = alignment_score(run.model, long_test)
            if seed == first and not schedule:
                run.beam = beam_scores(run.model, test, cfg.beam)
            return run

        return train

    def continuation(run: Seq2SeqRun) -> dict[Any, Callable[[], Any]]:
        """The first seed's baseline trained on past the budget: a job of its own, started on the first free
        worker once the baseline is trained, not after it in the baseline's worker."""
        snapshot, tcfg = run.snapshot, replace(cfg.train, seed=first)
        run.snapshot = None  # the parent's copy needs it no more
        assert snapshot is not None, "the first seed's baseline keeps where its continuation resumes"
        return {"continued": lambda: continue_baseline(run.model, train_set, val, tcfg, snapshot, cfg.catch_up_steps)}

    jobs: dict[Any, Callable[[], Any]] = {}
    for seed in cfg.seeds:
        for variant in cfg.variants:
            if seed != first and variant not in ("none", "bahdanau"):
                continue  # extra seeds are for the baseline-vs-Bahdanau gap
            jobs[(variant, seed)] = job(variant, seed, variant if seed == first else f"{variant}-seed{seed}")
    if cfg.always_forced:  # the same Bahdanau run with teacher forcing always on: exposure bias
        jobs["forced"] = job("bahdanau", first, "bahdanau-forced", tf_start=1.0, tf_end=1.0)
    if cfg.never_forced:  # and never on: what teacher forcing is for
        jobs["never"] = job("bahdanau", first, "bahdanau-never-forced", tf_start=0.0, tf_end=0.0)
    follow = {("none", first): continuation} if cfg.catch_up_steps and ("none", first) in jobs else {}
    # side by side on a CPU, each run's numbers as if it ran alone (acceptance/parallel.py)
    trained = run_all(jobs, side_by_side=device.type == "cpu", after=follow)
    forced, never = trained.pop("forced", None), trained.pop("never", None)
    if "continued" in trained:
        trained[("none", first)].continued = trained.pop("continued")
    runs: dict[tuple[str, int], Seq2SeqRun] = trained
    padding = padding_shares(train_set, cfg.train.batch_size, cfg.train.seed)
    return Lab03Result(cfg, runs, forced, never, test, long_test, len(train_set), padding)


def padding_shares(examples: list[Example], batch_size: int, seed: int) -> dict[str, float]:
    """One pass over ``examples`` in batches of ``batch_size``: the share of the encoder's steps that are padding,
    with the batches drawn at random and grouped by length as Lab 03 trains (``length_batches``)."""
    lengths = [len(e.source) for e in examples]
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    drawn = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    grouped = length_batches(examples, batch_size, random.Random(seed))
    return {"random": padding_share(lengths, drawn), "by length": padding_share(lengths, grouped)}


def train_variant(
    cfg: Lab03,
    variant: str,
    tcfg: Seq2SeqTrainConfig,
    train: list[Example],
    val: list[Example],
    test: list[Example],
    path: Path,
    device: torch.device,
) -> tuple[Seq2SeqRun, list[Snapshot]]:
    """Train one seq2seq model of the protocol, save it to ``path``, score it on ``test``."""
    seed_everything(tcfg.seed)
    model = set_fast(
        Seq2Seq.from_config(
            Seq2SeqConfig(
                INPUT_ALPHABET,
                attention=variant,
                hidden_size=cfg.hidden_size,
                embedding_dim=cfg.embedding_dim,
                attention_dim=cfg.attention_dim,
            )
        )
    ).to(device)
    snapshots: list[Snapshot] = []
    history, optimizer = train_seq2seq(
        model,
        train,
        val,
        tcfg,
        desc=f"lab03 {path.stem}",
        on_checkpoint=lambda snap: snapshots.append({**snap, "rng": rng_state()}),
    )
    save(
        path,
        model,
        optimizer=optimizer,
        step=tcfg.steps,
        train_config=asdict(tcfg),
        history=asdict(history),
        loop=snapshots[-1]["loop"],
    )
    predictions = model.translate([e.source for e in test])
    run = Seq2SeqRun(
        model=model,
        history=history,
        checkpoint=path,
        params=model.num_parameters(),
        test=score_by_bucket(test, predictions),
        test_exposure=exposure_by_bucket(model, test, predictions),
        curve=accuracy_curve(test, predictions),
    )
    return run, snapshots


def beam_scores(model: Seq2Seq, test: list[Example], beam: int) -> dict[str, float] | None:
    """Exact match by length bucket on ``test``, decoded with beam search keeping ``beam`` prefixes; None for a
    learner's copy made before ``translate`` took a beam."""
    if "beam" not in inspect.signature(model.translate).parameters:
        return None
    return score_by_bucket(test, model.translate([e.source for e in test], beam=beam))


def continue_baseline(
    model: Seq2Seq,
    train: list[Example],
    val: list[Example],
    cfg: Seq2SeqTrainConfig,
    snapshot: Snapshot,
    extra_steps: int,
) -> Any:
    """Train a copy of the finished baseline ``extra_steps`` more (teacher forcing held at its
    final ratio, the same constant learning rate), evaluating every 100 steps: where does the
    fixed-context model catch up, if it does? Not part of the equal-budget comparison."""
    total = cfg.steps + extra_steps
    longer = replace(cfg, steps=total, tf_steps=cfg.steps, eval_points=max(1, total // 100))
    history, _ = train_seq2seq(
        copy.deepcopy(model), train, val, longer, desc="lab03 baseline, continued", resume=snapshot
    )
    return history


@torch.no_grad()
def alignment_score(model: Seq2Seq, examples: list[Example], batch_size: int = 256) -> float:
    """Share of the output's year/month/day characters whose attention argmax lies in that field's span."""
    hits = total = 0
    model.eval()
    for batch in by_length([e.source for e in examples], batch_size):
        chunk = [examples[i] for i in batch]
        src, lengths = model.encode_sources([e.source for e in chunk])
        _, attention = model.decode(src.to(model_device(model)), lengths)
        assert attention is not None, "an attention model's decoder returns its weights"
        focus = attention.argmax(-1)  # (B, T_out)
        for b, e in enumerate(chunk):
            for field, positions in FIELD_POSITIONS.items():
                start, end = e.spans[field]
                for p in positions:
                    hits += start <= int(focus[b, p]) < end
                    total += 1
    return hits / total


def accuracy_curve(examples: list[Example], predictions: list[str], width: int = 20) -> tuple[list[float], list[float]]:
    bins: dict[int, list[bool]] = {}
    for e, p in zip(examples, predictions, strict=True):
        bins.setdefault(len(e.source) // width, []).append(p == e.target)
    keys = sorted(k for k, v in bins.items() if len(v) >= 10)
    return [k * width + width / 2 for k in keys], [sum(bins[k]) / len(bins[k]) for k in keys]


# --- the bridge to attention ------------------------------------------------------------------------


def bridge_train_config(profile: Profile) -> Any:
    """The attention LM's training: Lab 02's budget at the bridge's own rate."""
    return replace(profile.lab02.train, lr=profile.bridge.lr or profile.lab02.train.lr)


def train_attention_lm(profile: Profile, corpus: Corpus, device: torch.device) -> AttentionRun:
    """The bridge's causal self-attention LM on Lab 02's characters and budget, sized to its parameter counts: its
    perplexity and how much of the past it uses. Trained beside Lab 02's models where the bridge is to run
    (``lab02(..., attention=True)``), else by ``bridge``."""
    cfg, lab02_cfg = profile.bridge, profile.lab02
    train_cfg = bridge_train_config(profile)
    window = lab02_cfg.train.seq_len  # the attention LM reads exactly the recurrent models' training window
    seed_everything(train_cfg.seed)
    model = attention_lm(cfg, len(corpus["vocab"]), window, lab02_cfg.dropout).to(device)
    history, _ = train_lm(model, corpus["train_ids"], corpus["val_ids"], train_cfg, desc="bridge attention")
    context, reach = context_used(model, lab02_cfg, corpus["val_ids"])
    return AttentionRun(
        params=model.num_parameters(),
        history=history,
        model=model,
        ppl=perplexity(history.val_loss[-1]),
        context=context,
        reach=reach,
        window=window,
    )


def bridge(
    profile: Profile, corpus: Corpus, lab02_result: Lab02Result, device: torch.device, train_lm: bool = True
) -> BridgeResult:
    """A causal self-attention LM on Lab 02's characters and budget, sized to its parameter counts (trained beside
    Lab 02's models where it was asked for, else here); and one training step timed against the sequence length,
    for it and the LSTM."""
    cfg, lab02_cfg = profile.bridge, profile.lab02
    train_cfg = bridge_train_config(profile)
    run = lab02_result.attention or (train_attention_lm(profile, corpus, device) if train_lm else None)
    timing = time_against_length(cfg, lab02_cfg, len(corpus["vocab"]), device)
    depth = sequential_depths(cfg, lab02_cfg, len(corpus["vocab"]))
    short, long_ = min(cfg.timing_lengths), max(cfg.timing_lengths)
    growth = {k: timing[(k, long_)] / timing[(k, short)] for k in (TIMED, ATTENTION)}  # step time, T short -> long
    return BridgeResult(
        growth=growth,
        depth=depth,
        cfg=cfg,
        train=train_cfg,
        run=run,
        window=lab02_cfg.train.seq_len,
        lab02=lab02_result,
        timing=timing,
        device=str(device),
        dropout=lab02_cfg.dropout,
        profile=profile.name,
    )


def attention_lm(cfg: Bridge, vocab_size: int, context: int, dropout: float = 0.0) -> AttentionLM:
    return AttentionLM(
        vocab_size,
        d_model=cfg.d_model,
        num_heads=cfg.num_heads,
        num_layers=cfg.num_layers,
        d_ff=cfg.d_ff,
        context=context,
        dropout=dropout,
    )


def sequential_depths(cfg: Bridge, lab02_cfg: Lab02, vocab_size: int) -> dict[tuple[str, int], int]:
    """The longest chain of dependent operations in one forward pass (rnnlab.metrics.sequential_depth)
    at each timing length, for each of Lab 02's model kinds and the attention LM, counted on the CPU
    from the models as built (the count does not depend on their weights)."""
    torch.manual_seed(0)
    models: dict[str, torch.nn.Module] = {
        kind: CharLM(vocab_size, kind, hidden, 1, lab02_cfg.embedding_dim)
        for kind, hidden in lab02_cfg.hidden(vocab_size)
    }
    models[ATTENTION] = attention_lm(cfg, vocab_size, max(cfg.timing_lengths))
    return {(kind, T): sequential_depth(model, T) for kind, model in models.items() for T in cfg.timing_lengths}


def time_against_length(
    cfg: Bridge, lab02_cfg: Lab02, vocab_size: int, device: torch.device
) -> dict[tuple[str, int], float]:
    """Median seconds of one training step, batch ``timing_batch``, at each sequence length, for
    the LSTM of Lab 02 (fast path) and the attention LM (its window as long as the sequence)."""
    hidden = dict(lab02_cfg.hidden(vocab_size))[TIMED]
    longest = max(cfg.timing_lengths)
    torch.manual_seed(0)
    models: dict[str, CharLM | AttentionLM] = {
        TIMED: set_fast(CharLM(vocab_size, TIMED, hidden, 1, lab02_cfg.embedding_dim)).to(device),
        ATTENTION: attention_lm(cfg, vocab_size, longest).to(device),
    }
    fns = {(kind, T): lm_step(model, cfg.timing_batch, T) for T in cfg.timing_lengths for kind, model in models.items()}
    return interleaved_medians(fns, rounds=cfg.timing_rounds)


# --- multi-query associative recall -----------------------------------------------------------------


def recall(profile: Profile, device: torch.device) -> RecallResult:
    """The attention LM and a one-layer model of every registered kind on multi-query associative
    recall, parameters matched, side by side: accuracy on held-out sequences by number of pairs and
    by how far back the queried key stands."""
    cfg = profile.studies.recall
    vocab = RecallVocab(keys=cfg.keys, values=cfg.keys)
    budget = recall_model(cfg, vocab, ATTENTION, None).num_parameters()

    def job(kind: str) -> Callable[[], RecallRun]:
        def train() -> RecallRun:
            seed_everything(cfg.train.seed)
            model = recall_model(cfg, vocab, kind, budget).to(device)
            tcfg = replace(cfg.train, lr=cfg.lr(kind))
            history = train_recall(model, tcfg, vocab, desc=f"recall {kind}")
            scored = [answered(model, b) for b in held_out(tcfg, vocab).values()]
            correct, distance = torch.cat([c for c, _ in scored]), torch.cat([d for _, d in scored])
            return RecallRun(
                params=model.num_parameters(),
                hidden=getattr(getattr(model, "config", None), "hidden_size", cfg.d_model),
                lr=tcfg.lr,
                history=history,
                by_pairs=history.val_accuracy[-1],
                by_distance={
                    d: float(correct[(distance <= d) & (distance > low)].double().mean())
                    for low, d in zip((0, *cfg.distances), cfg.distances, strict=False)
                    if ((distance <= d) & (distance > low)).any()
                },
            )

        return train

    kinds = [*MODEL_KINDS, ATTENTION]
    trained = run_all({kind: job(kind) for kind in kinds}, side_by_side=device.type == "cpu")
    return RecallResult(cfg, trained, budget, vocab)


def recall_model(cfg: Recall, vocab: RecallVocab, kind: str, budget: int | None) -> AttentionLM | CharLM:
    """The attention LM at ``cfg``'s sizes, or a one-layer CharLM of ``kind`` with the largest hidden
    size (a multiple of HIDDEN_MULTIPLE) whose parameters fit ``budget``."""
    window = 4 * max(cfg.train.pairs)
    if kind == ATTENTION:
        return AttentionLM(
            vocab.size,
            d_model=cfg.d_model,
            num_heads=cfg.num_heads,
            num_layers=cfg.num_layers,
            d_ff=4 * cfg.d_model,
            context=window,
        )
    assert budget is not None
    hidden = largest_hidden(kind, vocab.size, cfg.d_model, budget)
    return set_fast(CharLM(vocab.size, kind, hidden, 1, cfg.d_model))
