"""The bidirectional study (acceptance/studies/bidirectional.py): what reading both ways buys, and why a language
model cannot read both ways. Its measurements are findings; these specs hold the pieces they rest on: the blanks a
model fills, which characters each reader sees, and a loss that reads only the past as generation does."""

import pytest
import torch

from acceptance.studies.bidirectional import (
    Reader,
    blank_out,
    cloze_loss,
    matched_hidden,
    next_loss,
    prefix_logits,
    prefix_loss,
)

V, E = 11, 8  # a small vocabulary and embedding


def _reader(both_ways: bool, hidden: int = 6, seed: int = 0) -> Reader:
    torch.manual_seed(seed)
    return Reader(V, "lstm", hidden, E, both_ways=both_ways).eval()


def _windows(batch: int = 5, length: int = 12, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, V, (batch, length), generator=torch.Generator().manual_seed(seed))


def test_blanks_hide_about_the_share_asked_and_every_window_gets_one():
    windows = _windows(400, 40)
    inputs, blank = blank_out(windows, 0.15, V, torch.Generator().manual_seed(0))
    share = blank.float().mean().item()
    assert abs(share - 0.15) < 0.01, f"a 15% rate hid {100 * share:.1f}% of the characters"
    assert blank.any(dim=1).all(), "every window must have a blank to fill, or it would add nothing to the loss"
    assert (inputs[blank] == V).all(), f"a blank must read as the mask symbol (id {V}, one past the vocabulary)"
    assert torch.equal(inputs[~blank], windows[~blank]), "only the blanks may change"
    again, same = blank_out(windows, 0.15, V, torch.Generator().manual_seed(0))
    assert torch.equal(again, inputs) and torch.equal(same, blank), "the same seed must hide the same characters"
    _, blank1 = blank_out(_windows(50, 1), 0.15, V, torch.Generator().manual_seed(0))
    assert blank1.all(), "a window of one character still gets its blank"


def test_the_cloze_loss_scores_the_blanks_and_nothing_else():
    reader, windows = _reader(True), _windows()
    inputs, blank = blank_out(windows, 0.3, V, torch.Generator().manual_seed(2))
    loss = cloze_loss(reader, inputs, windows, blank)
    seen = windows.clone()
    seen[~blank] = (seen[~blank] + 1) % V  # change every target that was not blanked
    assert torch.equal(cloze_loss(reader, inputs, seen, blank), loss), "a character the model was shown is not scored"
    hidden = windows.clone()
    hidden[blank] = (hidden[blank] + 1) % V
    assert not torch.equal(cloze_loss(reader, inputs, hidden, blank), loss), "the blanked characters are what is scored"


def test_a_one_way_reader_sees_only_the_past_and_a_two_way_reader_the_future_too():
    windows = _windows()
    later = windows.clone()
    later[:, 7:] = (later[:, 7:] + 3) % V  # change everything from position 7 on
    with torch.no_grad():
        one, two = _reader(False), _reader(True)
        assert torch.equal(one(windows)[:, :7], one(later)[:, :7]), (
            "a one-way reader's output at t must not depend on characters after t"
        )
        assert not torch.allclose(two(windows)[:, :7], two(later)[:, :7]), (
            "a two-way reader's backward direction reads the characters after t"
        )


def test_the_prefix_loss_reads_only_the_past_as_generation_does():
    windows = _windows()
    with torch.no_grad():
        one, two = _reader(False), _reader(True)
        assert prefix_loss(one, windows) == pytest.approx(next_loss(one, windows).item(), rel=1e-5), (
            "for a one-way reader, predicting from each prefix is the same as reading the window whole"
        )
        leaky = next_loss(two, windows).item()
        assert prefix_loss(two, windows) != pytest.approx(leaky, rel=1e-3), (
            "read whole, a two-way reader's output at t has read character t + 1, the one it predicts: "
            "from the prefix alone it has not"
        )
        later = windows.clone()
        later[:, 7:] = (later[:, 7:] + 3) % V
        assert torch.equal(prefix_logits(two, windows)[:, :7], prefix_logits(two, later)[:, :7]), (
            "the prediction of character t + 1 from the prefix must not read character t + 1 or anything after it"
        )


def test_matched_readers_hold_the_same_parameters_to_within_a_twentieth():
    counts = {}
    for both_ways in (False, True):
        hidden = matched_hidden(65, "lstm", 64, 220_000, both_ways)
        assert hidden % 4 == 0
        counts[both_ways] = sum(p.numel() for p in Reader(65, "lstm", hidden, 64, both_ways=both_ways).parameters())
        assert counts[both_ways] <= 220_000
    assert abs(counts[True] - counts[False]) / counts[False] < 0.05, f"parameters not matched: {counts}"


def test_the_study_writes_its_table_figures_and_talking_point_from_its_runs():
    from dataclasses import replace

    from acceptance.record import Recorder
    from acceptance.studies.bidirectional import TASKS, WAYS, Bidirectional, ReaderHistory, ReaderRun, write
    from rnnlab.training import TrainConfig

    def run(task: str, both_ways: bool) -> ReaderRun:
        history = ReaderHistory(train_loss=[3.0, 2.0], eval_step=[2], val_loss=[2.0])
        if task == "cloze":
            scores = {"loss": (1.4 if both_ways else 2.1, 0.01), "accuracy": 0.6 if both_ways else 0.4}
            scores |= {"by_position": [2.0, 1.5, 1.9], "by_position_se": [0.1, 0.1, 0.1]}
        else:
            scores = {"loss": (0.03 if both_ways else 1.7, 0.001), "prefix": (2.1 if both_ways else 1.7, 0.006)}
        return ReaderRun(task, both_ways, 128 if both_ways else 192, 219_585 if both_ways else 214_913, history, scores)

    result = Bidirectional(
        replace(TrainConfig(), steps=2), 0.15, 4, 6, 65, {(t, w): run(t, w) for t in TASKS for w in WAYS}
    )
    rec = Recorder()
    write(rec, result)
    (section,) = rec.sections.values()
    assert len(section.tables[0].rows) == 4 and len(section.figures) == 2
    (point,) = rec.talking_points
    assert "bidirectional" in point.question and point.evidence == f"section-{section.lab}"
    said = " ".join(point.measured)
    assert "1.400 ± 0.010" in said and "2.100 ± 0.006" in said, (
        "the talking point quotes the run's own numbers: the blanks both ways, the prefix loss of the leaky model"
    )
