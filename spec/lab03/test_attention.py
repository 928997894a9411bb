"""Lab 03.2 — attention: a masked softmax over scores, and a weighted mean of encoder states."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnlab.attention import AdditiveAttention, DotAttention, GeneralAttention, masked_softmax
from spec.helpers import assert_matches

pytestmark = [pytest.mark.lab03, pytest.mark.lab03_attention]


def lengths_mask(lengths, S):
    return torch.arange(S).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)


@given(st.lists(st.integers(1, 9), min_size=1, max_size=5), st.integers(0, 1000))
def test_weights_sum_to_one_and_padding_gets_exactly_zero(lengths, seed):
    torch.manual_seed(seed)
    B, S = len(lengths), max(lengths)
    mask = lengths_mask(lengths, S)
    for attn in (AdditiveAttention(4, 6, 5), GeneralAttention(4, 6)):
        _, weights = attn(torch.randn(B, 4), torch.randn(B, S, 6), mask)
        assert_matches(
            weights.sum(1),
            torch.ones(B),
            what="sum of attention weights",
            atol=1e-6,
            rtol=0,
            rule="softmax weights over the real positions sum to 1.",
        )
        assert (weights[~mask] == 0).all(), (
            f"padding must get exactly zero weight (scores set to -inf before the softmax); got {weights[~mask].tolist()}"
        )


def test_equal_scores_give_the_mean_of_the_states():
    """With v = 0 every additive score is 0, so the weights are 1/len and the context is the mean."""
    attn = AdditiveAttention(3, 4, 5)
    with torch.no_grad():
        attn.v.weight.zero_()
    keys = torch.randn(2, 6, 4)
    mask = lengths_mask([6, 3], 6)
    context, weights = attn(torch.randn(2, 3), keys, mask)
    expected = torch.stack([keys[0].mean(0), keys[1, :3].mean(0)])
    assert_matches(
        context,
        expected,
        what="context with equal scores",
        atol=1e-6,
        rtol=1e-6,
        rule="equal scores make attention the plain mean of the real encoder states.",
    )


def test_additive_score_by_hand():
    attn = AdditiveAttention(2, 2, 2).double()
    with torch.no_grad():
        attn.W_s.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        attn.W_h.weight.copy_(torch.tensor([[0.5, 0.0], [0.0, -1.0]]))
        attn.W_h.bias.copy_(torch.tensor([0.1, 0.2]))
        attn.v.weight.copy_(torch.tensor([[1.0, -1.0]]))
    s = torch.tensor([[1.0, 0.5]], dtype=torch.double)
    h = torch.tensor([[[2.0, 1.0], [0.0, -1.0]]], dtype=torch.double)
    # score_j = v . tanh(W_s s + W_h h_j + b) = tanh(1 + 0.5 h_j0 + 0.1) - tanh(1 - h_j1 + 0.2)
    expected = torch.tensor(
        [
            [
                torch.tanh(torch.tensor(2.1)) - torch.tanh(torch.tensor(0.2)),
                torch.tanh(torch.tensor(1.1)) - torch.tanh(torch.tensor(2.2)),
            ]
        ],
        dtype=torch.double,
    )
    assert_matches(
        attn.score(s, h),
        expected,
        what="additive scores",
        atol=1e-6,
        rtol=1e-6,
        rule="score(s, h_j) = v^T tanh(W_s s + W_h h_j).",
    )


def test_dot_and_scaled_dot_scores():
    s = torch.tensor([[1.0, 2.0, 0.0, 1.0]])
    h = torch.tensor([[[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]]])
    assert torch.equal(DotAttention().score(s, h), torch.tensor([[4.0, 2.0]])), "dot score is s^T h_j"
    assert torch.equal(DotAttention(scaled=True).score(s, h), torch.tensor([[2.0, 1.0]])), "scaled: s^T h_j / sqrt(4)"
    with pytest.raises(ValueError, match="general attention"):
        DotAttention().score(torch.randn(1, 3), torch.randn(1, 2, 4))


def test_masked_softmax_is_a_softmax():
    scores = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.allclose(masked_softmax(scores, None), torch.softmax(scores, -1))
