"""Lab 02.2 — the GRU cell: reset and update gates, torch's convention for n."""

import numpy as np
import pytest
import torch
from hypothesis import given

from rnnlab.cells import GRUCell
from spec.helpers import assert_matches, cell_from_case, copy_to_torch_cell, np_sigmoid
from spec.strategies import cell_case

pytestmark = [pytest.mark.lab02, pytest.mark.lab02_gru_cell]

RULE = (
    "GRU: r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz), "
    "n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}."
)


@given(cell_case(gates=3))
def test_matches_the_closed_form(case):
    cell = cell_from_case(GRUCell, case)
    h_new, _ = cell(torch.from_numpy(case["x"]), torch.from_numpy(case["h"]))
    xi = case["x"] @ case["w_ih"].T + case["b_ih"]
    hh = case["h"] @ case["w_hh"].T + case["b_hh"]
    x_r, x_z, x_n = np.split(xi, 3, axis=1)
    h_r, h_z, h_n = np.split(hh, 3, axis=1)
    r, z = np_sigmoid(x_r + h_r), np_sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    assert_matches(h_new, (1 - z) * n + z * case["h"], what="GRU output h_t", rule=RULE)


@given(cell_case(gates=3))
def test_output_stays_in_the_unit_box(case):
    h_new, _ = cell_from_case(GRUCell, case)(torch.from_numpy(case["x"]), torch.from_numpy(case["h"]))
    assert h_new.abs().max() <= 1.0, "h_t is a convex mix of n in (-1, 1) and h_{t-1} in [-1, 1], so |h_t| <= 1"


def test_update_gate_saturated_keeps_the_state():
    cell = GRUCell(3, 4).double()
    with torch.no_grad():
        cell.ih.bias[4:8] = 1e3  # z -> 1
    h = torch.rand(2, 4, dtype=torch.double) * 2 - 1
    h_new, _ = cell(torch.randn(2, 3, dtype=torch.double), h)
    assert torch.equal(h_new, h), "with z = 1 the GRU must copy h_{t-1} unchanged: h_t = (1 - z) n + z h_{t-1}"


def test_reset_gate_multiplies_the_projected_state_including_its_bias():
    """torch's convention: r * (W_hn h + b_hn), not W_hn (r * h) + b_hn."""
    cell = GRUCell(2, 3).double()
    with torch.no_grad():
        cell.ih.bias[0:3] = -1e3  # r -> 0
    x = torch.randn(1, 2, dtype=torch.double)
    h = torch.zeros(1, 3, dtype=torch.double)
    h_new, _ = cell(x, h)
    z = torch.sigmoid(cell.ih(x)[:, 3:6] + cell.hh.bias[3:6])
    n = torch.tanh(cell.ih(x)[:, 6:9])  # with r = 0 the b_hn term must vanish too
    assert_matches(h_new, (1 - z) * n, what="GRU output with r = 0", rule=RULE)


def test_parity_with_torch_grucell():
    torch.manual_seed(3)
    ours = GRUCell(5, 6).double()
    ref = torch.nn.GRUCell(5, 6).double()  # parity reference only
    copy_to_torch_cell(ours, ref)
    x, h = torch.randn(3, 5, dtype=torch.double), torch.randn(3, 6, dtype=torch.double)
    out, _ = ours(x, h)
    expected = ref(x, h)
    torch.testing.assert_close(
        out, expected, msg=lambda found: "h_t differs from torch.nn.GRUCell with the same weights: " + found
    )
    out.square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(
        ours.hh.bias.grad, ref.bias_hh.grad, msg=lambda found: "dL/db_hh differs from torch's: " + found
    )
    torch.testing.assert_close(
        ours.ih.weight.grad, ref.weight_ih.grad, msg=lambda found: "dL/dW_ih differs from torch's: " + found
    )


def test_gradcheck_through_time():
    from rnnlab.recurrent import unroll

    cell = GRUCell(2, 3).double()
    x = torch.randn(2, 5, 2, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, h0: unroll(cell, x, h0)[0], (x, h0))


# The regime training reaches (issue #34): trained gates sit saturated and states near +-1 for long spans. Small
# random pre-activations never go there, so a clamp of h or a shortcut for saturated gates passes the specs above.
REGIME = (
    " Trained GRUs hold states near +-1 and gates saturated for hundreds of steps; a clamp of h or a shortcut for "
    "saturated gates changes what trains."
)


def test_saturated_gates_and_extreme_states_follow_the_equations():
    torch.manual_seed(4)
    cell = GRUCell(3, 8).double()
    with torch.no_grad():  # pre-activations of tens, as after training
        for p in cell.parameters():
            p.mul_(25.0)
    x = 4 * torch.randn(5, 3, dtype=torch.double)
    h = torch.tanh(10 * torch.randn(5, 8, dtype=torch.double))  # mostly within 1e-4 of +-1
    h_new, _ = cell(x, h)
    w_ih, b_ih = cell.ih.weight.detach().numpy(), cell.ih.bias.detach().numpy()
    w_hh, b_hh = cell.hh.weight.detach().numpy(), cell.hh.bias.detach().numpy()
    x_r, x_z, x_n = np.split(x.numpy() @ w_ih.T + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(h.numpy() @ w_hh.T + b_hh, 3, axis=1)
    r, z = np_sigmoid(x_r + h_r), np_sigmoid(x_z + h_z)
    expected = (1 - z) * np.tanh(x_n + r * h_n) + z * h.numpy()
    assert_matches(h_new, expected, what="GRU h_t with saturated gates and |h_{t-1}| near 1", rule=RULE + REGIME)


def test_a_saturated_update_gate_carries_the_state_over_a_long_sequence():
    """z = 1: h_t = h_{t-1} exactly, at every step of 500, whatever the input: the GRU's path that does not vanish."""
    cell = GRUCell(2, 3).double()
    with torch.no_grad():
        bias = torch.zeros(9, dtype=torch.double)
        bias[3:6] = 1e3  # update gate z = 1
        cell.ih.bias.copy_(bias)
    h0 = torch.tensor([[0.9999, -0.9999, 0.5]], dtype=torch.double)
    h = h0
    for _ in range(500):
        h, _ = cell(torch.randn(1, 2, dtype=torch.double), h)
    assert_matches(h, h0, what="h after 500 steps with z = 1", rule=RULE + REGIME)
