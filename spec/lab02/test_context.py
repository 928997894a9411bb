"""Lab 02 — how much of the past a model uses: the loss at a target character when the model
sees only the last L characters, from a fresh state."""

import math

import pytest
import torch
import torch.nn.functional as F

from rnnlab.metrics import effective_context, loss_by_context
from rnnlab.models import CharLM

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
