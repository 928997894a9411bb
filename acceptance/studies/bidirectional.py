"""Study: what reading both ways buys, and why a language model cannot read both ways.

Lab 02's LSTM, one way and both ways (``rnnlab.Recurrent(..., bidirectional=True)``) at matched parameters, trained
on Lab 02's windows for two tasks: filling blanks (a cloze: a share of the characters hidden behind a mask symbol,
each predicted from everything else in its window, as BERT's masked LM is trained; Devlin et al., 2019), and
predicting the next character (a language model). Every model reads each window from a fresh state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from acceptance import plots
from acceptance.parallel import run_all
from acceptance.profiles import Lab02, largest_within
from acceptance.record import Figure, Recorder, Table, TalkingPoint
from acceptance.trained import Corpus
from rnnlab.checks import count_parameters
from rnnlab.recurrent import Recurrent
from rnnlab.training import TrainConfig
from rnnlab.training.lm import lr_at
from rnnlab.training.loop import Evaluation, run_training
from rnnlab.training.tbptt import StreamBatcher

SECTION = "study-bidirectional"
KIND = "lstm"  # the seed's "bidirectional LSTM"
TASKS = ("cloze", "next")  # fill the blanks; predict the next character
WAYS = {False: "one way", True: "both ways"}


@dataclass(frozen=True)
class ReaderConfig:
    vocab_size: int
    kind: str
    hidden_size: int
    embedding_dim: int
    both_ways: bool


class Reader(nn.Module):
    """Characters (and a mask symbol, id ``vocab_size``) -> an embedding -> one recurrent layer of ``kind``, one way
    or both ways -> a prediction over the vocabulary at every position: what the output at position t has read is
    every character up to t (one way) or the whole window (both ways)."""

    def __init__(self, vocab_size: int, kind: str, hidden_size: int, embedding_dim: int, both_ways: bool) -> None:
        super().__init__()
        self.config = ReaderConfig(vocab_size, kind, hidden_size, embedding_dim, both_ways)
        self.embedding = nn.Embedding(vocab_size + 1, embedding_dim)  # the last id: the mask symbol
        self.rnn = Recurrent(kind, embedding_dim, hidden_size, bidirectional=both_ways, fast=True)
        self.head = nn.Linear(hidden_size * (2 if both_ways else 1), vocab_size)

    @classmethod
    def from_config(cls, config: ReaderConfig) -> Reader:
        return cls(config.vocab_size, config.kind, config.hidden_size, config.embedding_dim, config.both_ways)

    def forward(self, idx: Tensor) -> Tensor:
        h, _ = self.rnn(self.embedding(idx))
        out: Tensor = self.head(h)
        return out


def matched_hidden(vocab_size: int, kind: str, embedding_dim: int, budget: int, both_ways: bool) -> int:
    """The largest hidden size (per direction; a multiple of 4) whose Reader fits ``budget`` parameters."""

    def count(hidden: int) -> int:
        return count_parameters(Reader, ReaderConfig(vocab_size, kind, hidden, embedding_dim, both_ways))

    return largest_within(count, budget, f"{WAYS[both_ways]} {kind} reader")


def blank_out(windows: Tensor, rate: float, mask_id: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Hide each character of ``windows`` (B, T) with probability ``rate``, at least one per window: (the windows
    with ``mask_id`` at the blanks, the blanks as a bool (B, T)). A Reader's mask symbol is its ``vocab_size``."""
    blank = torch.rand(windows.shape, generator=generator) < rate  # drawn on the CPU, the same on any device
    empty = (~blank.any(dim=1)).nonzero().squeeze(1)
    if empty.numel():
        blank[empty, torch.randint(0, windows.shape[1], (empty.numel(),), generator=generator)] = True
    blank = blank.to(windows.device)
    return windows.masked_fill(blank, mask_id), blank


def cloze_loss(model: nn.Module, inputs: Tensor, targets: Tensor, blank: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of ``model`` reading ``inputs`` (B, T) at the blanks only, against ``targets`` (B, T): their mean,
    or (``reduction="none"``) one per blank."""
    return F.cross_entropy(model(inputs)[blank], targets[blank], reduction=reduction)


def next_loss(model: nn.Module, windows: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of predicting each character of ``windows`` (B, T) after the first from the output one position
    before it, the window read whole (as a language model is trained): the mean, or one per character."""
    logits = model(windows[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1), reduction=reduction)


@torch.no_grad()
def prefix_logits(model: nn.Module, windows: Tensor) -> Tensor:
    """(B, T - 1, V): at t, the prediction of character t + 1 read from characters 0..t alone, as generation reads
    them (nothing after t exists yet)."""
    return torch.stack([model(windows[:, : t + 1])[:, -1] for t in range(windows.shape[1] - 1)], dim=1)


def prefix_loss(model: nn.Module, windows: Tensor, reduction: str = "mean") -> Tensor:
    """``next_loss`` with every prediction read from its prefix alone (``prefix_logits``): for a one-way reader the
    same numbers; for a two-way reader the loss it would have generating."""
    logits = prefix_logits(model, windows)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1), reduction=reduction)


@dataclass
class ReaderHistory:
    train_loss: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)  # on the held-out windows, the task's own loss
    train_seconds: float = 0.0


@dataclass
class Held:
    """The held-out windows every model is scored on (T + 1 characters each) and the cloze's blanks in them."""

    windows: Tensor
    inputs: Tensor  # the first T characters with the blanks masked
    blank: Tensor


class ReaderTask:
    """A Reader trained on Lab 02's windows (``StreamBatcher``, each read from a fresh state) to fill the blanks
    (``task`` "cloze") or to predict every next character ("next"), Lab 02's schedule (``lr_at``)."""

    def __init__(
        self,
        model: Reader,
        optimizer: torch.optim.Optimizer,
        task: str,
        batcher: StreamBatcher,
        held: Held,
        cfg: TrainConfig,
        rate: float,
        history: ReaderHistory,
    ) -> None:
        self.model, self.optimizer, self.task, self.batcher, self.held = model, optimizer, task, batcher, held
        self.cfg, self.rate, self.history = cfg, rate, history
        self.mask_id = model.config.vocab_size
        self.generator = torch.Generator().manual_seed(cfg.seed)  # the training blanks

    def loss(self, step: int) -> tuple[Tensor, int]:
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(step, self.cfg)
        window = self.batcher.window(step)
        if self.task == "cloze":
            inputs, blank = blank_out(window.x, self.rate, self.mask_id, self.generator)
            return cloze_loss(self.model, inputs, window.x, blank), self.mask_id
        return next_loss(self.model, torch.cat([window.x, window.y[:, -1:]], dim=1)), self.mask_id

    def record(self, step: int, grad_norm: float) -> None:
        pass

    @torch.no_grad()
    def evaluate(self) -> Evaluation:
        self.model.eval()
        held = self.held
        if self.task == "cloze":
            loss = cloze_loss(self.model, held.inputs, held.windows[:, :-1], held.blank)
        else:
            loss = next_loss(self.model, held.windows)
        self.history.val_loss.append(float(loss))
        return Evaluation("val", self.history.val_loss[-1], is_loss=True)

    def loop_state(self) -> dict[str, Any]:
        return {}


def held_out(val_ids: Tensor, count: int, length: int, rate: float, mask_id: int, seed: int) -> Held:
    """``count`` windows of ``length`` + 1 validation characters at seeded random starts, and their blanks."""
    generator = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, val_ids.numel() - length - 1, (count,), generator=generator)
    windows = torch.stack([val_ids[s : s + length + 1] for s in starts.tolist()])
    inputs, blank = blank_out(windows[:, :-1], rate, mask_id, generator)
    return Held(windows, inputs, blank)


def _mean_se(values: Tensor) -> tuple[float, float]:
    values = values.double()
    return float(values.mean()), float(values.std() / values.numel() ** 0.5)


@torch.no_grad()
def score(model: Reader, task: str, held: Held) -> dict[str, Any]:
    """The trained model on the held-out windows. Cloze: loss and accuracy at the blanks, and the loss by position
    in the window. Next: the loss with the window read whole, and read from each prefix alone (as generated)."""
    model.eval()
    if task == "cloze":
        targets = held.windows[:, :-1]
        logits = model(held.inputs)
        losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T): by position below
        at = [_mean_se(losses[:, t][held.blank[:, t]]) for t in range(targets.shape[1])]  # ~ rate x windows each
        by_position, by_position_se = [m for m, _ in at], [se for _, se in at]
        right = (logits.argmax(-1) == targets)[held.blank].double()
        return {
            "loss": _mean_se(losses[held.blank]),
            "accuracy": float(right.mean()),
            "by_position": by_position,
            "by_position_se": by_position_se,
        }
    whole, prefix = next_loss(model, held.windows, "none"), prefix_loss(model, held.windows, "none")
    return {"loss": _mean_se(whole), "prefix": _mean_se(prefix)}


@dataclass
class ReaderRun:
    task: str
    both_ways: bool
    hidden: int
    parameters: int
    history: ReaderHistory
    scores: dict[str, Any]


@dataclass
class Bidirectional:
    train: TrainConfig
    rate: float
    held: int  # held-out windows
    blanks: int  # blanks among them
    vocab_size: int
    runs: dict[tuple[str, bool], ReaderRun]


def measure(study: Any, lab02: Lab02, corpus: Corpus, device: torch.device) -> Bidirectional:
    """The four runs (cloze and next character, one way and both ways), side by side on a CPU; Lab 02's parameter
    budget, embedding, window, batch and schedule, at the LSTM's rate in Lab 02, for ``study.bidirectional_steps``."""
    vocab_size = len(corpus["vocab"])
    train_cfg = replace(lab02.train, steps=study.bidirectional_steps, lr=lab02.lr(KIND))
    held = held_out(
        corpus["val_ids"], study.bidirectional_windows, train_cfg.seq_len, study.blank_rate, vocab_size, lab02.eval_seed
    )

    def job(task: str, both_ways: bool) -> Callable[[], ReaderRun]:
        def train() -> ReaderRun:
            hidden = matched_hidden(vocab_size, KIND, lab02.embedding_dim, lab02.param_budget, both_ways)
            torch.manual_seed(train_cfg.seed)
            model = Reader(vocab_size, KIND, hidden, lab02.embedding_dim, both_ways).to(device)
            optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr)
            history = ReaderHistory()
            batcher = StreamBatcher(corpus["train_ids"].to(device), train_cfg.batch_size, train_cfg.seq_len)
            on = Held(held.windows.to(device), held.inputs.to(device), held.blank.to(device))
            task_run = ReaderTask(model, optimizer, task, batcher, on, train_cfg, study.blank_rate, history)
            run_training(model, optimizer, task_run, train_cfg, desc=f"study {task}, {WAYS[both_ways]}")
            params = sum(p.numel() for p in model.parameters())
            return ReaderRun(task, both_ways, hidden, params, history, score(model, task, on))

        return train

    jobs = {(task, both_ways): job(task, both_ways) for task in TASKS for both_ways in WAYS}
    runs = run_all(jobs, side_by_side=device.type == "cpu")
    return Bidirectional(train_cfg, study.blank_rate, len(held.windows), int(held.blank.sum()), vocab_size, runs)


def write(recorder: Recorder, result: Bidirectional) -> None:
    runs, t = result.runs, result.train
    sec = recorder.section(SECTION, "Study — what reading both ways buys, and why a language model cannot")
    sec.summary = (
        "Lab 02's bidirectional LSTM (rnnlab.Recurrent(..., bidirectional=True)): an LSTM over the window and a second "
        "one over it reversed, their outputs side by side, so the output at a character has read the whole window. "
        "That suits a task whose whole input is there (tagging, filling blanks, Lab 03's encoder) and rules out a "
        "language model, whose next character is not there yet. Both measured; findings, not criteria."
    )
    how = (
        f"Each model: an embedding of {t.seq_len}-character windows of Tiny Shakespeare (Lab 02's characters, batch "
        f"{t.batch_size}, each window read from a fresh state), one LSTM layer one way or both ways, at Lab 02's "
        f"parameter budget (matched: the two-way LSTM has about half the hidden size per direction), Adam at Lab 02's "
        f"LSTM rate ({t.lr:g}, warm-up and cosine), {t.steps} steps, seed {t.seed}. Cloze: {100 * result.rate:.0f}% of "
        "the characters (BERT's share) replaced by a mask symbol, each predicted from the rest of its window. Next: "
        f"every character predicted from the output one position before it. Scored on the same {result.held:,} "
        f"held-out validation windows ({result.blanks:,} blanks); ± one standard error over the characters scored."
    )

    def loss(pair: tuple[float, float]) -> str:
        return f"{pair[0]:.3f} ± {pair[1]:.3f}"

    sec.tables.append(
        Table(
            "One way against both ways, at matched parameters",
            [
                "task",
                "LSTM",
                "hidden size (per direction)",
                "parameters",
                "loss, the window read whole (nats/char)",
                "loss, each prediction read from its prefix alone",
                "accuracy at the blanks",
            ],
            [
                [
                    "fill the blanks" if run.task == "cloze" else "next character",
                    WAYS[run.both_ways],
                    run.hidden,
                    f"{run.parameters:,}",
                    loss(run.scores["loss"]),
                    loss(run.scores["prefix"]) if "prefix" in run.scores else "—",
                    f"{100 * run.scores['accuracy']:.1f}%" if "accuracy" in run.scores else "—",
                ]
                for run in runs.values()
            ],
            caption=how + " Read from its prefix alone: the prediction of character t + 1 from characters up to t "
            "only, as generation reads them (acceptance/studies/bidirectional.py: prefix_loss; a spec holds it equal "
            "to the whole-window loss for a one-way reader).",
        )
    )
    one, two = runs[("cloze", False)], runs[("cloze", True)]
    sec.figures.append(
        Figure(
            "Filling a blank, by its position in the window",
            "Held-out loss at the blanks by the blank's position in its window (0: the first character). One way, the "
            "model has read only the characters before the blank; both ways, also those after it. About "
            f"{result.blanks // len(one.scores['by_position'])} blanks at each position; the protocol is under the "
            "table above.",
            plots.series(
                {f"LSTM, {WAYS[r.both_ways]}": r.scores["by_position"] for r in (one, two)},
                "position of the blank in its window",
                "loss at the blank (nats)",
                "Filling a blank: one way against both ways",
                x=list(range(len(one.scores["by_position"]))),
            ),
        )
    )
    sec.figures.append(
        Figure(
            "Training, the four runs",
            "Each run's training loss (25-step mean) and held-out loss, each on its own task (the window read whole); "
            "the protocol is under the table above.",
            plots.loss_curves(
                {
                    f"{'cloze' if r.task == 'cloze' else 'next'}, {WAYS[r.both_ways]}": {
                        "train_loss": r.history.train_loss,
                        "eval_step": r.history.eval_step,
                        "val_loss": r.history.val_loss,
                    }
                    for r in runs.values()
                },
                "One way and both ways, on each task",
            ),
        )
    )
    gain = 100 * (1 - two.scores["loss"][0] / one.scores["loss"][0])
    sec.notes.append(
        f"Filling a blank, the LSTM that reads both ways reaches {loss(two.scores['loss'])} nats at the blanks "
        f"({100 * two.scores['accuracy']:.1f}% right), the one-way LSTM {loss(one.scores['loss'])} "
        f"({100 * one.scores['accuracy']:.1f}%): reading the characters after the blank "
        + (f"cuts the loss by {gain:.0f}%." if gain > 0 else f"does not lower the loss ({gain:+.0f}%).")
        + " (The one-way cloze model is a language model that reads through blanks and learns from the blanks "
        f"alone, {100 * result.rate:.0f}% of the characters: not the next-character model below.)"
    )
    first, last = ({way: r.scores["by_position"][i] for way, r in (("one", one), ("two", two))} for i in (0, -1))
    sec.notes.append(
        f"At a window's last character, with nothing after it to read, the two-way LSTM has only what the one-way "
        f"one has: {last['two']:.2f} nats against {last['one']:.2f}. At its first, where the one-way LSTM has read "
        f"nothing at all, the two-way one reads what follows: {first['two']:.2f} against {first['one']:.2f} (about "
        f"{result.blanks // len(one.scores['by_position'])} blanks at each position; standard errors up to "
        f"{max(max(one.scores['by_position_se']), max(two.scores['by_position_se'])):.2f} nats)."
    )
    lm_one, lm_two = runs[("next", False)], runs[("next", True)]
    whole, prefix = lm_two.scores["loss"], lm_two.scores["prefix"]
    sec.notes.append(
        f"Trained to predict the next character, the two-way LSTM reaches {loss(whole)} nats on held-out windows read "
        f"whole, against the one-way LSTM's {loss(lm_one.scores['loss'])}: its backward direction has read the "
        f"character it predicts. Read as generation reads them, each prediction from its prefix alone, its loss is "
        f"{loss(prefix)} nats, {prefix[0] - lm_one.scores['prefix'][0]:+.3f} against the one-way LSTM's "
        f"{loss(lm_one.scores['prefix'])}, which is the same read whole (for scale: a model that knows nothing of the "
        f"text, every character equally likely, scores ln {result.vocab_size} = {math.log(result.vocab_size):.3f}). That is why a language "
        "model reads one way, and a model that reads both ways is trained where the whole input is given: filling "
        "blanks (BERT), or encoding a source sentence (Lab 03's encoder)."
    )
    recorder.talking_points.append(
        TalkingPoint(
            SECTION,
            "When would you use a bidirectional LSTM, and why can't a language model be one?",
            "When the whole input is there before any output is needed (tagging, filling blanks, the encoder of a "
            "translation model): a second RNN reads the sequence reversed and the two states at each position sit side "
            "by side, so every output has read both sides (Schuster and Paliwal, 1997; with LSTMs, Graves and "
            "Schmidhuber, 2005). A language model predicts a character that does not exist yet: trained both ways, its "
            "backward half reads the very character it predicts, so its loss collapses and says nothing of how it "
            "would generate. That is why BERT, which reads both ways, is trained to fill blanks (Devlin et al., 2019), "
            "and a generator reads one way.",
            [
                f"Filling {100 * result.rate:.0f}% blanks at matched parameters ({one.parameters:,} one way, "
                f"{two.parameters:,} both ways): both ways {loss(two.scores['loss'])} nats "
                f"({100 * two.scores['accuracy']:.1f}% right), one way {loss(one.scores['loss'])} "
                f"({100 * one.scores['accuracy']:.1f}%).",
                f"Trained as a language model: both ways {loss(whole)} nats with the window read whole, "
                f"{loss(prefix)} read from each prefix as generation reads; one way {loss(lm_one.scores['loss'])} "
                "either way.",
            ],
            f"section-{SECTION}",
        )
    )
