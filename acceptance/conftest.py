"""The acceptance harness: each lab criterion is a test that records what it measured
(``acceptance/harness.py`` holds the fixtures and hooks).

``RNNLAB_IMPL=DIR`` trains a learner's copy instead of the reference: the copy is put first on the
import path in the first hook, before anything imports rnnlab, and only then is the harness
(which imports rnnlab) registered.
"""

from __future__ import annotations

import pytest

from acceptance import learner  # imports no rnnlab


def pytest_configure(config: pytest.Config) -> None:
    # RNNLAB_IMPL=DIR: from here on, `import rnnlab` is the learner's copy, each stub left filled in from the reference
    learner.activate(complete=True)
    from acceptance import harness

    config.pluginmanager.register(harness, "rnnlab-acceptance-harness")
