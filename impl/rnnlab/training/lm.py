"""Training a character language model: Adam, clipping, truncated BPTT, periodic evaluation."""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch.nn import functional as F
from rnnlab.device import model_device, set_rng_state
from rnnlab.metrics import evaluate_lm
from rnnlab.recurrent import detach_state
from rnnlab.training.loop import (
    check_diverged, checkpoint_due, divergence_ceiling, evenly_spaced, interrupted_at, optimise, progress_bar,
)
from rnnlab.training.tbptt import StreamBatcher
from rnnlab.checks import require_positive_ints


@dataclass
class TrainConfig:
    steps: int = 1000            # optimiser steps (one window of B x T characters each)
    batch_size: int = 32         # B parallel contiguous streams
    seq_len: int = 64            # T, the truncation length of BPTT
    lr: float = 3e-3             # Adam's peak learning rate
    min_lr_ratio: float = 0.1    # cosine decay ends at lr * min_lr_ratio
    warmup_steps: int = 20       # linear warm-up from 0
    decay_steps: int | None = None  # the cosine's length (None: all of ``steps``); held at lr * min_lr_ratio after
    clip: float = 1.0            # max global gradient norm
    eval_points: int = 10        # evaluations on the whole validation split, evenly spaced, the last at the end
    eval_rows: int = 16          # parallel streams used by evaluation
    seed: int = 0                # weights' initialisation and every random draw of the run

    def __post_init__(self) -> None:
        require_positive_ints(
            "TrainConfig", steps=self.steps, batch_size=self.batch_size,
            seq_len=self.seq_len, eval_points=self.eval_points, eval_rows=self.eval_rows,
        )
        if not (self.lr > 0 and self.clip > 0):
            raise ValueError(f"TrainConfig: lr and clip must be > 0, got lr={self.lr}, clip={self.clip}")


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
    train_loss: list[float] = field(default_factory=list)     # per step
    grad_norm: list[float] = field(default_factory=list)      # pre-clip global norm, per step
    eval_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)   # training wall-clock at each evaluation
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
    resume: dict | None = None,
    checkpoint_every: int = 0,
    on_checkpoint: Callable[[dict], None] | None = None,
) -> tuple[History, torch.optim.Optimizer]:
    """Train ``model`` in place (on its device); return its history and the optimiser.

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
        raise ValueError(
            f"the validation text ({val_ids.numel()} characters) is too short: evaluation reads it as "
            f"{cfg.eval_rows} parallel streams of at least 2 characters, so it needs {2 * cfg.eval_rows} or more. "
            "Use more text."
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history = History()
    to_eval = set(evenly_spaced(cfg.steps, cfg.eval_points))
    state = None
    start = 0
    if resume is not None:
        start = resume["step"]
        optimizer.load_state_dict(resume["optimizer"])
        history = History(**resume["history"])
        state = _to(resume["loop"]["carry"], device)
        set_rng_state(resume["rng"])
    elapsed = history.train_seconds
    model.train()
    bar = progress_bar(cfg.steps, desc, progress, start=start)
    done = start
    try:
        for step in bar:
            started = time.perf_counter()
            window = batcher.window(step)
            if window.fresh:
                state = None
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, cfg)
            logits, state = model(window.x, state)  # (B, T, V)
            state = detach_state(state)  # carry the values, cut the graph: truncated BPTT
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), window.y.reshape(-1))
            norm = optimise(model, optimizer, loss, cfg.clip)
            elapsed += time.perf_counter() - started
            history.train_loss.append(loss.item())
            history.grad_norm.append(norm)
            ceiling = divergence_ceiling(logits.shape[-1])
            check_diverged(history.train_loss[-1], step, ceiling)
            done = step + 1  # the step is taken; an interruption from here on comes after it
            if step + 1 in to_eval:
                history.eval_step.append(step + 1)
                history.val_loss.append(evaluate_lm(model, val_ids, rows=cfg.eval_rows))
                check_diverged(history.val_loss[-1], step, ceiling, "validation loss")
                history.eval_seconds.append(elapsed)
                bar.set_postfix(val=f"{history.val_loss[-1]:.3f}")
            history.train_seconds = elapsed
            if on_checkpoint is not None and checkpoint_due(step + 1, cfg.steps, checkpoint_every):
                on_checkpoint({"step": step + 1, "optimizer": optimizer.state_dict(), "history": asdict(history),
                               "loop": {"carry": state}})
    except KeyboardInterrupt as exc:
        raise interrupted_at(exc, done)
    return history, optimizer


def _to(state, device):
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.to(device)
    return type(state)(_to(s, device) for s in state)
