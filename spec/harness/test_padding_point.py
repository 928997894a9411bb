"""Lab 03's "How do you batch sequences of different lengths?": the padding a batch carries, counted on the lab's
own training dates (acceptance/measures.py: padding_share; acceptance/runs.py: padding_shares) and rendered with
its numbers (acceptance/sections/lab03.py)."""

import random
from types import SimpleNamespace

import pytest

from acceptance import runs
from acceptance.measures import padding_share
from acceptance.profiles import Lab03
from acceptance.sections import lab03 as section
from acceptance.trained import Lab03Result
from rnnlab.data.dates import make_examples, split_dates
from rnnlab.training.seq2seq import length_batches

QUESTION = "How do you batch sequences of different lengths?"


def test_the_padding_share_is_the_padded_steps_over_all_the_steps_a_batch_runs():
    """Lengths 1, 2, 3 and 10 in batches {1, 10} and {2, 3}: the first runs 2 x 10 steps for 11 real ones, the
    second 2 x 3 for 5; 26 steps in all, 10 of them padding."""
    assert padding_share([1, 2, 3, 10], [[0, 3], [1, 2]]) == pytest.approx(10 / 26)
    assert padding_share([4, 4, 4], [[0, 1, 2]]) == 0.0, "equal lengths need no padding"


def test_the_lab_batches_by_length_and_pads_far_less_than_random_batches():
    examples = make_examples(split_dates(0)["train"][:2000], 640, seed=1)
    got = runs.padding_shares(examples, 64, seed=0)
    lengths = [len(e.source) for e in examples]
    assert got["by length"] == padding_share(lengths, length_batches(examples, 64, random.Random(0)))
    assert 0 <= got["by length"] < got["random"] / 4, f"batches of similar length must pad far less: {got}"


def _result(padding):
    cfg = Lab03()
    lengths = SimpleNamespace(test={"all": 1.0, "short": 1.0, "medium": 1.0, "long": 1.0}, beam=None)
    return Lab03Result(cfg, {(v, 0): lengths for v in cfg.variants}, None, None, [], [], 20000, padding=padding)


def test_the_talking_point_answers_first_then_gives_the_labs_own_padding():
    point = section.padding_point(_result({"random": 0.6512, "by length": 0.0213}))
    assert point is not None and point.question == QUESTION
    assert "Sutskever" in point.answer and "mask" in point.answer, point.answer
    said = " ".join(point.measured)
    for words in ("in random batches of 64, 65.1%", "by length (as Lab 03 trains), 2.1%", "2.8x"):
        assert words in said, f"{words!r} missing from {point.measured}"


def test_without_a_measurement_there_is_no_such_talking_point():
    assert section.padding_point(_result({})) is None
