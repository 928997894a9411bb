"""Training the date seq2seq model: Adam, clipping, scheduled sampling, length-bucketed batches."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from rnnlab.checks import require_positive_ints
from rnnlab.data.dates import Example, bucket
from rnnlab.device import model_device, python_random_state
from rnnlab.errors import ConfigError
from rnnlab.models.seq2seq import Seq2Seq
from rnnlab.padding import by_length
from rnnlab.training.loop import Evaluation, train_task


@dataclass
class Seq2SeqTrainConfig:
    steps: int = 300  # optimiser steps
    batch_size: int = 64  # examples per step, grouped by similar length
    lr: float = 2e-3  # Adam, constant
    clip: float = 1.0  # max global gradient norm
    tf_start: float = 1.0  # teacher-forcing ratio at step 0 ...
    tf_end: float = 0.5  # ... decaying linearly to this at the last step (scheduled sampling)
    tf_steps: int | None = None  # the decay's length in steps (None: all of ``steps``); held at tf_end after
    eval_points: int = 6  # evaluations on the validation examples, evenly spaced
    seed: int = 0  # batch order, scheduled sampling's draws, and (CLI) the date corpus

    def __post_init__(self) -> None:
        require_positive_ints(
            "Seq2SeqTrainConfig",
            steps=self.steps,
            batch_size=self.batch_size,
            eval_points=self.eval_points,
        )
        if not 0.0 <= self.tf_end <= 1.0 or not 0.0 <= self.tf_start <= 1.0:
            raise ConfigError("teacher-forcing ratios must lie in [0, 1]")


def teacher_forcing_ratio(step: int, cfg: Seq2SeqTrainConfig) -> float:
    """The teacher-forcing ratio at ``step`` (0-based): linear from ``cfg.tf_start`` at step 0 to
    ``cfg.tf_end`` at step ``(cfg.tf_steps or cfg.steps) - 1``, held at ``tf_end`` after it.

    Returns: a float in [0, 1], the probability that a decoder step is fed the gold token.
    """
    # region exercise lab03.seq2seq
    progress = step / max(1, (cfg.tf_steps or cfg.steps) - 1)
    return cfg.tf_start + (cfg.tf_end - cfg.tf_start) * min(1.0, progress)
    # endregion


def length_batches(examples: Sequence[Example], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped into batches of similar source length (little padding), in random order."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].source), rng.random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def char_accuracy_by_bucket(examples: Sequence[Example], predictions: Sequence[str]) -> dict[str, float]:
    """The share of target characters predicted right at their position, overall and per length
    bucket. Unlike exact match, it sees what follows a first mistake: exact match fed the gold
    prefix and fed its own is always the same (greedy decoding makes its first mistake at the
    same place either way), so exposure bias shows only per character."""
    return _mean_by_bucket(
        examples,
        [
            sum(i < len(p) and p[i] == ch for i, ch in enumerate(e.target)) / len(e.target)
            for e, p in zip(examples, predictions, strict=True)
        ],
    )


def exposure_by_bucket(
    model: Seq2Seq, examples: Sequence[Example], free: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """Character accuracy fed its own previous characters (``"free"``, as at test time) and fed
    the gold ones (``"forced"``, as teacher forcing trains): the gap is exposure bias. ``free``:
    the model's translations of ``examples``, if already made."""
    if free is None:
        free = model.translate([e.source for e in examples])
    return {
        "free": char_accuracy_by_bucket(examples, free),
        "forced": char_accuracy_by_bucket(examples, teacher_forced_predictions(model, examples)),
    }


@torch.no_grad()
def teacher_forced_predictions(model: Seq2Seq, examples: Sequence[Example], batch_size: int = 256) -> list[str]:
    """What ``model`` predicts at each output position when fed the gold previous characters (as
    training with teacher forcing does), as strings cut at the first end-of-sequence; it runs as
    many steps as the gold target has (its characters and end mark). Compared
    with ``model.translate`` (its own previous characters), the difference is exposure bias.
    Draws no randomness; the model's train/eval mode is left as it was."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    out: list[str] = [""] * len(examples)
    for batch in by_length([e.source for e in examples], batch_size):
        src, lengths = model.encode_sources([examples[i].source for i in batch])
        gold = model.encode_targets([examples[i].target for i in batch]).to(device)
        logits = model(src.to(device), lengths, gold, teacher_forcing=1.0)
        for i, line in zip(batch, model.decode_targets(logits.argmax(-1).cpu()), strict=True):
            out[i] = line
    model.train(was_training)
    return out


def score_by_bucket(examples: Sequence[Example], predictions: Sequence[str]) -> dict[str, float]:
    """Exact-match accuracy overall and per length bucket (short < 20, long >= 60 characters)."""
    return _mean_by_bucket(examples, [float(p == e.target) for e, p in zip(examples, predictions, strict=True)])


def _mean_by_bucket(examples: Sequence[Example], scores: Sequence[float]) -> dict[str, float]:
    """The mean of one score per example, overall (``"all"``) and per length bucket."""
    groups: dict[str, list[float]] = {"all": []}
    for e, score in zip(examples, scores, strict=True):
        groups["all"].append(score)
        groups.setdefault(bucket(e.source), []).append(score)
    return {k: sum(v) / len(v) for k, v in groups.items() if v}


@dataclass
class Seq2SeqHistory:
    train_loss: list[float] = field(default_factory=list)
    teacher_forcing: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)
    val_accuracy: list[dict[str, float]] = field(default_factory=list)  # exact match, as at test time
    val_exposure: list[dict[str, dict[str, float]]] = field(default_factory=list)  # exposure_by_bucket
    train_seconds: float = 0.0


def train_seq2seq(
    model: Seq2Seq,
    train: Sequence[Example],
    val: Sequence[Example],
    cfg: Seq2SeqTrainConfig,
    *,
    progress: bool | None = None,
    desc: str = "seq2seq",
    resume: dict[str, Any] | None = None,
    checkpoint_every: int = 0,
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Seq2SeqHistory, torch.optim.Optimizer]:
    """Train ``model`` in place (on its device). Checkpoint snapshots and ``resume`` work as in
    ``rnnlab.training.lm.train_lm``; here ``loop`` holds the batch order left in this pass
    over the data and the states of the two generators (batch order, scheduled sampling)."""

    def make_task(optimizer: torch.optim.Optimizer, history: Seq2SeqHistory) -> Seq2SeqTask:
        return Seq2SeqTask(model, train, val, cfg, history, loop=resume["loop"] if resume is not None else None)

    history, optimizer = train_task(
        model,
        cfg,
        Seq2SeqHistory,
        resume,
        make_task,
        progress=progress,
        desc=desc,
        checkpoint_every=checkpoint_every,
        on_checkpoint=on_checkpoint,
    )
    return history, optimizer


class Seq2SeqTask:
    """Length-bucketed batches of (source, target) dates, drawn in a random order pass after
    pass, with scheduled sampling: the teacher-forcing ratio decays by the step."""

    def __init__(
        self,
        model: Any,
        train: Sequence[Example],
        val: Sequence[Example],
        cfg: Seq2SeqTrainConfig,
        history: Seq2SeqHistory,
        loop: dict[str, Any] | None = None,
    ) -> None:
        self.model, self.train, self.val, self.cfg, self.history = model, train, val, cfg, history
        self.device = model_device(model)
        self.rng = random.Random(cfg.seed)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.batches: list[list[int]] = []
        if loop is not None:
            self.batches = [list(b) for b in loop["batches"]]
            self.rng.setstate(python_random_state(loop["batch_rng"]))
            self.generator.set_state(loop["generator"])

    def loss(self, step: int) -> tuple[torch.Tensor, int]:
        if not self.batches:
            self.batches = length_batches(self.train, self.cfg.batch_size, self.rng)
        chosen = [self.train[i] for i in self.batches.pop()]
        src, lengths = self.model.encode_sources([e.source for e in chosen])
        targets = self.model.encode_targets([e.target for e in chosen]).to(self.device)
        self.ratio = teacher_forcing_ratio(step, self.cfg)
        logits = self.model(src.to(self.device), lengths, targets, teacher_forcing=self.ratio, generator=self.generator)
        return self.model.loss(logits, targets), logits.shape[-1]

    def record(self, step: int, grad_norm: float) -> None:
        self.history.teacher_forcing.append(self.ratio)

    def evaluate(self) -> Evaluation:
        free = self.model.translate([e.source for e in self.val])
        self.history.val_accuracy.append(score_by_bucket(self.val, free))
        self.history.val_exposure.append(exposure_by_bucket(self.model, self.val, free))
        return Evaluation("acc", self.history.val_accuracy[-1]["all"])

    def loop_state(self) -> dict[str, Any]:
        return {"batches": self.batches, "batch_rng": self.rng.getstate(), "generator": self.generator.get_state()}
