"""Lab 03 — beam search: keep the k most probable prefixes at every step instead of committing to the
argmax, and return the most probable complete translation found. Greedy decoding is a beam of 1."""

import math

import pytest
import torch

from rnnlab.data.dates import INPUT_ALPHABET, make_examples, split_dates
from rnnlab.errors import ConfigError
from rnnlab.models.seq2seq import EOS, MAX_BEAM, SOS, TARGET_INDEX, Seq2Seq, Seq2SeqConfig, translate

pytestmark = [pytest.mark.lab03, pytest.mark.lab03_beam]


@pytest.fixture(scope="module")
def sources():
    return [e.source for e in make_examples(split_dates(0)["train"][:200], 20, seed=5)]


def _model(attention="bahdanau", seed=0):
    torch.manual_seed(seed)
    return Seq2Seq.from_config(
        Seq2SeqConfig(INPUT_ALPHABET, attention=attention, hidden_size=12, embedding_dim=6, attention_dim=8)
    )


@pytest.mark.parametrize("attention", ["none", "bahdanau"])
def test_a_beam_of_one_is_greedy_decoding(sources, attention):
    model = _model(attention).double().eval()  # double: no near-tie between two argmaxes decides the spec
    src, lengths = model.encode_sources(sources)
    with torch.no_grad():
        ids, _ = model.beam_search(src, lengths, beam=1)
        greedy = model(src, lengths).argmax(-1)
    assert model.decode_targets(ids) == model.decode_targets(greedy), "a beam of 1 keeps only the argmax prefix"


def _markov(model, table):
    """Make the decoder a chain over its previous token: ``table`` maps a token to {next token: probability};
    every other token gets probability 0."""
    V = model.target_vocab_size

    def step(y_prev, s, states, summary, mask, precomputed):
        logits = torch.full((y_prev.shape[0], V), -math.inf)
        for b, token in enumerate(y_prev.tolist()):
            for nxt, p in table.get(token, {EOS: 1.0}).items():
                logits[b, nxt] = math.log(p)
        return logits, s, None

    model.decode_step = step
    return model


def test_beam_search_finds_the_likelier_translation_that_greedy_commits_away_from():
    """The first character '1' (0.6) beats '2' (0.4), but every continuation of '1' is one of eight equally likely
    digits (0.6 x 1/8 = 0.075 in all), while '2' is followed by the end (0.4): greedy keeps '1', a beam of 2 keeps
    both prefixes and ends with the likelier translation."""
    one, two = TARGET_INDEX["1"], TARGET_INDEX["2"]
    eight = [TARGET_INDEX[c] for c in "34567890"]
    table = {SOS: {one: 0.6, two: 0.4}, one: {d: 1 / 8 for d in eight}, two: {EOS: 1.0}}
    model = _markov(_model(), table)
    greedy, beam = model.translate(["x"]), model.translate(["x"], beam=2)
    assert greedy[0][0] == "1" and len(greedy[0]) == 2, f"greedy should commit to '1' and a digit: {greedy}"
    assert beam == ["2"], f"a beam of 2 should find '2' then the end (probability 0.4 against 0.075): {beam}"


def test_the_score_of_each_translation_is_its_log_probability(sources):
    """``beam_search`` returns each row's best token ids and their score: the sum of the log-probabilities of its
    tokens up to and including the end mark, as the model computes them fed that very prefix."""
    model = _model().double().eval()
    src, lengths = model.encode_sources(sources)
    with torch.no_grad():
        ids, scores = model.beam_search(src, lengths, beam=3)
    for b in range(len(sources)):
        row = ids[b].tolist()
        end = row.index(EOS) + 1 if EOS in row else len(row)
        gold = ids[b : b + 1, :end]
        with torch.no_grad():
            logits = model(src[b : b + 1, : int(lengths[b])], lengths[b : b + 1], gold, teacher_forcing=1.0)
        expected = torch.log_softmax(logits[0], -1).gather(1, gold[0].unsqueeze(1)).sum()
        assert math.isclose(float(scores[b]), float(expected), rel_tol=1e-9, abs_tol=1e-9), (
            f"row {b}: score {float(scores[b]):.5f}, but its tokens' log-probabilities sum to {float(expected):.5f}"
        )


def test_each_row_is_searched_on_its_own(sources):
    model = _model().double()
    together = model.translate(sources, beam=3)
    alone = [model.translate([s], beam=3)[0] for s in sources]
    assert together == alone, "a row's translation must not depend on the other rows of its batch"


def test_the_public_translate_takes_a_beam_and_a_bad_width_is_one_clear_error(sources):
    model = _model()
    assert translate(model, sources[0], beam=3) == model.translate(sources[:1], beam=3)[0]
    for bad in (0, -1, MAX_BEAM + 1, 2.5, True):
        with pytest.raises(ConfigError, match="beam"):
            model.translate(sources[:1], beam=bad)
