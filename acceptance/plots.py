"""Figures for the acceptance report (matplotlib, Agg backend, PNG bytes)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def moving_average(values: Sequence[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def loss_curves(runs: dict[str, dict[str, Any]], title: str = "Loss", smooth: int = 25) -> bytes:
    """Train loss (smoothed, thin) and validation loss (markers) against step, per run.

    ``runs[name]`` holds ``train_loss`` (per step), ``eval_step`` and ``val_loss``.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, h) in enumerate(runs.items()):
        color = f"C{i}"
        steps = range(1, len(h["train_loss"]) + 1)
        ax.plot(
            steps,
            moving_average(h["train_loss"], smooth),
            color=color,
            alpha=0.45,
            lw=1,
            label=f"{name} train ({smooth}-step mean)",
        )
        ax.plot(h["eval_step"], h["val_loss"], "o-", color=color, ms=4, label=f"{name} validation")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy (nats / char)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def val_loss_vs_time(runs: dict[str, dict[str, Any]], title: str = "Validation loss against wall-clock") -> bytes:
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, h in runs.items():
        ax.plot(h["eval_seconds"], h["val_loss"], "o-", ms=4, label=name)
    ax.set_xlabel("training seconds (evaluation excluded)")
    ax.set_ylabel("validation cross-entropy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def grad_through_time(profiles: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> bytes:
    """``profiles[model] = (at init, trained)``, each indexed by distance back; log scale,
    one colour per model, dashed at initialisation, solid after training."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, (init, trained)) in enumerate(profiles.items()):
        ax.plot(range(len(init)), init, "--", color=f"C{i}", lw=1.1, label=f"{name} at init")
        ax.plot(range(len(trained)), trained, "-", color=f"C{i}", lw=1.6, label=f"{name} trained")
    ax.set_yscale("log")
    ax.set_xlabel("steps back (T - t)")
    ax.set_ylabel("||dL_T/dh_t|| / ||dL_T/dh_T||")
    ax.set_title("Gradient norm through time")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    return _png(fig)


def context_curves(
    curves: dict[str, dict[int, float]],
    marks: dict[str, int] | None = None,
    dashed: dict[str, dict[int, float]] | None = None,
) -> bytes:
    """Loss at a target against the context length L the model sees (log2 axis), one line per
    model; ``marks`` puts a dot at each model's effective context; ``dashed`` adds a dashed line
    per model, in the colour of the solid one at the same position (a second run of each)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, curve) in enumerate(curves.items()):
        lengths = sorted(curve)
        ax.plot(lengths, [curve[L] for L in lengths], "o-", ms=3, color=f"C{i}", label=name)
        if marks and name in marks:
            ax.plot([marks[name]], [curve[marks[name]]], "o", ms=9, mfc="none", color=f"C{i}")
    for i, (name, curve) in enumerate((dashed or {}).items()):
        lengths = sorted(curve)
        ax.plot(lengths, [curve[L] for L in lengths], "--", lw=1, color=f"C{i}", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("context length L (characters seen, fresh state)")
    ax.set_ylabel("validation cross-entropy at the target")
    ax.set_title("How much of the past each model uses")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)


def series(
    runs: dict[str, Sequence[float]],
    xlabel: str,
    ylabel: str,
    title: str,
    logy: bool = False,
    smooth: int = 1,
    x: Sequence[float] | None = None,
    styles: Sequence[str] | None = None,
    logx: bool = False,
    marker: str = "o",
) -> bytes:
    """Several named series on one axis (gradient norms over training, through time...);
    ``styles`` gives each series a line style, and pairs of series share a colour; with ``styles``, ``marker`` marks
    every point ("" for none: a long series)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, ys) in enumerate(runs.items()):
        ys = moving_average(list(ys), smooth) if smooth > 1 else list(ys)
        xs = list(x) if x is not None else list(range(1, len(ys) + 1))
        if styles:
            ax.plot(xs[: len(ys)], ys, styles[i], lw=1.2, marker=marker, ms=3, color=f"C{i // 2}", label=name)
        else:
            ax.plot(xs[: len(ys)], ys, lw=1.2, label=name)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)


def attention_heatmap(weights: Any, source: str, output: str, title: str = "Attention") -> bytes:
    """Attention weights (T_out, S): output characters down the side, input characters along the bottom."""
    rows, cols = len(output), len(source)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.11 * cols + 1.5), max(3.5, 0.55 * rows + 1.5)))
    image = ax.imshow(weights[:rows, :cols], aspect="auto", cmap="viridis", vmin=0.0)
    ax.set_xticks(range(cols))
    ax.set_xticklabels(["␣" if ch == " " else ch for ch in source], fontsize=6, fontfamily="monospace")
    ax.set_yticks(range(rows))
    ax.set_yticklabels(list(output), fontsize=8, fontfamily="monospace")
    ax.set_xlabel("input characters")
    ax.set_ylabel("output characters")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01, label="attention weight")
    return _png(fig)


def accuracy_by_length(
    curves: dict[str, tuple[Sequence[float], Sequence[float]]], title: str = "Exact-match accuracy against input length"
) -> bytes:
    """``curves[name] = (bin centres, accuracies)``."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, (xs, ys) in curves.items():
        ax.plot(xs, [100 * y for y in ys], "o-", ms=4, label=name)
    ax.set_xlabel("input length (characters)")
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def learning_curves(
    runs: dict[str, dict[str, Any]],
    x_key: str,
    xlabel: str,
    buckets: Sequence[str] = ("short", "long"),
    title: str = "Validation exact match during training",
) -> bytes:
    """Accuracy per bucket (solid: long, dashed: short) against steps or seconds, per model.

    ``runs[name]`` holds ``eval_step``, ``eval_seconds`` and ``val_accuracy`` (list of dicts)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    styles = {"long": "-", "short": "--", "medium": ":", "all": "-."}
    for i, (name, h) in enumerate(runs.items()):
        for b in buckets:
            ys = [100 * acc.get(b, float("nan")) for acc in h["val_accuracy"]]
            ax.plot(h[x_key], ys, styles.get(b, "-"), marker="o", ms=3, color=f"C{i}", label=f"{name} — {b}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def gate_saturation(points: dict[str, tuple[Sequence[float], Sequence[float]]]) -> bytes:
    """One panel per gate (Karpathy, Johnson & Fei-Fei, 2015, Fig. 3): each dot a hidden unit,
    x the share of steps its gate is left-saturated (< 0.1), y right-saturated (> 0.9)."""
    fig, axes = plt.subplots(1, len(points), figsize=(2.3 * len(points), 2.6), sharex=True, sharey=True)
    for i, (ax, (name, (left, right))) in enumerate(zip(axes, points.items(), strict=True)):
        ax.plot([0, 1], [1, 0], color="0.8", lw=0.8)
        ax.scatter(left, right, s=6, alpha=0.6, color=f"C{i}")
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("left-saturated", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("right-saturated", fontsize=8)
    return _png(fig)


def unit_over_text(values: Mapping[str, Sequence[float]], text: str, title: str) -> bytes:
    """Named series against the characters of ``text`` (one x position per character), with a
    dashed line at every newline."""
    fig, ax = plt.subplots(figsize=(9, 3))
    for name, ys in values.items():
        ax.plot(range(len(ys)), ys, lw=1.1, label=name)
    for i, ch in enumerate(text):
        if ch == "\n":
            ax.axvline(i, color="0.6", ls="--", lw=0.7)
    ax.set_xlabel("character of held-out validation text (dashed: newline)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)
