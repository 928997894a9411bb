"""Lab 03 — teacher forcing, measured: what the model predicts when fed the gold previous
characters (as in training with teacher forcing) against what it predicts fed its own (as at
test time). The difference is exposure bias."""

import pytest
import torch

from rnnlab.data.dates import INPUT_ALPHABET, Example, make_examples, split_dates
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.training.seq2seq import (
    Seq2SeqTrainConfig,
    char_accuracy_by_bucket,
    exposure_by_bucket,
    score_by_bucket,
    teacher_forced_predictions,
    train_seq2seq,
)

pytestmark = [pytest.mark.lab03, pytest.mark.lab03_exposure]


@pytest.fixture(scope="module")
def examples():
    return make_examples(split_dates(0)["train"][:200], 24, seed=4)


def _model(seed=0):
    torch.manual_seed(seed)
    return Seq2Seq.from_config(
        Seq2SeqConfig(INPUT_ALPHABET, attention="bahdanau", hidden_size=12, embedding_dim=6, attention_dim=8)
    )


def test_teacher_forced_predictions_read_the_gold_prefix(examples):
    """Position t's prediction is the argmax of the logits computed after feeding the gold
    characters 0..t-1, cut at the first end-of-sequence, as a string."""
    model = _model()
    got = teacher_forced_predictions(model, examples, batch_size=7)
    src, lengths = model.encode_sources([e.source for e in examples])
    gold = model.encode_targets([e.target for e in examples])
    with torch.no_grad():
        logits = model(src, lengths, gold, teacher_forcing=1.0)
    assert got == model.decode_targets(logits.argmax(-1))


def test_a_decoder_deaf_to_its_previous_character_has_no_exposure_bias(examples):
    """With the previous character's embedding zeroed, what is fed back cannot matter: teacher-
    forced and free-running predictions must agree exactly."""
    model = _model(1)
    with torch.no_grad():
        model.tgt_embedding.weight.zero_()
    src, lengths = model.encode_sources([e.source for e in examples])
    steps = len(examples[0].target) + 1  # teacher forcing runs exactly the gold length (with its end mark)
    with torch.no_grad():
        free = model(src, lengths, max_len=steps).argmax(-1)  # fed its own previous characters
    assert teacher_forced_predictions(model, examples) == model.decode_targets(free)


def test_a_decoder_that_reads_its_previous_character_can_differ(examples):
    """The measurement can tell the two apart: an untrained decoder fed gold characters and fed
    its own predictions gives different outputs."""
    model = _model(2)
    free = model.translate([e.source for e in examples])
    assert teacher_forced_predictions(model, examples) != free


def test_exact_match_cannot_see_exposure_bias(examples):
    """Greedy decoding makes its first mistake at the same position whether fed the gold prefix or
    its own (the two prefixes agree up to it), so exact match is the same either way; only what
    comes after the first mistake differs, which character accuracy counts."""
    model = _model(3)
    free = model.translate([e.source for e in examples])
    forced = teacher_forced_predictions(model, examples)
    assert score_by_bucket(examples, free) == score_by_bucket(examples, forced)


def test_character_accuracy_counts_each_position_of_the_target():
    ex = [Example("x", "2000-01-02", "numeric", {}), Example("y" * 70, "1999-12-31", "sentence", {})]
    scores = char_accuracy_by_bucket(ex, ["2000-01-03", "1999"])
    assert scores["all"] == pytest.approx((9 / 10 + 4 / 10) / 2)
    assert scores["short"] == pytest.approx(0.9) and scores["long"] == pytest.approx(0.4)


def test_exposure_reports_both_ways_of_feeding(examples):
    model = _model(3)
    both = exposure_by_bucket(model, examples)
    assert both["free"] == char_accuracy_by_bucket(examples, model.translate([e.source for e in examples]))
    assert both["forced"] == char_accuracy_by_bucket(examples, teacher_forced_predictions(model, examples))


def test_measuring_draws_no_randomness_and_leaves_the_mode(examples):
    model = _model(4)
    model.train()
    before = torch.get_rng_state()
    teacher_forced_predictions(model, examples)
    assert torch.equal(before, torch.get_rng_state()), "evaluation must not move the training run's RNG"
    assert model.training, "the model goes back to the mode it was in"


def test_training_records_both_accuracies_at_every_evaluation(examples):
    cfg = Seq2SeqTrainConfig(steps=4, batch_size=8, eval_points=2, seed=0)
    history, _ = train_seq2seq(_model(5), examples, examples[:8], cfg, progress=False)
    assert len(history.val_accuracy) == len(history.val_exposure) == 2
    assert all({"free", "forced"} == set(e) and "all" in e["free"] for e in history.val_exposure)
