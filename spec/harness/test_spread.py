"""A criterion's margin over its threshold, read from the report's words, and judged over seeds
(acceptance/spread.py, issue #25)."""

from acceptance.spread import margin, margins


def test_a_margin_is_how_far_the_value_clears_its_threshold():
    assert margin("5.423", "<= 6.5") == 6.5 - 5.423
    assert abs(margin("97.2%", ">= 80%") - 17.2) < 1e-9
    assert abs(margin("+86.1 points", ">= +15 points") - 71.1) < 1e-9
    assert abs(margin("9.3% -> 82.4%", "rises, and >= 70%") - 12.4) < 1e-9, "a before -> after value is judged after"
    assert margin("64 vs 16 characters", "> RNN's") == 48
    assert abs(margin("1.8e+05x", ">= 10x") - 4.255) < 1e-3, "a factor clears its threshold by decades"
    assert abs(margin("94.0% (Bahdanau 100.0%)", "beats the baseline (13.9%)") - 80.1) < 1e-9
    assert margin("9/9 decreases", ">= 10 evaluations, every one lower than the last") is None, (
        "a count is read by hand"
    )
    assert margin("attention 1.00x; slowest 29.1x", "attention 1x; recurrent >= 16x") is None, "so is a compound"


def test_a_margin_inside_the_seed_spread_is_not_robust():
    record = {
        "criteria": {
            "a.wide": {"threshold": "<= 6.5", "values": ["5.0", "5.1", "4.9"]},
            "a.noise": {"threshold": ">= 95%", "values": ["95.2%", "94.1%", "96.0%"]},
            "a.words": {
                "threshold": "3 distinct non-empty samples",
                "values": ["3 distinct", "3 distinct", "3 distinct"],
            },
        }
    }
    rows = {row[0]: row[-1] for row in margins(record)}
    assert rows == {"`a.wide`": "robust", "`a.noise`": "NOT robust", "`a.words`": "read by hand"}


def test_two_bounds_on_two_values_are_read_by_hand():
    assert margin("4 pairs: attention 100.0%, best recurrent 32.0%", ">= 95% and <= 50%") is None


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
