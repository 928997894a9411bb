"""What the acceptance runs return (acceptance/runs.py), typed: the criteria (acceptance/test_labNN.py) judge
these and the sections (acceptance/sections/) report them, so a field's name and type are checked by mypy
wherever it is read (issue #33), not looked up by a string.

Every class here is a plain record of one lab's (or one model's) measured results; nothing here measures or
decides anything. Models ride along where a later measurement needs them (the gates, the bridge's context).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from torch import Tensor

    from acceptance.profiles import Bridge, Lab01, Lab02, Lab03, Recall
    from rnnlab.data import Vocab
    from rnnlab.data.dates import Example
    from rnnlab.data.recall import RecallVocab
    from rnnlab.gates import Tracking
    from rnnlab.models import CharLM
    from rnnlab.models.attention_lm import AttentionLM
    from rnnlab.models.seq2seq import Seq2Seq
    from rnnlab.training import TrainConfig
    from rnnlab.training.lm import History
    from rnnlab.training.recall import RecallHistory
    from rnnlab.training.seq2seq import Seq2SeqHistory

BenchKey = tuple[str, int, str]  # (model kind, hidden size, implementation or "floor")
Snapshot = dict[str, Any]  # a training loop's checkpoint snapshot (rnnlab.training.loop), to resume from


class Corpus(TypedDict):
    """Tiny Shakespeare as the labs read it (acceptance/harness.py: ``corpus``), split 90/10."""

    text: str
    train: str
    val: str
    vocab: Vocab
    train_ids: Tensor
    val_ids: Tensor


# --- Lab 01 -------------------------------------------------------------------------------------------------


@dataclass
class Lab01Result:
    cfg: Lab01
    history: History
    checkpoint: Path
    params: int
    samples: dict[float, str]  # temperature -> generated text
    untrained_share: float  # share of generated words found in the training text, before training (T = 0.8)
    trained_share: float  # the same after training
    untrained_sample: str
    shares: dict[float, float]  # temperature -> share of known words
    sampling_rate: float  # characters per second
    val_chars: int
    # window W -> validation loss (nats) with the state reset every W characters (the same targets as the carried
    # evaluation); {} where a learner's copy predates ``evaluate_lm(carry=...)``
    reset_loss: dict[int, float]
    # order n -> validation loss (nats) of an interpolated Kneser-Ney n-gram counted on the training text, on the
    # targets of the RNN's own validation loss (acceptance/ngram.py)
    ngram: dict[int, float]
    vocab_size: int
    profile: str  # the profile's name: which budget's recorded findings (findings.json) its talking points quote


# --- Lab 02 -------------------------------------------------------------------------------------------------


@dataclass
class GateStudy:
    """A trained gated model's gates over validation text (acceptance/runs.py: gate_study)."""

    state: str  # "c" where the kind carries a memory cell, else "h"
    found: Tracking  # the unit that tracks the position in the line
    saturation: dict[str, tuple[list[float], list[float]]]  # gate -> per unit, share left- and right-saturated
    units: int
    snippet: str
    unit_values: list[float]
    feature: list[float]


@dataclass
class LMRun:
    """One character LM of Lab 02 trained at its kind's rate: what every such run measures."""

    kind: str
    hidden: int
    lr: float
    params: int
    history: History
    checkpoint: Path | None  # None for a study's model, not saved
    ppl: float


@dataclass
class StudiedRun(LMRun):
    """A model of Lab 02's equal-compute comparison: also what Lab 02 measures of it beside its perplexity."""

    model: CharLM | None = None
    grad_init: list[float] = field(default_factory=list)  # mean ||dL_T/dh_t|| by distance back, untrained
    grad_trained: list[float] = field(default_factory=list)  # the same after training
    context: dict[int, float] = field(default_factory=dict)  # loss given only the last L characters
    reach: int = 0  # effective context, characters
    gates: GateStudy | None = None  # the kinds with sigmoid gates


@dataclass
class AttentionRun:
    """The bridge's causal self-attention LM trained on Lab 02's characters and budget."""

    params: int
    history: History
    model: AttentionLM | None
    ppl: float
    context: dict[int, float]
    reach: int
    window: int


@dataclass
class Lab02Result:
    cfg: Lab02
    profile: str
    runs: dict[str, StudiedRun]  # kind -> the equal-compute model
    width: dict[str, LMRun]  # gated kind -> a vanilla RNN of its hidden size
    bench: dict[BenchKey, float]  # seconds per training step
    memory: dict[BenchKey, float]  # MiB added at the peak of a training step
    attention: AttentionRun | None = None  # trained beside the runs where the session runs the bridge
    # order n -> validation loss (nats) of the Kneser-Ney n-gram on the models' own validation targets (as Lab 01's
    # ``ngram``): the counting baseline the Perplexity table ends with; {} where not counted
    ngram: dict[int, float] = field(default_factory=dict)


# --- Lab 03 -------------------------------------------------------------------------------------------------


@dataclass
class Seq2SeqRun:
    model: Seq2Seq
    history: Seq2SeqHistory
    checkpoint: Path
    params: int
    test: dict[str, float]  # exact match by length bucket ("all", "short", "long", ...)
    test_exposure: dict[str, dict[str, float]]  # "forced" / "free" -> character accuracy by bucket
    curve: tuple[list[float], list[float]]  # accuracy against the input length
    alignment: float | None = None  # attention's argmax in the right field (attention variants, first seed)
    # exact match by length bucket decoded with beam search (Lab03.beam prefixes; the first seed's runs), None where
    # not measured (other runs, or a learner's copy made before translate took a beam)
    beam: dict[str, float] | None = None
    continued: Seq2SeqHistory | None = None  # the first seed's baseline trained on past the budget
    snapshot: Snapshot | None = None  # where that continuation resumes (cleared once it is queued)


@dataclass
class Lab03Result:
    cfg: Lab03
    runs: dict[tuple[str, int], Seq2SeqRun]  # (variant, seed) -> run
    forced: Seq2SeqRun | None  # the first seed's Bahdanau model with teacher forcing always on
    never: Seq2SeqRun | None  # and never
    test: list[Example]
    long_test: list[Example]
    train_size: int
    # one pass over the training dates: the share of the encoder's steps that are padding, in batches drawn at random
    # ("random") and grouped by length as the lab trains ("by length"); {} where not measured
    padding: dict[str, float] = field(default_factory=dict)


# --- the bridge ---------------------------------------------------------------------------------------------


@dataclass
class BridgeResult:
    growth: dict[str, float]  # kind -> one training step's time at the longest T over the shortest
    depth: dict[tuple[str, int], int]  # (kind, T) -> dependent operations in one forward pass
    cfg: Bridge
    train: TrainConfig
    run: AttentionRun | None  # None where the profile does not train the attention LM
    window: int
    lab02: Lab02Result
    timing: dict[tuple[str, int], float]  # (kind, T) -> seconds per training step
    device: str
    dropout: float
    profile: str


# --- multi-query associative recall -------------------------------------------------------------------------


@dataclass
class RecallRun:
    params: int
    hidden: int
    lr: float
    history: RecallHistory
    by_pairs: dict[int, float]  # answers right by number of pairs, at the end
    by_distance: dict[int, float]  # answers right by how far back the queried key stands


@dataclass
class RecallResult:
    cfg: Recall
    runs: dict[str, RecallRun]  # kind (or "attention") -> run
    budget: int
    vocab: RecallVocab
