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


def test_a_false_mask_step_keeps_the_state_and_outputs_zeros():
    """Right-padded rows: where ``mask`` is False the state must not change and the output is 0,
    so each row ends with the state of its last real step (what the seq2seq encoder relies on)."""
    torch.manual_seed(1)
    cell = RNNCell(3, 4).double()
    x = torch.randn(3, 5, 3, dtype=torch.double)
    lengths = [5, 2, 3]
    mask = torch.tensor([[t < n for t in range(5)] for n in lengths])
    outputs, last = unroll(cell, x, mask=mask)
    for b, n in enumerate(lengths):
        alone, h_n = unroll(cell, x[b : b + 1, :n])  # the row without its padding
        assert_matches(
            outputs[b, :n],
            alone[0],
            what=f"row {b}: outputs of its {n} real steps",
            rule="a row's real steps are computed as if the padding were not there.",
        )
        assert_matches(
            outputs[b, n:],
            torch.zeros(5 - n, 4, dtype=torch.double),
            what=f"row {b}: outputs at its padded steps {n}..4",
            rule="where mask[b, t] is False the output is 0.",
        )
        assert_matches(
            last[b],
            h_n[0],
            what=f"row {b}: the returned state",
            rule=f"where mask[b, t] is False the state is left unchanged, so row {b} ends with h_{n}, "
            "its last real step's state (torch.where(mask[:, t:t+1], new_state, state)).",
        )


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
