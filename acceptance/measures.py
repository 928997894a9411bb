"""How the harness measures: the definitions that its runs, its criteria and its report share.

Thresholds are not here: each lives beside the test that applies it (``acceptance/test_labNN.py``).
What is here says *what* a number is (a block of training steps, an effective context, a gap on
long inputs), so that the run that measures it, the criterion that judges it and the sentence
that reports it cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rnnlab.cells import MODEL_KINDS

if TYPE_CHECKING:
    from acceptance.trained import Lab02Result, Lab03Result, LMRun, Seq2SeqRun
    from rnnlab.training.seq2seq import Seq2SeqHistory

# --- names shown in the report ------------------------------------------------------------------


class _Labels(dict[str, str]):
    """Each model kind's label from the registry (``rnnlab.cells.MODEL_KINDS``), read when asked,
    so a kind registered after import is named too; entries set here name other models."""

    def __missing__(self, kind: str) -> str:
        return MODEL_KINDS[kind].label


NAMES = _Labels()  # "rnn" -> "RNN", ...
ATTENTION = "attention"  # the bridge's causal self-attention LM, beside Lab 02's recurrent models
# Read from the registry: the baseline every gated kind is compared with (the kind without gates), and the
# recurrent model the bridge times against the sequence length (the one timed against torch's nn.LSTM).
BASELINE = next(k for k, m in MODEL_KINDS.items() if not m.sigmoid_gates)
TIMED = next(k for k, m in MODEL_KINDS.items() if m.fused == "LSTM")
# The two gated kinds the lab's own talking points are about ("Walk through the LSTM gates", "When does a GRU match
# an LSTM?"), found in the registry by the torch layer each is checked against.
LSTM = TIMED
GRU = next(k for k, m in MODEL_KINDS.items() if m.fused == "GRU")
LM_NAMES = _Labels({ATTENTION: "Attention"})  # the bridge's models: Lab 02's and the attention LM
SEQ2SEQ_NAMES = {
    "none": "baseline (no attention)",
    "bahdanau": "Bahdanau (additive)",
    "luong": "Luong (general)",
    "luong_dot": "Luong (dot, directions summed)",
}
CONTINUED = "baseline, continued past the budget"
FORCED = "Bahdanau, teacher forcing always on"
SCHEDULED = "Bahdanau, scheduled sampling"
NEVER = "Bahdanau, never teacher-forced"

# --- Lab 01 ---------------------------------------------------------------------------------------

BLOCKS = 20  # the training loss is judged averaged over this many consecutive blocks of steps
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def block_means(values: list[float], blocks: int = BLOCKS) -> list[float]:
    size = len(values) // blocks
    return [sum(values[i * size : (i + 1) * size]) / size for i in range(blocks)]


def words(text: str) -> list[str]:
    """Lower-cased words: runs of letters, with an inner apostrophe allowed (o'er, 'tis -> tis)."""
    return [w.lower() for w in _WORD.findall(text)]


def known_word_share(text: str, vocabulary: set[str]) -> float:
    """The share of the words in ``text`` that occur in ``vocabulary`` (0.0 for no words)."""
    found = words(text)
    if not found:
        return 0.0
    return sum(w in vocabulary for w in found) / len(found)


# --- Lab 02 ---------------------------------------------------------------------------------------

# The seed write-up's claim, quoted beside what we measure (its budget is not stated).
SEED_CLAIMED_REDUCTION = 38.0  # % perplexity reduction of the LSTM over the vanilla RNN
# Effective context: the shortest L whose loss is within this share of the loss at the longest L.
CONTEXT_TOLERANCE = 0.01
GRAD_DISTANCE = 50  # steps back at which gradient flow through time is compared
SNIPPET = 300  # characters of held-out text the tracking unit is drawn over


def relative(profile: list[float], distance: int) -> float:
    """||dL_T/dh_(T-distance)|| over ||dL_T/dh_T||."""
    return profile[distance] / profile[0]


def reduction(baseline: float, ours: float) -> float:
    """How much lower ``ours`` is than ``baseline`` (a perplexity), in % of the baseline's: the one formula every
    comparison of Lab 02 uses."""
    return 100 * (baseline - ours) / baseline


def lead(runs: Mapping[str, LMRun]) -> dict[str, float]:
    """Each gated model's perplexity reduction over the RNN (%), at equal compute."""
    return {k: reduction(runs[BASELINE].ppl, r.ppl) for k, r in runs.items() if MODEL_KINDS[k].sigmoid_gates}


def width_lead(result: Lab02Result) -> dict[str, float]:
    """Each gated model's perplexity reduction over the RNN of its own width (%)."""
    return {k: reduction(rnn.ppl, result.runs[k].ppl) for k, rnn in result.width.items()}


# --- Lab 03 ---------------------------------------------------------------------------------------

FIELD_POSITIONS = {"year": range(0, 4), "month": range(5, 7), "day": range(8, 10)}  # in YYYY-MM-DD
CATCH_UP_MARGINS = (15.0, 5.0)  # points: where the baseline comes within lab03.gap_long's gap, and closer


def padding_share(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """The share of the steps a recurrent encoder runs over ``batches`` (lists of indices into ``lengths``) that
    are padding: each batch runs its longest length for every row."""
    steps = sum(len(b) * max(lengths[i] for i in b) for b in batches if b)
    real = sum(lengths[i] for b in batches for i in b)
    return (steps - real) / steps if steps else 0.0


def gaps(result: Lab03Result) -> list[float]:
    """Bahdanau minus the baseline on long test inputs, in points, per seed."""
    cfg, runs = result.cfg, result.runs
    return [100 * (runs[("bahdanau", s)].test["long"] - runs[("none", s)].test["long"]) for s in cfg.seeds]


def catch_up(
    runs: dict[tuple[str, int], Seq2SeqRun], first: int
) -> tuple[float, Seq2SeqHistory, dict[float, tuple[int, float]]]:
    """(Bahdanau's long %, the baseline's history, {margin: (step, baseline long %)}) for the first
    evaluation where the baseline's long-input validation accuracy comes within each of
    ``CATCH_UP_MARGINS`` of Bahdanau's at the end of the budget."""
    att = 100 * runs[("bahdanau", first)].history.val_accuracy[-1]["long"]
    base = runs[("none", first)]
    history = base.continued or base.history
    found: dict[float, tuple[int, float]] = {}
    for step, acc in zip(history.eval_step, history.val_accuracy, strict=True):
        for within in CATCH_UP_MARGINS:
            if within not in found and att - 100 * acc["long"] < within:
                found[within] = (step, 100 * acc["long"])
    return att, history, found


def exposure(history: Seq2SeqHistory, bucket: str = "all") -> list[float]:
    """Per evaluation, validation character accuracy fed the gold prefix minus fed its own (points)."""
    return [100 * (e["forced"][bucket] - e["free"][bucket]) for e in history.val_exposure]


def exposure_runs(result: Lab03Result) -> dict[str, Seq2SeqRun]:
    """The Bahdanau runs that differ only in teacher forcing: scheduled, always on, never (those trained)."""
    runs = {
        SCHEDULED: result.runs[("bahdanau", result.cfg.seeds[0])],
        FORCED: result.forced,
        NEVER: result.never,
    }
    return {name: r for name, r in runs.items() if r is not None}
