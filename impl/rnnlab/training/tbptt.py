"""Truncated backpropagation through time over a contiguous character stream.

The training text is laid out as B contiguous rows (row b holds characters
[b * N, (b + 1) * N) of the stream). Window k of every row is characters
[k * T, k * T + T) of that row, with targets shifted by one. Consecutive windows of a row
are consecutive text, so the hidden state at the end of window k is the right starting
state for window k + 1: it is carried over, but *detached*, so backpropagation stops at
the window boundary (truncation) while the forward pass still remembers the past.
When a row runs out, the batcher wraps to the start and the state is reset.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from rnnlab.errors import ConfigError
from rnnlab.metrics import stream_rows


@dataclass
class Window:
    x: Tensor  # (B, T) input ids
    y: Tensor  # (B, T) target ids (x shifted by one)
    fresh: bool  # True when this window starts the rows anew: reset the state


class StreamBatcher:
    def __init__(self, ids: Tensor, batch_size: int, seq_len: int) -> None:
        if batch_size <= 0 or seq_len <= 0:
            raise ConfigError(f"batch_size and seq_len must be positive, got {batch_size}, {seq_len}")
        row_len = ids.numel() // batch_size
        if row_len < seq_len + 1:
            raise ConfigError(
                f"the training text ({ids.numel()} characters) is too short for batch_size "
                f"{batch_size} x seq_len {seq_len}: each row needs at least seq_len + 1 = "
                f"{seq_len + 1} characters. Use more text, a smaller batch or shorter windows."
            )
        self.data = stream_rows(ids, batch_size)  # (B, N)
        self.seq_len = seq_len
        self.windows_per_pass = (self.data.shape[1] - 1) // seq_len

    def window(self, step: int) -> Window:
        """The window used at training step ``step`` (0-based); deterministic, so a resumed
        run picks up exactly where it stopped."""
        k = step % self.windows_per_pass
        start = k * self.seq_len
        x = self.data[:, start : start + self.seq_len]
        y = self.data[:, start + 1 : start + 1 + self.seq_len]
        return Window(x, y, fresh=(k == 0))
