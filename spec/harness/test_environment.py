"""The acceptance harness's environment variables are checked in one place, before anything trains (#35): a bad
value is one line naming the variable, never an INTERNALERROR traceback or pytest's own errors after the message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name, value",
    [
        ("RNNLAB_DEVICE", "bogus"),
        ("RNNLAB_THREADS", "abc"),
        ("RNNLAB_WORKERS", "0"),
        ("RNNLAB_SEED", "-1"),
        ("RNNLAB_PROFILE", "nope"),
        ("RNNLAB_MODELS", "transformer"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(name, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "acceptance", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=CHECKOUT,
        env={**env, name: value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 4, f"a usage error (exit 4), got {done.returncode}: {out[-600:]}"
    errors = [line for line in out.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and f"{name}={value!r}" in errors[0], out[-600:]
    assert "INTERNALERROR" not in out and "Traceback" not in out, out[-600:]
