"""Counting baselines for a character LM's perplexity (acceptance/ngram.py): interpolated Kneser-Ney n-grams
(Chen & Goodman 1999), scored on the targets the RNN's own validation loss scores, so that a perplexity in the
report can be read against what counting alone reaches on the same text."""

import math
from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from acceptance.ngram import discount, ngram_log_probs, ngram_losses
from rnnlab.metrics import stream_rows


def _reference(train: list[int], order: int, vocab: int, context: tuple[int, ...], w: int) -> float:
    """p(w | context) by interpolated Kneser-Ney written out from its definition (Chen & Goodman 1999):
    the highest order counts the n-grams themselves, each lower order counts the distinct characters that precede
    its n-gram (continuation counts), every order discounts by n1 / (n1 + 2 n2) of its own counts, and the order
    below the unigram is uniform. A slow second implementation, for the fast one to agree with."""
    grams = [Counter(tuple(train[i : i + m]) for i in range(len(train) - m + 1)) for m in range(order + 2)]

    def counts(m: int) -> Counter:
        if m == order:
            return grams[m]
        return Counter(g[1:] for g in grams[m + 1])  # distinct left neighbours of each m-gram

    def p(m: int, h: tuple[int, ...]) -> float:
        if m == 0:
            return 1.0 / vocab
        c = counts(m)
        n1, n2 = sum(v == 1 for v in c.values()), sum(v == 2 for v in c.values())
        d = n1 / (n1 + 2 * n2) if n1 else 0.5
        ctx = h[len(h) - (m - 1) :] if m > 1 else ()
        following = {g[-1]: v for g, v in c.items() if g[:-1] == ctx}
        total = sum(following.values())
        if total == 0:
            return p(m - 1, h)
        return (max(following.get(w, 0) - d, 0.0) + d * len(following) * p(m - 1, h)) / total

    return p(min(order, len(context) + 1), context)


texts = st.lists(st.integers(0, 3), min_size=4, max_size=40)


@settings(max_examples=40, deadline=None)
@given(train=texts, order=st.integers(1, 4), context=st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_every_context_gives_a_distribution_equal_to_kneser_neys_definition(train, order, context):
    vocab = 4
    rows = torch.tensor([[*context, w] for w in range(vocab)])
    logp = ngram_log_probs(torch.tensor(train), rows, order, vocab)[:, -1].double()
    assert abs(float(logp.exp().sum()) - 1.0) < 1e-9, "the probabilities of the next character must sum to 1"
    for w in range(vocab):
        want = _reference(train, order, vocab, tuple(context), w)
        got = math.exp(float(logp[w]))
        assert abs(got - want) < 1e-9, (
            f"p({w} | {context}) at order {order} after training on {train}: {got} against Kneser-Ney's {want}"
        )


def test_a_unigram_worked_by_hand():
    """Training text "aab" over {a, b, c}: counts 2, 1, 0; one count of 1 and one of 2, so the discount is
    1 / (1 + 2) = 1/3; the 1/3 taken from each of 2 seen characters is shared out uniformly."""
    train = torch.tensor([0, 0, 1])
    assert discount(torch.tensor([2, 1])) == pytest.approx(1 / 3)
    logp = ngram_log_probs(train, torch.tensor([[0, 0], [0, 1], [0, 2]]), 1, 3)[:, -1]
    assert logp.exp().tolist() == pytest.approx([17 / 27, 8 / 27, 2 / 27])


def test_a_longer_context_predicts_a_text_whose_next_character_it_fixes():
    train = torch.tensor([0, 1, 2, 3] * 50)
    val = torch.tensor([0, 1, 2, 3] * 10)
    losses = ngram_losses(train, val, orders=(1, 2), vocab_size=4, rows=2)
    assert losses[2] < 0.1 < math.log(4) - 0.05 < losses[1], (
        f"after 'a' always comes 'b': a bigram must be nearly sure of it ({losses[2]:.3f} nats), a unigram cannot "
        f"({losses[1]:.3f} nats, log 4 = {math.log(4):.3f})"
    )


def test_it_scores_the_targets_the_models_validation_loss_scores():
    """evaluate_lm cuts the split into rows and scores every character but each row's first, reading only its row:
    the n-gram does the same, so its number and the RNN's are over the same targets and the same contexts."""
    g = torch.Generator().manual_seed(0)
    train, val = torch.randint(0, 5, (300,), generator=g), torch.randint(0, 5, (97,), generator=g)
    rows = stream_rows(val, 4)
    logp = ngram_log_probs(train, rows, 3, 5)
    assert logp.shape == (4, rows.shape[1] - 1), "one log-probability per target: every character but a row's first"
    losses = ngram_losses(train, val, orders=(3,), vocab_size=5, rows=4)
    assert losses[3] == pytest.approx(-float(logp.double().mean()))
    changed = rows.clone()
    changed[0] = (changed[0] + 1) % 5
    assert torch.equal(ngram_log_probs(train, changed, 3, 5)[1:], logp[1:]), (
        "a row's context never crosses into another row"
    )


def test_a_text_too_short_for_its_order_is_one_clear_error():
    with pytest.raises(ValueError, match="order 5 needs a training text of at least 5 characters"):
        ngram_log_probs(torch.tensor([0, 1, 2]), torch.tensor([[0, 1]]), 5, 3)
    with pytest.raises(ValueError, match="order 8 over 300 symbols does not fit the 64-bit keys"):
        ngram_log_probs(torch.arange(300), torch.tensor([[0, 1]]), 8, 300)


def test_rows_shorter_than_the_order_use_the_orders_they_have():
    """A row of 3 characters under a 6-gram: its two targets have 1 and 2 characters before them, so they get the
    2-gram's and the 3-gram's lower-order probabilities, the same as under any order above 3."""
    train, rows = torch.tensor([0, 1, 2, 0, 1, 2, 1, 0, 2] * 3), torch.tensor([[0, 1, 2], [2, 1, 0]])
    assert torch.allclose(ngram_log_probs(train, rows, 6, 3), ngram_log_probs(train, rows, 4, 3))


PPL_QUESTION = "What does a perplexity mean, and when is it good?"


def test_lab01_reads_its_rnns_perplexity_against_counting_on_the_same_targets():
    """The Lab 01 section's table and talking point: a uniform guess (the vocabulary's size), each n-gram order and
    the RNN, one row each, best n-gram named; the answer first (Jelinek et al. 1977), then this run's numbers."""
    from acceptance.record import Recorder
    from acceptance.sections import lab01 as section
    from spec.harness.lab01_results import lab01_result

    rec = Recorder()
    ngram = {1: 3.0, 2: 2.0, 3: 1.4, 4: 1.45}
    section.write(rec, lab01_result({}, ngram))  # the RNN's validation loss: 1.5 nats
    (table,) = [t for t in rec.sections["lab01"].tables if t.title.startswith("Perplexity against counting")]
    rows = {r[0]: r for r in table.rows}
    assert [r[0] for r in table.rows] == [
        "a uniform guess over the 65 symbols",
        *(f"Kneser-Ney {n}-gram" for n in (1, 2, 3, 4)),
        "this run's RNN",
    ], table.rows
    assert rows["a uniform guess over the 65 symbols"][3] == pytest.approx(65.0)
    assert rows["Kneser-Ney 3-gram"][2:4] == pytest.approx([1.4, math.exp(1.4)])
    assert rows["this run's RNN"][2] == 1.5
    (point,) = [p for p in rec.talking_points if p.question == PPL_QUESTION]
    assert "Jelinek" in point.answer and "Kneser" in point.answer, point.answer
    said = " ".join(point.measured)
    for words in (
        "65 symbols: perplexity 65",
        f"3-gram {math.exp(1.4):.2f} (the best)",
        f"This run's RNN: perplexity {math.exp(1.5):.2f}",
        "beats orders 1-2",
        f"{100 * (math.exp(1.5) / math.exp(1.4) - 1):.1f}% above the best n-gram",
    ):
        assert words in said, f"{words!r} missing from {point.measured}"


def test_without_counts_lab01_has_no_such_table_or_talking_point():
    from acceptance.record import Recorder
    from acceptance.sections import lab01 as section
    from spec.harness.lab01_results import lab01_result

    rec = Recorder()
    section.write(rec, lab01_result({}))
    assert not [t for t in rec.sections["lab01"].tables if t.title.startswith("Perplexity against counting")]
    assert not [p for p in rec.talking_points if p.question == PPL_QUESTION]


def test_lab02s_perplexity_table_sets_every_model_against_the_best_count_model():
    """Lab 02's models are judged against each other; the counting baseline says whether their perplexities are
    good at all. Its Perplexity table ends with the best n-gram order on the same targets (named, its order chosen on
    those targets, which flatters it) and gives each trained model's perplexity against it."""
    from acceptance.profiles import PROFILES
    from acceptance.record import Recorder
    from acceptance.sections import lab02 as section
    from acceptance.trained import Lab02Result, LMRun, StudiedRun
    from rnnlab.training.lm import History

    cfg = PROFILES["quick"].lab02
    history = History(train_loss=[2.0, 1.9], val_loss=[1.6], eval_step=[2], eval_seconds=[0.1], train_seconds=0.2)
    gru = StudiedRun("gru", 224, cfg.lr("gru"), 213_665, history, None, 4.60)
    rnn = StudiedRun("rnn", 400, cfg.lr("rnn"), 216_625, history, None, 4.80)
    narrow = LMRun("rnn", 224, cfg.lr("rnn"), 83_745, history, None, 5.20)
    ngram = {1: 3.3, 5: 1.6, 6: 1.55, 7: 1.56}  # the best: the 6-gram, perplexity exp(1.55) = 4.71
    rec = Recorder()
    section.write(rec, Lab02Result(cfg, "quick", {"rnn": rnn, "gru": gru}, {"gru": narrow}, {}, {}, ngram=ngram))
    (table,) = [t for t in rec.sections["lab02"].tables if t.title == "Perplexity"]
    assert table.columns[-1] == "against the best n-gram", table.columns
    last = table.rows[-1]
    assert last[0].startswith("Kneser-Ney 6-gram"), last
    assert last[-2] == pytest.approx(math.exp(1.55)), "its perplexity"
    against = {row[0]: row[-1] for row in table.rows}
    best = math.exp(1.55)
    assert against["GRU"] == f"{100 * (4.60 / best - 1):+.1f}%", against
    assert against["RNN as wide as the GRU"] == f"{100 * (5.20 / best - 1):+.1f}%", against
    assert "chosen on these same targets" in table.caption, table.caption


def test_when_gates_pay_off_reads_every_model_against_counting():
    """The interview answer "When do gates pay off?" gives, beside the two comparisons, how far each model of the
    equal-compute comparison is from the best count model on the same targets."""
    from acceptance.measures import lead, width_lead
    from acceptance.profiles import PROFILES
    from acceptance.sections import lab02 as section
    from acceptance.trained import Lab02Result, StudiedRun
    from rnnlab.training.lm import History

    cfg = PROFILES["quick"].lab02
    history = History(train_loss=[2.0, 1.9], val_loss=[1.6], eval_step=[2], eval_seconds=[0.1], train_seconds=0.2)
    grads = [1.0] + [0.5] * 100
    runs = {
        kind: StudiedRun(kind, 200, cfg.lr(kind), 216_000, history, None, ppl, grad_trained=grads)
        for kind, ppl in (("rnn", 4.80), ("lstm", 4.73), ("gru", 4.60))
    }
    result = Lab02Result(cfg, "smoke", runs, {}, {}, {}, ngram={5: 1.6, 6: 1.55})
    point = section._gates_pay_off(result, lead(runs), width_lead(result))
    said = " ".join(point.measured)
    best = math.exp(1.55)
    assert f"the 6-gram, reading the 5 characters before) reaches perplexity {best:.3f}" in said, point.measured
    for name, ppl in (("RNN", 4.80), ("LSTM", 4.73), ("GRU", 4.60)):
        assert f"{name} {100 * (ppl / best - 1):+.1f}%" in said, point.measured
    uncounted = section._gates_pay_off(Lab02Result(cfg, "smoke", runs, {}, {}, {}), lead(runs), {})
    assert not [m for m in uncounted.measured if "n-gram" in m], "no counting line where nothing was counted"


def test_lab02_without_counts_has_no_count_row():
    from acceptance.profiles import PROFILES
    from acceptance.record import Recorder
    from acceptance.sections import lab02 as section
    from acceptance.trained import Lab02Result, StudiedRun
    from rnnlab.training.lm import History

    cfg = PROFILES["quick"].lab02
    history = History(train_loss=[2.0, 1.9], val_loss=[1.6], eval_step=[2], eval_seconds=[0.1], train_seconds=0.2)
    rnn = StudiedRun("rnn", 400, cfg.lr("rnn"), 216_625, history, None, 4.80)
    rec = Recorder()
    section.write(rec, Lab02Result(cfg, "quick", {"rnn": rnn}, {}, {}, {}))
    (table,) = [t for t in rec.sections["lab02"].tables if t.title == "Perplexity"]
    assert "against the best n-gram" not in table.columns and [r[0] for r in table.rows] == ["RNN"], table.rows


def test_what_an_n_gram_reads_is_said_in_words():
    from acceptance.ngram import reads

    assert [reads(n) for n in (1, 2, 6)] == ["nothing", "the character before", "the 5 characters before"]
