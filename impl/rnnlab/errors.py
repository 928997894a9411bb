"""rnnlab's own errors: a refusal it means, with a message that names the problem and the fix.

The CLI prints an ``RnnlabError`` as one line (``rnnlab: error: ...``, exit status 2); any other
exception is a bug in rnnlab, reported as one (``RNNLAB_DEBUG=1`` shows its traceback). Each
subclass also derives from the built-in error a caller would catch (``ValueError`` for a value,
``RuntimeError`` for a file or a run), so library users need not know these names.
"""

from __future__ import annotations


class RnnlabError(Exception):
    """Something rnnlab refuses on purpose; its message says what is wrong and what to do."""


class ConfigError(RnnlabError, ValueError):
    """A value a config, model or function refuses (a size, a rate, a shape, a name)."""


class DivergedError(RnnlabError, FloatingPointError):
    """Training produced a loss that is not finite; the message says where the last good state is. ``step`` (1-based)
    and ``loss`` say the same as numbers, where the run that stopped knows them."""

    def __init__(self, message: str, step: int | None = None, loss: float | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.loss = loss


class ModelOverflowError(RnnlabError, FloatingPointError):
    """A model whose weights are finite computes infinities or NaN (values too large for its dtype)."""
