"""Recurrent cells built from ``nn.Linear`` and tensor ops — the equations, one step at a time.

Every cell keeps PyTorch's parameter layout, so weights copy one-to-one to and from torch's
fused cells (the parity specs' reference):

* ``ih``: ``nn.Linear(input_size, G * hidden_size)`` — ``ih.weight`` is torch's ``weight_ih``,
  ``ih.bias`` is ``bias_ih``;
* ``hh``: ``nn.Linear(hidden_size, G * hidden_size)`` — ``weight_hh`` / ``bias_hh``;

with G = 1 (RNN), 4 (LSTM, gates stacked i, f, g, o) or 3 (GRU, gates stacked r, z, n).

Initialisation, as torch: every weight and bias ~ U(-sqrt(k), sqrt(k)), k = 1 / hidden_size.

Each cell splits its work in two so that the input projection of a whole sequence can be
done in one matmul outside the time loop (see ``rnnlab.recurrent.unroll``):

* ``cell.ih(x)`` — the input projection, any leading shape;
* ``cell.step(x_proj, state)`` — the recurrence given one step's projected input.

``cell(x, state)`` does both for a single step. Shapes: B batch, I input_size, H hidden_size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

import torch
from torch import Tensor, nn

from rnnlab.checks import require_positive_ints
from rnnlab.errors import ConfigError


class LSTMState(NamedTuple):
    """An LSTM's state: the output ``h`` and the cell ``c``, each (B, H). A plain ``(h, c)``
    tuple works wherever an ``LSTMState`` is read."""

    h: Tensor
    c: Tensor


CellState = Tensor | LSTMState  # one cell's state: h (RNN, GRU) or (h, c) (LSTM)
S = TypeVar("S", Tensor, LSTMState)


class _Cell(nn.Module, Generic[S]):
    """What every cell has: the input projection ``ih`` (applied to all steps at once by the
    caller), the hidden projection ``hh``, a zero state, and ``step`` (one time step)."""

    gates: int = 1  # how many hidden_size blocks the projections produce
    ih: nn.Linear
    hh: nn.Linear

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        require_positive_ints(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.ih = nn.Linear(input_size, self.gates * hidden_size)
        self.hh = nn.Linear(hidden_size, self.gates * hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def init_state(self, batch: int, like: Tensor) -> S:
        """Zeros for a batch, on ``like``'s device and dtype (an ``h``; the LSTM adds its ``c``)."""
        return like.new_zeros(batch, self.hidden_size)  # type: ignore[return-value]

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ConfigError(
                f"{type(self).__name__}: expected input of shape (batch, {self.input_size}), got {tuple(x.shape)}"
            )

    def forward(self, x: Tensor, state: S | None = None) -> tuple[Tensor, S]:
        """One time step: ``x`` (B, I) and the previous state -> (h_t (B, H), new state)."""
        self._check_input(x)
        if state is None:
            state = self.init_state(x.shape[0], x)
        return self.step(self.ih(x), state)

    def step(self, x_proj: Tensor, state: S) -> tuple[Tensor, S]:
        """One step from the input's projection ``x_proj`` = W_ih x_t + b_ih (B, G*H)."""
        raise NotImplementedError  # pragma: no cover - each cell defines it

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_Cell[Tensor]):
    r"""Elman RNN cell.

    .. math::
        h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    Weights: ``ih.weight`` (H, I), ``hh.weight`` (H, H); biases (H,).
    State: ``h`` (B, H).
    """

    gates = 1

    def step(self, x_proj: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One time step of the Elman RNN.

        Args: ``x_proj`` = W_ih x_t + b_ih (B, H), already projected; ``h`` = h_{t-1} (B, H).
        Returns: ``(h_t, h_t)``: the output and the new state, both (B, H), where
        h_t = tanh(x_proj + W_hh h_{t-1} + b_hh) (``self.hh`` applies W_hh and b_hh).
        """
        # region exercise lab01.rnn_cell
        h_new = torch.tanh(x_proj + self.hh(h))  # (B, H)
        return h_new, h_new
        # endregion


class LSTMCell(_Cell[LSTMState]):
    r"""Long short-term memory cell (Hochreiter & Schmidhuber, 1997; forget gate of Gers et al.).

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t = o_t \odot \tanh(c_t)

    Gate order in the stacked weights: i, f, g, o (torch's). ``ih.weight`` (4H, I),
    ``hh.weight`` (4H, H). State: ``(h, c)``, each (B, H). The cell state's update is
    additive, so with f = 1 and i = 0 it carries c unchanged: the gradient path that does
    not vanish.
    """

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float | None = None) -> None:
        self.forget_bias = forget_bias
        super().__init__(input_size, hidden_size)

    def reset_parameters(self) -> None:
        """torch's init; with ``forget_bias`` set, the forget gate's total bias starts there
        instead (1.0 is Jozefowicz et al., 2015: start by remembering, so gradients flow
        through c from the first step)."""
        super().reset_parameters()
        if self.forget_bias is not None:
            H = self.hidden_size
            with torch.no_grad():
                self.ih.bias[H : 2 * H].fill_(self.forget_bias)
                self.hh.bias[H : 2 * H].zero_()

    def init_state(self, batch: int, like: Tensor) -> LSTMState:
        zeros = like.new_zeros(batch, self.hidden_size)
        return LSTMState(zeros, zeros.clone())

    def step(self, x_proj: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        """One time step of the LSTM.

        Args: ``x_proj`` = W_ih x_t + b_ih (B, 4H), already projected; ``state`` = (h_{t-1}, c_{t-1}), each (B, H).
        Returns: ``(h_t, LSTMState(h_t, c_t))``, each (B, H), where, with [i, f, g, o] the four
        (B, H) chunks of x_proj + W_hh h_{t-1} + b_hh in that order:
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g) and h_t = sigmoid(o) * tanh(c_t).
        """
        # region exercise lab02.lstm_cell
        h, c = state
        gates = x_proj + self.hh(h)  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        return h_new, LSTMState(h_new, c_new)
        # endregion


class GRUCell(_Cell[Tensor]):
    r"""Gated recurrent unit (Cho et al., 2014), in torch's convention.

    .. math::
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Note the reset gate multiplies the *projected* previous state including its bias
    (``r * (W_hn h + b_hn)``), as torch and cuDNN do, not ``W_hn (r * h)``.
    Gate order: r, z, n. ``ih.weight`` (3H, I), ``hh.weight`` (3H, H). State: ``h`` (B, H).
    """

    gates = 3

    def step(self, x_proj: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One time step of the GRU, in torch's convention.

        Args: ``x_proj`` = W_ih x_t + b_ih (B, 3H), chunks [x_r, x_z, x_n]; ``h`` = h_{t-1} (B, H).
        Returns: ``(h_t, h_t)``, both (B, H), where, with [h_r, h_z, h_n] the chunks of W_hh h + b_hh:
        r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z), n = tanh(x_n + r * h_n), h_t = (1 - z) * n + z * h.
        """
        # region exercise lab02.gru_cell
        x_r, x_z, x_n = x_proj.chunk(3, dim=1)
        h_r, h_z, h_n = self.hh(h).chunk(3, dim=1)  # each (B, H)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h_new = (1 - z) * n + z * h
        return h_new, h_new
        # endregion


@dataclass(frozen=True)
class ModelKind:
    """One kind of recurrent cell: its class and what the rest of rnnlab needs to know of it.

    Every list of cells is derived from ``MODEL_KINDS``: the CLI's ``--cell`` choices, the fast
    path's dispatch (a kind without a kernel runs the plain loop), the gates a trace reads, the
    timing tables (a kind without a fused baseline is timed without one), Lab 02's comparison and
    the report's names. A new kind is one ``_Cell`` subclass and one ``register_kind`` call."""

    name: str  # the key: ``--cell NAME``, ``CharLM(cell=NAME)``, a checkpoint's config
    cell: type[_Cell[Any]]
    label: str  # how tables, figures and talking points name it
    sigmoid_gates: tuple[str, ...] = ()  # the gates ``rnnlab.gates`` traces on real text; () = none traced
    # the names of the cell's stacked blocks of W_ih x + b_ih + W_hh h + b_hh, in order (where a traced
    # sigmoid gate is read from); () for a cell with no gates
    layout: tuple[str, ...] = ()
    kernel: str | None = None  # the module of its hand-written BPTT (rnnlab.fast.*), or None: the plain loop
    fused: str | None = None  # the torch.nn layer it is timed against ("LSTM"), or None
    exercise: str | None = None  # the exercise in which a learner writes its step (rnnlab.exercise)


MODEL_KINDS: dict[str, ModelKind] = {}
CELLS: dict[str, type[_Cell[Any]]] = {}  # name -> cell class, kept by ``register_kind``


def register_kind(kind: ModelKind) -> None:
    """Make ``kind`` a model kind everywhere (the CLI, ``CharLM``, the fast path, the harness)."""
    MODEL_KINDS[kind.name] = kind
    CELLS[kind.name] = kind.cell


def unregister_kind(name: str) -> None:
    MODEL_KINDS.pop(name, None)
    CELLS.pop(name, None)


for _kind in (
    ModelKind("rnn", RNNCell, "RNN", kernel="rnnlab.fast.rnn", fused="RNN", exercise="lab01.rnn_cell"),
    ModelKind(
        "lstm", LSTMCell, "LSTM", ("i", "f", "o"), ("i", "f", "g", "o"), "rnnlab.fast.lstm", "LSTM", "lab02.lstm_cell"
    ),
    ModelKind("gru", GRUCell, "GRU", ("r", "z"), ("r", "z", "n"), "rnnlab.fast.gru", "GRU", "lab02.gru_cell"),
):
    register_kind(_kind)


def make_cell(kind: str, input_size: int, hidden_size: int, forget_bias: float | None = None) -> _Cell[Any]:
    try:
        cls = CELLS[kind]
    except KeyError:
        raise ConfigError(f"unknown cell {kind!r}; choose one of {sorted(CELLS)}") from None
    if cls is LSTMCell:
        return LSTMCell(input_size, hidden_size, forget_bias=forget_bias)
    return cls(input_size, hidden_size)
