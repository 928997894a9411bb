"""The acceptance profiles: every learning rate is the one its recorded grid chose, and the
report's words for it are generated from that record."""

import pytest

from acceptance.profiles import LR_GRID, PROFILES, lr_choice


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
