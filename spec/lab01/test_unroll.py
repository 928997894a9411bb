"""Lab 01.2 — unrolling over time: the hidden state carries the past, and only the past."""

import pytest
import torch

from rnnlab.cells import RNNCell
from rnnlab.models import CharLM
from rnnlab.recurrent import Recurrent, unroll
from spec.helpers import assert_matches

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_unroll]


def test_unroll_equals_stepping_the_cell_by_hand():
    cell = RNNCell(3, 5).double()
    x = torch.randn(2, 6, 3, dtype=torch.double)
    outputs, last = unroll(cell, x)
    h = torch.zeros(2, 5, dtype=torch.double)
    for t in range(6):
        h, _ = cell(x[:, t], h)
        assert_matches(
            outputs[:, t], h, what=f"output at t={t}", rule="outputs[:, t] is h_t, computed from x_t and h_{t-1}."
        )
    assert_matches(last, h, what="returned state", rule="the returned state is h_T, the last step's.")


def test_changing_x_t_leaves_earlier_outputs_untouched():
    """Causality: an RNN reads left to right, so the future cannot change the past."""
    model = CharLM(vocab_size=11, cell="rnn", hidden_size=16, embedding_dim=8)
    idx = torch.randint(0, 11, (2, 12))
    t = 7
    changed = idx.clone()
    changed[:, t] = (changed[:, t] + 1) % 11
    before, _ = model(idx)
    after, _ = model(changed)
    assert torch.equal(before[:, :t], after[:, :t]), (
        f"logits before t={t} changed when only x_{t} changed: the model looks into the future"
    )
    assert not torch.equal(before[:, t], after[:, t]), f"the logits at t={t} must depend on x_{t}"


def test_carrying_state_across_calls_equals_one_long_call():
    model = CharLM(vocab_size=9, cell="rnn", hidden_size=12, embedding_dim=6).double()
    idx = torch.randint(0, 9, (3, 20))
    whole, _ = model(idx)
    first, state = model(idx[:, :8])
    second, _ = model(idx[:, 8:], state)
    assert_matches(
        torch.cat([first, second], 1),
        whole,
        what="logits computed in two windows",
        rule="passing the returned state back in must continue exactly where the first call stopped.",
    )


def test_gradients_through_time_match_finite_differences():
    cell = RNNCell(3, 4).double()
    x = torch.randn(2, 5, 3, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(2, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, h0: unroll(cell, x, h0)[0], (x, h0)), (
        "autograd's BPTT gradients disagree with central finite differences"
    )


def test_a_stack_feeds_each_layer_the_one_below():
    torch.manual_seed(0)
    stack = Recurrent("rnn", 3, 4, num_layers=2).double()
    x = torch.randn(2, 5, 3, dtype=torch.double)
    out, state = stack(x)
    low, _ = unroll(stack.cell_at(0), x)
    high, _ = unroll(stack.cell_at(1), low)
    assert_matches(out, high, what="2-layer output", rule="layer 2 reads layer 1's outputs h^(1)_t as its input.")
    assert len(state) == 2, "the stack's state has one entry per layer"


def test_bad_shapes_are_clear_errors():
    cell = RNNCell(3, 4)
    with pytest.raises(ValueError, match=r"\(batch, time, features\)"):
        unroll(cell, torch.randn(2, 3))
    with pytest.raises(ValueError, match="empty"):
        unroll(cell, torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        CharLM(vocab_size=5)(torch.zeros(3, dtype=torch.long))
