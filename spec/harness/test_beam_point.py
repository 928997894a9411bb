"""Lab 03's greedy-or-beam-search talking point and table: measured on the first seed's trained models
(acceptance/runs.py: beam_scores), rendered with their numbers (acceptance/sections/lab03.py)."""

from types import SimpleNamespace

import torch

from acceptance import runs
from acceptance.profiles import Lab03
from acceptance.sections import lab03 as section
from acceptance.trained import Lab03Result
from rnnlab.data.dates import INPUT_ALPHABET, make_examples, split_dates
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.training.seq2seq import score_by_bucket


def test_the_beam_scores_are_the_exact_match_of_a_beam_searched_translation():
    torch.manual_seed(0)
    model = Seq2Seq.from_config(Seq2SeqConfig(INPUT_ALPHABET, "none", hidden_size=8, embedding_dim=4))
    test = make_examples(split_dates(0)["test"][:100], 12, seed=3)
    got = runs.beam_scores(model, test, 3)
    assert got == score_by_bucket(test, model.translate([e.source for e in test], beam=3)), got


def test_a_learners_copy_made_before_the_beam_is_not_measured_and_not_a_crash():
    old = SimpleNamespace(translate=lambda sources, batch_size=256: ["2024-03-14"] * len(sources))
    assert runs.beam_scores(old, [], 4) is None


def _result(beams):
    """A Lab 03 result of the quick profile's variants: greedy accuracy fixed, beam accuracy as given (or None)."""
    cfg = Lab03()
    greedy = {
        "none": {"all": 0.595, "short": 0.952, "medium": 0.902, "long": 0.140},
        "bahdanau": {"all": 1.0, "short": 1.0, "medium": 1.0, "long": 1.0},
        "luong": {"all": 0.941, "short": 0.981, "medium": 0.896, "long": 0.940},
    }
    found = {(v, 0): SimpleNamespace(test=greedy[v], beam=beams.get(v)) for v in cfg.variants}
    return Lab03Result(cfg, found, None, None, [], [], 0)


def test_the_point_answers_first_then_says_what_the_beam_changed_beside_what_attention_did():
    beams = {
        "none": {"all": 0.6045, "short": 0.9567, "medium": 0.9094, "long": 0.1537},
        "bahdanau": {"all": 1.0, "short": 1.0, "medium": 1.0, "long": 1.0},
        "luong": {"all": 0.9435, "short": 0.9808, "medium": 0.9019, "long": 0.9421},
    }
    result = _result(beams)
    point = section.beam_point(result)
    assert point.question == "Greedy decoding or beam search?" and "Sutskever, Vinyals and Le, 2014" in point.answer
    said = " ".join(point.measured)
    for words in (
        "Baseline (no attention): 59.5% exactly right greedy, 60.5% with a beam of 4 (+1.0 points); long inputs "
        "14.0% -> 15.4%",
        "the beam moves the baseline +1.4 points; attention puts Bahdanau +86.0 points ahead",
    ):
        assert words in said, f"{words!r} missing from {point.measured}"
    table = section.beam_table(result)
    assert table is not None and table.columns == ["model", "decoding", "short", "medium", "long", "all"]
    change = [row for row in table.rows if row[1] == "change (points)"]
    assert [row[4] for row in change] == ["+1.37", "+0.00", "+0.21"], change


def test_nothing_measured_is_said_and_no_table_is_drawn():
    result = _result({})
    assert section.beam_table(result) is None
    (line,) = section.beam_point(result).measured
    assert line.startswith("Not measured: this copy of rnnlab was made before translate could search a beam"), line
