"""The curriculum: each exercise a learner writes (curriculum order, with what it depends on) and each topic of
reference code the specs check; the one list the README's tables, pytest's markers and ``status`` read."""

from __future__ import annotations

from dataclasses import dataclass

from rnnlab.errors import RnnlabError


@dataclass(frozen=True)
class Exercise:
    id: str  # region id, e.g. "lab02.lstm_cell"
    number: str  # "Lab 02.1"
    title: str
    task: str  # the equation or behaviour to implement
    spec: str  # the spec file that checks it
    depends: tuple[str, ...] = ()  # exercises whose code its specs also run

    @property
    def marker(self) -> str:
        return self.id.replace(".", "_")


# Curriculum order. `depends` is what a learner must have finished for this task's specs to run.
EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "lab01.rnn_cell",
        "Lab 01.1",
        "RNN cell",
        "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); step() gets x_proj = W_ih x_t + b_ih",
        "spec/lab01/test_rnn_cell.py",
    ),
    Exercise(
        "lab01.unroll",
        "Lab 01.2",
        "unrolling over time",
        "project all inputs once, loop t = 0..T-1 carrying the state, stack the outputs; a False mask step keeps the state",
        "spec/lab01/test_unroll.py",
        ("lab01.rnn_cell",),
    ),
    Exercise(
        "lab01.tbptt",
        "Lab 01.3",
        "truncated BPTT (detaching the carried state)",
        "return the state's values without their autograd history (Tensor.detach), for a tensor, an LSTMState "
        "(h, c) or a stack's tuple of them: rnnlab.recurrent.map_state reaches every tensor of a nested state",
        "spec/lab01/test_tbptt.py",
        ("lab01.rnn_cell", "lab01.unroll"),
    ),
    Exercise(
        "lab01.clipping",
        "Lab 01.4",
        "gradient clipping by global norm",
        "norm = sqrt(sum ||g||^2); if norm > max_norm scale every g by max_norm / (norm + 1e-6); return norm",
        "spec/lab01/test_clipping.py",
    ),
    Exercise(
        "lab01.perplexity",
        "Lab 01.5",
        "perplexity",
        "perplexity = exp(mean cross-entropy)",
        "spec/lab01/test_perplexity.py",
        ("lab01.rnn_cell", "lab01.unroll", "lab01.tbptt"),
    ),
    Exercise(
        "lab01.sampling",
        "Lab 01.6",
        "temperature sampling",
        "T = 0: argmax; T > 0: draw from softmax(logits / T) with the given generator",
        "spec/lab01/test_sampling.py",
        ("lab01.rnn_cell", "lab01.unroll"),
    ),
    Exercise(
        "lab02.lstm_cell",
        "Lab 02.1",
        "LSTM cell",
        "[i, f, g, o] = x_proj + W_hh h + b_hh; c_t = sigmoid(f) c + sigmoid(i) tanh(g); h_t = sigmoid(o) tanh(c_t)",
        "spec/lab02/test_lstm_cell.py",
        ("lab01.unroll", "lab01.rnn_cell"),
    ),
    Exercise(
        "lab02.gru_cell",
        "Lab 02.2",
        "GRU cell",
        "r, z = sigmoid(...); n = tanh(x_n + r * (W_hn h + b_hn)); h_t = (1 - z) n + z h",
        "spec/lab02/test_gru_cell.py",
        ("lab01.unroll", "lab01.rnn_cell"),
    ),
    Exercise(
        "lab02.grad_flow",
        "Lab 02.3",
        "gradient norms through time",
        "step the cell keeping every h_t, take L_T at the last step, autograd.grad w.r.t. every h_t, mean row norm",
        "spec/lab02/test_grad_flow.py",
        ("lab01.rnn_cell", "lab02.lstm_cell"),
    ),
    Exercise(
        "lab03.dates",
        "Lab 03.1",
        "rendering dates",
        "write each family's pieces with _Builder.add(text, field) so the year/month/day spans are recorded",
        "spec/lab03/test_dates.py",
    ),
    Exercise(
        "lab03.attention",
        "Lab 03.2",
        "attention",
        "masked softmax (-inf at padding); additive v^T tanh(W_s s + W_h h_j); dot s^T h_j (/ sqrt(D) if scaled)",
        "spec/lab03/test_attention.py",
    ),
    Exercise(
        "lab03.seq2seq",
        "Lab 03.3",
        "decoder step, teacher forcing, scheduled sampling",
        "context (fixed or attention) -> GRU on [emb; context] -> logits from [s; context; emb]; "
        "feed gold with probability = teacher-forcing ratio; the ratio decays linearly",
        "spec/lab03/test_seq2seq.py",
        ("lab01.rnn_cell", "lab01.unroll", "lab01.clipping", "lab02.gru_cell", "lab03.dates", "lab03.attention"),
    ),
)
BY_ID = {e.id: e for e in EXERCISES}


@dataclass(frozen=True)
class Topic:
    """A group of specs that checks reference code a learner does not write (no number: not an exercise)."""

    marker: str
    lab: str
    title: str
    spec: str
    code: str


TOPICS: tuple[Topic, ...] = (
    Topic("lab01_corpus", "lab01", "the corpus: fetch, verify, split", "spec/lab01/test_corpus.py", "data/text.py"),
    Topic("lab01_vocab", "lab01", "the character vocabulary", "spec/lab01/test_vocab.py", "data/text.py"),
    Topic(
        "lab01_charlm",
        "lab01",
        "the character LM end to end: train, checkpoint, load, sample, CLI",
        "spec/lab01/test_charlm.py",
        "models/charlm.py, training/lm.py, cli/commands.py",
    ),
    Topic(
        "lab02_layers",
        "lab02",
        "stacked and bidirectional layers, parity with nn.LSTM",
        "spec/lab02/test_layers.py",
        "recurrent.py",
    ),
    Topic(
        "lab02_context",
        "lab02",
        "how much of the past a model uses: loss against context length, what an earlier copy is worth",
        "spec/lab02/test_context.py",
        "metrics.py",
    ),
    Topic(
        "lab02_gates",
        "lab02",
        "what the gates do on real text: traces, saturation, a unit named by measurement",
        "spec/lab02/test_gates.py",
        "gates.py",
    ),
    Topic(
        "lab02_attention_lm",
        "lab02",
        "the bridge to transformers: a causal self-attention LM from tensor ops",
        "spec/lab02/test_attention_lm.py",
        "models/attention_lm.py",
    ),
    Topic(
        "lab02_fast",
        "lab02",
        "the fast path: hand-written BPTT equals the plain loop",
        "spec/lab02/test_fast_path.py",
        "fast/",
    ),
    Topic(
        "lab03_exposure",
        "lab03",
        "teacher forcing measured: accuracy fed the gold prefix against fed its own",
        "spec/lab03/test_exposure.py",
        "training/seq2seq.py",
    ),
    Topic(
        "lab03_beam",
        "lab03",
        "beam search: the k most probable prefixes kept at every step, against greedy decoding",
        "spec/lab03/test_beam.py",
        "models/seq2seq.py",
    ),
)


def marker_lines() -> list[str]:
    """pytest's marker descriptions for every spec group (registered by spec/conftest.py)."""
    return [f"{e.marker}: {e.number} — {e.title} (exercise)" for e in EXERCISES] + [
        f"{t.marker}: {t.lab.replace('lab', 'Lab ')} — {t.title} (reference code, not an exercise)" for t in TOPICS
    ]


class ExerciseError(RnnlabError, RuntimeError):
    """A learner's copy cannot be written, or its specs cannot run; the message says why and what to do."""
