"""The training loop every task shares, and its pieces.

``run_training`` is the skeleton (in the spirit of minGPT's ``Trainer``): per step it asks the
task for a loss, clips and steps the optimiser, times the step, records the loss, stops a
diverged run, evaluates on schedule, and hands checkpoint snapshots out. What differs between
a character language model and a seq2seq model (how a batch is drawn, what is measured, what
state the data loop carries across a checkpoint) lives in a ``Task`` (``training/lm.py``,
``training/seq2seq.py``).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, NamedTuple, Protocol

import torch
from tqdm import tqdm

from rnnlab.device import set_rng_state
from rnnlab.errors import ConfigError, DivergedError
from rnnlab.training.clipping import clip_grad_norm

# The optimisers a run can train with, by name: Adam (every lab's), and plain SGD (the clipping study's contrast: what
# clipping buys an optimiser that does not rescale its steps). Each takes (parameters, lr=...).
OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def check_kernels() -> None:
    """In a learner's copy whose cells the reference's kernels run (``rnnlab.fast.adopt``), check each one's next
    call against the learner's own cell and loop: at every evaluation, the states this run visits."""
    from rnnlab.fast import dispatch

    if dispatch.ADOPTED:
        from rnnlab.fast.adopt import check_next

        check_next()


def optimise(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, clip: float) -> float:
    """Backpropagate ``loss``, clip the global gradient norm to ``clip``, step; return the pre-clip norm."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = clip_grad_norm(model.parameters(), clip)
    optimizer.step()
    return norm


def evenly_spaced(steps: int, points: int) -> list[int]:
    """1-based step counts after which to evaluate: evenly spaced, the last one at the end
    (at most one per step, however many points are asked for)."""
    points = min(points, steps)
    return sorted({round(steps * (k + 1) / points) for k in range(points)})


BAR_POSITION: int | None = None  # the line a progress bar takes; runs side by side each set their own


def progress_bar(steps: int, desc: str, progress: bool | None, start: int = 0) -> tqdm[int]:
    """tqdm over steps ``start..steps-1``; ``progress=None`` lets tqdm decide (off when not a
    terminal, e.g. CI logs)."""
    return tqdm(
        range(start, steps),
        desc=desc,
        disable=None if progress is None else not progress,
        dynamic_ncols=True,
        leave=False,
        initial=start,
        total=steps,
        position=BAR_POSITION,
    )


PROGRESS_LINES = 10  # where no bar can be drawn: about this many whole lines per run


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# Where the plain progress lines go: stderr by default; the acceptance harness points it past pytest's capture.
progress_sink: Callable[[str], None] = _stderr_line


def time_left(
    train_seconds: float, steps_done: int, steps_left: int, eval_seconds: float, evals_done: int, evals_left: int
) -> float:
    """Seconds a run has left: its steps left at its training rate so far, plus its evaluations left at theirs
    (counted apart, so that a costly evaluation does not swing the rate of every step); 0 before anything ran."""
    if steps_done <= 0:
        return 0.0
    per_eval = eval_seconds / evals_done if evals_done else 0.0
    return train_seconds / steps_done * steps_left + per_eval * evals_left


class PlainProgress:
    """Whole lines instead of a bar when the bar is off because the output is no terminal (a log
    file, CI, pytest's capture): at about every tenth of the run and at its end, the run's name,
    steps done of all, seconds so far, an estimate of the time left (``time_left``), and an evaluation
    measured since the last line, with the step it was measured at (none repeated)."""

    def __init__(
        self, bar: tqdm[int], progress: bool | None, desc: str, start: int, steps: int, evals: set[int] | None = None
    ) -> None:
        self.on = progress is None and bool(bar.disable)
        self.desc, self.start, self.steps = desc, start, steps
        self.every = max(1, (steps - start) // PROGRESS_LINES)
        self.began = time.perf_counter()
        self.evals = evals or set()
        self.train_seconds = self.eval_seconds = 0.0
        self.evals_done = 0
        self.pending = ""

    def step(self, done: int, shown: Evaluation | None, train_seconds: float = 0.0, eval_seconds: float = 0.0) -> None:
        """After step ``done``: ``shown`` is the evaluation made at it, if any; ``train_seconds`` and
        ``eval_seconds`` the time that step's training and evaluation took."""
        self.train_seconds += train_seconds
        self.eval_seconds += eval_seconds
        if shown is not None:
            self.evals_done += 1
            self.pending = f", {shown.label} {shown.value:.3f} at step {done}"
        if not self.on or ((done - self.start) % self.every and done != self.steps):
            return
        seconds = time.perf_counter() - self.began
        left = time_left(
            self.train_seconds,
            done - self.start,
            self.steps - done,
            self.eval_seconds,
            self.evals_done,
            sum(1 for s in self.evals if s > done),
        )
        progress_sink(
            f"{self.desc}: step {done}/{self.steps} ({100 * done // self.steps}%), {seconds:.0f} s, "
            f"about {left:.0f} s left{self.pending}"
        )
        self.pending = ""


DIVERGENCE_FACTOR = 10.0  # a loss above this many times chance (ln V) is a divergence


def divergence_ceiling(num_classes: int) -> float:
    """The largest loss a run may show before it counts as diverged: ``DIVERGENCE_FACTOR`` times
    ln V, the cross-entropy of a model that learned nothing and spreads its bets over V classes."""
    return DIVERGENCE_FACTOR * math.log(max(2, num_classes))


def check_diverged(loss: float, step: int, ceiling: float, what: str = "training loss") -> None:
    """Stop a diverged run, before anything of it is saved: a loss that is NaN, infinite, or
    above ``ceiling`` (see ``divergence_ceiling``). Whether a blown-up run shows inf, NaN or a
    huge finite number depends on the CPU's float kernels; the ceiling catches all three."""
    if not math.isfinite(loss) or loss > ceiling:
        raise DivergedError(
            f"training diverged at step {step + 1}: the {what} is {loss:.4g}, above {ceiling:.3g} "
            f"({DIVERGENCE_FACTOR:g} x ln V, where a model that learned nothing scores 1 x). "
            "Lower the learning rate or the clipping threshold.",
            step=step + 1,
            loss=loss,
        )


def interrupted_at(exc: BaseException, done: int) -> BaseException:
    """Mark a KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one) with the number of steps
    done, so whoever reports it can say where the run stopped."""
    exc.rnnlab_steps_done = done  # type: ignore[attr-defined]
    return exc


def checkpoint_due(done: int, steps: int, every: int) -> bool:
    """After ``done`` steps of ``steps``: checkpoint every ``every`` steps (0: never) and at the end."""
    return done == steps or bool(every and done % every == 0)


class Evaluation(NamedTuple):
    """What a task's evaluation shows on the progress bar; a loss is also checked for divergence."""

    label: str
    value: float
    is_loss: bool = False


class Task(Protocol):
    """One kind of training, plugged into ``run_training``."""

    history: Any  # a dataclass with train_loss, eval_step, eval_seconds and train_seconds

    def loss(self, step: int) -> tuple[torch.Tensor, int]:
        """Draw step ``step``'s batch, run the model; return the loss and the number of classes it predicts."""
        ...

    def record(self, step: int, grad_norm: float) -> None:
        """Keep what else this task tracks per step (the loss is already in ``history.train_loss``)."""
        ...

    def evaluate(self) -> Evaluation:
        """Measure on the validation data and append the measurement to ``history``."""
        ...

    def loop_state(self) -> dict[str, Any]:
        """What the data loop carries into the next step, for a checkpoint (see ``resume``)."""
        ...


def restore(optimizer: torch.optim.Optimizer, history_cls: type, resume: dict[str, Any] | None) -> tuple[Any, int]:
    """Take a checkpoint snapshot back (the optimiser, every RNG): return the history and the step to go on from."""
    if resume is None:
        return history_cls(), 0
    optimizer.load_state_dict(resume["optimizer"])
    set_rng_state(resume["rng"])
    return history_cls(**resume["history"]), int(resume["step"])


class Schedule(Protocol):
    """What the loop reads of a task's training config: how many steps, the clipping norm, how many evaluations."""

    @property
    def steps(self) -> int: ...
    @property
    def clip(self) -> float: ...
    @property
    def eval_points(self) -> int: ...


def run_training(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    task: Task,
    schedule: Schedule,
    *,
    start: int = 0,
    progress: bool | None = None,
    desc: str = "train",
    checkpoint_every: int = 0,
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Train from step ``start`` to ``schedule.steps`` (see the module's docstring).

    Only the step itself is timed (``history.train_seconds``, and ``eval_seconds`` at each
    evaluation): evaluation and checkpoint writes are not training time. A loss past
    ``check_diverged``'s limits raises before the step's checkpoint, so the last checkpoint
    written is the last good one. Ctrl-C (or SIGTERM turned into a ``KeyboardInterrupt``) is
    passed on, marked with the number of steps done (``interrupted_at``).
    """
    history = task.history
    steps, clip = schedule.steps, schedule.clip
    to_eval = set(evenly_spaced(steps, schedule.eval_points))
    elapsed = history.train_seconds
    model.train()
    bar = progress_bar(steps, desc, progress, start=start)
    lines = PlainProgress(bar, progress, desc, start, steps, to_eval)
    done = start
    try:
        for step in bar:
            started = time.perf_counter()
            loss, classes = task.loss(step)
            norm = optimise(model, optimizer, loss, clip)
            step_seconds = time.perf_counter() - started
            elapsed += step_seconds
            history.train_loss.append(loss.item())
            task.record(step, norm)
            ceiling = divergence_ceiling(classes)
            check_diverged(history.train_loss[-1], step, ceiling)
            done = step + 1  # the step is taken; an interruption from here on comes after it
            shown = None
            eval_began = time.perf_counter()
            if done in to_eval:
                history.eval_step.append(done)
                history.eval_seconds.append(elapsed)
                check_kernels()  # the model as trained so far, on validation data
                shown = task.evaluate()
                check_kernels()  # and the next training batch
                model.train()
                if shown.is_loss:
                    check_diverged(shown.value, step, ceiling, "validation loss")
                bar.set_postfix({shown.label: f"{shown.value:.3f}"})
            lines.step(done, shown, step_seconds, time.perf_counter() - eval_began if shown is not None else 0.0)
            history.train_seconds = elapsed
            if on_checkpoint is not None and checkpoint_due(done, steps, checkpoint_every):
                on_checkpoint(
                    {
                        "step": done,
                        "optimizer": optimizer.state_dict(),
                        "history": asdict(history),
                        "loop": task.loop_state(),
                    }
                )
    except KeyboardInterrupt as exc:
        interrupted_at(exc, done)
        raise


def train_task(
    model: torch.nn.Module,
    cfg: Any,
    history_cls: type,
    resume: dict[str, Any] | None,
    make_task: Callable[[torch.optim.Optimizer, Any], Task],
    *,
    progress: bool | None,
    desc: str,
    checkpoint_every: int,
    on_checkpoint: Callable[[dict[str, Any]], None] | None,
    optimizer: str = "adam",
) -> tuple[Any, torch.optim.Optimizer]:
    """``optimizer`` (a name in OPTIMIZERS; Adam unless told) at ``cfg.lr`` on ``model``, its history (``history_cls``,
    or ``resume``'s), the task ``make_task`` builds from them, trained by ``run_training``: (history, optimiser). In a
    learner's copy, a run that finds a reference kernel differing from the learner's cell starts again as written
    (``rnnlab.fast.adopt.as_written_on_mismatch``)."""
    from rnnlab.fast.adopt import as_written_on_mismatch

    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"optimizer {optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
    make_optimizer = OPTIMIZERS[optimizer]

    def attempt() -> tuple[Any, torch.optim.Optimizer]:
        optimiser = make_optimizer(model.parameters(), lr=cfg.lr)
        history, start = restore(optimiser, history_cls, resume)
        run_training(
            model,
            optimiser,
            make_task(optimiser, history),
            cfg,
            start=start,
            progress=progress,
            desc=desc,
            checkpoint_every=checkpoint_every,
            on_checkpoint=on_checkpoint,
        )
        return history, optimiser

    return as_written_on_mismatch(model, attempt, lambda line: progress_sink(f"{desc}: {line}"))
