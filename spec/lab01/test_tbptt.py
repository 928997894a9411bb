"""Lab 01.3 — truncated BPTT: carry the state's values forward, never its gradient."""

import pytest
import torch
from torch.nn import functional as F

from rnnlab.models import CharLM
from rnnlab.recurrent import detach_state
from rnnlab.training import StreamBatcher

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_tbptt]


def test_no_gradient_crosses_a_window_boundary():
    model = CharLM(vocab_size=7, cell="rnn", hidden_size=8, embedding_dim=5)
    x1 = torch.randn(2, 6, 5, requires_grad=True)  # window 1's embedded inputs
    x2 = torch.randn(2, 6, 5, requires_grad=True)
    _, state = model.rnn(x1)
    carried = detach_state(state)
    out2, _ = model.rnn(x2, carried)
    out2.sum().backward()
    assert x1.grad is None, (
        "window 2's loss sent a gradient into window 1: the carried state was not detached, so BPTT "
        "runs back through every window ever seen (memory and time grow without bound)"
    )
    assert x2.grad is not None and x2.grad.abs().sum() > 0, "window 2's own inputs must still get gradients"
    assert torch.equal(carried[0], state[0]), "detaching keeps the state's values: the forward pass remembers"


@pytest.mark.parametrize("kind", ["none", "tensor", "lstm state", "stack of lstm states"])
def test_every_kind_of_state_is_detached_and_keeps_its_shape(kind):
    """The stub's contract: None, a tensor, an LSTMState (h, c), or a stack's tuple of them."""
    from rnnlab.cells import LSTMState

    def grad_tensor():
        return torch.randn(2, 3, requires_grad=True) * 2  # has a grad_fn, like a real state

    state = {
        "none": lambda: None,
        "tensor": grad_tensor,
        "lstm state": lambda: LSTMState(grad_tensor(), grad_tensor()),
        "stack of lstm states": lambda: (
            LSTMState(grad_tensor(), grad_tensor()),
            LSTMState(grad_tensor(), grad_tensor()),
        ),
    }[kind]()
    cut = detach_state(state)
    if state is None:
        assert cut is None, "detaching no state gives no state"
        return
    flat = lambda s: [s] if isinstance(s, torch.Tensor) else [t for part in s for t in flat(part)]  # noqa: E731
    assert len(flat(cut)) == len(flat(state)), f"{kind}: the detached state must have the same parts"
    for before, after in zip(flat(state), flat(cut), strict=True):
        assert after.grad_fn is None and not after.requires_grad, f"{kind}: a part still carries its autograd graph"
        assert torch.equal(after, before), f"{kind}: detaching must keep the values"
    if kind == "lstm state":
        h, c = cut
        assert torch.equal(c, state.c), "(h, c) keeps its order"


def test_windows_are_consecutive_text_in_every_row():
    ids = torch.arange(2 * 50)  # two rows of 50 "characters": 0..49 and 50..99
    batcher = StreamBatcher(ids, batch_size=2, seq_len=8)
    w0, w1 = batcher.window(0), batcher.window(1)
    assert w0.fresh and not w1.fresh, "the first window of a pass starts fresh; the next one carries the state"
    assert torch.equal(w0.x[0], torch.arange(0, 8)) and torch.equal(w0.x[1], torch.arange(50, 58)), (
        "row b of the batch is a contiguous stretch of text: row 0 starts at 0, row 1 at N = 50"
    )
    assert torch.equal(w1.x[:, 0], w0.x[:, -1] + 1), "window k+1 continues exactly where window k ended"
    assert torch.equal(w0.y, w0.x + 1), "targets are the inputs shifted by one character"


def test_the_stream_wraps_and_resets():
    batcher = StreamBatcher(torch.arange(100), batch_size=2, seq_len=8)
    n = batcher.windows_per_pass
    assert n == (50 - 1) // 8
    assert batcher.window(n).fresh and torch.equal(batcher.window(n).x, batcher.window(0).x), (
        "after the last full window the rows start over, and the state must be reset"
    )


def test_too_short_text_is_a_clear_error():
    with pytest.raises(ValueError, match="too short"):
        StreamBatcher(torch.arange(30), batch_size=4, seq_len=8)


def test_a_training_step_with_carried_state_learns(tiny_text):
    from rnnlab.data import Vocab

    vocab = Vocab.from_text(tiny_text)
    ids = vocab.encode(tiny_text)
    batcher = StreamBatcher(ids, batch_size=4, seq_len=16)
    model = CharLM(len(vocab), hidden_size=32, embedding_dim=16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    state, losses = None, []
    for step in range(60):
        w = batcher.window(step)
        state = None if w.fresh else state
        logits, state = model(w.x, state)
        state = detach_state(state)
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), w.y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < first - 0.5, f"60 TBPTT steps on a tiny text should cut the loss; went {first:.3f} -> {last:.3f}"
