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
