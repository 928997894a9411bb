"""rnnlab: recurrent sequence models from scratch, with executable specifications.

The public API (the README's "Python API" section documents each name)::

    import rnnlab
    model = rnnlab.load("rnn.pt")                         # a trained model, ready to use
    text = rnnlab.sample(model, model.vocab, 200, temperature=0.8, prime="ROMEO:")
    lm = rnnlab.CharLM(vocab_size=65, cell="lstm", hidden_size=192)
    rnnlab.set_fast(lm)                                   # hand-written BPTT: the same function, faster
"""

from rnnlab.cells import CELLS, GRUCell, LSTMCell, LSTMState, RNNCell
from rnnlab.checkpoint import load, save
from rnnlab.data import Vocab
from rnnlab.fast import set_fast
from rnnlab.models import CharLM, CharLMConfig, Seq2Seq, Seq2SeqConfig, translate
from rnnlab.recurrent import Recurrent
from rnnlab.sampling import sample

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
