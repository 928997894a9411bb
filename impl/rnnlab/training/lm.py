"""Training a character language model: Adam (or plain SGD), clipping, truncated BPTT, periodic evaluation."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from rnnlab.checks import require_positive_ints
from rnnlab.device import model_device
from rnnlab.errors import ConfigError
from rnnlab.metrics import evaluate_lm
from rnnlab.recurrent import State, detach_state, move_state
from rnnlab.training.loop import Evaluation, train_task
from rnnlab.training.tbptt import StreamBatcher


@dataclass
class TrainConfig:
    steps: int = 1000  # optimiser steps (one window of B x T characters each)
    batch_size: int = 32  # B parallel contiguous streams
    seq_len: int = 64  # T, the truncation length of BPTT
    lr: float = 3e-3  # Adam's peak learning rate
    min_lr_ratio: float = 0.1  # cosine decay ends at lr * min_lr_ratio
    warmup_steps: int = 20  # linear warm-up from 0
    decay_steps: int | None = None  # the cosine's length (None: all of ``steps``); held at lr * min_lr_ratio after
    clip: float = 1.0  # max global gradient norm
    eval_points: int = 10  # evaluations on the whole validation split, evenly spaced, the last at the end
    eval_rows: int = 16  # parallel streams used by evaluation
    seed: int = 0  # weights' initialisation and every random draw of the run

    def __post_init__(self) -> None:
        require_positive_ints(
            "TrainConfig",
            steps=self.steps,
            batch_size=self.batch_size,
            seq_len=self.seq_len,
            eval_points=self.eval_points,
            eval_rows=self.eval_rows,
        )
        if not (self.lr > 0 and self.clip > 0):
            raise ConfigError(f"TrainConfig: lr and clip must be > 0, got lr={self.lr}, clip={self.clip}")


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay from lr to lr * min_lr_ratio at the last step (or at
    ``decay_steps``, after which it stays there: how an extended run goes on)."""
    if cfg.decay_steps is not None and step >= cfg.decay_steps:
        return cfg.lr * cfg.min_lr_ratio
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    horizon = cfg.decay_steps or cfg.steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, horizon - cfg.warmup_steps))
    ratio = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return cfg.lr * ratio


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)  # per step
    grad_norm: list[float] = field(default_factory=list)  # pre-clip global norm, per step
    eval_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)  # training wall-clock at each evaluation
    train_seconds: float = 0.0


def seed_everything(seed: int) -> None:
    """Seed every generator a run may draw from: Python's, numpy's and torch's (CPU and GPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_lm(
    model: torch.nn.Module,
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    cfg: TrainConfig,
    *,
    progress: bool | None = None,
    desc: str = "train",
    resume: dict[str, Any] | None = None,
    checkpoint_every: int = 0,
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
    optimizer: str = "adam",
) -> tuple[History, torch.optim.Optimizer]:
    """Train ``model`` in place (on its device) with ``optimizer`` (Adam, or ``"sgd"``: plain SGD; see
    ``rnnlab.training.loop.OPTIMIZERS``); return its history and the optimiser.

    Every ``checkpoint_every`` steps, and after the last, ``on_checkpoint(snapshot)`` gets what
    a checkpoint needs to continue: ``{"step", "optimizer", "history", "loop"}`` (``loop``
    holds the hidden state carried into the next window); read the RNG states at that moment
    too (``rnnlab.device.rng_state``). ``resume`` takes such a snapshot back, plus ``"rng"``:
    the run continues at its step and ends bit-identical to one never interrupted (the data
    position is a function of the step, see ``StreamBatcher.window``).

    A training or validation loss that is NaN, infinite or above 10 x ln V stops training
    with ``FloatingPointError`` before anything is saved, so the last checkpoint written is the
    last good one (``rnnlab.training.loop.check_diverged``).
    """
    device = model_device(model)
    batcher = StreamBatcher(train_ids.to(device), cfg.batch_size, cfg.seq_len)  # checks the training text's size
    if val_ids.numel() < 2 * cfg.eval_rows:  # checked now, not at the first evaluation
        raise ConfigError(
            f"the validation text ({val_ids.numel()} characters) is too short: evaluation reads it as "
            f"{cfg.eval_rows} parallel streams of at least 2 characters, so it needs {2 * cfg.eval_rows} or more. "
            "Use more text."
        )

    def make_task(optimiser: torch.optim.Optimizer, history: History) -> LMTask:
        task = LMTask(model, optimiser, batcher, val_ids, cfg, history)
        if resume is not None:
            task.state = move_state(resume["loop"]["carry"], device)
        return task

    history, optimiser = train_task(
        model,
        cfg,
        History,
        resume,
        make_task,
        progress=progress,
        desc=desc,
        checkpoint_every=checkpoint_every,
        on_checkpoint=on_checkpoint,
        optimizer=optimizer,
    )
    return history, optimiser


class LMTask:
    """Next-character prediction over contiguous streams, the hidden state carried from one
    window to the next (truncated BPTT) and reset where the streams start again."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        batcher: StreamBatcher,
        val_ids: torch.Tensor,
        cfg: TrainConfig,
        history: History,
    ) -> None:
        self.model, self.optimizer, self.batcher, self.val_ids, self.cfg = model, optimizer, batcher, val_ids, cfg
        self.history = history
        self.state: State = None

    def loss(self, step: int) -> tuple[torch.Tensor, int]:
        window = self.batcher.window(step)
        if window.fresh:
            self.state = None
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(step, self.cfg)
        logits, state = self.model(window.x, self.state)  # (B, T, V)
        self.state = detach_state(state)  # carry the values, cut the graph: truncated BPTT
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), window.y.reshape(-1)), logits.shape[-1]

    def record(self, step: int, grad_norm: float) -> None:
        self.history.grad_norm.append(grad_norm)

    def evaluate(self) -> Evaluation:
        self.history.val_loss.append(evaluate_lm(self.model, self.val_ids, rows=self.cfg.eval_rows))
        return Evaluation("val", self.history.val_loss[-1], is_loss=True)

    def loop_state(self) -> dict[str, Any]:
        return {"carry": self.state}
