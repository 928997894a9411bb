"""Lab 02 — how much of the past a model uses: the loss at a target character when the model
sees only the last L characters, from a fresh state; and what an exact earlier copy of the text
it is reading is worth to it (in-context copying)."""

import math

import pytest
import torch
import torch.nn.functional as F

from rnnlab.metrics import copy_gain, effective_context, loss_by_context
from rnnlab.models import CharLM
from rnnlab.models.attention_lm import AttentionLM

pytestmark = [pytest.mark.lab02, pytest.mark.lab02_context]


def test_each_context_length_is_the_loss_of_the_last_l_characters_alone():
    torch.manual_seed(0)
    model = CharLM(vocab_size=7, cell="gru", hidden_size=8, embedding_dim=4).double()
    ids = torch.randint(0, 7, (200,))
    curve = loss_by_context(model, ids, lengths=(1, 3, 8), positions=25, seed=5, batch=10)
    targets = torch.randint(8, 200, (25,), generator=torch.Generator().manual_seed(5))
    for L in (1, 3, 8):
        windows = torch.stack([ids[p - L : p] for p in targets.tolist()])
        logits, _ = model(windows)  # a fresh state for every window
        expected = F.cross_entropy(logits[:, -1], ids[targets]).item()
        assert math.isclose(curve[L], expected, rel_tol=1e-9), (
            f"L={L}: the loss of predicting ids[p] from ids[p-L:p] alone, over the same targets for every L; "
            f"got {curve[L]:.6f}, expected {expected:.6f}"
        )


def test_a_model_that_reads_one_character_has_a_flat_curve():
    """An RNN whose recurrent weights are zero sees only its last input: longer contexts cannot help."""
    torch.manual_seed(1)
    model = CharLM(vocab_size=5, cell="rnn", hidden_size=6, embedding_dim=3)
    with torch.no_grad():
        model.rnn.cell_at(0).hh.weight.zero_()
    curve = loss_by_context(model, torch.randint(0, 5, (300,)), lengths=(1, 2, 16), positions=50)
    assert max(curve.values()) - min(curve.values()) < 1e-5, curve
    assert effective_context(curve) == 1


def test_effective_context_is_the_shortest_length_within_the_tolerance_of_the_longest():
    curve = {1: 2.0, 2: 1.7, 4: 1.62, 8: 1.55, 16: 1.53, 32: 1.529}
    assert effective_context(curve) == 16  # 1.53 <= 1.01 * 1.529 = 1.544; 1.55 is not
    assert effective_context(curve, tolerance=0.06) == 4
    with pytest.raises(ValueError, match="at least one"):
        effective_context({})


class LookBack(torch.nn.Module):
    """An oracle that copies: at each position it finds the latest earlier place where the same two
    characters occurred and predicts, confidently, the character that followed them there."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # a parameter, so the model has a device

    def forward(self, idx, state=None):
        B, T = idx.shape
        logits = torch.zeros(B, T, self.vocab_size, dtype=torch.float64)
        for b in range(B):
            row = idx[b].tolist()
            for t in range(1, T):
                for s in range(t - 1, 0, -1):
                    if row[s] == row[t] and row[s - 1] == row[t - 1]:
                        logits[b, t, row[s + 1]] = 10.0
                        break
        return logits, None


def test_the_copy_gain_is_the_loss_on_the_span_after_another_span_and_after_an_earlier_copy():
    torch.manual_seed(2)
    model = CharLM(vocab_size=7, cell="lstm", hidden_size=8, embedding_dim=4).double()
    ids = torch.randint(0, 7, (300,), generator=torch.Generator().manual_seed(3))
    window, span, d = 20, 4, 6
    gain = copy_gain(model, ids, window, span=span, distances=(d,), positions=9, seed=4, batch=4)
    at = window + 1 - span
    generator = torch.Generator().manual_seed(4)
    starts = torch.randint(at, 300 - span + 1, (9,), generator=generator).tolist()
    others = torch.randint(0, 300 - span + 1, (9,), generator=generator).tolist()
    expected = []
    for copy in (False, True):
        losses = []
        for p, q in zip(starts, others, strict=True):
            text = ids[p - at : p + span].clone()  # the window + 1 characters ending with the span
            # d characters before the span: the span again, or another span of the text
            text[at - d - span : at - d] = ids[p : p + span] if copy else ids[q : q + span]
            logits, _ = model(text[None, :-1])  # a fresh state for every text
            losses.append(F.cross_entropy(logits[0, at:], text[at + 1 :]))  # the span's characters 2..span
        expected.append(torch.stack(losses))
    gains = expected[0] - expected[1]
    expected = [expected[0].mean().item(), expected[1].mean().item(), (gains.std() / 3).item()]  # sqrt(9) spans
    assert math.isclose(gain[d][0], expected[0], rel_tol=1e-9), (
        f"after another span: the mean loss on the span's characters 2..{span}; got {gain[d][0]:.6f}, "
        f"expected {expected[0]:.6f}"
    )
    assert math.isclose(gain[d][1], expected[1], rel_tol=1e-9), (
        f"with the span written again {d} characters before it: got {gain[d][1]:.6f}, expected {expected[1]:.6f}"
    )
    assert math.isclose(gain[d][2], expected[2], rel_tol=1e-9), (
        f"the standard error of the gain: the spans' gains' sample standard deviation / sqrt(9); got "
        f"{gain[d][2]:.6f}, expected {expected[2]:.6f}"
    )


def test_a_model_that_reads_one_character_gains_nothing_from_a_copy():
    """The copy changes only characters before the span; a model that sees only its last input
    gives the span's characters exactly the same predictions after it or after another span."""
    torch.manual_seed(1)
    model = CharLM(vocab_size=5, cell="rnn", hidden_size=6, embedding_dim=3)
    with torch.no_grad():
        model.rnn.cell_at(0).hh.weight.zero_()
    gain = copy_gain(model, torch.randint(0, 5, (400,)), 40, span=8, distances=(0, 8, 24), positions=30)
    for d, (plain, copied, _) in gain.items():
        assert plain == copied, f"d={d}: {plain} after another span, {copied} after the copy; nothing before is read"


def test_a_model_that_looks_back_predicts_the_repeat_almost_exactly_at_every_distance():
    ids = torch.randint(0, 50, (400,), generator=torch.Generator().manual_seed(5))  # few chance repeats
    gain = copy_gain(LookBack(50), ids, 40, span=8, distances=(0, 8, 24), positions=20)
    for d, (plain, copied, _) in gain.items():
        assert copied < 0.25 * plain, (
            f"d={d}: an oracle that copies from the earlier occurrence should lose most of its loss on the "
            f"repeat; got {plain:.3f} nats after another span, {copied:.3f} after the copy"
        )


def test_copy_gain_refuses_distances_that_do_not_fit_the_window():
    model = CharLM(vocab_size=5, cell="rnn", hidden_size=6, embedding_dim=3)
    with pytest.raises(ValueError, match="need 42 of the 40-character window; use shorter distances"):
        copy_gain(model, torch.randint(0, 5, (400,)), 40, span=8, distances=(0, 26))
    with pytest.raises(ValueError, match="at least 2"):
        copy_gain(model, torch.randint(0, 5, (400,)), 40, span=1)
    attention = AttentionLM(5, d_model=8, num_heads=2, d_ff=16, context=32)
    with pytest.raises(ValueError, match="a window of 40 exceeds the model's context"):
        copy_gain(attention, torch.randint(0, 5, (400,)), 40, span=8, distances=(0,))
