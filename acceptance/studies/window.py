"""Study: is the gated models' lead over the RNN capped by Lab 02's training window? The three
models trained again on longer windows, the batch cut so every step sees the same characters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from acceptance import plots
from acceptance.measures import BASELINE, NAMES, lead
from acceptance.parallel import run_all
from acceptance.profiles import Lab02
from acceptance.record import Figure, Recorder, Table
from acceptance.runs import context_used, fresh_model
from acceptance.trained import Corpus, Lab02Result, StudiedRun
from rnnlab.metrics import perplexity
from rnnlab.training import TrainConfig, train_lm

SECTION = "study-window"


@dataclass
class Longer:
    """Lab 02's models trained again on longer windows, beside Lab 02's own runs."""

    cfg: Lab02
    train: TrainConfig
    runs: dict[str, StudiedRun]
    lab02: dict[str, StudiedRun]


def measure(study: Any, lab02: Lab02Result, corpus: Corpus, device: torch.device) -> Longer:
    """Lab 02's three models trained again on ``study.long_window``-character windows (same steps,
    characters, parameters, schedule and seed), side by side on a CPU as Lab 02's own runs are."""
    cfg = lab02.cfg
    t = cfg.train
    batch = t.batch_size * t.seq_len // study.long_window
    train_cfg = replace(t, seq_len=study.long_window, batch_size=batch)

    def job(kind: str, hidden: int) -> Callable[[], StudiedRun]:
        def train() -> StudiedRun:
            model = fresh_model(cfg, kind, hidden, len(corpus["vocab"]), device)
            own = replace(train_cfg, lr=cfg.lr(kind))  # each at its own rate, as in Lab 02
            history, _ = train_lm(
                model, corpus["train_ids"], corpus["val_ids"], own, desc=f"study {kind}, window {study.long_window}"
            )
            context, reach = context_used(model, cfg, corpus["val_ids"])
            return StudiedRun(
                kind,
                hidden,
                own.lr,
                model.num_parameters(),
                history,
                None,  # not saved: a study's model
                perplexity(history.val_loss[-1]),
                context=context,
                reach=reach,
            )

        return train

    jobs = {kind: job(kind, hidden) for kind, hidden in cfg.hidden(len(corpus["vocab"]))}
    return Longer(cfg, train_cfg, run_all(jobs, side_by_side=device.type == "cpu"), lab02.runs)


def write(recorder: Recorder, longer: Longer) -> None:
    cfg, runs = longer.cfg, longer.lab02
    sec = recorder.section(SECTION, "Study — is the gated models' lead capped by the training window?")
    sec.summary = (
        f"Lab 02 trains on {cfg.train.seq_len}-character windows (truncated BPTT); here the same three models "
        f"train on {longer.train.seq_len}-character ones with the same characters per step. A finding, not a "
        "criterion (issue #16 asked the question; the answer is reported either way)."
    )
    t, lt = cfg.train, longer.train
    before, after = lead(runs), lead(longer.runs)
    sec.tables.append(
        Table(
            f"Is the gated models' lead capped by the {t.seq_len}-character window?",
            [
                "model",
                f"perplexity, window {t.seq_len} (batch {t.batch_size})",
                f"perplexity, window {lt.seq_len} (batch {lt.batch_size})",
                f"lead over RNN, window {t.seq_len}",
                f"lead over RNN, window {lt.seq_len}",
                f"effective context, window {t.seq_len}",
                f"effective context, window {lt.seq_len}",
            ],
            [
                [
                    NAMES[k],
                    runs[k].ppl,
                    longer.runs[k].ppl,
                    "—" if k == BASELINE else f"{before[k]:.1f}%",
                    "—" if k == BASELINE else f"{after[k]:.1f}%",
                    runs[k].reach,
                    longer.runs[k].reach,
                ]
                for k in runs
            ],
            caption=f"The three models trained again with truncated BPTT over {lt.seq_len}-character windows and "
            f"batch {lt.batch_size}, so every step sees the same {lt.seq_len * lt.batch_size:,} characters: same steps, "
            "characters, parameters, schedule and seed; only how far back a gradient can reach differs.",
        )
    )
    sec.figures.append(
        Figure(
            f"How much of the past each model uses, trained on {lt.seq_len}-character windows",
            f"As above, for the models trained on {lt.seq_len}-character windows (dashed: the "
            f"{t.seq_len}-character runs).",
            plots.context_curves(
                {f"{NAMES[k]} ({lt.seq_len})": r.context for k, r in longer.runs.items()},
                {f"{NAMES[k]} ({lt.seq_len})": r.reach for k, r in longer.runs.items()},
                dashed={f"{NAMES[k]} ({t.seq_len})": runs[k].context for k in longer.runs},
            ),
        )
    )
    before, after, lt = lead(runs), lead(longer.runs), longer.train
    reach = {k: r.reach for k, r in longer.runs.items()}
    sec.notes.append(
        f"Trained again on {lt.seq_len}-character windows (batch {lt.batch_size}: the same characters per step), "
        "the gated models' leads over the RNN went "
        + ", ".join(f"{NAMES[k]} {before[k]:.1f}% -> {after[k]:.1f}%" for k in before)
        + "; effective context "
        + ", ".join(f"{NAMES[k]} {v}" for k, v in reach.items())
        + ": "
        + (
            "the longer window widened the best gated model's lead."
            if max(after.values()) > max(before.values())
            else f"the longer window did not widen the best lead, so at this budget it is not the "
            f"{cfg.train.seq_len}-character window that caps it."
        )
    )
