"""The harness's judgement: recording a criterion, and the measures only the report uses.

``check`` records a criterion in the report and fails its test in the same words; ``words``
and ``known_word_share`` measure how much of a sample is English words (Lab 01's
"looks like Shakespeare" criterion). These belong to the harness, not to the library a
learner writes: nothing in ``rnnlab`` needs them.
"""

from __future__ import annotations

import os
import re

import pytest

from acceptance import profiles
from acceptance.record import Recorder

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def check(
    recorder: Recorder, id: str, lab: str, description: str, measured, threshold: str, passed: bool, detail: str = ""
) -> None:
    """Record a criterion, then fail the test (with the same words) if it did not pass.

    A criterion listed in the profile's ``known_failures`` is still recorded and still shown
    as FAIL in the report; the test becomes an expected failure (so ``tox`` can stay green
    while the gap is open), and it *fails* the day the criterion passes, so the list is
    kept honest.
    """
    c = recorder.criterion(id, lab, description, measured, threshold, passed, detail)
    key, why = known_failure(c.id)
    if why:
        c.known_failure = why
        if c.passed:
            pytest.fail(f"{c.id} now passes ({c.measured}); remove {key} from known_failures in acceptance/profiles.py")
        pytest.xfail(f"{c.id}: known failure — {why} Measured {c.measured}, needed {c.threshold}.")
    assert c.passed, f"{c.id} failed — {c.description}: measured {c.measured}, needed {c.threshold}. {c.detail}"


def known_failure(id: str) -> tuple[str, str]:
    """The profile's ``known_failures`` entry for criterion ``id`` on the device the labs run on
    (``id@cpu``, ``id@cuda``, ...) or on any device (``id``): (its key, why), or ("", "")."""
    from rnnlab.device import resolve_device  # not at import: a learner's rnnlab is activated first

    known = profiles.current().known_failures
    on = f"{id}@{resolve_device(os.environ.get('RNNLAB_DEVICE', 'auto')).type}"
    for key in (on, id):
        if key in known:
            return key, known[key]
    return "", ""


def words(text: str) -> list[str]:
    """Lower-cased words: runs of letters, with an inner apostrophe allowed (o'er, 'tis -> tis)."""
    return [w.lower() for w in _WORD.findall(text)]


def known_word_share(text: str, vocabulary: set[str]) -> float:
    """The share of the words in ``text`` that occur in ``vocabulary`` (0.0 for no words)."""
    found = words(text)
    if not found:
        return 0.0
    return sum(w in vocabulary for w in found) / len(found)
