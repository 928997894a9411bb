"""The acceptance profiles: every learning rate is the one its recorded grid chose, and the
report's words for it are generated from that record."""

import pytest

from acceptance.profiles import LR_GRID, PROFILES, lr_choice


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_learning_rate_is_the_best_of_its_recorded_grid(name):
    profile = PROFILES[name]
    lab02 = profile.lab02
    assert len(lab02.lr_grid) == len(LR_GRID), f"{name}: Lab 02 records one perplexity per rate of LR_GRID"
    lr_choice(lab02.train.lr, lab02.lr_grid, lab02.lr_grid_steps, "the vanilla RNN")
    if profile.bridge.lr is not None:
        assert len(profile.bridge.lr_grid) == len(LR_GRID), f"{name}: the bridge records one perplexity per rate"
        lr_choice(profile.bridge.lr, profile.bridge.lr_grid, profile.bridge.lr_grid_steps, "this model")


def test_a_rate_the_grid_did_not_choose_is_refused():
    with pytest.raises(ValueError, match="not the best of LR_GRID"):
        lr_choice(LR_GRID[0], (5.0, 4.0, 6.0), 100, "a model")
    words = lr_choice(LR_GRID[1], (5.0, 4.0, 6.0), 100, "a model")
    assert words == "the best of 3e-3, 6e-3 and 1e-2 for a model: validation perplexity 5 / 4 / 6 after 100 steps each"
