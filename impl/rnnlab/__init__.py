"""rnnlab: recurrent sequence models from scratch, with executable specifications.

The public API (the README's "Python API" section documents each name)::

    import rnnlab
    model = rnnlab.load("rnn.pt")                         # a trained model, ready to use
    text = rnnlab.sample(model, model.vocab, 200, temperature=0.8, prime="ROMEO:")
    lm = rnnlab.CharLM(vocab_size=65, cell="lstm", hidden_size=192)
    rnnlab.set_fast(lm)                                   # hand-written BPTT: the same function, faster
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name and the module it lives in. Imported on first use (PEP 562), so that
# `import rnnlab` and the learner's commands (`rnnlab exercise ...`) do not wait for torch.
_EXPORTS = {
    "CELLS": "rnnlab.cells",
    "GRUCell": "rnnlab.cells",
    "LSTMCell": "rnnlab.cells",
    "LSTMState": "rnnlab.cells",
    "RNNCell": "rnnlab.cells",
    "load": "rnnlab.checkpoint",
    "save": "rnnlab.checkpoint",
    "Vocab": "rnnlab.data",
    "set_fast": "rnnlab.fast",
    "CharLM": "rnnlab.models",
    "CharLMConfig": "rnnlab.models",
    "Seq2Seq": "rnnlab.models",
    "Seq2SeqConfig": "rnnlab.models",
    "translate": "rnnlab.models",
    "Recurrent": "rnnlab.recurrent",
    "sample": "rnnlab.sampling",
}

if TYPE_CHECKING:  # what type checkers and IDEs see
    from rnnlab.cells import CELLS, GRUCell, LSTMCell, LSTMState, RNNCell
    from rnnlab.checkpoint import load, save
    from rnnlab.data import Vocab
    from rnnlab.fast import set_fast
    from rnnlab.models import CharLM, CharLMConfig, Seq2Seq, Seq2SeqConfig, translate
    from rnnlab.recurrent import Recurrent
    from rnnlab.sampling import sample


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__version__ = "0.1.0"
__all__ = [
    "CELLS",
    "CharLM",
    "CharLMConfig",
    "GRUCell",
    "LSTMCell",
    "LSTMState",
    "RNNCell",
    "Recurrent",
    "Seq2Seq",
    "Seq2SeqConfig",
    "Vocab",
    "load",
    "sample",
    "save",
    "set_fast",
    "translate",
    "__version__",
]
