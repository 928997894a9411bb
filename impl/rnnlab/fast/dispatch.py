"""Which cells have a fast path, and running a layer through it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from torch import Tensor, nn

from rnnlab.cells import CELLS, MODEL_KINDS, CellState, LSTMState, _Cell
from rnnlab.errors import ConfigError
from rnnlab.padding import lengths_to_mask

# The modules holding each built-in cell's hand-written Function, by cell name (from the
# registry, ``rnnlab.cells.MODEL_KINDS``). They spell out every cell's equations, so a learner's
# copy (``rnnlab exercise init``) leaves them out: there, a cell gets the reference's kernel only
# once ``rnnlab.fast.adopt`` has checked it equal to the learner's own cell and loop; until then,
# and otherwise, it runs the plain loop.
ModuleT = TypeVar("ModuleT", bound=nn.Module)

KERNEL_MODULES = {name: kind.kernel for name, kind in MODEL_KINDS.items() if kind.kernel}

# cell type -> its Function. Exact types: a subclass may change the equations, so it runs the plain loop.
_FUNCTIONS: dict[type[nn.Module], type[Any]] = {}
# The cell types of a learner's copy that run the reference's kernel (``rnnlab.fast.adopt``): each call is checked
# against the learner's own cell and loop where training goes (``adopt.agrees_here``).
ADOPTED: set[type[nn.Module]] = set()


def register(cell_type: type[nn.Module], function: type[Any]) -> None:
    """Run cells of exactly ``cell_type`` through ``function`` (an ``autograd.Function`` taking
    ``x, w_ih, b_ih, w_hh, b_hh`` and the state's tensors, returning every step's h, and for an
    (h, c) state every step's c too). Only for a Function proven equal to the cell's loop."""
    _FUNCTIONS[cell_type] = function


def kernel(name: str) -> type[Any] | None:
    """The hand-written Function of cell kind ``name``, or None: a kind without one (or a copy
    without its module) runs the plain loop."""
    found = MODEL_KINDS.get(name)
    if found is None or found.kernel is None:
        return None
    try:
        module = importlib.import_module(found.kernel)
    except ModuleNotFoundError as exc:
        if exc.name != found.kernel:  # the module is there but something it needs is not
            raise
        return None
    return getattr(module, "FUNCTION", None)


for _name in KERNEL_MODULES:
    _function = kernel(_name)
    if _function is not None:
        register(CELLS[_name], _function)


def function_for(cell_type: type) -> type[Any] | None:
    """The hand-written Function that runs cells of exactly ``cell_type``, or None (plain loop)."""
    function = _FUNCTIONS.get(cell_type)
    if function is None and cell_type in CELLS.values():  # a learner's copy: the reference's, if proven equal
        from rnnlab.fast.adopt import adopt

        function = adopt(cell_type)
    return function


def has_fast_path(cell: nn.Module) -> bool:
    """Whether ``cell`` is one of the built-in cells with a hand-written BPTT here."""
    return function_for(type(cell)) is not None


def set_fast(model: ModuleT, enabled: bool = True) -> ModuleT:
    """Turn the fast path on (or off) in every ``Recurrent`` stack inside ``model``; returns
    ``model``. A speed switch only: the weights and the function computed stay the same."""
    from rnnlab.recurrent import Recurrent  # here, not at the top: Recurrent runs its layers through this module

    for module in model.modules():
        if isinstance(module, Recurrent):
            module.fast = enabled
    return model


def _last(steps: Tensor, lengths: Tensor | None) -> Tensor:
    """The state after each row's last real step: steps (B, T, H) -> (B, H)."""
    if lengths is None:
        return steps[:, -1]
    index = (lengths.to(steps.device) - 1).view(-1, 1, 1).expand(-1, 1, steps.shape[2])
    return steps.gather(1, index).squeeze(1)


def fast_unroll(
    cell: _Cell[Any], x: Tensor, state: CellState | None = None, lengths: Tensor | None = None
) -> tuple[Tensor, CellState]:
    """``rnnlab.recurrent.unroll`` for the built-in cells, with hand-written BPTT (any other cell
    runs ``unroll`` itself).

    ``x`` (B, T, I) -> outputs (B, T, H) and the last state, as ``unroll``. ``lengths`` (B,)
    marks right-padded rows (``unroll``'s mask for a prefix): outputs after a row's end are
    zero and its state is the one after its last real step. Padding comes after every real
    step, so it never changes a real step's value and the full run can be cut afterwards.
    """
    if x.dim() != 3:
        raise ConfigError(f"fast_unroll: expected input of shape (batch, time, features), got {tuple(x.shape)}")
    B, T, _ = x.shape
    if T == 0:
        raise ConfigError("fast_unroll: the sequence is empty (time dimension 0)")
    function = function_for(type(cell))
    if function is not None and type(cell) in ADOPTED:  # a learner's cell run by the reference's kernel
        from rnnlab.fast.adopt import agrees_here

        if not agrees_here(cell, x, state, lengths, function):  # differs on this call's own states: as written
            function = None
    if function is None:  # a cell without a hand-written BPTT: the plain loop computes the same function
        from rnnlab.recurrent import unroll

        return unroll(cell, x, state, None if lengths is None else lengths_to_mask(lengths, T, x.device))
    return kernel_unroll(cell, x, state, lengths, function)


def kernel_unroll(
    cell: _Cell[Any], x: Tensor, state: CellState | None, lengths: Tensor | None, function: type[Any]
) -> tuple[Tensor, CellState]:
    """``fast_unroll`` through ``function`` (a hand-written Function for ``cell``'s type)."""
    B, T, _ = x.shape
    if state is None:
        state = cell.init_state(B, x)
    weights = (cell.ih.weight, cell.ih.bias, cell.hh.weight, cell.hh.bias)
    apply: Callable[..., Any] = function.apply
    new_state: CellState
    if isinstance(state, tuple):  # (h, c): the Function returns every step's h and c
        hs, cs = apply(x, *weights, *state)
        new_state = LSTMState(_last(hs, lengths), _last(cs, lengths))
    else:
        hs = apply(x, *weights, state)
        new_state = _last(hs, lengths)
    if lengths is not None:
        keep = lengths_to_mask(lengths, T, x.device)
        hs = hs * keep.unsqueeze(2)
    return hs, new_state
