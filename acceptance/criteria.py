"""The harness's judgement: ``check`` records a criterion in the report, as numbers (each a ``Bound``: value,
bound, direction, unit), and fails its test in the words rendered from them."""

from __future__ import annotations

import os
from typing import Any

import pytest

from acceptance import profiles, records
from acceptance.record import Bound, Recorder


def check(recorder: Recorder, id: str, lab: str, description: str, *bounds: Bound, detail: str = "") -> None:
    """Record a criterion judged by ``bounds`` (it passes when every one does), then fail the test (with the
    report's words) if it did not pass.

    A criterion listed as a known failure of the profile (acceptance/measured/known-failures.json) is still recorded and still shown
    as FAIL in the report; the test becomes an expected failure (so ``tox`` can stay green
    while the gap is open), and it *fails* the day the criterion passes, so the list is
    kept honest.
    """
    c = recorder.criterion(id, lab, description, *bounds, detail=detail)
    key, why = known_failure(c.id)
    if why:
        c.known_failure = why
        if c.passed:
            pytest.fail(f"{c.id} now passes ({c.measured}); remove {key} from acceptance/measured/known-failures.json")
        pytest.xfail(f"{c.id}: known failure — {why} Measured {c.measured}, needed {c.threshold}.")
    assert c.passed, f"{c.id} failed — {c.description}: measured {c.measured}, needed {c.threshold}. {c.detail}"


def known_failure(id: str) -> tuple[str, str]:
    """The profile's recorded known failure for criterion ``id`` on the device the labs run on
    (``id@cpu``, ``id@cuda``, ...) or on any device (``id``): (its key, why), or ("", "")."""
    from rnnlab.device import resolve_device  # not at import: a learner's rnnlab is activated first

    known = records.known_failures(profiles.current().name)
    on = f"{id}@{resolve_device(os.environ.get('RNNLAB_DEVICE', 'auto')).type}"
    for key in (on, id):
        if key in known:
            return key, known[key]
    return "", ""


def require_models(runs: dict[str, Any], *kinds: str, criterion: str = "") -> None:
    """Leave ``criterion`` (about a model kind this run did not train: RNNLAB_MODELS, ``--model``) not
    attempted, saying which were trained; its report row keeps its id, so the reference run's value
    stands beside it."""
    from acceptance.learner import NOT_ATTEMPTED

    missing = [k for k in kinds if k not in runs]
    if missing:
        pytest.skip(
            f"{NOT_ATTEMPTED} {criterion + ' ' if criterion else ''}needs {', '.join(missing)}; this run trained "
            f"only {', '.join(runs)} (RNNLAB_MODELS)"
        )


def criterion_words(function: Any, name: str, params: dict[str, Any]) -> str:
    """A criterion test in words, for the report's row of a criterion the run could not attempt: its docstring's first
    line, a parametrized model kind's name in place of ``{kind}``; a test with no docstring, its name in words."""
    from acceptance.measures import NAMES  # here, as rnnlab.device above: a learner's rnnlab is activated first

    doc = ((function.__doc__ if function else None) or "").strip().splitlines()
    if not doc:
        return name.removeprefix("test_").replace("_", " ")
    return doc[0].replace("{kind}", NAMES[params["kind"]]) if "kind" in params else doc[0]
