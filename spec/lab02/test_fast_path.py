"""Lab 02 — the fast path: hand-written BPTT computes exactly what the plain loop computes.

``rnnlab.fast`` replaces autograd's step-by-step replay with one ``autograd.Function`` per
layer whose backward pass is written out by hand. A hand-written backward is where bugs hide
(a missing term, a factor from the wrong step), so every claim is checked against the
readable path (``rnnlab.recurrent.unroll`` over ``rnnlab.cells``) and against finite
differences.
"""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.autograd import gradcheck

from rnnlab.cells import CELLS, make_cell
from rnnlab.fast import fast_unroll, fast_workspace_bytes, release_workspace, set_fast
from rnnlab.fast.dispatch import kernel
from rnnlab.models import CharLM
from rnnlab.recurrent import Recurrent, unroll
from spec.helpers import assert_matches
from spec.strategies import seeds, sizes

pytestmark = [pytest.mark.lab02, pytest.mark.lab02_fast]

# A learner's copy carries no kernels (they spell out every cell's equations); there these
# specs skip, and the acceptance harness checks the reference kernels against the learner's cells.
KINDS = [
    pytest.param(
        kind,
        marks=pytest.mark.skipif(
            kernel(kind) is None, reason=f"this copy of rnnlab has no fast kernel for {kind} (a learner's copy)"
        ),
    )
    for kind in CELLS
]


def _flat_state(state):
    return list(state) if isinstance(state, tuple) else [state]


def _random_state(kind, batch, hidden, dtype, requires_grad):
    def one():
        return torch.randn(batch, hidden, dtype=dtype, requires_grad=requires_grad)

    return (one(), one()) if kind == "lstm" else one()


def _loss(outputs, state):
    """Weights every output and the final state differently, so a gradient sent to the
    wrong step or the wrong state cannot cancel out."""
    loss = (outputs.sin() * torch.linspace(0.5, 1.5, outputs.shape[1], dtype=outputs.dtype).view(1, -1, 1)).sum()
    for s in _flat_state(state):
        loss = loss + (s * s).sum() * 0.7
    return loss


@pytest.mark.parametrize("kind", KINDS)
@given(batch=sizes, steps=sizes, n_in=sizes, hidden=sizes, seed=seeds, carried=st.booleans())
def test_fast_path_equals_plain_loop_in_float64(kind, batch, steps, n_in, hidden, seed, carried):
    torch.manual_seed(seed)
    cell = make_cell(kind, n_in, hidden).double()
    x = torch.randn(batch, steps, n_in, dtype=torch.double, requires_grad=True)
    state = _random_state(kind, batch, hidden, torch.double, True) if carried else None
    leaves = [x, *cell.parameters(), *(_flat_state(state) if carried else [])]

    plain_out, plain_state = unroll(cell, x, state)
    fast_out, fast_state = fast_unroll(cell, x, state)
    rule = (
        f"the fast {kind} path must compute the same function as unroll() over the plain cell "
        f"(B={batch}, T={steps}, I={n_in}, H={hidden}, carried state: {carried})"
    )
    assert_matches(fast_out, plain_out, what="outputs h_1..h_T", rule=rule, atol=1e-12)
    for got, want in zip(_flat_state(fast_state), _flat_state(plain_state), strict=True):
        assert_matches(got, want, what="final state", rule=rule, atol=1e-12)

    names = (
        ["x"] + [n for n, _ in cell.named_parameters()] + (["h0", "c0"][: len(_flat_state(state))] if carried else [])
    )
    plain_grads = torch.autograd.grad(_loss(plain_out, plain_state), leaves)
    fast_grads = torch.autograd.grad(_loss(fast_out, fast_state), leaves)
    for name, got, want in zip(names, fast_grads, plain_grads, strict=True):
        assert_matches(
            got,
            want,
            what=f"dL/d{name}",
            atol=1e-10,
            rule=(f"{rule}; the hand-written backward pass disagrees with autograd through the plain loop"),
        )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("carried", [False, True], ids=["zero state", "carried state"])
def test_fast_path_passes_gradcheck(kind, carried):
    torch.manual_seed(1)
    cell = make_cell(kind, 3, 4).double()
    x = torch.randn(2, 5, 3, dtype=torch.double, requires_grad=True)
    state = _random_state(kind, 2, 4, torch.double, True) if carried else None

    def run(x, *params_and_state):
        outputs, last = fast_unroll(cell, x, state)
        return (outputs, *_flat_state(last))

    assert gradcheck(run, (x,), eps=1e-6, atol=1e-6), f"fast {kind}: analytic and numerical gradients differ"
    if carried:

        def from_state(*s):
            outputs, last = fast_unroll(cell, x, s if kind == "lstm" else s[0])
            return (outputs, *_flat_state(last))

        assert gradcheck(from_state, tuple(_flat_state(state)), eps=1e-6, atol=1e-6), (
            f"fast {kind}: the gradient reaching the carried-in state is wrong"
        )


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_float32_parity_at_training_sizes(kind):
    torch.manual_seed(2)
    plain = Recurrent(kind, 24, 32)
    fast = Recurrent(kind, 24, 32, fast=True)
    fast.load_state_dict(plain.state_dict())
    x = torch.randn(8, 40, 24)
    state = tuple([_random_state(kind, 8, 32, torch.float32, False)])
    a, sa = plain(x, state)
    b, sb = fast(x, state)
    assert_matches(
        b,
        a,
        what=f"{kind} outputs (float32)",
        atol=2e-5,
        rtol=1e-4,
        rule="float32 rounding may differ by a few ulps, nothing more",
    )
    ga = torch.autograd.grad(_loss(a, sa[0]), list(plain.parameters()))
    gb = torch.autograd.grad(_loss(b, sb[0]), list(fast.parameters()))
    for (name, _), got, want in zip(plain.named_parameters(), gb, ga, strict=True):
        assert_matches(
            got,
            want,
            what=f"{kind} dL/d{name} (float32)",
            atol=1e-4,
            rtol=1e-3,
            rule="float32 gradients of the two paths agree to rounding",
        )


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_respects_lengths_like_the_mask(kind):
    """Right-padded rows: zero outputs after each row's end, the state of its last real step."""
    torch.manual_seed(3)
    plain = Recurrent(kind, 3, 5, bidirectional=True).double()
    fast = Recurrent(kind, 3, 5, bidirectional=True, fast=True).double()
    fast.load_state_dict(plain.state_dict())
    x = torch.randn(3, 6, 3, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([6, 2, 4])
    a, sa = plain(x, lengths=lengths)
    b, sb = fast(x, lengths=lengths)
    rule = "padding must neither reach the state nor produce outputs (see unroll's mask)"
    assert_matches(b, a, what=f"{kind} padded outputs", rule=rule, atol=1e-12)
    for got, want in zip(sum(map(_flat_state, sb), []), sum(map(_flat_state, sa), []), strict=True):
        assert_matches(got, want, what=f"{kind} final states of padded rows", rule=rule, atol=1e-12)
    ga = torch.autograd.grad(b.sum(), x)[0]
    assert ga[1, 2:].abs().max() == 0, "no gradient may reach padded input steps"


def test_fast_is_a_speed_switch_not_part_of_the_model():
    model = CharLM(vocab_size=11, cell="lstm", hidden_size=8, embedding_dim=4)
    keys = set(model.state_dict())
    assert set_fast(model) is model and model.rnn.fast, "set_fast(model) turns every recurrent stack's fast path on"
    assert set(model.state_dict()) == keys, "the switch must not add anything to the saved weights"
    idx = torch.randint(0, 11, (2, 9))
    fast_logits, _ = model(idx)
    plain_logits, _ = set_fast(model, False)(idx)
    assert_matches(fast_logits, plain_logits, what="logits", atol=1e-5, rule="both paths run the same model")


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_reuses_its_buffers_without_clobbering_anything_in_use(kind):
    """The fast path keeps its large buffers from one step to the next (fresh memory costs a
    page fault per 4 KiB). Reuse is only safe for a buffer nobody holds: outputs kept from an
    earlier call and a graph kept for a second backward must survive later calls untouched."""
    release_workspace()
    torch.manual_seed(4)
    layer = Recurrent(kind, 6, 8, fast=True)
    x1, x2 = torch.randn(4, 7, 6), torch.randn(4, 7, 6)

    kept, _ = layer(x1)
    snapshot = kept.detach().clone()
    retained, _ = layer(x1)
    first = torch.autograd.grad(retained.square().sum(), list(layer.parameters()), retain_graph=True)
    for _ in range(3):  # later steps, each fully used and dropped
        out, _ = layer(x2)
        out.square().sum().backward()
    assert_matches(
        kept,
        snapshot,
        what=f"{kind} outputs held from an earlier call",
        atol=0,
        rule="a buffer still referenced must never be handed out again",
    )
    again = torch.autograd.grad(retained.square().sum(), list(layer.parameters()))
    for (name, _), a, b in zip(layer.named_parameters(), again, first, strict=True):
        assert_matches(
            a,
            b,
            what=f"{kind} dL/d{name} from a retained graph, after later steps",
            atol=0,
            rule="tensors saved for a backward pass still to come must never be reused",
        )

    kept_before = fast_workspace_bytes()
    for _ in range(3):
        out, _ = layer(x2)
        out.square().sum().backward()
    assert fast_workspace_bytes() == kept_before, (
        f"{kind}: steps of one shape must reuse the buffers they kept, not keep new ones "
        f"({kept_before} bytes kept before, {fast_workspace_bytes()} after)"
    )
    out, _ = layer(x2[:, :6])  # a shorter batch fits in the same buffers
    out.square().sum().backward()
    assert fast_workspace_bytes() == kept_before, (
        f"{kind}: a batch one step shorter must reuse the kept buffers (as seq2seq's varying lengths do); "
        f"kept {kept_before} bytes before, {fast_workspace_bytes()} after"
    )
    release_workspace()
    assert fast_workspace_bytes() == 0, "release_workspace() lets go of every kept buffer"


def test_a_full_workspace_drops_idle_buffers_largest_first():
    """Past its byte limit the workspace makes room by dropping idle buffers, largest first,
    and never keeps more than the limit."""
    from rnnlab.fast.workspace import _Workspace

    like = torch.empty(1)
    workspace = _Workspace(max_bytes=4 * 1000)
    small, large = workspace.empty(100, like=like), workspace.empty(800, like=like)
    del small, large  # both idle now
    big = workspace.empty(900, like=like)  # fits neither; 3,600 + 3,600 bytes > 4,000
    assert big.shape == (900,), "the request is served whatever the workspace has to drop"
    assert workspace.kept_bytes() == 4 * (100 + 900), (
        f"the idle 800-element buffer goes first and the 100-element one stays; kept {workspace.kept_bytes()} bytes"
    )


def test_a_cell_without_a_fast_path_runs_the_plain_loop():
    """A cell the fast path does not know (a subclass that may change the equations, or a new
    kind) is run by the plain loop, not refused: adding a cell type must never break training."""
    from rnnlab.cells import GRUCell
    from rnnlab.fast import has_fast_path

    class MyGRU(GRUCell):
        pass

    torch.manual_seed(0)
    cell = MyGRU(3, 5)
    x, lengths = torch.randn(2, 4, 3), torch.tensor([4, 2])
    assert not has_fast_path(cell) and has_fast_path(GRUCell(3, 5))
    fast_out, fast_state = fast_unroll(cell, x, None, lengths)
    plain_out, plain_state = unroll(cell, x, None, torch.arange(4).unsqueeze(0) < lengths.unsqueeze(1))
    assert torch.equal(fast_out, plain_out) and torch.equal(fast_state, plain_state), (
        "fast_unroll on an unknown cell must give exactly the plain loop's outputs and state"
    )


def test_set_fast_finds_recurrent_stacks_by_type():
    class Decoy(torch.nn.Module):  # has the attributes set_fast used to look for, but is no Recurrent
        def __init__(self):
            super().__init__()
            self.fast, self.cells = False, torch.nn.ModuleList()

    model = torch.nn.Sequential(Recurrent("gru", 3, 4), Decoy())
    set_fast(model)
    assert model[0].fast and not model[1].fast, "set_fast switches Recurrent stacks, and only those"
