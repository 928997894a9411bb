"""Shared set-up for the specs: Hypothesis profiles, determinism, fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

# `ci`: derandomized (the same examples every run), no deadline (2-core CI machines stall).
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=40, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Every spec starts from the same global seed and leaves the default dtype alone."""
    torch.manual_seed(0)
    dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(dtype)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def tiny_text() -> str:
    """A small English text written for these specs (fixtures/tiny_corpus.txt)."""
    return (FIXTURES / "tiny_corpus.txt").read_text(encoding="utf-8")
