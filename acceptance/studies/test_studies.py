"""The studies (``tox -e studies``): each runs once and writes its section of reports/studies.html.

They judge nothing: what they measure is reported as findings, with their numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acceptance import learner
from acceptance.studies import bidirectional, clipping, copying, sizes, window

if TYPE_CHECKING:
    import torch

    from acceptance.profiles import Profile
    from acceptance.record import Recorder
    from acceptance.trained import BridgeResult, Corpus, Lab02Result, RecallResult


def test_in_context_copying(
    profile: Profile, corpus: Corpus, lab02: Lab02Result, bridge: BridgeResult, recorder: Recorder
) -> None:
    copying.write(recorder, copying.measure(profile.studies, lab02, bridge, corpus["val_ids"]))


def test_a_longer_training_window(
    profile: Profile, corpus: Corpus, lab02: Lab02Result, recorder: Recorder, device: torch.device
) -> None:
    window.write(recorder, window.measure(profile.studies, lab02, corpus, device))


def test_what_clipping_buys(profile: Profile, corpus: Corpus, recorder: Recorder, device: torch.device) -> None:
    """Lab 01's RNN clipped and not, under Adam and SGD (its own runs: Lab 01's model, budget and seeds)."""
    learner.require("lab01")  # in a learner's copy, not attempted until one of Lab 01's exercises is theirs
    clipping.write(recorder, clipping.measure(profile.studies, profile.lab01, corpus, device))


def test_what_reading_both_ways_buys(
    profile: Profile, corpus: Corpus, recorder: Recorder, device: torch.device
) -> None:
    """Lab 02's bidirectional LSTM against a one-way LSTM at matched parameters: filling blanks, and as a language
    model (its own four runs: no other study's)."""
    # Lab 02's LSTM: in a learner's copy, not attempted until one of Lab 02's exercises is theirs
    learner.require("lab02")
    bidirectional.write(recorder, bidirectional.measure(profile.studies, profile.lab02, corpus, device))


def test_where_the_lstms_lead_appears(recorder: Recorder) -> None:
    """Lab 02's models at matched parameters at several sizes: rendered from measured/sizes.json (no training)."""
    sizes.write(recorder)


def test_multi_query_associative_recall(recall: RecallResult) -> None:
    """The recall section (the bridge's criterion bridge.recall judges it in the full profile)."""
