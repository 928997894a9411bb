"""Lab 01.5 — perplexity = exp(mean cross-entropy), measured over a whole split."""

import math

import pytest
import torch
from torch.nn import functional as F

from rnnlab.metrics import evaluate_lm, perplexity
from rnnlab.models import CharLM

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_perplexity]


def test_perplexity_is_exp_of_mean_cross_entropy():
    for ce in [0.0, 0.5, 1.6, 4.17]:
        assert math.isclose(perplexity(ce), math.exp(ce)), f"perplexity({ce}) should be exp({ce}) = {math.exp(ce):.6g}"


def test_a_uniform_model_has_perplexity_equal_to_the_vocabulary_size():
    V = 65
    logits = torch.zeros(10, V)
    targets = torch.randint(0, V, (10,))
    ce = F.cross_entropy(logits, targets).item()
    assert math.isclose(perplexity(ce), V, rel_tol=1e-6), (
        f"guessing uniformly among {V} characters is perplexity {V}; got {perplexity(ce):.4f}"
    )


def test_evaluation_covers_the_split_and_equals_a_direct_computation():
    torch.manual_seed(0)
    V = 6
    model = CharLM(V, hidden_size=8, embedding_dim=4).double()
    ids = torch.randint(0, V, (2 * 41,))
    got = evaluate_lm(model, ids, rows=2, window=7)
    data = ids.view(2, 41)
    logits, _ = model(data[:, :-1])
    expected = F.cross_entropy(logits.reshape(-1, V), data[:, 1:].reshape(-1)).item()
    assert math.isclose(got, expected, rel_tol=1e-9), (
        f"evaluating window by window with the state carried should equal one pass over each row: "
        f"got {got:.9f}, expected {expected:.9f}"
    )
    assert model.training, "evaluation must restore the model's training mode"


def test_evaluation_with_the_state_reset_reads_every_window_from_zeros():
    """``carry=False``: each window starts from a fresh state, so a prediction sees only the characters since its
    window began; the same targets are scored as with the state carried."""
    torch.manual_seed(0)
    V = 6
    model = CharLM(V, hidden_size=8, embedding_dim=4).double()
    ids = torch.randint(0, V, (2 * 41,))
    got = evaluate_lm(model, ids, rows=2, window=7, carry=False)
    data = ids.view(2, 41)
    total, count = 0.0, 0
    for start in range(0, 40, 7):  # 40 targets a row: five windows of 7, then one of 5
        x, y = data[:, start : min(start + 7, 40)], data[:, start + 1 : min(start + 8, 41)]
        logits, _ = model(x)  # no state: zeros
        total += F.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    assert math.isclose(got, total / count, rel_tol=1e-9), (
        f"with the state reset, every window of 7 (and the shorter last one) should be read from a zero state: "
        f"got {got:.9f}, expected {total / count:.9f}"
    )
    carried = evaluate_lm(model, ids, rows=2, window=7)
    assert not math.isclose(got, carried, rel_tol=1e-6), (
        "resetting the state at every window gave the same loss as carrying it: the reset never happened"
    )
    assert model.training, "evaluation must restore the model's training mode"
