"""Benchmarks: the learner's inner loop, `rnnlab exercise status`, on a copy with every exercise
written (the worst case: every exercise's specs run).

Goals (issue #15), as wall time of the whole command on a 2-core CPU, median of 3 runs: one
exercise under 5 s, all twelve under 20 s.
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rnnlab import exercise

GOALS = {"one": 5.0, "all": 20.0}  # seconds, median of 3
ARGS = {"one": ["02.1"], "all": []}


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("status") / "solved"
    exercise.init(dest, keep=set(exercise.BY_ID))
    return dest


@pytest.mark.parametrize("which", list(GOALS))
def test_status_speed_goal(benchmark: Any, solved: Path, which: str) -> None:
    times = []

    def run() -> None:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "rnnlab", "exercise", "status", str(solved), *ARGS[which]],
            capture_output=True,
            text=True,
            timeout=300,
        )
        times.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr

    benchmark.pedantic(run, rounds=3, iterations=1)
    median = statistics.median(times)
    assert median < GOALS[which], (
        f"`rnnlab exercise status` ({which}) took {median:.2f} s (median of 3); the goal is < {GOALS[which]:g} s"
    )
