"""Assertions whose failure messages teach: what was computed, what was expected, and why."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch


def as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def assert_matches(actual, expected, *, what: str, rule: str, atol: float = 1e-9, rtol: float = 1e-7) -> None:
    """Fail with the largest error, where it is, and the rule the values should obey."""
    __tracebackhide__ = True  # a failure shows the spec's line, not this helper's source
    a, e = as_numpy(actual), as_numpy(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: expected shape {e.shape}, got {a.shape}. {rule}")
    if not np.isfinite(a).all():
        raise AssertionError(f"{what}: got non-finite values (nan or inf). {rule}")
    err = np.abs(a - e)
    bound = atol + rtol * np.abs(e)
    if (err > bound).any():
        where = np.unravel_index(np.argmax(err - bound), err.shape)
        raise AssertionError(
            f"{what}: max error {err.max():.3g} at index {tuple(int(i) for i in where)} "
            f"(got {a[where]:.6g}, expected {e[where]:.6g}). {rule}"
        )


def load_case(cell, case) -> None:
    """Copy a drawn case's float64 weights (see strategies.cell_case) into one of our cells."""
    with torch.no_grad():
        cell.ih.weight.copy_(torch.from_numpy(case["w_ih"]))
        cell.ih.bias.copy_(torch.from_numpy(case["b_ih"]))
        cell.hh.weight.copy_(torch.from_numpy(case["w_hh"]))
        cell.hh.bias.copy_(torch.from_numpy(case["b_hh"]))


def copy_to_torch_cell(ours, ref) -> None:
    """Our ``ih``/``hh`` projections -> torch.nn.*Cell's weight_ih, bias_ih, weight_hh, bias_hh (same layout)."""
    with torch.no_grad():
        ref.weight_ih.copy_(ours.ih.weight)
        ref.bias_ih.copy_(ours.ih.bias)
        ref.weight_hh.copy_(ours.hh.weight)
        ref.bias_hh.copy_(ours.hh.bias)


def cell_from_case(cell_cls, case):
    """A float64 cell of ``cell_cls`` holding a drawn case's weights."""
    cell = cell_cls(case["input_size"], case["hidden_size"]).double()
    load_case(cell, case)
    return cell


def np_sigmoid(x):
    """The logistic function in numpy, for the independent references."""
    return 1 / (1 + np.exp(-x))


# Small char-LM flags for CLI specs: a run of a few steps in well under a second.
LM_ARGS = ["--hidden-size", "16", "--embedding-dim", "8", "--batch-size", "2", "--seq-len", "16"]
LM_ARGS += ["--eval-points", "2", "--lr", "1e-2"]

# The header of a report written by the report specs (what acceptance/harness.py records).
REPORT_META = {
    "profile": "quick",
    "started": "2026-01-01T00:00:00+00:00",
    "wall_seconds": 1.0,
    "git": "abc",
    "seed": 0,
    "command": "tox -e acceptance",
    "machine": {
        "cpu": "cpu",
        "cores": 2,
        "torch_threads": 2,
        "torch": "2.13.0",
        "python": "3.11",
        "platform": "linux",
        "device": "cpu",
    },
}


# --- processes a spec starts, and the Ctrl-C it sends ---------------------------------------------


# A job that a non-interactive shell starts in the background inherits SIGINT and SIGQUIT ignored
# (POSIX), and rnnlab keeps them so; a process a spec sends Ctrl-C or Ctrl-\ must receive them as
# a terminal delivers them, however the suite itself was started.
KEYBOARD_SIGNALS = (signal.SIGINT, signal.SIGQUIT)


def _keyboard_signals_as_in_a_terminal() -> None:
    for sig in KEYBOARD_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    _hangup_as_in_a_terminal()


def _keyboard_signals_as_in_a_background_job() -> None:
    for sig in KEYBOARD_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    _hangup_as_in_a_terminal()


def _hangup_as_in_a_terminal() -> None:
    """SIGHUP as a command started in a terminal has it, whatever started the suite: under ``nohup`` the
    suite's processes inherit it ignored, and a spec that closes the terminal on a run would see nothing."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@contextlib.contextmanager
def rnnlab_process(args: list, ctrl_c: bool = True, **popen: object) -> Iterator[subprocess.Popen]:
    """``python -m rnnlab ARGS`` as a child process (stdout and stderr piped), with Ctrl-C and
    Ctrl-\\ delivered as in a terminal (``ctrl_c=False``: ignored, as in a background job,
    whatever the suite was started from); killed and waited for however the spec ends
    (timeout, failure, success), so that no run outlives the spec that started it."""
    extra = popen.pop("env", {})  # variables to add (TMPDIR, ...)
    env = {**os.environ, **extra, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONUNBUFFERED": "1"}  # type: ignore[dict-item]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnlab", *map(str, args)],
        env=env,
        stdout=popen.pop("stdout", subprocess.PIPE),
        stderr=popen.pop("stderr", subprocess.PIPE),
        preexec_fn=_keyboard_signals_as_in_a_terminal if ctrl_c else _keyboard_signals_as_in_a_background_job,
        **popen,  # type: ignore[arg-type]
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reaps it and closes its pipes


def wait_until(predicate: Callable[[], bool], proc: subprocess.Popen, limit: float = 60.0) -> None:
    """Wait (at most ``limit`` s) for ``predicate``, while ``proc`` runs; fail if it ended first."""
    deadline = time.monotonic() + limit
    while not predicate() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if proc.poll() is not None:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise AssertionError(f"the process ended before it could be interrupted: {err[-500:]}")


@contextlib.contextmanager
def keyboard_signals_here() -> Iterator[None]:
    """For a spec that sends Ctrl-C, Ctrl-\\ or a hangup to its own process: Python's KeyboardInterrupt
    handler and SIGQUIT's and SIGHUP's defaults for the length of the block (a background job starts
    with the first two ignored, a suite under nohup with the third), then as they were."""
    previous = {sig: signal.getsignal(sig) for sig in (*KEYBOARD_SIGNALS, signal.SIGHUP)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # and the terminal's hangup, even under nohup
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
