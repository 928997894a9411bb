"""Benchmarks: one training step of the from-scratch recurrences against torch's fused layers.

Run with ``tox -e bench``; results land in reports/bench/benchmarks.json. The group of each
benchmark pairs the two implementations at one size, so pytest-benchmark's table shows
them side by side.
"""
import pytest

from acceptance.timing import training_step

SIZES = [128, 256, 512]


@pytest.mark.parametrize("impl", ["scratch", "fused"])
@pytest.mark.parametrize("hidden", SIZES)
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_training_step(benchmark, kind, hidden, impl):
    benchmark.group = f"{kind} H={hidden} B=64 T=100"
    step = training_step(kind, impl, hidden)
    benchmark.pedantic(step, rounds=5, warmup_rounds=1, iterations=1)
