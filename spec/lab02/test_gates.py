"""Lab 02 — what the gates do on real text: each gate's activations step by step, how often
each unit's gate is saturated, and a unit named by what it tracks (found by measurement)."""

import math

import pytest
import torch

from rnnlab.gates import gate_trace, line_position, pearson, saturation, tracking_unit
from rnnlab.models import CharLM

pytestmark = [pytest.mark.lab02, pytest.mark.lab02_gates]


@pytest.mark.parametrize(("cell", "names"), [("lstm", ("i", "f", "o", "c", "h")), ("gru", ("r", "z", "h"))])
def test_the_trace_reproduces_the_model_step_by_step(cell, names):
    torch.manual_seed(0)
    model = CharLM(vocab_size=9, cell=cell, hidden_size=5, embedding_dim=3).double()
    ids = torch.randint(0, 9, (40,))
    trace = gate_trace(model, ids)
    assert tuple(trace) == names, f"a {cell}'s trace holds its sigmoid gates, then its states, got {tuple(trace)}"
    assert all(t.shape == (40, 5) for t in trace.values()), "every entry is (characters, hidden units)"
    outputs, _ = model.rnn(model.embedding(ids[None]))
    assert torch.allclose(trace["h"], outputs[0], atol=1e-12), (
        "the trace's h must be the hidden state the model itself computes at every step"
    )


def test_lstm_gates_follow_the_equations():
    """Read from the stacked weights (i, f, g, o): sigmoid gates with c_t = f c_(t-1) + i g and
    h_t = o tanh(c_t), g = tanh of its block computed here from the weights."""
    torch.manual_seed(1)
    model = CharLM(vocab_size=6, cell="lstm", hidden_size=4, embedding_dim=3).double()
    ids = torch.randint(0, 6, (12,))
    tr = gate_trace(model, ids)
    for gate in ("i", "f", "o"):
        assert ((tr[gate] > 0) & (tr[gate] < 1)).all(), f"{gate} is a sigmoid: strictly between 0 and 1"
    cell = model.rnn.cell_at(0)
    x_proj = cell.ih(model.embedding(ids[None]))[0]
    c_prev = h_prev = torch.zeros(4, dtype=torch.float64)
    for t in range(12):
        g = torch.tanh((x_proj[t] + cell.hh(h_prev)).chunk(4)[2])
        c = tr["f"][t] * c_prev + tr["i"][t] * g
        assert torch.allclose(tr["c"][t], c, atol=1e-12), f"step {t}: c_t = f_t * c_(t-1) + i_t * g_t"
        assert torch.allclose(tr["h"][t], tr["o"][t] * torch.tanh(c), atol=1e-12), f"step {t}: h_t = o_t tanh(c_t)"
        c_prev, h_prev = c, tr["h"][t]


def test_gru_gates_follow_the_equations():
    """r and z are sigmoids of their blocks; h_t = (1 - z) n + z h_(t-1)."""
    torch.manual_seed(4)
    model = CharLM(vocab_size=6, cell="gru", hidden_size=4, embedding_dim=3).double()
    ids = torch.randint(0, 6, (12,))
    tr = gate_trace(model, ids)
    cell = model.rnn.cell_at(0)
    x_proj = cell.ih(model.embedding(ids[None]))[0]
    h_prev = torch.zeros(4, dtype=torch.float64)
    for t in range(12):
        x_n, h_n = x_proj[t].chunk(3)[2], cell.hh(h_prev).chunk(3)[2]
        n = torch.tanh(x_n + tr["r"][t] * h_n)
        h = (1 - tr["z"][t]) * n + tr["z"][t] * h_prev
        assert torch.allclose(tr["h"][t], h, atol=1e-12), f"step {t}: h_t = (1 - z_t) n_t + z_t h_(t-1)"
        h_prev = h


def test_a_cell_without_gates_is_refused_by_name():
    model = CharLM(vocab_size=6, cell="rnn", hidden_size=4, embedding_dim=3)
    with pytest.raises(ValueError, match="gated cell .*not of a 'rnn' cell"):
        gate_trace(model, torch.randint(0, 6, (10,)))


def test_saturation_counts_the_share_of_steps_beyond_each_threshold():
    acts = torch.tensor([[0.05, 0.5], [0.95, 0.5], [0.02, 0.91], [0.5, 0.99]])
    left, right = saturation(acts)
    assert left.tolist() == [0.5, 0.0], "unit 0 is below 0.1 at 2 of 4 steps; unit 1 never"
    assert right.tolist() == [0.25, 0.5], "unit 0 is above 0.9 at 1 of 4 steps; unit 1 at 2"


def test_line_position_counts_characters_since_the_last_newline():
    assert line_position("ab\ncde\n\nf").tolist() == [0, 1, 2, 0, 1, 2, 3, 0, 0]


def test_pearson_matches_the_closed_form():
    a = torch.tensor([[1.0, 2.0], [2.0, 1.0], [3.0, 0.0], [4.0, 2.0]], dtype=torch.float64)
    f = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    r = pearson(a, f)
    assert math.isclose(r[0].item(), 1.0, rel_tol=1e-12)
    x, y = a[:, 1] - a[:, 1].mean(), f - f.mean()
    assert math.isclose(r[1].item(), float((x * y).sum() / (x.norm() * y.norm())), rel_tol=1e-12)
    assert pearson(torch.ones(4, 1), f).item() == 0.0, "a constant unit correlates with nothing (not NaN)"


def test_the_tracking_unit_is_chosen_on_one_part_and_scored_on_the_other():
    """A planted unit that tracks the feature only in the second half must not be chosen on the
    first half's evidence alone, and its score is the held-out one."""
    g = torch.Generator().manual_seed(3)
    feature = torch.arange(200, dtype=torch.float64) % 17
    states = torch.randn(200, 6, generator=g, dtype=torch.float64)
    states[:, 2] = feature + 0.1 * torch.randn(200, generator=g, dtype=torch.float64)  # tracks it throughout
    states[100:, 4] = feature[100:]  # perfect, but only on the held-out half
    found = tracking_unit(states, feature, select=100)
    assert found.unit == 2, "the unit is chosen on the first `select` steps only"
    assert found.held_out == pytest.approx(pearson(states[100:, 2:3], feature[100:]).item())
    assert found.chosen_on == pytest.approx(pearson(states[:100, 2:3], feature[:100]).item())
