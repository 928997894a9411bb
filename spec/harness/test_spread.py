"""A criterion's margin over its threshold, read from the report's words, and judged over seeds
(acceptance/spread.py, issue #25)."""

from acceptance.record import FACTOR, Bound, margin_words
from acceptance.spread import margins


def test_a_margin_is_how_far_the_value_clears_its_bound():
    assert Bound(5.423, 6.5, "<=").margin == 6.5 - 5.423
    assert abs(Bound(97.2, 80.0, ">=", "%").margin - 17.2) < 1e-9
    assert Bound(64, 16, ">", "characters").margin == 48, "a bound that is itself measured (the RNN's context)"
    assert abs(Bound(1.8e5, 10.0, ">=", FACTOR).margin - 4.255) < 1e-3, "a factor clears its bound by decades"
    assert Bound(4.0, 5.0, "<").passed and not Bound(5.0, 5.0, "<").passed, "a strict bound is not met by equality"
    assert Bound(5.0, 5.0, "<=").passed and not Bound(float("nan"), 5.0, "<=").passed, "nan never passes"


def test_a_margin_in_words_never_rounds_a_pass_to_nothing():
    """A learner's LSTM without its forget gate beat the RNN of its width by 0.04%: its row said "margin +0.0 points",
    which reads as no margin at all; under a point, a margin keeps two significant digits."""
    assert margin_words(Bound(0.04, 0.0, ">", "%")) == "+0.04 points"
    assert margin_words(Bound(-0.47, 0.0, ">", "%")) == "-0.47 points"
    assert margin_words(Bound(97.2, 80.0, ">=", "%")) == "+17.2 points"
    assert margin_words(Bound(0.0, 0.0, ">=", "%")) == "+0.0 points"


def _seeds(*values, bound=6.5, direction="<=", unit=""):
    return [
        [Bound(v, b, direction, unit).as_json()]
        for v, b in zip(values, bound if isinstance(bound, tuple) else (bound,) * len(values), strict=True)
    ]


def test_a_margin_inside_the_seed_spread_is_not_robust():
    record = {
        "criteria": {
            "a.wide": _seeds(5.0, 5.1, 4.9),
            "a.noise": _seeds(95.2, 94.1, 96.0, bound=95.0, direction=">=", unit="%"),
            "a.exact": _seeds(3, 3, 3, bound=3, direction=">=", unit="distinct samples"),
        }
    }
    rows = {row[0]: row[-1] for row in margins(record)}
    assert rows == {"`a.wide`": "robust", "`a.noise`": "NOT robust", "`a.exact`": "robust"}, rows


def test_each_seed_is_judged_against_its_own_measured_bound():
    """Issue #33: lab03.luong's bound is each seed's own baseline; judging seeds 1 and 2 against seed 0's
    baseline (as the words once did) called a criterion robust that is not."""
    own = {"criteria": {"lab03.luong": _seeds(60.0, 62.0, 61.0, bound=(14.0, 58.0, 59.0), direction=">", unit="%")}}
    (row,) = margins(own)
    assert row[-1] == "NOT robust", row
    assert "each seed's own" in row[1] and "vs 58.0%" in row[3], row


def test_two_bounds_are_two_rows_each_judged():
    record = {
        "criteria": {
            "bridge.recall": [
                [
                    Bound(v, 95.0, ">=", "%", "attention").as_json(),
                    Bound(r, 50.0, "<=", "%", "best recurrent").as_json(),
                ]
                for v, r in ((100.0, 30.0), (99.0, 31.0), (100.0, 32.0))
            ]
        }
    }
    rows = margins(record)
    assert [r[-1] for r in rows] == ["robust", "robust"], rows
    assert rows[0][1] == "attention >= 95.0%" and rows[1][1] == "best recurrent <= 50.0%", rows


def test_a_gated_cell_is_ahead_only_when_every_seed_says_so_by_more_than_noise():
    """The gating study (measured/gating.json) judges each gated model against the RNN of the same depth
    seed by seed, by the rule every criterion meets: one sign at every seed, mean >= 3 sd."""
    from acceptance.records import GatingRun, gating_rows

    def run(model, ppl, layers=1):
        grid = ((1e-2, ppl[0]),)
        return GatingRun("quick", 1200, layers, model, grid, 1e-2, (0, 1, 2), ppl, "abc", "cpu", ("cmd",))

    names = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
    rows = gating_rows(
        [
            run("lab02.rnn", (4.80, 4.85, 4.90)),
            run("lab02.lstm", (4.70, 4.75, 4.80)),  # about 2% ahead at every seed, nearly no spread
            run("lab02.gru", (4.60, 4.95, 4.85)),  # ahead at one seed, behind at another
            run("lab02.rnn", (4.80, 4.80, 4.80), layers=2),
            run("lab02.lstm", (5.00, 5.05, 5.10), layers=2),
        ],
        names,
    )
    verdicts = {(r[0], r[1]): r[-1] for r in rows}
    assert verdicts == {
        (1, "RNN"): "the baseline",
        (1, "LSTM"): "ahead, clear of noise",
        (1, "GRU"): "level: inside the noise",
        (2, "RNN"): "the baseline",
        (2, "LSTM"): "behind, clear of noise",
    }, verdicts
