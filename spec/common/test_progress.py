"""Progress where no progress bar can be drawn (a log file, CI, pytest's captured output): plain lines.

A bar redraws one line of a terminal; in a log it is noise or nothing. When the bar is off because the
output is not a terminal (``progress=None``), the loop writes a few whole lines instead: which run,
steps done of how many, seconds so far, an estimate of the time left, and the last evaluation.
"""

from __future__ import annotations

import re

import torch

from rnnlab.data.recall import RecallVocab
from rnnlab.models import CharLM
from rnnlab.training import loop
from rnnlab.training.recall import RecallTrainConfig, train_recall


def train(progress: bool | None) -> None:
    vocab = RecallVocab(keys=4, values=4)
    torch.manual_seed(0)
    cfg = RecallTrainConfig(steps=20, batch_size=4, pairs=(2,), eval_points=2, eval_sequences=4)
    train_recall(CharLM(vocab.size, "gru", 8, 1, 4), cfg, vocab, progress=progress, desc="lab02 gru")


def test_without_a_terminal_the_loop_writes_whole_progress_lines(monkeypatch):
    lines: list[str] = []
    monkeypatch.setattr(loop, "progress_sink", lines.append)
    train(progress=None)  # pytest's captured output is no terminal: the bar is off
    assert lines, "with no terminal to draw a bar on, the loop must still say how far it is"
    assert len(lines) <= loop.PROGRESS_LINES + 1, f"a few lines per run, not one per step: {lines}"
    pattern = re.compile(r"^lab02 gru: step (\d+)/20 \(\d+%\), \d+ s, about \d+ s left")
    for line in lines:
        assert pattern.match(line), f"each line names the run, its step of all, seconds so far and left: {line!r}"
    assert lines[-1].startswith("lab02 gru: step 20/20 (100%)") and "acc " in lines[-1], (
        f"the last line is the end of the run, with its last evaluation: {lines[-1]!r}"
    )


def test_a_bar_or_silence_when_asked_writes_no_lines(monkeypatch):
    lines: list[str] = []
    monkeypatch.setattr(loop, "progress_sink", lines.append)
    train(progress=False)
    train(progress=True)  # tqdm draws its bar (on pytest's captured stderr)
    assert lines == [], "progress=False is silence, and a drawn bar needs no lines beside it"


def test_a_line_shows_an_evaluation_only_where_one_was_measured_and_says_when(monkeypatch):
    """Issue #34: a line that repeated the last validation number read as a new measurement; each evaluation is
    shown once, on the first line after it, with the step it was measured at."""
    lines: list[str] = []
    monkeypatch.setattr(loop, "progress_sink", lines.append)
    vocab = RecallVocab(keys=4, values=4)
    torch.manual_seed(0)
    cfg = RecallTrainConfig(steps=20, batch_size=4, pairs=(2,), eval_points=2, eval_sequences=4)  # at 10 and 20
    train_recall(CharLM(vocab.size, "gru", 8, 1, 4), cfg, vocab, progress=None, desc="lab02 gru")
    shown = [line for line in lines if "acc " in line]
    assert len(shown) == 2, f"two evaluations, each shown once: {lines}"
    assert all(re.search(r"acc [\d.]+ at step (10|20)$", line) for line in shown), shown


def test_the_time_left_counts_training_steps_and_evaluations_apart():
    """Issue #34: the estimate swung (246 -> 134 -> 233 s) because a costly evaluation landed inside the per-step
    rate; the time left is the steps left at the training rate plus the evaluations left at theirs."""
    left = loop.time_left(
        train_seconds=10.0, steps_done=100, steps_left=100, eval_seconds=6.0, evals_done=2, evals_left=1
    )
    assert left == 10.0 + 3.0, left
    assert loop.time_left(0.0, 0, 50, 0.0, 0, 3) == 0.0, "nothing measured yet: no guess"
