"""Study: what does clipping buy? Lab 01's RNN trained with its gradient clipped and not clipped, under Adam and SGD.

Lab 01 clips the global gradient norm at 1.0 and its report finds the pre-clip norm above that on a handful of steps:
its talking point "Why do we clip gradients?" can say only that clipping was rarely needed. This study asks what
removing it changes. The same model, characters, steps, schedule and seeds as Lab 01, each run twice (clipped at
Lab 01's threshold, and not clipped), under Adam at Lab 01's rate and ten times it, and under plain SGD, whose steps
grow with the gradient (Pascanu, Mikolov and Bengio 2013 clip for SGD): ``Studies.clip_adam_scales`` and
``clip_sgd_rates``. A finding, reported with its numbers; nothing is judged.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from acceptance import plots
from acceptance.parallel import run_all
from acceptance.profiles import Lab01
from acceptance.record import Figure, Recorder, Table
from acceptance.trained import Corpus
from rnnlab.errors import DivergedError
from rnnlab.fast import set_fast
from rnnlab.models import CharLM
from rnnlab.training import TrainConfig, seed_everything, train_lm

SECTION = "study-clipping"
NAMES = {"adam": "Adam", "sgd": "SGD"}


@dataclass(frozen=True)
class ClipRun:
    """One run: its optimiser, rate, clipping (``clip`` None: not clipped) and seed, and what happened."""

    optimizer: str
    lr: float
    clip: float | None
    seed: int
    # per step, up to the step it stopped at: a diverged run's last is the loss that stopped it (training or validation)
    train_loss: tuple[float, ...]
    grad_norm: tuple[float, ...]  # pre-clip global norm, per step taken
    val_loss: float | None  # at the end; None where it diverged
    diverged_at: int | None  # the step (1-based) at which a diverged run stopped


@dataclass(frozen=True)
class Clipping:
    threshold: float  # Lab 01's clipping threshold; an unclipped run counts the steps its norm went above it
    steps: int
    runs: tuple[ClipRun, ...]

    def arms(self) -> list[tuple[str, float]]:
        """(optimiser, rate) in the order they were trained."""
        return list(dict.fromkeys((r.optimizer, r.lr) for r in self.runs))

    def of(self, optimizer: str, lr: float, clipped: bool) -> list[ClipRun]:
        return [r for r in self.runs if (r.optimizer, r.lr) == (optimizer, lr) and (r.clip is not None) == clipped]


def arms(study: Any, lab01: Lab01) -> list[tuple[str, float]]:
    """The study's (optimiser, rate) pairs: Adam at multiples of Lab 01's rate, then SGD at its own rates."""
    return [("adam", lab01.train.lr * scale) for scale in study.clip_adam_scales] + [
        ("sgd", rate) for rate in study.clip_sgd_rates
    ]


def train_one(
    lab01: Lab01,
    optimizer: str,
    lr: float,
    clip: float | None,
    seed: int,
    corpus: Corpus,
    device: torch.device | None = None,
) -> ClipRun:
    """Lab 01's RNN at ``seed``, trained on Lab 01's budget with ``optimizer`` at ``lr``, clipped at ``clip`` (None:
    never). A run that diverges stops there (``rnnlab.training.loop.check_diverged``); its history up to that step
    comes from the snapshot every step hands out."""
    cfg: TrainConfig = replace(lab01.train, lr=lr, clip=math.inf if clip is None else clip, seed=seed)
    seed_everything(seed)
    model = set_fast(CharLM(len(corpus["vocab"]), "rnn", lab01.hidden_size, 1, lab01.embedding_dim, lab01.dropout))
    model.to(device or torch.device("cpu"))
    seen: dict[str, Any] = {"train_loss": [], "grad_norm": []}

    def keep(snapshot: dict[str, Any]) -> None:
        seen.update(snapshot["history"])

    desc = (
        f"study clipping: {NAMES[optimizer]} {lr:g}, {'clip ' + format(clip, 'g') if clip else 'no clip'}, seed {seed}"
    )
    try:
        history, _ = train_lm(
            model,
            corpus["train_ids"],
            corpus["val_ids"],
            cfg,
            desc=desc,
            optimizer=optimizer,
            checkpoint_every=1,
            on_checkpoint=keep,
        )
    except DivergedError as stopped:
        if stopped.step is None or stopped.loss is None:
            raise
        return ClipRun(
            optimizer,
            lr,
            clip,
            seed,
            (*seen["train_loss"], stopped.loss),
            tuple(seen["grad_norm"]),
            None,
            stopped.step,
        )
    return ClipRun(
        optimizer, lr, clip, seed, tuple(history.train_loss), tuple(history.grad_norm), history.val_loss[-1], None
    )


def measure(study: Any, lab01: Lab01, corpus: Corpus, device: torch.device) -> Clipping:
    """Every (optimiser, rate) of ``arms``, clipped and not, at Lab 01's seed and the next ``study.clip_seeds - 1``,
    side by side on a CPU (about 35 s a run of Lab 01's budget on one core of two), one after another elsewhere."""
    seeds = [lab01.train.seed + k for k in range(study.clip_seeds)]
    threshold = lab01.train.clip

    def job(optimizer: str, lr: float, clip: float | None, seed: int) -> Callable[[], ClipRun]:
        return lambda: train_one(lab01, optimizer, lr, clip, seed, corpus, device)

    jobs = {
        (optimizer, lr, clip, seed): job(optimizer, lr, clip, seed)
        for seed in seeds
        for optimizer, lr in arms(study, lab01)
        for clip in (threshold, None)
    }
    done = run_all(jobs, side_by_side=device.type == "cpu")
    return Clipping(threshold, lab01.train.steps, tuple(done[name] for name in jobs))


def _loss(runs: list[ClipRun]) -> str:
    finished = [r.val_loss for r in runs if r.val_loss is not None]
    if not finished:
        return "—"
    if len(finished) == 1:
        return f"{finished[0]:.3f}"
    return f"{statistics.mean(finished):.3f} ± {statistics.stdev(finished):.3f}"


def _diverged(runs: list[ClipRun]) -> str:
    stopped = [r.diverged_at for r in runs if r.diverged_at is not None]
    if not stopped:
        return f"0 of {len(runs)}"
    return f"{len(stopped)} of {len(runs)} ({_where(stopped)})"


def _where(steps: list[int]) -> str:
    return f"at step{'s' if len(steps) > 1 else ''} {', '.join(map(str, steps))}"


def _above(runs: list[ClipRun], threshold: float) -> str:
    return ", ".join(f"{sum(n > threshold for n in r.grad_norm)} of {len(r.grad_norm)}" for r in runs)


def write(recorder: Recorder, result: Clipping) -> None:
    sec = recorder.section(SECTION, "Study — what does clipping buy?")
    seeds = sorted({r.seed for r in result.runs})
    t = result.threshold
    sec.summary = (
        f"Lab 01's RNN trained on Lab 01's characters, {result.steps} steps and schedule, clipped at Lab 01's "
        f"threshold (a global norm of {t:g}) and not clipped, under Adam (Lab 01's optimiser) and plain SGD, "
        f"{'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))}. A finding, not a criterion: Lab 01's talking point 'Why do we clip "
        "gradients?' asks what clipping buys, and this is the answer measured."
    )
    rows = []
    for optimizer, lr in result.arms():
        for clipped in (True, False):
            runs = result.of(optimizer, lr, clipped)
            rows.append(
                [
                    NAMES[optimizer],
                    f"{lr:g}",
                    f"at {t:g}" if clipped else "none",
                    _loss(runs),
                    _diverged(runs),
                    _above(runs, t),
                    f"{max(max(r.grad_norm, default=0.0) for r in runs):.3g}",
                ]
            )
    sec.tables.append(
        Table(
            "Clipped and not clipped, under Adam and SGD",
            [
                "optimiser",
                "peak rate",
                "clipping",
                "validation loss at the end (nats; mean ± sd over the seeds that finished)",
                "seeds diverged",
                f"steps whose pre-clip norm exceeded {t:g}, per seed",
                "largest pre-clip norm",
            ],
            rows,
            caption=f"{'Seed' if len(seeds) == 1 else 'Seeds'} {', '.join(map(str, seeds))}; the same warm-up and cosine schedule as Lab 01. A run "
            "diverges where its loss is not finite or above 10 x ln V (rnnlab's divergence check); it stops there. "
            "A diverged seed's steps are counted up to the step that stopped it.",
        )
    )
    first = seeds[0]
    highest = {optimizer: max(lr for o, lr in result.arms() if o == optimizer) for optimizer, _ in result.arms()}
    shown: dict[str, Sequence[float]] = {
        f"{NAMES[r.optimizer]} {r.lr:g}, {'clipped' if r.clip is not None else 'not clipped'}": r.train_loss
        for r in result.runs
        if r.seed == first and highest[r.optimizer] == r.lr
    }
    sec.figures.append(
        Figure(
            f"Training loss, clipped and not, seed {first}",
            "Each optimiser at its highest rate here, clipped (solid) and not (dashed, the same colour): training loss "
            "per step, 10-step mean, log scale; a run that diverged ends at the step that stopped it.",
            plots.series(
                shown,
                "training step",
                "training loss (nats / char)",
                "Clipped and not clipped",
                logy=True,
                smooth=10,
                styles=["-" if name.endswith(", clipped") else "--" for name in shown],
                marker="",
            ),
        )
    )
    sec.notes.append(f"In one line (what Lab 01's talking point quotes, recorded in findings.json): {finding(result)}.")


def finding(result: Clipping) -> str:
    """The study's numbers in one line: each optimiser and rate, clipped and not (findings.json's ``lab01.clipping``,
    which Lab 01's talking point 'Why do we clip gradients?' quotes)."""
    seeds = sorted({r.seed for r in result.runs})
    arms = "; ".join(
        f"{NAMES[optimizer]} at {lr:g}, clipped {_side(result.of(optimizer, lr, True))}, not clipped "
        f"{_side(result.of(optimizer, lr, False))}"
        for optimizer, lr in result.arms()
    )
    which = f"{'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))}"
    return f"final validation loss (nats) after {result.steps} steps, {which}: {arms}"


def _side(runs: list[ClipRun]) -> str:
    """One side of an arm (its clipped or its unclipped runs) in words: the loss, and any divergence."""
    stopped = [r.diverged_at for r in runs if r.diverged_at is not None]
    if not stopped:
        return _loss(runs)
    if len(stopped) == len(runs):
        return f"diverged in {_diverged(runs)}"
    return f"{_loss(runs)} over the {len(runs) - len(stopped)} that finished, diverged in {_diverged(runs)}"
