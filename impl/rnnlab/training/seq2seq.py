"""Training the date seq2seq model: Adam, clipping, scheduled sampling, length-bucketed batches."""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch

from rnnlab.data.dates import Example, bucket
from rnnlab.device import model_device, python_random_state, set_rng_state
from rnnlab.training.loop import (
    check_diverged, checkpoint_due, divergence_ceiling, evenly_spaced, interrupted_at, optimise, progress_bar,
)
from rnnlab.checks import require_positive_ints


@dataclass
class Seq2SeqTrainConfig:
    steps: int = 300             # optimiser steps
    batch_size: int = 64         # examples per step, grouped by similar length
    lr: float = 2e-3             # Adam, constant
    clip: float = 1.0            # max global gradient norm
    tf_start: float = 1.0        # teacher-forcing ratio at step 0 ...
    tf_end: float = 0.5          # ... decaying linearly to this at the last step (scheduled sampling)
    tf_steps: int | None = None  # the decay's length in steps (None: all of ``steps``); held at tf_end after
    eval_points: int = 6         # evaluations on the validation examples, evenly spaced
    seed: int = 0                # batch order, scheduled sampling's draws, and (CLI) the date corpus

    def __post_init__(self) -> None:
        require_positive_ints(
            "Seq2SeqTrainConfig", steps=self.steps, batch_size=self.batch_size,
            eval_points=self.eval_points,
        )
        if not 0.0 <= self.tf_end <= 1.0 or not 0.0 <= self.tf_start <= 1.0:
            raise ValueError("teacher-forcing ratios must lie in [0, 1]")


def teacher_forcing_ratio(step: int, cfg: Seq2SeqTrainConfig) -> float:
    """Linear decay from ``tf_start`` at step 0 to ``tf_end`` at the last step."""
    # region exercise lab03.seq2seq
    progress = step / max(1, (cfg.tf_steps or cfg.steps) - 1)
    return cfg.tf_start + (cfg.tf_end - cfg.tf_start) * min(1.0, progress)
    # endregion


def length_batches(examples: Sequence[Example], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped into batches of similar source length (little padding), in random order."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].source), rng.random()))
    batches = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def accuracy_by_bucket(model, examples: Sequence[Example]) -> dict[str, float]:
    """Exact-match accuracy of ``model``'s translations, overall and per length bucket."""
    return score_by_bucket(examples, model.translate([e.source for e in examples]))


def score_by_bucket(examples: Sequence[Example], predictions: Sequence[str]) -> dict[str, float]:
    """Exact-match accuracy overall and per length bucket (short < 20, long >= 60 characters)."""
    hits: dict[str, list[bool]] = {"all": []}
    for e, p in zip(examples, predictions):
        ok = p == e.target
        hits["all"].append(ok)
        hits.setdefault(bucket(e.source), []).append(ok)
    return {k: sum(v) / len(v) for k, v in hits.items() if v}


@dataclass
class Seq2SeqHistory:
    train_loss: list[float] = field(default_factory=list)
    teacher_forcing: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)
    val_accuracy: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0


def train_seq2seq(model, train: Sequence[Example], val: Sequence[Example], cfg: Seq2SeqTrainConfig,
                  *, progress: bool | None = None, desc: str = "seq2seq", resume: dict | None = None,
                  checkpoint_every: int = 0, on_checkpoint: Callable[[dict], None] | None = None,
                  ) -> tuple[Seq2SeqHistory, torch.optim.Optimizer]:
    """Train ``model`` in place (on its device). Checkpoint snapshots and ``resume`` work as in
    ``rnnlab.training.lm.train_lm``; here ``loop`` holds the batch order left in this pass
    over the data and the states of the two generators (batch order, scheduled sampling)."""
    device = model_device(model)
    rng = random.Random(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history = Seq2SeqHistory()
    to_eval = set(evenly_spaced(cfg.steps, cfg.eval_points))
    batches: list[list[int]] = []
    start = 0
    if resume is not None:
        start = resume["step"]
        optimizer.load_state_dict(resume["optimizer"])
        history = Seq2SeqHistory(**resume["history"])
        loop = resume["loop"]
        batches = [list(b) for b in loop["batches"]]
        rng.setstate(python_random_state(loop["batch_rng"]))
        generator.set_state(loop["generator"])
        set_rng_state(resume["rng"])
    elapsed = history.train_seconds
    model.train()
    bar = progress_bar(cfg.steps, desc, progress, start=start)
    done = start
    try:
        for step in bar:
            started = time.perf_counter()
            if not batches:
                batches = length_batches(train, cfg.batch_size, rng)
            chosen = [train[i] for i in batches.pop()]
            src, lengths = model.encode_sources([e.source for e in chosen])
            targets = model.encode_targets([e.target for e in chosen]).to(device)
            ratio = teacher_forcing_ratio(step, cfg)
            logits = model(src.to(device), lengths, targets, teacher_forcing=ratio, generator=generator)
            loss = model.loss(logits, targets)
            optimise(model, optimizer, loss, cfg.clip)
            elapsed += time.perf_counter() - started
            history.train_loss.append(loss.item())
            history.teacher_forcing.append(ratio)
            check_diverged(history.train_loss[-1], step, divergence_ceiling(logits.shape[-1]))
            done = step + 1  # the step is taken; an interruption from here on comes after it
            if step + 1 in to_eval:
                history.eval_step.append(step + 1)
                history.eval_seconds.append(elapsed)
                history.val_accuracy.append(accuracy_by_bucket(model, val))
                model.train()
                bar.set_postfix(acc=f"{history.val_accuracy[-1]['all']:.3f}")
            history.train_seconds = elapsed
            if on_checkpoint is not None and checkpoint_due(step + 1, cfg.steps, checkpoint_every):
                on_checkpoint({"step": step + 1, "optimizer": optimizer.state_dict(), "history": asdict(history),
                               "loop": {"batches": batches, "batch_rng": rng.getstate(),
                                        "generator": generator.get_state()}})
    except KeyboardInterrupt as exc:
        raise interrupted_at(exc, done)
    return history, optimizer
