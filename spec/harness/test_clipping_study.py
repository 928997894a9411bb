"""The clipping study (acceptance/studies/clipping.py): Lab 01's RNN clipped and not, under Adam and plain SGD."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from acceptance.profiles import Lab01, Studies
from acceptance.studies.clipping import Clipping, ClipRun, arms, train_one, write
from rnnlab.data import Vocab, split_text
from rnnlab.training import TrainConfig


def test_adams_rates_are_multiples_of_lab01s_own():
    """One source of truth: the study's Adam runs read Lab 01's rate, so a new Lab 01 rate moves them too."""
    lab01 = replace(Lab01(), train=replace(Lab01().train, lr=2e-3))
    study = Studies(clip_adam_scales=(1.0, 10.0), clip_sgd_rates=(0.5, 3.0))
    assert arms(study, lab01) == [("adam", 2e-3), ("adam", 2e-2), ("sgd", 0.5), ("sgd", 3.0)]


@pytest.fixture
def tiny_corpus(tiny_text):
    vocab = Vocab.from_text(tiny_text)
    train, val = split_text(tiny_text)
    return {"vocab": vocab, "train_ids": vocab.encode(train), "val_ids": vocab.encode(val)}


def tiny_lab01() -> Lab01:
    return Lab01(
        hidden_size=16,
        embedding_dim=8,
        train=TrainConfig(steps=12, batch_size=4, seq_len=16, eval_points=2, eval_rows=2, warmup_steps=1),
    )


def test_an_unclipped_run_that_diverges_says_where_with_its_losses_up_to_there(tiny_corpus):
    """SGD at an absurd rate, not clipped, blows up: the run keeps its losses up to that step and ends with the loss
    that stopped it, and names the step, as numbers (not a traceback: one diverged seed is a result, not an error)."""
    run = train_one(tiny_lab01(), "sgd", 1e4, None, 0, tiny_corpus)
    assert run.val_loss is None and run.diverged_at is not None, f"SGD at 1e4 without clipping should diverge: {run}"
    assert len(run.train_loss) == run.diverged_at, "one training loss per step taken, the last the one that stopped it"
    assert not math.isfinite(run.train_loss[-1]) or run.train_loss[-1] > 10 * math.log(len(tiny_corpus["vocab"]))
    assert len(run.grad_norm) == run.diverged_at - 1, "the norms of the steps before the one that stopped it"


def test_a_run_that_finishes_keeps_its_final_validation_loss_and_every_norm(tiny_corpus):
    run = train_one(tiny_lab01(), "adam", 1e-2, 1.0, 0, tiny_corpus)
    assert run.diverged_at is None and run.val_loss is not None and math.isfinite(run.val_loss)
    assert len(run.train_loss) == len(run.grad_norm) == 12 and run.clip == 1.0


def _run(optimizer: str, lr: float, clip: float | None, seed: int, val: float | None, at: int | None) -> ClipRun:
    steps = at or 4
    return ClipRun(optimizer, lr, clip, seed, (3.0,) * steps, (0.5, 2.0, 0.7, 1.5)[: steps - (at is not None)], val, at)


def seed_0_but_sgd_unclipped() -> tuple[ClipRun, ...]:
    """Seed 0's Adam runs, clipped and not, and its clipped SGD run: what both section specs share."""
    return (
        _run("adam", 3e-3, 1.0, 0, 1.691, None),
        _run("adam", 3e-3, None, 0, 1.696, None),
        _run("sgd", 3.0, 1.0, 0, 1.825, None),
    )


def test_the_section_puts_each_arm_clipped_and_not_side_by_side_with_its_numbers():
    runs = (
        *seed_0_but_sgd_unclipped(),
        _run("sgd", 3.0, None, 0, None, 3),
        _run("adam", 3e-3, 1.0, 1, 1.701, None),
        _run("adam", 3e-3, None, 1, 1.700, None),
        _run("sgd", 3.0, 1.0, 1, 1.835, None),
        _run("sgd", 3.0, None, 1, 1.900, None),
    )
    from acceptance.record import Recorder

    rec = Recorder()
    write(rec, Clipping(1.0, 4, runs))
    (section,) = rec.sections.values()
    (table,) = section.tables
    assert [row[:3] for row in table.rows] == [
        ["Adam", "0.003", "at 1"],
        ["Adam", "0.003", "none"],
        ["SGD", "3", "at 1"],
        ["SGD", "3", "none"],
    ], "each optimiser and rate, clipped then not, in the order trained"
    sgd_free = table.rows[3]
    assert sgd_free[3] == "1.900" and sgd_free[4] == "1 of 2 (at step 3)", (
        "the loss over the seeds that finished, and which seeds diverged and where"
    )
    assert table.rows[0][3] == "1.696 ± 0.007", "mean ± sd over seeds"
    assert table.rows[0][5] == "2 of 4, 2 of 4" and table.rows[3][5] == "1 of 2, 2 of 4", (
        "per seed: the steps whose pre-clip norm exceeded the threshold, of the steps taken"
    )
    assert len(section.figures) == 1


def test_its_one_line_finding_gives_every_arm_clipped_and_not():
    """The line findings.json records and Lab 01's talking point quotes is generated from the runs, never typed."""
    from acceptance.studies.clipping import finding

    runs = (*seed_0_but_sgd_unclipped(), _run("sgd", 3.0, None, 0, None, 21))
    assert finding(Clipping(1.0, 1000, runs)) == (
        "final validation loss (nats) after 1000 steps, seed 0: Adam at 0.003, clipped 1.691, not clipped 1.696; SGD "
        "at 3, clipped 1.825, not clipped diverged in 1 of 1 (at step 21)"
    )
    two = runs + (_run("sgd", 3.0, None, 1, 1.9, None), _run("sgd", 3.0, None, 2, None, 30))
    assert "not clipped 1.900 over the 1 that finished, diverged in 2 of 3 (at steps 21, 30)" in finding(
        Clipping(1.0, 1000, two)
    ), "a seed that finished is reported beside those that diverged"
