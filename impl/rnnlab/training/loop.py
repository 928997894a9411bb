"""Pieces every training loop shares: the optimiser step, evaluation times, the progress bar."""
from __future__ import annotations

import math

import torch
from tqdm import tqdm

from rnnlab.training.clipping import clip_grad_norm


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


def progress_bar(steps: int, desc: str, progress: bool | None, start: int = 0):
    """tqdm over steps ``start..steps-1``; ``progress=None`` lets tqdm decide (off when not a
    terminal, e.g. CI logs)."""
    return tqdm(range(start, steps), desc=desc, disable=None if progress is None else not progress,
                dynamic_ncols=True, leave=False, initial=start, total=steps)


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
        raise FloatingPointError(
            f"training diverged at step {step + 1}: the {what} is {loss:.4g}, above {ceiling:.3g} "
            f"({DIVERGENCE_FACTOR:g} x ln V, where a model that learned nothing scores 1 x). "
            "Lower the learning rate or the clipping threshold."
        )


def interrupted_at(exc: BaseException, done: int) -> BaseException:
    """Mark a KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one) with the number of steps
    done, so whoever reports it can say where the run stopped."""
    exc.rnnlab_steps_done = done  # type: ignore[attr-defined]
    return exc


def checkpoint_due(done: int, steps: int, every: int) -> bool:
    """After ``done`` steps of ``steps``: checkpoint every ``every`` steps (0: never) and at the end."""
    return done == steps or bool(every and done % every == 0)
