"""The acceptance profiles: every learning rate is the one its recorded grid chose, and the
report's words for it are generated from that record."""

import pytest

from acceptance.profiles import LR_GRID, PROFILES, lr_choice, rate_sensitivity


def _grids(profile):
    yield "Lab 02's RNN", profile.lab02.train.lr, profile.lab02.lr_grid, profile.lab02.lr_grid_steps
    if profile.bridge.lr is not None:
        yield "the bridge's attention LM", profile.bridge.lr, profile.bridge.lr_grid, profile.bridge.lr_grid_steps


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_learning_rate_is_the_best_of_its_recorded_grid(name):
    for model, lr, grid, steps in _grids(PROFILES[name]):
        rates = [rate for rate, _ in grid]
        assert set(LR_GRID) <= set(rates), f"{name}: {model}'s grid must try every rate of LR_GRID {LR_GRID}: {rates}"
        assert rates == sorted(rates), f"{name}: {model}'s grid is recorded in order of rate: {rates}"
        lr_choice(lr, grid, steps, model)
    lab02 = PROFILES[name].lab02
    if lab02.rate_check:
        assert lab02.rate_check_steps == lab02.train.steps, f"{name}: the rate check is of this profile's budget"
        assert all(lab02.train.lr in dict(grid) for _, grid in lab02.rate_check), (
            f"{name}: every model of the rate check was measured at the shared rate {lab02.train.lr}"
        )
        assert lab02.rate_check[0][0] == "rnn", f"{name}: the rate check's baseline (first) is the RNN"


def test_a_rate_the_grid_did_not_choose_is_refused():
    grid = ((3e-3, 5.0), (6e-3, 4.0), (1e-2, 6.0))
    with pytest.raises(ValueError, match="not the best of its grid"):
        lr_choice(3e-3, grid, 100, "a model")
    words = lr_choice(6e-3, grid, 100, "a model")
    assert words == "the best of 3e-3, 6e-3 and 1e-2 for a model: validation perplexity 5 / 4 / 6 after 100 steps each"
    extended = lr_choice(3e-3, ((2e-3, 4.5), (3e-3, 4.0), (6e-3, 4.6), (1e-2, 6.0)), 100, "a model")
    assert extended == (
        "the best of 2e-3, 3e-3, 6e-3 and 1e-2 for a model: validation perplexity 4.5 / 4 / 4.6 / 6 after 100 steps each"
    )


def test_how_the_ranking_depends_on_the_shared_rate_is_stated_from_the_record():
    record = (
        ("rnn", ((3e-3, 4.984), (6e-3, 4.796), (1e-2, 4.8))),
        ("lstm", ((6e-3, 4.849), (1e-2, 4.756))),
        ("gru", ((6e-3, 4.667), (1e-2, 4.664))),
    )
    words = rate_sensitivity(record, 1200, {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"})
    assert words.startswith("Measured outside this run, over all 1200 steps (seed 0): ")
    assert "RNN 4.984 / 4.796 / 4.800 at 3e-3 / 6e-3 / 1e-2; LSTM 4.849 / 4.756 at 6e-3 / 1e-2;" in words
    assert "At 6e-3 the LSTM (4.849) is behind the RNN (4.796)." in words, "a rate at which the ranking flips is named"
    assert "GRU (4.667)" not in words.split("At each")[0].split("behind")[-1], "a model ahead at every rate is not"
    assert words.endswith(
        "At each model's best measured rate the LSTM (4.756 at 1e-2) and the GRU (4.664 at 1e-2) lead the RNN "
        "(4.796 at 6e-3)."
    ), words
    assert rate_sensitivity((), 1200, {}) == "", "no record, no words"
