"""Lab 02 — layers and directions: stacks with dropout, a bidirectional LSTM, parity with nn.LSTM."""

import pytest
import torch

from rnnlab.cells import CELLS
from rnnlab.models import CharLM
from rnnlab.recurrent import Recurrent

pytestmark = [pytest.mark.lab02, pytest.mark.lab02_layers]


def copy_into_torch(ours: Recurrent, ref: torch.nn.Module) -> None:
    """Our cell (layer l, direction d) -> torch's weight_ih_l{l}{_reverse} etc."""
    with torch.no_grad():
        for layer in range(ours.num_layers):
            for direction in range(ours.num_directions):
                cell = ours.cell_at(layer, direction)
                suffix = f"l{layer}" + ("_reverse" if direction else "")
                getattr(ref, f"weight_ih_{suffix}").copy_(cell.ih.weight)
                getattr(ref, f"bias_ih_{suffix}").copy_(cell.ih.bias)
                getattr(ref, f"weight_hh_{suffix}").copy_(cell.hh.weight)
                getattr(ref, f"bias_hh_{suffix}").copy_(cell.hh.bias)


@pytest.mark.parametrize("kind, torch_cls", [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("rnn", torch.nn.RNN)])
def test_two_layer_bidirectional_parity_with_torch(kind, torch_cls):
    torch.manual_seed(4)
    ours = Recurrent(kind, 5, 6, num_layers=2, bidirectional=True).double()
    ref = torch_cls(5, 6, num_layers=2, bidirectional=True, batch_first=True).double()  # parity reference only
    copy_into_torch(ours, ref)
    x = torch.randn(3, 7, 5, dtype=torch.double, requires_grad=True)
    out, state = ours(x)
    expected, ref_state = ref(x)
    torch.testing.assert_close(
        out,
        expected,
        msg=lambda found: (
            f"2-layer bidirectional {kind} output differs from torch's: the backward direction reads the sequence "
            f"reversed and its outputs are flipped back, then both directions are concatenated (forward first). {found}"
        ),
    )
    h_n = ref_state[0] if kind == "lstm" else ref_state
    ours_h = torch.stack([s[0] if kind == "lstm" else s for s in state])
    torch.testing.assert_close(
        ours_h, h_n, msg=lambda found: "final states differ from torch's h_n (layer-major, forward first): " + found
    )
    grad_ours = torch.autograd.grad(out.square().sum(), x)[0]
    grad_ref = torch.autograd.grad(expected.square().sum(), x)[0]
    torch.testing.assert_close(grad_ours, grad_ref, msg=lambda found: "input gradients differ from torch's: " + found)


def test_dropout_acts_between_layers_only_in_training():
    stack = Recurrent("lstm", 4, 8, num_layers=2, dropout=0.5)
    x = torch.randn(2, 5, 4)
    stack.train()
    torch.manual_seed(0)
    a, _ = stack(x)
    torch.manual_seed(1)
    b, _ = stack(x)
    assert not torch.equal(a, b), "in training, dropout between layers should make two passes differ"
    stack.eval()
    assert torch.equal(stack(x)[0], stack(x)[0]), "in eval mode dropout is off: the stack is deterministic"
    with pytest.raises(ValueError, match="dropout"):
        Recurrent("lstm", 4, 8, dropout=1.0)


@pytest.mark.parametrize("cell", list(CELLS))
def test_the_language_model_takes_every_cell(cell):
    model = CharLM(vocab_size=11, cell=cell, hidden_size=8, num_layers=2, embedding_dim=4)
    logits, state = model(torch.zeros(2, 5, dtype=torch.long))
    assert logits.shape == (2, 5, 11) and len(state) == 2
    more, _ = model(torch.zeros(2, 3, dtype=torch.long), state)
    assert more.shape == (2, 3, 11), "the returned state can be passed back in"
    with pytest.raises(ValueError, match="unknown cell"):
        CharLM(vocab_size=11, cell="transformer")
