"""Lab 01's truncated-BPTT talking point: what carrying the state was worth, measured on the trained model
(acceptance/runs.py: reset_losses) and rendered with its numbers (acceptance/sections/lab01.py)."""

import pytest
import torch

from acceptance import runs
from acceptance.record import Recorder
from acceptance.sections import lab01 as section
from rnnlab.metrics import evaluate_lm
from rnnlab.models import CharLM
from spec.harness.lab01_results import lab01_config, lab01_result

QUESTION = "What is truncated backpropagation through time?"


def test_the_reset_losses_read_the_carried_evaluations_targets_at_a_quarter_once_and_four_times_the_window():
    cfg = lab01_config()
    assert cfg.reset_windows == (2, 8, 32), cfg.reset_windows
    torch.manual_seed(0)
    model = CharLM(5, hidden_size=6, embedding_dim=3)
    ids = torch.randint(0, 5, (200,))
    got = runs.reset_losses(model, ids, cfg)
    assert got == {w: evaluate_lm(model, ids, rows=2, window=w, carry=False) for w in (2, 8, 32)}, got
    assert len(set(got.values())) == 3, f"a reset every 2, 8 and 32 characters gave equal losses: {got}"


def test_a_learners_copy_made_before_the_reset_is_not_measured_and_not_a_crash(monkeypatch):
    def old_evaluate_lm(model, ids, rows=16, window=256):  # the signature before `carry`
        raise AssertionError("an evaluate_lm without carry must not be called")

    monkeypatch.setattr(runs, "evaluate_lm", old_evaluate_lm)
    assert (
        runs.reset_losses(CharLM(5, hidden_size=6, embedding_dim=3), torch.randint(0, 5, (200,)), lab01_config()) == {}
    )


@pytest.mark.parametrize(
    "reset_loss, expected",
    [
        (
            {2: 2.0, 8: 1.8, 32: 1.6},
            [
                "carried through each row: 1.500 nats",
                "every 8 (the training window",
                ": 1.800 (+0.300, +20.0%)",
                "every 32: 1.600 (+0.100, +6.7%)",
            ],
        ),
        ({}, ["was not measured: this copy of rnnlab was made before"]),
    ],
    ids=["measured", "a copy made before"],
)
def test_the_talking_point_answers_first_then_gives_this_runs_numbers(reset_loss, expected):
    rec = Recorder()
    section.write(rec, lab01_result(reset_loss))
    (point,) = [p for p in rec.talking_points if p.question == QUESTION]
    assert "Williams and Peng, 1990" in point.answer
    assert "at most 7 steps back" in point.measured[0], point.measured
    said = " ".join(point.measured)
    for words in expected:
        assert words in said, f"{words!r} missing from {point.measured}"
    table = [t for t in rec.sections["lab01"].tables if t.title.startswith("What the carried state is worth")]
    assert len(table) == (1 if reset_loss else 0), "the table shows the measured resets, and only those"
