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
