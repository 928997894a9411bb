"""Training on multi-query associative recall (``rnnlab.data.recall``): any model that maps ids
(B, T) to logits (B, T, V) (``CharLM`` with any cell, ``AttentionLM``), Adam at a constant rate,
the loss on the answers only, fresh sequences at every step (an endless supply: nothing repeats).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from rnnlab.checks import require_positive_ints
from rnnlab.data.recall import IGNORE, RecallBatch, RecallVocab, recall_batch
from rnnlab.device import model_device
from rnnlab.errors import ConfigError
from rnnlab.fast.adopt import as_written_on_mismatch
from rnnlab.training import loop
from rnnlab.training.loop import Evaluation, run_training


@dataclass(frozen=True)
class RecallTrainConfig:
    steps: int = 2000  # optimiser steps
    batch_size: int = 64  # sequences per step
    lr: float = 3e-3  # Adam's rate, constant
    clip: float = 1.0  # global gradient-norm clipping
    pairs: tuple[int, ...] = (4, 8, 16, 32)  # step s trains on sequences of pairs[s % len(pairs)] pairs
    eval_points: int = 5  # evaluations during training
    eval_sequences: int = 256  # held-out sequences per number of pairs, for every evaluation
    seed: int = 0  # the training sequences (and, in the harness, the model's initialisation)
    eval_seed: int = 1  # the held-out sequences: the same whatever the training seed

    def __post_init__(self) -> None:
        require_positive_ints(
            "RecallTrainConfig",
            steps=self.steps,
            batch_size=self.batch_size,
            seed=self.seed + 1,
            eval_seed=self.eval_seed + 1,
        )
        require_positive_ints("RecallTrainConfig", eval_points=self.eval_points, eval_sequences=self.eval_sequences)
        if not self.pairs or any(not isinstance(n, int) or n < 1 for n in self.pairs):
            raise ConfigError(f"RecallTrainConfig: pairs must be positive integers, got {self.pairs!r}")
        if not (self.lr > 0 and self.clip > 0):
            raise ConfigError("RecallTrainConfig: lr and clip must be positive")


@dataclass
class RecallHistory:
    train_loss: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)
    val_accuracy: list[dict[int, float]] = field(default_factory=list)  # answers right, by number of pairs
    val_loss: list[float] = field(default_factory=list)  # cross-entropy on the held-out answers, all N together
    train_seconds: float = 0.0


def logits_of(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    out = model(inputs)
    return out[0] if isinstance(out, tuple) else out  # CharLM returns (logits, state)


def answers_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy at the queries only (every other target is IGNORE)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)


@torch.no_grad()
def held_out_logits(model: nn.Module, batch: RecallBatch) -> torch.Tensor:
    """The model's logits for ``batch`` in eval mode (its mode restored after), on the CPU."""
    was_training = model.training
    model.eval()
    logits = logits_of(model, batch.inputs.to(model_device(model))).cpu()
    model.train(was_training)
    return logits


def answered(model: nn.Module, batch: RecallBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Whether each query was answered right, and how far back its key stood: two 1-D tensors."""
    predicted = held_out_logits(model, batch).argmax(-1)
    asked = batch.targets != IGNORE
    return (predicted[asked] == batch.targets[asked]), batch.distance[asked]


def answer_loss(model: nn.Module, batch: RecallBatch) -> float:
    """Mean cross-entropy of the model's predictions at the queries (the answers only)."""
    return float(answers_loss(held_out_logits(model, batch), batch.targets))


def held_out(cfg: RecallTrainConfig, vocab: RecallVocab) -> dict[int, RecallBatch]:
    """The held-out sequences: ``eval_sequences`` of each number of pairs, from ``eval_seed``."""
    generator = torch.Generator().manual_seed(cfg.eval_seed)
    return {n: recall_batch(n, cfg.eval_sequences, vocab, generator) for n in cfg.pairs}


class RecallTask:
    def __init__(self, model: nn.Module, cfg: RecallTrainConfig, vocab: RecallVocab) -> None:
        self.model, self.cfg, self.vocab = model, cfg, vocab
        self.device = model_device(model)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.val = held_out(cfg, vocab)
        self.history = RecallHistory()

    def loss(self, step: int) -> tuple[torch.Tensor, int]:
        batch = recall_batch(
            self.cfg.pairs[step % len(self.cfg.pairs)], self.cfg.batch_size, self.vocab, self.generator
        )
        logits = logits_of(self.model, batch.inputs.to(self.device))
        return answers_loss(logits, batch.targets.to(self.device)), self.vocab.values

    def record(self, step: int, grad_norm: float) -> None:
        pass

    def evaluate(self) -> Evaluation:
        accuracy = {n: float(answered(self.model, b)[0].double().mean()) for n, b in self.val.items()}
        self.history.val_accuracy.append(accuracy)
        self.history.val_loss.append(sum(answer_loss(self.model, b) for b in self.val.values()) / len(self.val))
        return Evaluation("acc", sum(accuracy.values()) / len(accuracy))

    def loop_state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}


def train_recall(
    model: nn.Module, cfg: RecallTrainConfig, vocab: RecallVocab, *, progress: bool | None = None, desc: str = "recall"
) -> RecallHistory:
    """Train ``model`` in place on recall sequences; return its history (accuracy by number of pairs)."""
    if max(cfg.pairs) > vocab.keys:
        raise ConfigError(
            f"RecallTrainConfig: {max(cfg.pairs)} pairs need as many keys; the vocabulary has {vocab.keys}"
        )

    def attempt() -> RecallHistory:
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        task = RecallTask(model, cfg, vocab)
        run_training(model, optimizer, task, cfg, progress=progress, desc=desc)
        return task.history

    return as_written_on_mismatch(model, attempt, lambda line: loop.progress_sink(f"{desc}: {line}"))
