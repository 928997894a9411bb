"""Unrolling a cell over time: the explicit loop, layers, and directions.

The loop is written out — no fused recurrent module — so that the hidden state's path through time is
visible: ``state`` goes in at t = 0, each step reads it and hands on a new one, and the last
one comes back to the caller (who may carry it into the next window; see
``rnnlab.training.tbptt``).

Shapes: B batch, T time, I input features, H hidden size, D directions (1 or 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar, cast

import torch
from torch import Tensor, nn

from rnnlab.cells import CellState, _Cell, make_cell
from rnnlab.errors import ConfigError
from rnnlab.fast import fast_unroll
from rnnlab.padding import lengths_to_mask

# A state: one cell's (a tensor h, or an LSTMState (h, c)), a stack's (a tuple of cell states,
# one per layer and direction), or None (start from zeros).
StackState = tuple[CellState, ...]
State: TypeAlias = Tensor | tuple["State", ...] | None
StateT = TypeVar("StateT", bound=State)


def map_state(fn: Callable[..., Tensor], *states: StateT) -> StateT:
    """Apply ``fn`` tensor by tensor to one or more states of the same structure: a tensor,
    ``None``, or a (named) tuple of states, nested to any depth (a stack's state is a tuple of
    cell states). ``map_state(torch.where-like, a, b)`` pairs the tensors of ``a`` and ``b``."""
    first = states[0]
    if first is None:
        return first
    if isinstance(first, Tensor):
        return cast(StateT, fn(*states))
    groups = zip(*cast(tuple[tuple[State, ...], ...], states), strict=True)
    parts = [map_state(fn, *group) for group in groups]
    return cast(StateT, type(first)(*parts) if hasattr(first, "_fields") else type(first)(parts))


def move_state(state: StateT, device: torch.device | str) -> StateT:
    """``state`` with every tensor on ``device`` (a checkpoint's carried state, say)."""
    return map_state(lambda t: t.to(device), state)


def _where(mask: Tensor, new: CellState, old: CellState) -> CellState:
    return map_state(lambda n, o: torch.where(mask, n, o), new, old)


def unroll(
    cell: _Cell[Any], x: Tensor, state: CellState | None = None, mask: Tensor | None = None
) -> tuple[Tensor, CellState]:
    """Run ``cell`` over ``x`` (B, T, I) from ``state``; return outputs (B, T, H) and the last state.

    Args: ``cell`` (its ``ih`` projects inputs, ``step(x_proj_t, state)`` returns (h_t, new state),
    ``init_state(B, x)`` gives zeros); ``x`` (B, T, I); ``state``: the cell's state, or None for zeros;
    ``mask`` (B, T) bool or None.
    Returns: ``(outputs, last_state)``: outputs (B, T, H) stacking every h_t, and the state after step T.
    Rule: project all T inputs with one ``cell.ih(x)``, then loop t = 0..T-1 carrying the state.
    With ``mask``, a False step leaves the state unchanged and outputs zeros, so right-padded
    sequences of different lengths end with the state of their last real step.
    """
    if x.dim() != 3:
        raise ConfigError(f"unroll: expected input of shape (batch, time, features), got {tuple(x.shape)}")
    B, T, _ = x.shape
    if T == 0:
        raise ConfigError("unroll: the sequence is empty (time dimension 0)")
    # region exercise lab01.unroll
    if state is None:
        state = cell.init_state(B, x)
    x_proj = cell.ih(x)  # (B, T, G*H): one matmul for every step's input projection
    outputs = []
    for t in range(T):
        h, new_state = cell.step(x_proj[:, t], state)  # (B, H)
        if mask is not None:
            keep = mask[:, t].unsqueeze(1)  # (B, 1)
            new_state = _where(keep, new_state, state)
            h = h * keep
        state = new_state
        outputs.append(h)
    return torch.stack(outputs, dim=1), state
    # endregion


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row's first ``lengths[b]`` steps in place, leaving the padding after them.
    Its own inverse."""
    B, T = x.shape[:2]
    t = torch.arange(T, device=x.device).unsqueeze(0)  # (1, T)
    lengths = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (B, T)
    if x.dim() == 3:
        index = index.unsqueeze(2).expand(-1, -1, x.shape[2])
    return x.gather(1, index)


def detach_state(state: StateT) -> StateT:
    """Cut the autograd graph behind a (possibly nested) state, keeping its values.

    Args: ``state``: None, a tensor, an ``LSTMState`` (h, c), or a stack's tuple of those.
    Returns: the same structure with every tensor ``.detach()``-ed (None stays None), so the
    next window's backward pass stops here: truncated BPTT. ``map_state`` reaches every tensor.
    """
    # region exercise lab01.tbptt
    return map_state(Tensor.detach, state)  # every tensor of the nesting (see map_state), detached
    # endregion


class Recurrent(nn.Module):
    """A stack of ``num_layers`` cells, optionally bidirectional, with dropout between layers.

    Layer l > 0 reads the (concatenated, if bidirectional) outputs of layer l - 1.
    The backward direction runs the cell over the time-reversed sequence and reverses its
    outputs back, so ``outputs[:, t]`` always lines up with input ``t``.

    ``forward(x (B, T, I), state=None) -> (outputs (B, T, D*H), state)``, where ``state`` is a
    tuple with one cell state per (layer, direction), in the order layer-major, forward first
    (torch's ``h_n`` order).

    ``fast=True`` runs the built-in cells through ``rnnlab.fast`` (hand-written BPTT, the same
    function to rounding; the labs train with it); ``False`` runs the plain loop ``unroll``,
    the one learners write. It is a switch of speed, not of the model: not saved with it.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        forget_bias: float | None = None,
        fast: bool = False,
    ) -> None:
        super().__init__()
        self.fast = fast
        if num_layers < 1:
            raise ConfigError(f"Recurrent: num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"Recurrent: dropout must lie in [0, 1), got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.cells = nn.ModuleList()
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * self.num_directions
            for _ in range(self.num_directions):
                self.cells.append(make_cell(cell, layer_in, hidden_size, forget_bias))

    def cell_at(self, layer: int, direction: int = 0) -> _Cell[Any]:
        return cast(_Cell[Any], self.cells[layer * self.num_directions + direction])

    def forward(
        self, x: Tensor, state: StackState | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, StackState]:
        """``lengths`` (B,) marks right-padded sequences: the padding never reaches the state,
        and the backward direction starts at each row's last real step."""
        mask = None
        if lengths is not None:
            mask = lengths_to_mask(lengths, x.shape[1], x.device)
        if state is not None and len(state) != len(self.cells):
            raise ConfigError(
                f"Recurrent: expected a state with {len(self.cells)} entries (layers x directions), got {len(state)}"
            )
        new_state: list[CellState] = []
        layer_input = x
        for layer in range(self.num_layers):
            if layer > 0:
                layer_input = self.dropout(layer_input)
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                cell_state = None if state is None else state[index]
                cell = self.cell_at(layer, direction)
                out, last = self._direction(cell, layer_input, cell_state, lengths, mask, direction)
                outputs.append(out)
                new_state.append(last)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
        return layer_input, tuple(new_state)

    def _direction(
        self,
        cell: _Cell[Any],
        x: Tensor,
        state: CellState | None,
        lengths: Tensor | None,
        mask: Tensor | None,
        direction: int,
    ) -> tuple[Tensor, CellState]:
        """One cell over the sequence, forward (direction 0) or reversed and flipped back."""

        def run(inputs: Tensor) -> tuple[Tensor, CellState]:
            if self.fast:
                return fast_unroll(cell, inputs, state, lengths)
            return unroll(cell, inputs, state, mask)

        if direction == 0:
            return run(x)
        if lengths is None:
            out, last = run(x.flip(1))
            return out.flip(1), last
        out, last = run(reverse_padded(x, lengths))
        return reverse_padded(out, lengths), last
