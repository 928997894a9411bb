"""Lab 01.1 — the vanilla RNN cell: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

import numpy as np
import pytest
import torch
from hypothesis import given

from rnnlab.cells import RNNCell
from spec.helpers import assert_matches, cell_from_case, copy_to_torch_cell
from spec.strategies import cell_case

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_rnn_cell]

RULE = "h_t should be tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."


@given(cell_case(gates=1))
def test_matches_the_closed_form(case):
    cell = cell_from_case(RNNCell, case)
    h_new, state = cell(torch.from_numpy(case["x"]), torch.from_numpy(case["h"]))
    # an independent reference, in numpy
    expected = np.tanh(case["x"] @ case["w_ih"].T + case["b_ih"] + case["h"] @ case["w_hh"].T + case["b_hh"])
    assert_matches(h_new, expected, what="RNNCell output", rule=RULE)
    assert state is h_new or torch.equal(state, h_new), "an RNN's state is its output h_t"


def test_parity_with_torch_rnncell_forward_and_gradients():
    torch.manual_seed(1)
    ours = RNNCell(5, 7).double()
    ref = torch.nn.RNNCell(5, 7).double()  # parity reference only
    copy_to_torch_cell(ours, ref)
    x = torch.randn(3, 5, dtype=torch.double)
    h = torch.randn(3, 7, dtype=torch.double)
    out, _ = ours(x, h)
    expected = ref(x, h)
    assert_matches(out, expected, what="RNNCell vs torch.nn.RNNCell", rule=RULE)
    out.square().sum().backward()
    expected.square().sum().backward()
    for name, mine, theirs in [
        ("W_ih", ours.ih.weight.grad, ref.weight_ih.grad),
        ("b_ih", ours.ih.bias.grad, ref.bias_ih.grad),
        ("W_hh", ours.hh.weight.grad, ref.weight_hh.grad),
        ("b_hh", ours.hh.bias.grad, ref.bias_hh.grad),
    ]:
        assert_matches(
            mine, theirs, what=f"gradient of {name}", rule="Backpropagation through tanh: dL/da = dL/dh * (1 - h^2)."
        )


def test_initialisation_is_uniform_in_plus_minus_one_over_sqrt_hidden():
    cell = RNNCell(10, 64)
    bound = 1 / 64**0.5
    for name, p in cell.named_parameters():
        assert p.abs().max() <= bound, f"{name} has values beyond U(-1/sqrt(H), 1/sqrt(H)) = ±{bound:.4f}"
        assert p.abs().max() > 0.5 * bound, f"{name} looks too small for U(-{bound:.4f}, {bound:.4f})"


def test_zero_state_by_default():
    cell = RNNCell(3, 4)
    x = torch.randn(2, 3)
    out, _ = cell(x)
    expected, _ = cell(x, torch.zeros(2, 4))
    assert torch.equal(out, expected), "with no state given, the cell must start from h_0 = 0"


def test_wrong_input_width_is_a_clear_error():
    cell = RNNCell(3, 4)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 3\), got \(2, 5\)"):
        cell(torch.randn(2, 5))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        RNNCell(3, 0)


def test_backpropagation_through_time_reaches_every_step_in_the_training_dtype():
    """How training calls the cell (issue #35): float32, one input projection for the whole sequence whose slices
    are each step's x_proj, and the loss backpropagated through every step to the first state. A cell that detaches
    h_{t-1}, casts the state to float64 or adds into x_proj in place passes the one-step specs above and then fails
    (or learns nothing through time) in training; here it fails with the gradient that differs."""
    torch.manual_seed(5)
    ours, ref = RNNCell(4, 6), torch.nn.RNNCell(4, 6)  # float32, as training; torch's cell as the parity reference
    copy_to_torch_cell(ours, ref)
    x = torch.randn(3, 7, 4)
    h0_ours = torch.randn(3, 6, requires_grad=True)
    h0_ref = h0_ours.detach().clone().requires_grad_(True)
    x_proj = ours.ih(x)  # (B, T, H): one projection for every step, as rnnlab.recurrent.unroll does
    h, h_ref = h0_ours, h0_ref
    try:
        for t in range(x.shape[1]):
            h, _ = ours.step(x_proj[:, t], h)
            h_ref = ref(x[:, t], h_ref)
    except RuntimeError as exc:
        raise AssertionError(
            f"7 steps of your cell in float32 failed: {str(exc).splitlines()[0]} (a cast such as h.double() makes "
            "the next step's matrix product mix float64 and float32: keep the dtype of x_proj and h)"
        ) from None
    assert h.dtype == torch.float32, f"the cell must keep the training dtype (float32), got {h.dtype}: {RULE}"
    try:
        h.square().sum().backward()
    except RuntimeError as exc:
        raise AssertionError(
            f"backpropagation through 7 steps of your cell failed: {str(exc).splitlines()[0]} (an in-place change "
            "to x_proj or h, such as x_proj.add_(...), destroys a value backward needs; write x_proj + ... instead)"
        ) from None
    h_ref.square().sum().backward()
    rule = "dL/dh_(t-1) = W_hh^T (dL/dh_t * (1 - h_t^2)) at every step: the state must not be detached inside the cell."
    assert h0_ours.grad is not None and h0_ours.grad.abs().sum() > 0, (
        "no gradient reached the first state through 7 steps: the cell cuts the graph (h.detach()?). " + rule
    )
    assert_matches(
        h0_ours.grad.double(), h0_ref.grad.double(), what="dL/dh_0 through 7 steps", rule=rule, atol=1e-5, rtol=1e-4
    )
    assert_matches(
        ours.hh.weight.grad.double(),
        ref.weight_hh.grad.double(),
        what="dL/dW_hh through 7 steps",
        rule=rule,
        atol=1e-5,
        rtol=1e-4,
    )
