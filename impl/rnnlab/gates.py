"""What the gates do on real text (Karpathy, Johnson & Fei-Fei, "Visualizing and understanding
recurrent networks", 2015): each gate's activation at every character, how often each unit's
gate sits saturated, and which unit tracks a named property of the text.

The trace steps the model's own cell and reads each sigmoid gate from the block the model-kind
registry places it in (``ModelKind.layout``: LSTM i, f, g, o; GRU r, z, n), so it restates no
cell's equations and works for any registered gated kind.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnlab.cells import MODEL_KINDS
from rnnlab.device import model_device
from rnnlab.errors import ConfigError
from rnnlab.models.charlm import CharLM

# the gates whose saturation is read, by built-in cell kind (the registry's, at import; gate_trace reads the
# registry itself, so a kind registered later is traced too)
SIGMOID_GATES = {name: kind.sigmoid_gates for name, kind in MODEL_KINDS.items() if kind.sigmoid_gates}
NAMES = {"i": "input gate", "f": "forget gate", "o": "output gate", "r": "reset gate", "z": "update gate"}
LOW, HIGH = 0.1, 0.9  # a gate value below LOW is left-saturated (closed), above HIGH right-saturated (open)


@torch.no_grad()
def gate_trace(model: CharLM, ids: Tensor) -> dict[str, Tensor]:
    """Run the first layer of ``model`` over the 1-D id stream ``ids`` (N,) from a zero state,
    step by step with the model's own cell, and return ``{name: (N, H)}``: each sigmoid gate the
    registry names for the cell (``ModelKind.sigmoid_gates``), then each part of the carried
    state (an LSTM's ``c``), then ``h``, the model's hidden state.

    The states are the cell's own; a gate is read where the registry's ``layout`` puts it, as the
    sigmoid of its block of ``W_ih x_t + b_ih + W_hh h_(t-1) + b_hh``. Nothing here restates a
    cell's equations, so a learner's copy traces its own cell. Raises ``ConfigError`` for a cell
    with no traced gates (a vanilla RNN has none)."""
    kind = MODEL_KINDS[model.config.cell]
    if not kind.sigmoid_gates:
        gated = [name for name, k in MODEL_KINDS.items() if k.sigmoid_gates]
        raise ConfigError(
            f"gate_trace reads the gates of a gated cell ({', '.join(gated)}), not of a {kind.name!r} cell"
        )
    cell = model.rnn.cell_at(0)
    x_proj = cell.ih(model.embedding(ids.to(model_device(model))[None]))[0]  # (N, G*H)
    state = cell.init_state(1, x_proj)
    rows: dict[str, list[Tensor]] = {}
    for t in range(x_proj.shape[0]):
        h_prev = state[0] if isinstance(state, tuple) else state
        blocks = (x_proj[t : t + 1] + cell.hh(h_prev)).chunk(len(kind.layout), dim=1)
        for gate in kind.sigmoid_gates:
            rows.setdefault(gate, []).append(torch.sigmoid(blocks[kind.layout.index(gate)])[0])
        out, state = cell.step(x_proj[t : t + 1], state)
        carried = state._asdict() if hasattr(state, "_asdict") else {}
        for name, value in carried.items():
            if name != "h":
                rows.setdefault(name, []).append(value[0])
        rows.setdefault("h", []).append(out[0])
    return {name: torch.stack(column).cpu() for name, column in rows.items()}


def saturation(acts: Tensor, low: float = LOW, high: float = HIGH) -> tuple[Tensor, Tensor]:
    """Per unit, the share of steps a gate spends left-saturated (< ``low``) and right-saturated
    (> ``high``): ``acts`` (N, H) -> two (H,) tensors of fractions."""
    return (acts < low).double().mean(0), (acts > high).double().mean(0)


def line_position(text: str) -> Tensor:
    """For each character, how many characters precede it on its line: 0 at a line's first
    character; a newline counts as the last character of the line it ends."""
    out, p = [], 0
    for ch in text:
        out.append(p)
        p = 0 if ch == "\n" else p + 1
    return torch.tensor(out)


def pearson(states: Tensor, feature: Tensor) -> Tensor:
    """Pearson correlation of every column of ``states`` (N, H) with ``feature`` (N,): (H,).
    A column (or feature) that never varies correlates 0."""
    a = states.double() - states.double().mean(0)
    f = feature.double() - feature.double().mean()
    denom = a.norm(dim=0) * f.norm()
    return torch.where(denom > 0, (a * f[:, None]).sum(0) / denom.clamp_min(1e-300), torch.zeros_like(denom))


class Tracking(NamedTuple):
    unit: int  # the unit whose state correlates most (in absolute value) with the feature
    chosen_on: float  # its correlation on the steps it was chosen on
    held_out: float  # its correlation on the other steps: the figure to quote


def tracking_unit(states: Tensor, feature: Tensor, select: int) -> Tracking:
    """The unit of ``states`` (N, H) that tracks ``feature`` (N,): chosen by |Pearson r| on the
    first ``select`` steps, scored on the rest, so the figure quoted is not the maximum of many
    chances on the same data."""
    if not 2 <= select <= states.shape[0] - 2:
        raise ConfigError(
            f"select must leave at least 2 steps on each side of the split, got {select} of {states.shape[0]}"
        )
    r = pearson(states[:select], feature[:select])
    unit = int(r.abs().argmax())
    held = pearson(states[select:, unit : unit + 1], feature[select:])
    return Tracking(unit, float(r[unit]), float(held[0]))
