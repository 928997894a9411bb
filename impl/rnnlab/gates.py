"""What the gates do on real text (Karpathy, Johnson & Fei-Fei, "Visualizing and understanding
recurrent networks", 2015): each gate's activation at every character, how often each unit's
gate sits saturated, and which unit tracks a named property of the text.

The trace recomputes the gates from the cell's stacked weights in torch's layout (LSTM: i, f,
g, o; GRU: r, z, n) and checks that the hidden states it gets are the model's own, so a cell
whose ``step`` computes something else is named rather than misread.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnlab.cells import MODEL_KINDS
from rnnlab.device import model_device
from rnnlab.errors import ConfigError
from rnnlab.models.charlm import CharLM

GATES = {"lstm": ("i", "f", "g", "o", "c", "h"), "gru": ("r", "z", "n", "h")}  # trace entries, in order
# the gates whose saturation is read, by cell kind (from the registry; the trace below reads these two)
SIGMOID_GATES = {name: kind.sigmoid_gates for name, kind in MODEL_KINDS.items() if kind.sigmoid_gates}
NAMES = {"i": "input gate", "f": "forget gate", "o": "output gate", "r": "reset gate", "z": "update gate"}
LOW, HIGH = 0.1, 0.9  # a gate value below LOW is left-saturated (closed), above HIGH right-saturated (open)


@torch.no_grad()
def gate_trace(model: CharLM, ids: Tensor) -> dict[str, Tensor]:
    """Run the first layer of ``model`` over the 1-D id stream ``ids`` (N,) from a zero state and
    return every gate and state at every step: ``{name: (N, H)}`` with the names of ``GATES``.

    Raises ``ValueError`` for a model whose cell is not an LSTM or GRU, or whose hidden states
    differ from the ones recomputed from the weights (its step does not follow the layout)."""
    kind = model.config.cell
    if kind not in GATES:
        raise ConfigError(f"gate_trace reads the gates of an LSTM or GRU, not of a {kind!r} cell")
    cell = model.rnn.cell_at(0)
    x = ids.to(model_device(model))[None]
    x_proj = cell.ih(model.embedding(x))[0]  # (N, G*H)
    H = cell.hidden_size
    h = x_proj.new_zeros(H)
    c = x_proj.new_zeros(H)
    rows: list[tuple[Tensor, ...]] = []
    for t in range(x_proj.shape[0]):
        if kind == "lstm":
            i, f, g, o = (x_proj[t] + cell.hh(h)).chunk(4)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            rows.append((i, f, g, o, c, h))
        else:
            x_r, x_z, x_n = x_proj[t].chunk(3)
            h_r, h_z, h_n = cell.hh(h).chunk(3)
            r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
            h = (1 - z) * n + z * h
            rows.append((r, z, n, h))
    trace = {name: torch.stack(column).cpu() for name, column in zip(GATES[kind], zip(*rows, strict=True), strict=True)}
    outputs, _ = model.rnn(model.embedding(x))
    gap = float((outputs[0, :, :H].cpu() - trace["h"]).abs().max())
    if not gap <= 1e-4 * max(1.0, float(trace["h"].abs().max())):
        raise ConfigError(
            f"the model's {kind} cell does not follow torch's stacked-gate layout (its hidden states differ from "
            f"the gates recomputed from its weights by up to {gap:.3g}); gate_trace cannot read its gates"
        )
    return trace


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
