"""Lab 02.3 — gradient norms through time: the vanishing-gradient picture, measured."""

import pytest
import torch

from rnnlab.metrics import grad_norms_through_time
from rnnlab.models import CharLM
from spec.helpers import assert_matches

pytestmark = [pytest.mark.lab02, pytest.mark.lab02_grad_flow]


@pytest.mark.parametrize("a", [0.5, 0.9, 1.1])
def test_a_linear_regime_rnn_scales_by_a_per_step(a):
    """W_ih = 0, biases 0, W_hh = a I: every h_t = 0, tanh'(0) = 1, so dL/dh_t = (a I)^(T-1-t) dL/dh_T."""
    model = CharLM(vocab_size=5, cell="rnn", hidden_size=4, embedding_dim=3).double()
    cell = model.rnn.cells[0]
    with torch.no_grad():
        cell.ih.weight.zero_()
        cell.ih.bias.zero_()
        cell.hh.bias.zero_()
        cell.hh.weight.copy_(a * torch.eye(4, dtype=torch.double))
    T = 12
    norms = grad_norms_through_time(model, torch.randint(0, 5, (3, T)), torch.randint(0, 5, (3,)))
    expected = norms[0] * torch.tensor([a**k for k in range(T)], dtype=torch.double)
    assert_matches(
        norms,
        expected,
        what="||dL_T/dh_t|| by distance back",
        atol=1e-12,
        rtol=1e-9,
        rule="each step back multiplies the gradient by W_hh^T diag(1 - h^2) = a I here.",
    )


def test_it_counts_every_path_through_time():
    """Against autograd on the stacked outputs of a fresh unroll (the LSTM's h and c paths both count)."""
    torch.manual_seed(0)
    model = CharLM(vocab_size=7, cell="lstm", hidden_size=5, embedding_dim=3).double()
    idx, target = torch.randint(0, 7, (2, 6)), torch.randint(0, 7, (2,))
    norms = grad_norms_through_time(model, idx, target)
    # reference: the gradient of L_T w.r.t. an additive perturbation of h_t, one t at a time
    cell = model.rnn.cells[0]
    x_proj = cell.ih(model.embedding(idx))
    for t in range(6):
        delta = torch.zeros(2, 5, dtype=torch.double, requires_grad=True)
        state = cell.init_state(2, x_proj)
        for s in range(6):
            h, state = cell.step(x_proj[:, s], state)
            if s == t:
                h = h + delta
                state = (h, state[1])
        loss = torch.nn.functional.cross_entropy(model.head(h), target, reduction="sum")
        (g,) = torch.autograd.grad(loss, delta)
        measured, expected = float(norms[5 - t].detach()), float(g.norm(dim=1).mean())
        hint = (
            " — exactly 1/B of it (B = 2): the loss must be the sum over the batch, not the mean, so that "
            "each sample's gradient is its own"
            if abs(measured * 2 - expected) <= 1e-9 * max(1.0, expected)
            else ""
        )
        assert torch.isclose(norms[5 - t], g.norm(dim=1).mean()), (
            f"at distance {5 - t}: measured {measured:.6g}, perturbing h_t by hand gives {expected:.6g}{hint}"
        )


def test_multi_layer_models_are_refused():
    model = CharLM(vocab_size=5, num_layers=2)
    with pytest.raises(ValueError, match="one-layer"):
        grad_norms_through_time(model, torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, dtype=torch.long))
