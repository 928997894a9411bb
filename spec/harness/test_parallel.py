"""The harness's runs side by side (acceptance/parallel.py): results by name, whatever finishes
first, and a job that waits on another's result (Lab 03's baseline trained on past its budget)
starts as soon as that result is in, on whichever worker is free."""

from __future__ import annotations

import time

import pytest

from acceptance import parallel


def sleeper(seconds: float, value: str):
    def job() -> tuple[str, float, float]:
        started = time.monotonic()
        time.sleep(seconds)
        return value, started, time.monotonic()

    return job


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_follow_up_gets_its_parents_result_and_results_keep_the_order_asked(monkeypatch, workers):
    monkeypatch.setenv("RNNLAB_WORKERS", workers)
    jobs = {"long": sleeper(0.6, "long"), "short": sleeper(0.1, "short"), "other": sleeper(0.3, "other")}
    after = {"short": lambda result: {"follow": sleeper(0.1, f"after {result[0]}")}}
    results = parallel.run_all(jobs, after=after)
    assert list(results) == ["long", "short", "other", "follow"], "jobs asked for first, then their follow-ups"
    assert results["follow"][0] == "after short", "a follow-up is built from its parent's result"
    assert results["follow"][1] >= results["short"][2], "a follow-up starts only once its parent has ended"


def test_a_follow_up_starts_while_a_longer_job_still_runs(monkeypatch):
    """Two workers: `long` on one, `short` then `other` then its follow-up on the other, so everything ends with
    `long` (0.9 s), not after it (as a follow-up run once every job had ended would: 1.0 s)."""
    monkeypatch.setenv("RNNLAB_WORKERS", "2")
    if parallel.workers() < 2:
        pytest.skip("needs fork and two cores")
    jobs = {"long": sleeper(0.9, "long"), "short": sleeper(0.2, "short"), "other": sleeper(0.3, "other")}
    after = {"short": lambda result: {"follow": sleeper(0.2, "follow")}}
    results = parallel.run_all(jobs, after=after)
    assert results["follow"][1] < results["long"][2], (
        f"the follow-up waited for every other job: it started {results['follow'][1] - results['long'][1]:.2f} s "
        f"after `long` started, and `long` ended at {results['long'][2] - results['long'][1]:.2f} s"
    )


def test_a_follow_up_of_a_job_not_asked_for_is_refused():
    with pytest.raises(ValueError, match="'missing'"):
        parallel.run_all({"a": sleeper(0.0, "a")}, after={"missing": lambda result: {}})
