"""Multi-query associative recall (Arora et al. 2023, "Zoology", ``zoology/data/multiquery_ar.py``):
the long-range half of "why did transformers replace RNNs?", measurable on a CPU.

A sequence lists N key-value pairs, then asks for every key again, in another order, each query
followed by a blank (id 0)::

    k1 v1 k2 v2 ... kN vN | q1 _ q2 _ ... qN _        (q_j is some k_i; the target at q_j is its v_i)

The answers are targets, never inputs (as in Zoology, where the queries stand among zeros). Were
each answer shown after its query, the j-th of N queries could be answered by elimination (a value
of the sequence not yet given), right 1 / (N - j) of the time with no recall: a first pilot's
attention LM learnt exactly that, and plateaued at 52-56% on 4 pairs (25%, 33%, 50%, 98% by query).

Keys and values come from disjoint halves of a small vocabulary, and every sequence pairs them
afresh, so nothing can be memorised across sequences: at each query the model must find that key
earlier in the sequence and copy the value beside it. The loss and the accuracy count the answers
only (the target at a query's position is its value; every other position is ``IGNORE``). A model
that reads any earlier position directly (attention) can do this at any N; one that must carry
every pair in a fixed-size state (a recurrence) runs out of room as N grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnlab.checks import require_positive_ints
from rnnlab.errors import ConfigError

BLANK = 0  # the id after each query, where its answer would stand: never a key or a value
IGNORE = -100  # the target of every position that is not a query (F.cross_entropy's ignore_index)


@dataclass(frozen=True)
class RecallVocab:
    keys: int = 32  # the key half of the vocabulary: ids 1 .. keys
    values: int = 32  # the value half: ids keys + 1 .. keys + values (id 0 is never drawn)

    def __post_init__(self) -> None:
        require_positive_ints("RecallVocab", keys=self.keys, values=self.values)

    @property
    def size(self) -> int:
        return 1 + self.keys + self.values


@dataclass(frozen=True)
class RecallBatch:
    inputs: Tensor  # (B, 4N) ids
    targets: Tensor  # (B, 4N): the answer at each query's position, IGNORE elsewhere
    distance: Tensor  # (B, 4N): how many positions back the queried key stands (0 where no query)


def recall_batch(pairs: int, batch: int, vocab: RecallVocab, generator: torch.Generator) -> RecallBatch:
    """``batch`` sequences of ``pairs`` key-value pairs and ``pairs`` queries (every key once, in
    a random order), drawn with ``generator``."""
    require_positive_ints("recall_batch", pairs=pairs, batch=batch)
    if pairs > vocab.keys:
        raise ConfigError(f"recall_batch: {pairs} pairs need {pairs} distinct keys; the vocabulary has {vocab.keys}")
    keys = 1 + torch.argsort(torch.rand(batch, vocab.keys, generator=generator), dim=1)[:, :pairs]  # distinct
    values = 1 + vocab.keys + torch.randint(0, vocab.values, (batch, pairs), generator=generator)
    order = torch.argsort(torch.rand(batch, pairs, generator=generator), dim=1)  # which pair each query asks
    asked, answers = keys.gather(1, order), values.gather(1, order)
    blanks = torch.full_like(answers, BLANK)
    inputs = torch.stack((torch.cat((keys, asked), 1), torch.cat((values, blanks), 1)), dim=2).reshape(batch, -1)
    targets = torch.full_like(inputs, IGNORE)
    at = 2 * pairs + 2 * torch.arange(pairs)  # each query's position
    targets[:, at] = answers
    distance = torch.zeros_like(inputs)
    distance[:, at] = at - 2 * order  # the queried key stands at 2 * (its pair's index)
    return RecallBatch(inputs, targets, distance)
