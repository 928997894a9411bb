"""Criteria only the full profile judges, run here on results written by hand: `tox` (the quick profile) skips
them, so a change that breaks one would otherwise surface only in a 45-minute `tox -e full` (the recall criterion
read its typed result as a dict for a day, and `tox -e full` stopped there)."""

from types import SimpleNamespace

from acceptance import test_bridge
from acceptance.measures import ATTENTION
from acceptance.profiles import PROFILES
from acceptance.record import Recorder
from acceptance.trained import RecallResult, RecallRun
from rnnlab.cells import MODEL_KINDS


def _recall(by_pairs: dict[str, dict[int, float]]) -> RecallResult:
    cfg = PROFILES["full"].studies.recall
    runs = {
        kind: RecallRun(params=110_000, hidden=64, lr=3e-4, history=None, by_pairs=shares, by_distance={})
        for kind, shares in by_pairs.items()
    }
    return RecallResult(cfg, runs, 110_529, None)


def test_the_recall_criterion_judges_the_fewest_pairs_where_attention_recalls_and_no_state_does():
    """The full profile's recorded run (3710230, a 2-core AMD EPYC): attention 100% of 4 and 8 pairs, the best
    recurrent model 32.0% and 20.3%."""
    shares = {"rnn": {4: 0.290, 8: 0.152}, "lstm": {4: 0.320, 8: 0.203}, "gru": {4: 0.305, 8: 0.203}}
    result = _recall({**{k: shares[k] for k in MODEL_KINDS}, ATTENTION: {4: 1.0, 8: 1.0}})
    rec = Recorder()
    request = SimpleNamespace(getfixturevalue=lambda name: result)
    test_bridge.test_attention_recalls_what_a_fixed_size_state_cannot_hold(PROFILES["full"], request, rec)
    (criterion,) = rec.criteria
    assert criterion.id == "bridge.recall" and criterion.passed, criterion
    attention, recurrent = criterion.bounds
    assert (attention.value, recurrent.value) == (100.0, 32.0), criterion.bounds
    assert attention.label == "4 pairs: attention" and "LSTM 32.0%, 20.3%" in criterion.detail, criterion
